// github/src/store.cpp — SQL of the github plugin (portable: SQLite and PostgreSQL).
#include "store.h"

#include "jarvis/sql.h"

namespace github {

namespace sql = jarvis::sql;

Store::Store(jarvis::Host& host)
    : host_(host), commits_(host.db(), 64, [&host](std::size_t n, const std::string& why) {
        host.log()->warn("github: a batch of {} deliveries failed ({}); one by one", n, why);
        host.metrics().increment("webhook_group_commit_fallbacks_total");
      }) {}

bool Store::record_one(jarvis::Transaction& tx, const Delivery& d,
                       const std::vector<TaskToEnqueue>& tasks, int window_minutes) {
  const std::string now = jarvis::now_iso();
  const std::string cutoff = jarvis::iso_from_now(-static_cast<long long>(window_minutes) * 60000);
  // One statement decides: a new id is inserted, an id last seen before the window is replaced,
  // an id seen within it changes nothing (0 rows). On PostgreSQL a concurrent delivery of the
  // same id waits for the first one's commit and then sees it (no unique-violation path); in one
  // batch, the second of two equal ids sees the first's row.
  if (sql::exec(tx.session(),
                "INSERT INTO github_deliveries(delivery_id, event, action, repo, outcome, "
                "received_at) VALUES(:d, :e, :a, :r, :o, :t) ON CONFLICT(delivery_id) DO UPDATE "
                "SET event = excluded.event, action = excluded.action, repo = excluded.repo, "
                "outcome = excluded.outcome, received_at = excluded.received_at WHERE "
                "github_deliveries.received_at < :c",
                {d.id, d.event, d.action.empty() ? sql::Bind::null() : sql::Bind(d.action),
                 d.repo.empty() ? sql::Bind::null() : sql::Bind(d.repo), d.outcome, now, cutoff}) !=
      1)
    return false;
  for (auto& t : tasks) host_.tasks().enqueue(t.name, t.options, tx);
  return true;
}

bool Store::accept_delivery(const Delivery& d, std::vector<TaskToEnqueue> tasks,
                            int window_minutes) {
  // A duplicate (0 rows) writes nothing but does not roll the batch back; `accepted` is set
  // afresh when a failed batch re-runs this delivery alone.
  bool accepted = false;
  commits_.run([&](jarvis::Transaction& tx) {
    accepted = record_one(tx, d, tasks, window_minutes);
    return true;
  });
  return accepted;
}

long long Store::prune_deliveries(int keep_minutes) {
  auto s = host_.db().session();
  return sql::exec(*s, "DELETE FROM github_deliveries WHERE received_at < :c",
                   {jarvis::iso_from_now(-static_cast<long long>(keep_minutes) * 60000)});
}

jarvis::Json Store::last_delivery() {
  auto s = host_.db().session();
  return sql::one_row(*s,
                      "SELECT delivery_id, event, action, repo, outcome, received_at FROM "
                      "github_deliveries ORDER BY received_at DESC LIMIT 1");
}

long long Store::deliveries_since(const std::string& since) {
  auto s = host_.db().session();
  return sql::scalar_int(*s, "SELECT COUNT(*) FROM github_deliveries WHERE received_at >= :s",
                         {since});
}

long long Store::comment_id(const std::string& repo, long long number, const std::string& kind) {
  auto s = host_.db().session();
  return sql::scalar_int(
      *s, "SELECT comment_id FROM github_comments WHERE repo = :r AND number = :n AND kind = :k",
      {repo, number, kind});
}

void Store::save_comment(const std::string& repo, long long number, const std::string& kind,
                         long long comment_id) {
  auto s = host_.db().session();
  sql::exec(*s,
            "INSERT INTO github_comments(repo, number, kind, comment_id, updated_at) "
            "VALUES(:r, :n, :k, :c, :t) ON CONFLICT(repo, number, kind) DO UPDATE SET "
            "comment_id = excluded.comment_id, updated_at = excluded.updated_at",
            {repo, number, kind, comment_id, jarvis::now_iso()});
}

void Store::forget_comment(const std::string& repo, long long number, const std::string& kind) {
  auto s = host_.db().session();
  sql::exec(*s, "DELETE FROM github_comments WHERE repo = :r AND number = :n AND kind = :k",
            {repo, number, kind});
}

Claim Store::claim(const std::string& key, const std::string& owner, int stale_seconds) {
  auto s = host_.db().session();
  const std::string now = jarvis::now_iso();
  if (sql::exec(*s,
                "INSERT INTO github_claims(claim_key, claimed_by, claimed_at, done_at) "
                "VALUES(:k, :o, :t, NULL) ON CONFLICT(claim_key) DO NOTHING",
                {key, owner, now}) == 1)
    return Claim::Won;
  jarvis::Json row = sql::one_row(
      *s, "SELECT claimed_by, claimed_at, done_at FROM github_claims WHERE claim_key = :k", {key});
  if (row.is_null()) {  // dropped between the two statements: try once more
    return sql::exec(*s,
                     "INSERT INTO github_claims(claim_key, claimed_by, claimed_at, done_at) "
                     "VALUES(:k, :o, :t, NULL) ON CONFLICT(claim_key) DO NOTHING",
                     {key, owner, now}) == 1
               ? Claim::Won
               : Claim::Held;
  }
  if (row["done_at"].is_string()) return Claim::Done;
  const std::string by = row["claimed_by"].is_string() ? row["claimed_by"].get<std::string>() : "";
  const std::string at = row["claimed_at"].is_string() ? row["claimed_at"].get<std::string>() : "";
  if (by == owner) return Claim::Won;
  if (at >= jarvis::iso_from_now(-static_cast<long long>(stale_seconds) * 1000)) return Claim::Held;
  return sql::exec(*s,
                   "UPDATE github_claims SET claimed_by = :o, claimed_at = :t WHERE claim_key = "
                   ":k AND claimed_by = :b AND claimed_at = :a AND done_at IS NULL",
                   {owner, now, key, by, at}) == 1
             ? Claim::Won
             : Claim::Held;
}

void Store::finish_claim(const std::string& key, const std::string& owner) {
  auto s = host_.db().session();
  sql::exec(*s, "UPDATE github_claims SET done_at = :t WHERE claim_key = :k AND claimed_by = :o",
            {jarvis::now_iso(), key, owner});
}

void Store::release_claim(const std::string& key, const std::string& owner) {
  auto s = host_.db().session();
  sql::exec(*s,
            "DELETE FROM github_claims WHERE claim_key = :k AND claimed_by = :o AND done_at IS "
            "NULL",
            {key, owner});
}

void Store::drop_claim(const std::string& key) {
  auto s = host_.db().session();
  sql::exec(*s, "DELETE FROM github_claims WHERE claim_key = :k", {key});
}

jarvis::Json Store::issue_link(const std::string& bug_id) {
  auto s = host_.db().session();
  return sql::one_row(*s,
                      "SELECT bug_id, repo, issue_number, issue_url, last_error, attempts, "
                      "updated_at FROM github_issue_links WHERE bug_id = :b",
                      {bug_id});
}

void Store::save_issue_link(const std::string& bug_id, const std::string& repo, long long number,
                            const std::string& url, const std::string& error) {
  auto s = host_.db().session();
  if (number > 0) {
    sql::exec(*s,
              "INSERT INTO github_issue_links(bug_id, repo, issue_number, issue_url, last_error, "
              "attempts, updated_at) VALUES(:b, :r, :n, :u, NULL, 1, :t) ON CONFLICT(bug_id) DO "
              "UPDATE SET repo = excluded.repo, issue_number = excluded.issue_number, issue_url = "
              "excluded.issue_url, last_error = NULL, attempts = github_issue_links.attempts + 1, "
              "updated_at = excluded.updated_at",
              {bug_id, repo, number, url, jarvis::now_iso()});
  } else {
    sql::exec(*s,
              "INSERT INTO github_issue_links(bug_id, repo, issue_number, issue_url, last_error, "
              "attempts, updated_at) VALUES(:b, :r, NULL, NULL, :e, 1, :t) ON CONFLICT(bug_id) DO "
              "UPDATE SET last_error = excluded.last_error, attempts = "
              "github_issue_links.attempts + 1, updated_at = excluded.updated_at",
              {bug_id, repo, error, jarvis::now_iso()});
  }
}

std::vector<std::string> Store::failed_issue_links(int limit) {
  auto s = host_.db().session();
  std::vector<std::string> out;
  for (const auto& r : sql::all_rows(*s,
                                     "SELECT bug_id FROM github_issue_links WHERE issue_number "
                                     "IS NULL ORDER BY updated_at LIMIT :l",
                                     {limit}))
    out.push_back(r["bug_id"].get<std::string>());
  return out;
}

jarvis::Json Store::state(const std::string& key) {
  auto s = host_.db().session();
  jarvis::Json r = sql::one_row(*s, "SELECT value FROM github_state WHERE key = :k", {key});
  if (r.is_null() || !r["value"].is_string()) return nullptr;
  auto v = jarvis::try_parse_json(r["value"].get<std::string>());
  return v ? *v : jarvis::Json(nullptr);
}

void Store::set_state(const std::string& key, const jarvis::Json& value) {
  auto s = host_.db().session();
  sql::exec(*s,
            "INSERT INTO github_state(key, value, updated_at) VALUES(:k, :v, :t) ON "
            "CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            {key, value.dump(), jarvis::now_iso()});
}

}  // namespace github
