// bugs/src/store.cpp — SQL for bug reports, portable across SQLite and PostgreSQL.
#include "store.h"

#include "jarvis/list.h"
#include "jarvis/sql.h"

#include <functional>
#include <set>
#include <vector>

namespace bugs {
namespace {

const std::set<std::string> kKinds{"bug", "feature"};
const std::set<std::string> kPriorities{"low", "medium", "high", "critical"};
const std::set<std::string> kStatuses{"open", "in_progress", "resolved", "closed"};
const std::set<std::string> kCreateFields{"title",     "description", "priority",      "kind",
                                          "thread_id", "trace_id",    "sync_to_github"};
const std::set<std::string> kPatchFields{"title", "description", "status", "priority", "assignee"};

// Beyond this many matches a list answers total = kTotalCap and total_capped = true.
constexpr long long kTotalCap = 1000;

const char* kColumns =
    "id, kind, title, description, priority, status, reporter_id, thread_id, trace_id, assignee, "
    "sync_to_github, "
    "github_issue_number, github_issue_url, github_synced_at, github_sync_error, created_at, "
    "updated_at";

jarvis::Error field_error(const std::string& field, const std::string& what) {
  return jarvis::bad_request("field '" + field + "': " + what, "invalid_field");
}

// Reads a string field: absent → fallback; wrong type → 400.
std::string str_field(const jarvis::Json& body, const std::string& field,
                      const std::string& fallback, std::size_t max_len) {
  if (!body.contains(field) || body[field].is_null()) return fallback;
  if (!body[field].is_string()) throw field_error(field, "must be a string");
  std::string v = body[field];
  if (v.size() > max_len)
    throw field_error(field, "longer than " + std::to_string(max_len) + " bytes");
  return v;
}

std::string enum_field(const jarvis::Json& body, const std::string& field,
                       const std::string& fallback, const std::set<std::string>& allowed) {
  std::string v = str_field(body, field, fallback, 64);
  if (!allowed.count(v)) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw field_error(field, "must be one of " + list);
  }
  return v;
}

void reject_unknown(const jarvis::Json& body, const std::set<std::string>& known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!known.count(it.key()))
      throw jarvis::bad_request("unknown field '" + it.key() + "'", "unknown_field");
  }
}

std::string title_field(const jarvis::Json& body, bool required) {
  if (!body.contains("title")) {
    if (required) throw field_error("title", "is required");
    return "";
  }
  std::string t = str_field(body, "title", "", 200);
  auto b = t.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) throw field_error("title", "must not be empty");
  return t;
}

// The report as JSON; sync_to_github is stored as 0/1.
jarvis::Json row_json(const soci::row& r) {
  jarvis::Json j = jarvis::sql::row_json(r);
  j["sync_to_github"] =
      j["sync_to_github"].is_number() && j["sync_to_github"].get<long long>() != 0;
  return j;
}

std::string like_pattern(const std::string& term) {
  std::string out = "%";
  for (char c : term) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out + "%";
}

}  // namespace

bool is_kind(const std::string& v) { return kKinds.count(v) > 0; }
bool is_priority(const std::string& v) { return kPriorities.count(v) > 0; }
bool is_status(const std::string& v) { return kStatuses.count(v) > 0; }

std::string BugStore::insert(const std::string& kind, const std::string& title,
                             const std::string& description, const std::string& priority,
                             const std::string& reporter, const std::string& thread_id,
                             const std::string& trace_id, bool sync,
                             const std::string& dedupe_key) {
  std::string id = jarvis::new_id("bug");
  std::string now = jarvis::now_iso();
  int sync_i = sync ? 1 : 0;
  soci::indicator thread_ind = thread_id.empty() ? soci::i_null : soci::i_ok;
  soci::indicator trace_ind = trace_id.empty() ? soci::i_null : soci::i_ok;
  soci::indicator dedupe_ind = dedupe_key.empty() ? soci::i_null : soci::i_ok;
  auto sql = host_.db().session();
  *sql
      << "INSERT INTO bug_reports(id, kind, title, description, priority, status, reporter_id, "
         "thread_id, "
         "trace_id, dedupe_key, sync_to_github, created_at, updated_at) VALUES(:id, :kind, :title, "
         ":description, "
         ":priority, 'open', :reporter, :thread_id, :trace_id, :dedupe, :sync, :created, :updated)",
      soci::use(id), soci::use(kind), soci::use(title), soci::use(description), soci::use(priority),
      soci::use(reporter), soci::use(thread_id, thread_ind), soci::use(trace_id, trace_ind),
      soci::use(dedupe_key, dedupe_ind), soci::use(sync_i), soci::use(now), soci::use(now);
  return id;
}

jarvis::Json BugStore::load(const std::string& id) {
  auto sql = host_.db().session();
  soci::row r;
  *sql << std::string("SELECT ") + kColumns + " FROM bug_reports WHERE id = :id", soci::use(id),
      soci::into(r);
  if (!sql->got_data()) return nullptr;
  return row_json(r);
}

jarvis::Json BugStore::create(const jarvis::Json& body, const jarvis::Principal& who,
                              const std::string& forced_kind) {
  reject_unknown(body, kCreateFields);
  std::string title = title_field(body, true);
  auto max_desc = static_cast<std::size_t>(host_.config().get_int("max_description_bytes"));
  std::string description = str_field(body, "description", "", max_desc);
  std::string priority = enum_field(body, "priority", "medium", kPriorities);
  std::string kind = enum_field(body, "kind", forced_kind.empty() ? "bug" : forced_kind, kKinds);
  if (!forced_kind.empty() && kind != forced_kind)
    throw field_error("kind", "must be '" + forced_kind + "' here");
  std::string thread_id = str_field(body, "thread_id", "", 128);
  host_.threads().require_access(who, thread_id);  // no reports into others' threads
  std::string trace_id = str_field(body, "trace_id", "", 128);
  bool sync = false;
  if (body.contains("sync_to_github") && !body["sync_to_github"].is_null()) {
    if (!body["sync_to_github"].is_boolean())
      throw field_error("sync_to_github", "must be a boolean");
    sync = body["sync_to_github"];
  }
  if (!who.is_admin()) require_report_quota(who.user_id);
  std::string id =
      insert(kind, title, description, priority, who.user_id, thread_id, trace_id, sync, "");
  host_.events().emit({.type = "bug.created",
                       .payload = {{"id", id}, {"kind", kind}, {"sync_to_github", sync}},
                       .thread_id = thread_id,
                       .trace_id = trace_id,
                       .actor_type = "user",
                       .actor_id = who.user_id});
  return load(id);
}

void BugStore::require_report_quota(const std::string& user_id) {
  long long per_hour = host_.config().get_int("max_reports_per_hour");
  if (per_hour <= 0) return;
  std::string since = jarvis::iso_from_now(-3600 * 1000LL);
  auto sql = host_.db().session();
  long long n = 0;
  // The reporter index (reporter_id, created_at) answers this from a range of at most the limit.
  soci::row r;
  *sql << "SELECT COUNT(*) FROM (SELECT 1 FROM bug_reports WHERE reporter_id = :r AND created_at "
          ">= :since LIMIT :cap) recent",
      soci::use(user_id), soci::use(since), soci::use(per_hour), soci::into(r);
  n = jarvis::sql::column_int(r, 0);
  if (n >= per_hour) {
    throw jarvis::Error(429, "quota_exceeded",
                        "at most " + std::to_string(per_hour) +
                            " reports per hour (BUGS_MAX_REPORTS_PER_HOUR); try again later");
  }
}

jarvis::Json BugStore::list(const ListQuery& q, const jarvis::Principal& who) {
  if (!q.status.empty() && !is_status(q.status))
    throw jarvis::bad_request("query 'status' is invalid", "invalid_query");
  if (!q.priority.empty() && !is_priority(q.priority))
    throw jarvis::bad_request("query 'priority' is invalid", "invalid_query");
  if (!q.kind.empty() && !is_kind(q.kind))
    throw jarvis::bad_request("query 'kind' is invalid", "invalid_query");
  // Only the filters in use appear in the SQL, so each query can walk one index in order:
  // (reporter_id, created_at) for a user, (status, created_at) for a status, (created_at) else.
  std::string where = " FROM bug_reports WHERE 1 = 1";
  jarvis::sql::Binds binds;
  auto add = [&](const std::string& clause, const std::string& value) {
    where += " AND " + clause + " = :b" + std::to_string(binds.size());
    binds.push_back(value);
  };
  if (!who.is_admin()) add("reporter_id", who.user_id);
  if (!q.status.empty()) add("status", q.status);
  if (!q.priority.empty()) add("priority", q.priority);
  if (!q.kind.empty()) add("kind", q.kind);
  if (!q.search.empty()) {
    std::string n = std::to_string(binds.size());
    where += " AND (LOWER(title) LIKE :b" + n + " ESCAPE '\\' OR LOWER(description) LIKE :c" + n +
             " ESCAPE '\\')";
    binds.push_back(like_pattern(q.search));
    binds.push_back(like_pattern(q.search));
  }
  auto sql = host_.db().session();
  // The total is exact up to kTotalCap matches and reported as a lower bound beyond (total_capped):
  // counting every row on each page costs more than the page as the table grows.
  long long total = 0;
  {
    jarvis::sql::Binds count_binds = binds;
    count_binds.emplace_back(kTotalCap + 1);
    total = jarvis::sql::scalar_int(
        *sql, "SELECT COUNT(*) FROM (SELECT 1" + where + " LIMIT :cap) capped", count_binds);
  }
  bool capped = total > kTotalCap;
  if (capped) total = kTotalCap;
  jarvis::Json items = jarvis::Json::array();
  binds.emplace_back(q.limit);
  binds.emplace_back(q.offset);
  jarvis::sql::for_each_row(*sql,
                            std::string("SELECT ") + kColumns + where +
                                " ORDER BY created_at DESC, id DESC LIMIT :lim OFFSET :off",
                            binds, [&](const soci::row& r) { items.push_back(row_json(r)); });
  return jarvis::list_page(std::move(items), total, {.limit = q.limit, .offset = q.offset}, capped);
}

jarvis::Json BugStore::get(const std::string& id, const jarvis::Principal& who) {
  jarvis::Json j = load(id);
  // Another user's report is indistinguishable from a missing one (no existence leak).
  if (j.is_null() || !who.may_access(j["reporter_id"].get<std::string>())) {
    throw jarvis::not_found("bug report '" + id + "' not found", "bug_not_found");
  }
  return j;
}

std::string BugStore::dedupe_key_of(const std::string& id) {
  auto sql = host_.db().session();
  std::string key;
  soci::indicator ind = soci::i_null;
  *sql << "SELECT dedupe_key FROM bug_reports WHERE id = :id", soci::use(id), soci::into(key, ind);
  return sql->got_data() && ind == soci::i_ok ? key : "";
}

std::optional<std::string> BugStore::live_with_key(const std::string& dedupe_key) {
  auto sql = host_.db().session();
  std::string existing;
  soci::indicator ind = soci::i_null;
  *sql << "SELECT id FROM bug_reports WHERE dedupe_key = :k AND status IN ('open', 'in_progress') "
          "ORDER BY created_at LIMIT 1",
      soci::use(dedupe_key), soci::into(existing, ind);
  if (sql->got_data() && ind == soci::i_ok) return existing;
  return std::nullopt;
}

jarvis::Json BugStore::update(const std::string& id, const jarvis::Json& body,
                              const jarvis::Principal& who) {
  reject_unknown(body, kPatchFields);
  if (body.empty()) throw jarvis::bad_request("no fields to update", "no_fields");
  jarvis::Json current = get(id, who);
  std::string title =
      body.contains("title") ? title_field(body, true) : current["title"].get<std::string>();
  auto max_desc = static_cast<std::size_t>(host_.config().get_int("max_description_bytes"));
  std::string description = str_field(body, "description", current["description"], max_desc);
  std::string status = enum_field(body, "status", current["status"], kStatuses);
  std::string priority = enum_field(body, "priority", current["priority"], kPriorities);
  std::string assignee =
      current["assignee"].is_string() ? current["assignee"].get<std::string>() : "";
  assignee = str_field(body, "assignee", assignee, 128);
  soci::indicator assignee_ind = assignee.empty() ? soci::i_null : soci::i_ok;
  std::string now = jarvis::now_iso();
  try {
    auto sql = host_.db().session();
    *sql << "UPDATE bug_reports SET title = :t, description = :d, status = :s, priority = :p, "
            "assignee = :a, "
            "updated_at = :u WHERE id = :id",
        soci::use(title), soci::use(description), soci::use(status), soci::use(priority),
        soci::use(assignee, assignee_ind), soci::use(now), soci::use(id);
  } catch (const soci::soci_error&) {
    // The only constraint a valid update can break: reopening a report whose dedupe key another
    // open report holds.
    std::string key = dedupe_key_of(id);
    auto other = key.empty() ? std::nullopt : live_with_key(key);
    if (!other || *other == id) throw;
    throw jarvis::Error(409, "duplicate_report",
                        "report " + *other +
                            " is already open for the same problem; update "
                            "that one or close it first");
  }
  return load(id);
}

void BugStore::remove(const std::string& id, const jarvis::Principal& who) {
  get(id, who);
  auto sql = host_.db().session();
  *sql << "DELETE FROM bug_reports WHERE id = :id", soci::use(id);
}

jarvis::Json BugStore::report(const jarvis::Json& payload) {
  if (!payload.is_object())
    throw jarvis::bad_request("payload must be an object", "invalid_payload");
  std::string title = title_field(payload, true);
  auto max_desc = static_cast<std::size_t>(host_.config().get_int("max_description_bytes"));
  std::string description = str_field(payload, "description", "", max_desc);
  std::string priority = enum_field(payload, "priority", "medium", kPriorities);
  std::string kind = enum_field(payload, "kind", "bug", kKinds);
  std::string dedupe = str_field(payload, "dedupe_key", "", 256);
  std::string id;
  if (dedupe.empty()) {
    id = insert(kind, title, description, priority, "system", "", "", false, dedupe);
  } else {
    // Look, then insert; the unique index on live dedupe keys turns a concurrent report's insert
    // into a failure, after which the look finds the winner.
    for (int round = 0; id.empty(); ++round) {
      if (auto existing = live_with_key(dedupe)) return {{"id", *existing}, {"created", false}};
      try {
        id = insert(kind, title, description, priority, "system", "", "", false, dedupe);
      } catch (const soci::soci_error&) {
        if (round >= 3 || !live_with_key(dedupe)) throw;
      }
    }
  }
  host_.events().emit({.type = "bug.created",
                       .payload = {{"id", id}, {"kind", kind}, {"sync_to_github", false}},
                       .actor_type = "system",
                       .actor_id = "bugs.report"});
  return {{"id", id}, {"created", true}};
}

jarvis::Json BugStore::link_external(const jarvis::Json& payload) {
  if (!payload.is_object())
    throw jarvis::bad_request("payload must be an object", "invalid_payload");
  std::string id = str_field(payload, "id", "", 128);
  if (id.empty()) throw field_error("id", "is required");
  if (load(id).is_null())
    throw jarvis::not_found("bug report '" + id + "' not found", "bug_not_found");
  long long number = 0;
  soci::indicator number_ind = soci::i_null;
  if (payload.contains("github_issue_number") && !payload["github_issue_number"].is_null()) {
    if (!payload["github_issue_number"].is_number_integer())
      throw field_error("github_issue_number", "must be an integer");
    number = payload["github_issue_number"];
    number_ind = soci::i_ok;
  }
  std::string url = str_field(payload, "github_issue_url", "", 2048);
  std::string synced = str_field(payload, "synced_at", jarvis::now_iso(), 64);
  std::string error = str_field(payload, "error", "", 4096);
  soci::indicator url_ind = url.empty() ? soci::i_null : soci::i_ok;
  soci::indicator err_ind = error.empty() ? soci::i_null : soci::i_ok;
  std::string now = jarvis::now_iso();
  auto sql = host_.db().session();
  *sql << "UPDATE bug_reports SET github_issue_number = :n, github_issue_url = :u, "
          "github_synced_at = :s, "
          "github_sync_error = :e, updated_at = :now WHERE id = :id",
      soci::use(number, number_ind), soci::use(url, url_ind), soci::use(synced),
      soci::use(error, err_ind), soci::use(now), soci::use(id);
  return {{"id", id}, {"linked", error.empty()}};
}

long long BugStore::count_open(const std::string& title_prefix) {
  auto sql = host_.db().session();
  soci::row r;
  std::string pattern = like_pattern(title_prefix);
  pattern.erase(0, 1);  // prefix match: drop the leading %
  *sql << "SELECT COUNT(*) FROM bug_reports WHERE status IN ('open', 'in_progress') AND "
          "LOWER(title) LIKE :p ESCAPE '\\'",
      soci::use(pattern), soci::into(r);
  return jarvis::sql::column_int(r, 0);
}

std::vector<std::string> BugStore::unsynced(int limit) {
  auto sql = host_.db().session();
  std::vector<std::string> ids;
  for (const auto& r : jarvis::sql::all_rows(*sql,
                                             "SELECT id FROM bug_reports WHERE sync_to_github = 1 "
                                             "AND github_issue_number IS NULL ORDER BY created_at "
                                             "LIMIT :l",
                                             {limit}))
    ids.push_back(r["id"].get<std::string>());
  return ids;
}

}  // namespace bugs
