// tests/support/fakes/fake_github.cpp — the fake GitHub REST API (see fake_github.h).
#include "support/fakes/fake_github.h"

#include <algorithm>
#include <ctime>
#include <sstream>
#include <stdexcept>

namespace jarvis::test::fakes {

using nlohmann::json;

namespace {

long long now_epoch() { return static_cast<long long>(std::time(nullptr)); }

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/'))
    if (!p.empty()) parts.push_back(p);
  return parts;
}

long long to_ll(const std::string& s, long long fallback) {
  try {
    std::size_t used = 0;
    long long v = std::stoll(s, &used);
    return used == s.size() ? v : fallback;
  } catch (...) {
    return fallback;
  }
}

json error_body(const std::string& message) {
  return {{"message", message}, {"documentation_url", "https://docs.github.com/rest"}};
}

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Query parameters of a raw query string, undecoded beyond %XX and '+'.
std::string decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

struct FakeGitHub::State {
  std::string token, bot;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  struct Pull {
    json pull;
    std::vector<json> files;
  };
  std::map<std::string, Pull> pulls;                   // "repo#n"
  std::map<std::string, std::string> permissions;      // "repo|login"
  std::vector<json> comments;                          // each with "_repo", "_number"
  std::map<std::string, std::vector<json>> issues;     // repo → issues
  std::map<std::string, long long> next_issue_number;  // repo → next
  long long next_comment_id = 1000;
  bool search_lag = false;
  struct Failure {
    std::string method, prefix;
    int status = 500, times = 0;
    bool apply = false;
  };
  std::vector<Failure> failures;
  int secondary_times = 0, secondary_retry_after = 1;
  int limit = 5000, remaining = 5000;
  long long reset = 0;
  int comment_writes = 0;
  std::vector<HttpRequest> requests;
  struct Hold {  // hold_requests(): a barrier for matching requests
    std::string method, prefix;
    int count = 0, arrived = 0;
    std::chrono::milliseconds timeout{0};
  };
  std::vector<Hold> holds;
};

FakeGitHub::FakeGitHub(std::string token, std::string bot_login, int port)
    : st_(std::make_unique<State>()) {
  st_->token = std::move(token);
  st_->bot = std::move(bot_login);
  st_->reset = now_epoch() + 3600;
  server_ = std::make_unique<LoopbackServer>(
      [this](const HttpRequest& req, Responder& out) { handle(req, out); }, "127.0.0.1", port);
}

FakeGitHub::~FakeGitHub() { server_.reset(); }

std::string FakeGitHub::base_url() const { return server_->url(""); }
int FakeGitHub::port() const { return server_->port(); }

void FakeGitHub::add_pull(const std::string& repo, json pull, std::vector<json> files) {
  long long n = pull.value("number", 1LL);
  long long add = 0, del = 0;
  for (const auto& f : files) {
    add += f.value("additions", 0LL);
    del += f.value("deletions", 0LL);
  }
  json base = {{"number", n},
               {"state", "open"},
               {"title", "Pull request " + std::to_string(n)},
               {"body", "Changes."},
               {"user", {{"login", "octocat"}, {"type", "User"}}},
               {"base", {{"ref", "main"}, {"sha", std::string(40, 'b')}}},
               {"head", {{"ref", "feature"}, {"sha", std::string(40, 'a')}}},
               {"commits", 1},
               {"additions", add},
               {"deletions", del},
               {"changed_files", static_cast<long long>(files.size())},
               {"html_url", "https://github.com/" + repo + "/pull/" + std::to_string(n)}};
  base.merge_patch(pull);
  std::lock_guard g(st_->mu);
  st_->pulls[repo + "#" + std::to_string(n)] = {base, std::move(files)};
}

std::vector<json> FakeGitHub::generated_files(int n) {
  std::vector<json> files;
  for (int i = 0; i < n; ++i) {
    std::string name =
        "src/module_" + std::to_string(i / 50) + "/file_" + std::to_string(i) + ".cpp";
    std::string status = "modified";
    if (n > 20) {
      if (i == n / 5) name = "migrations/0042_add_index.sql";
      if (i == n / 4) name = "src/auth/session_store.cpp";
      if (i == n / 3) name = "src/http/routes.cpp";
      if (i == n / 2) name = ".github/workflows/ci.yml";
      if (i == (2 * n) / 3) name = "package-lock.json";
    }
    if (i == n - 1 && n > 1) {
      name = "tests/auth/session_test.cpp";
      status = "removed";
    }
    int additions = status == "removed" ? 0 : 1 + (i * 7) % 40;
    int deletions = status == "removed" ? 30 : (i * 3) % 11;
    files.push_back({{"sha", std::string(40, 'c')},
                     {"filename", name},
                     {"status", status},
                     {"additions", additions},
                     {"deletions", deletions},
                     {"changes", additions + deletions},
                     {"patch", "@@ -1,2 +1,3 @@\n-old line " + std::to_string(i) + "\n+new line " +
                                   std::to_string(i) + "\n+another line\n"}});
  }
  return files;
}

void FakeGitHub::set_permission(const std::string& repo, const std::string& login,
                                const std::string& perm) {
  std::lock_guard g(st_->mu);
  st_->permissions[repo + "|" + login] = perm;
}

long long FakeGitHub::add_comment(const std::string& repo, long long number,
                                  const std::string& login, const std::string& body) {
  std::lock_guard g(st_->mu);
  long long id = ++st_->next_comment_id;
  st_->comments.push_back({{"id", id},
                           {"body", body},
                           {"user", {{"login", login}, {"type", "User"}}},
                           {"created_at", iso_now()},
                           {"updated_at", iso_now()},
                           {"_repo", repo},
                           {"_number", number}});
  return id;
}

void FakeGitHub::delete_comment(long long id) {
  std::lock_guard g(st_->mu);
  std::erase_if(st_->comments, [&](const json& c) { return c["id"] == id; });
}

std::vector<json> FakeGitHub::comments(const std::string& repo, long long number) const {
  std::lock_guard g(st_->mu);
  std::vector<json> out;
  for (const auto& c : st_->comments)
    if (c["_repo"] == repo && c["_number"] == number) out.push_back(c);
  return out;
}

std::vector<json> FakeGitHub::issues(const std::string& repo) const {
  std::lock_guard g(st_->mu);
  auto it = st_->issues.find(repo);
  return it == st_->issues.end() ? std::vector<json>{} : it->second;
}

void FakeGitHub::set_search_lag(bool lag) {
  std::lock_guard g(st_->mu);
  st_->search_lag = lag;
}

void FakeGitHub::fail_next(const std::string& method, const std::string& prefix, int status,
                           int times, bool apply) {
  std::lock_guard g(st_->mu);
  st_->failures.push_back({method, prefix, status, times, apply});
}

void FakeGitHub::secondary_limit_next(int times, int retry_after) {
  std::lock_guard g(st_->mu);
  st_->secondary_times = times;
  st_->secondary_retry_after = retry_after;
}

void FakeGitHub::set_rate_limit(int remaining, long long reset) {
  std::lock_guard g(st_->mu);
  st_->remaining = remaining;
  st_->reset = reset > 0 ? reset : now_epoch() + 3600;
}

void FakeGitHub::hold_requests(const std::string& method, const std::string& path_prefix, int count,
                               std::chrono::milliseconds timeout) {
  std::lock_guard g(st_->mu);
  st_->holds.reserve(64);  // hold() keeps a pointer into the vector while it waits
  if (st_->holds.size() >= 64) throw std::runtime_error("FakeGitHub: at most 64 holds");
  st_->holds.push_back({method, path_prefix, count, 0, timeout});
}

int FakeGitHub::comment_writes() const {
  std::lock_guard g(st_->mu);
  return st_->comment_writes;
}

bool FakeGitHub::wait_comment_writes(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock g(st_->mu);
  return st_->cv.wait_for(g, timeout, [&] { return st_->comment_writes >= n; });
}

std::vector<HttpRequest> FakeGitHub::requests() const {
  std::lock_guard g(st_->mu);
  return st_->requests;
}

int FakeGitHub::count_requests(const std::string& method, const std::string& prefix) const {
  std::lock_guard g(st_->mu);
  return static_cast<int>(std::count_if(
      st_->requests.begin(), st_->requests.end(),
      [&](const auto& r) { return r.method == method && r.path.rfind(prefix, 0) == 0; }));
}

bool FakeGitHub::control(const HttpRequest& req, Responder& out) {
  auto reply = [&](int status, const json& body) {
    out.respond(status, body.dump(), {{"Content-Type", "application/json"}});
    return true;
  };
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return reply(400, {{"error", "invalid json"}});
  const std::string& p = req.path;
  if (req.method == "POST" && p == "/_fake/pulls") {
    std::vector<json> files;
    if (body.contains("files")) {
      for (const auto& f : body["files"]) files.push_back(f);
    } else {
      files = generated_files(body.value("file_count", 3));
    }
    add_pull(body.value("repo", ""), body.value("pull", json::object()), std::move(files));
    return reply(200, {{"ok", true}});
  }
  if (req.method == "POST" && p == "/_fake/permissions") {
    set_permission(body.value("repo", ""), body.value("login", ""),
                   body.value("permission", "read"));
    return reply(200, {{"ok", true}});
  }
  if (req.method == "POST" && p == "/_fake/fail") {
    fail_next(body.value("method", "GET"), body.value("path", "/"), body.value("status", 500),
              body.value("times", 1), body.value("apply", false));
    return reply(200, {{"ok", true}});
  }
  if (req.method == "POST" && p == "/_fake/secondary") {
    secondary_limit_next(body.value("times", 1), body.value("retry_after", 1));
    return reply(200, {{"ok", true}});
  }
  if (req.method == "POST" && p == "/_fake/rate") {
    set_rate_limit(body.value("remaining", 5000), body.value("reset", 0LL));
    return reply(200, {{"ok", true}});
  }
  if (req.method == "GET" && p == "/_fake/comments") {
    json arr = json::array();
    for (const auto& c : comments(req.query_param("repo"), to_ll(req.query_param("number"), 0)))
      arr.push_back(c);
    return reply(200, arr);
  }
  if (req.method == "GET" && p == "/_fake/issues") {
    json arr = json::array();
    for (const auto& i : issues(req.query_param("repo"))) arr.push_back(i);
    return reply(200, arr);
  }
  if (req.method == "GET" && p == "/_fake/requests") {
    json arr = json::array();
    for (const auto& r : requests())
      arr.push_back(
          {{"method", r.method}, {"path", r.path}, {"query", r.query}, {"headers", r.headers}});
    return reply(200, arr);
  }
  if (req.method == "GET" && p == "/_fake/state") {
    std::lock_guard g(st_->mu);
    return reply(200, {{"comment_writes", st_->comment_writes},
                       {"requests", st_->requests.size()},
                       {"remaining", st_->remaining}});
  }
  if (req.method == "GET" && p == "/_fake/wait_comment_writes") {
    int count = static_cast<int>(to_ll(req.query_param("count"), 1));
    auto timeout = std::chrono::milliseconds(to_ll(req.query_param("timeout_ms"), 30000));
    bool reached = wait_comment_writes(count, timeout);
    return reply(200, {{"reached", reached}, {"comment_writes", comment_writes()}});
  }
  return false;
}

void FakeGitHub::handle(const HttpRequest& req, Responder& out) {
  if (req.path.rfind("/_fake/", 0) == 0) {
    if (!control(req, out))
      out.respond(404, R"({"error":"unknown control endpoint"})",
                  {{"Content-Type", "application/json"}});
    return;
  }
  std::unique_lock g(st_->mu);
  for (auto& hold : st_->holds) {
    if (hold.arrived >= hold.count || hold.method != req.method ||
        req.path.rfind(hold.prefix, 0) != 0)
      continue;
    const int target = hold.count;
    int* arrived = &hold.arrived;  // holds are never erased while the fake lives
    ++*arrived;
    st_->cv.notify_all();
    st_->cv.wait_for(g, hold.timeout, [&] { return *arrived >= target; });
    break;
  }
  st_->requests.push_back(req);
  const long long now = now_epoch();
  if (st_->reset <= now) {  // a new window
    st_->remaining = st_->limit;
    st_->reset = now + 3600;
  }
  Headers h = {{"Content-Type", "application/json; charset=utf-8"},
               {"X-GitHub-Media-Type", "github.v3; format=json"},
               {"X-RateLimit-Limit", std::to_string(st_->limit)},
               {"X-RateLimit-Resource", "core"},
               {"X-RateLimit-Reset", std::to_string(st_->reset)}};
  auto send = [&](int status, const json& body, Headers extra = {}) {
    Headers all = h;
    all.insert(all.end(), extra.begin(), extra.end());
    g.unlock();
    out.respond(status, status == 204 ? "" : body.dump(), all);
  };
  auto remaining_header = [&] {
    h.push_back({"X-RateLimit-Remaining", std::to_string(st_->remaining)});
    h.push_back({"X-RateLimit-Used", std::to_string(st_->limit - st_->remaining)});
  };

  const std::string auth = req.header("authorization");
  if (auth != "Bearer " + st_->token && auth != "token " + st_->token) {
    remaining_header();
    return send(401, error_body("Bad credentials"));
  }
  if (req.header("accept").find("application/vnd.github") == std::string::npos &&
      req.header("accept").find("application/json") == std::string::npos) {
    remaining_header();
    return send(415, error_body("Unsupported 'Accept' header"));
  }
  if (st_->secondary_times > 0) {
    --st_->secondary_times;
    remaining_header();
    return send(403,
                error_body("You have exceeded a secondary rate limit. Please wait a few "
                           "minutes before you try again."),
                {{"Retry-After", std::to_string(st_->secondary_retry_after)}});
  }
  if (st_->remaining <= 0) {
    st_->remaining = 0;
    remaining_header();
    return send(403, error_body("API rate limit exceeded for user."));
  }
  --st_->remaining;
  remaining_header();

  // Injected failures.
  const State::Failure* fail = nullptr;
  for (auto& f : st_->failures) {
    if (f.times > 0 && f.method == req.method && req.path.rfind(f.prefix, 0) == 0) {
      --f.times;
      fail = &f;
      break;
    }
  }
  if (fail && !fail->apply) return send(fail->status, error_body("injected failure"));
  const int fail_status = fail ? fail->status : 0;

  json body = req.body.empty() ? json() : json::parse(req.body, nullptr, false);
  auto parts = split_path(req.path);
  auto done = [&](int status, const json& b, Headers extra = {}) {
    if (fail_status) return send(fail_status, error_body("injected failure after the effect"));
    return send(status, b, std::move(extra));
  };
  const std::string self = base_url();

  if (parts.size() == 1 && parts[0] == "rate_limit" && req.method == "GET") {
    json core = {{"limit", st_->limit},
                 {"remaining", st_->remaining},
                 {"reset", st_->reset},
                 {"used", st_->limit - st_->remaining},
                 {"resource", "core"}};
    return done(200, {{"resources", {{"core", core}}}, {"rate", core}});
  }
  if (parts.size() == 2 && parts[0] == "search" && parts[1] == "issues" && req.method == "GET") {
    const std::string q = decode(req.query_param("q").empty() ? "" : req.query_param("q"));
    std::vector<std::string> phrases;
    std::string repo;
    for (std::size_t i = 0; i < q.size();) {
      if (q[i] == '"') {
        auto e = q.find('"', i + 1);
        if (e == std::string::npos) break;
        phrases.push_back(q.substr(i + 1, e - i - 1));
        i = e + 1;
      } else if (q.compare(i, 5, "repo:") == 0) {
        auto e = q.find(' ', i);
        repo = q.substr(i + 5, e == std::string::npos ? std::string::npos : e - i - 5);
        i = e == std::string::npos ? q.size() : e;
      } else {
        ++i;
      }
    }
    json items = json::array();
    for (const auto& [r, list] : st_->issues) {
      if (!repo.empty() && r != repo) continue;
      for (const auto& issue : list) {
        if (issue.value("_unindexed", false)) continue;
        bool all = true;
        for (const auto& ph : phrases)
          if (issue.value("body", "").find(ph) == std::string::npos) all = false;
        if (all) items.push_back(issue);
      }
    }
    return done(200,
                {{"total_count", items.size()}, {"incomplete_results", false}, {"items", items}});
  }
  if (parts.size() < 3 || parts[0] != "repos") return done(404, error_body("Not Found"));
  const std::string repo = parts[1] + "/" + parts[2];
  const std::size_t page =
      static_cast<std::size_t>(std::max(1LL, to_ll(req.query_param("page"), 1)));
  const std::size_t per_page =
      static_cast<std::size_t>(std::clamp(to_ll(req.query_param("per_page"), 30), 1LL, 100LL));
  auto paged = [&](const std::vector<json>& all, const std::string& path) {
    json arr = json::array();
    for (std::size_t i = (page - 1) * per_page; i < all.size() && i < page * per_page; ++i) {
      json item = all[i];
      item.erase("_repo");
      item.erase("_number");
      item.erase("_unindexed");
      arr.push_back(item);
    }
    const std::size_t last = std::max<std::size_t>(1, (all.size() + per_page - 1) / per_page);
    std::string link;
    auto url = [&](std::size_t p) {
      return "<" + self + path + "?per_page=" + std::to_string(per_page) +
             "&page=" + std::to_string(p) + ">";
    };
    if (page < last) link = url(page + 1) + "; rel=\"next\", " + url(last) + "; rel=\"last\"";
    if (page > 1)
      link += std::string(link.empty() ? "" : ", ") + url(1) + "; rel=\"first\", " + url(page - 1) +
              "; rel=\"prev\"";
    Headers extra;
    if (!link.empty()) extra.push_back({"Link", link});
    return done(200, arr, extra);
  };

  // /repos/{o}/{r}/pulls/{n}[/files]
  if (parts.size() >= 5 && parts[3] == "pulls" && req.method == "GET") {
    auto it = st_->pulls.find(repo + "#" + parts[4]);
    if (it == st_->pulls.end()) return done(404, error_body("Not Found"));
    if (parts.size() == 5) return done(200, it->second.pull);
    if (parts.size() == 6 && parts[5] == "files") {
      // GitHub lists at most 3000 files of a pull request.
      std::vector<json> capped(
          it->second.files.begin(),
          it->second.files.begin() + std::min<std::size_t>(3000, it->second.files.size()));
      return paged(capped, req.path);
    }
  }
  // /repos/{o}/{r}/issues/comments/{id}
  if (parts.size() == 6 && parts[3] == "issues" && parts[4] == "comments") {
    long long id = to_ll(parts[5], -1);
    for (auto& c : st_->comments) {
      if (c["id"] != id || c["_repo"] != repo) continue;
      if (req.method == "PATCH") {
        if (!body.is_object() || !body.contains("body") || !body["body"].is_string())
          return done(422, error_body("Validation Failed"));
        if (c["user"]["login"] != st_->bot)
          return done(403, error_body("Must have admin rights to Repository."));
        c["body"] = body["body"];
        c["updated_at"] = iso_now();
        ++st_->comment_writes;
        st_->cv.notify_all();
        json shown = c;
        shown.erase("_repo");
        shown.erase("_number");
        return done(200, shown);
      }
      if (req.method == "GET") {
        json shown = c;
        shown.erase("_repo");
        shown.erase("_number");
        return done(200, shown);
      }
    }
    return done(404, error_body("Not Found"));
  }
  // /repos/{o}/{r}/issues/{n}/comments
  if (parts.size() == 6 && parts[3] == "issues" && parts[5] == "comments") {
    long long number = to_ll(parts[4], -1);
    if (req.method == "GET") {
      std::vector<json> list;
      for (const auto& c : st_->comments)
        if (c["_repo"] == repo && c["_number"] == number) list.push_back(c);
      return paged(list, req.path);
    }
    if (req.method == "POST") {
      if (!body.is_object() || !body.contains("body") || !body["body"].is_string())
        return done(422, error_body("Validation Failed"));
      long long id = ++st_->next_comment_id;
      json c = {{"id", id},
                {"body", body["body"]},
                {"user", {{"login", st_->bot}, {"type", "Bot"}}},
                {"html_url", "https://github.com/" + repo + "/pull/" + parts[4] + "#issuecomment-" +
                                 std::to_string(id)},
                {"created_at", iso_now()},
                {"updated_at", iso_now()},
                {"_repo", repo},
                {"_number", number}};
      st_->comments.push_back(c);
      ++st_->comment_writes;
      st_->cv.notify_all();
      c.erase("_repo");
      c.erase("_number");
      return done(201, c);
    }
  }
  // /repos/{o}/{r}/issues
  if (parts.size() == 4 && parts[3] == "issues") {
    auto& list = st_->issues[repo];
    if (req.method == "POST") {
      if (!body.is_object() || !body.contains("title") || !body["title"].is_string() ||
          body["title"].get<std::string>().empty())
        return done(422, error_body("Validation Failed"));
      long long& next = st_->next_issue_number[repo];
      if (next == 0) next = 1;
      long long n = next++;
      json labels = json::array();
      if (body.contains("labels") && body["labels"].is_array())
        for (const auto& l : body["labels"]) labels.push_back({{"name", l}});
      json issue = {{"number", n},
                    {"id", 500000 + n},
                    {"title", body["title"]},
                    {"body", body.value("body", "")},
                    {"labels", labels},
                    {"state", "open"},
                    {"user", {{"login", st_->bot}, {"type", "Bot"}}},
                    {"html_url", "https://github.com/" + repo + "/issues/" + std::to_string(n)},
                    {"created_at", iso_now()}};
      if (st_->search_lag) issue["_unindexed"] = true;
      list.push_back(issue);
      issue.erase("_unindexed");
      return done(201, issue);
    }
    if (req.method == "GET") {
      std::vector<json> newest(list.rbegin(), list.rend());
      return paged(newest, req.path);
    }
  }
  // /repos/{o}/{r}/collaborators/{u}/permission
  if (parts.size() == 6 && parts[3] == "collaborators" && parts[5] == "permission" &&
      req.method == "GET") {
    auto it = st_->permissions.find(repo + "|" + parts[4]);
    std::string perm = it == st_->permissions.end() ? "none" : it->second;
    std::string role = perm == "none" ? "none" : perm;
    // The API reports maintain as write and triage as read in `permission`.
    std::string legacy = perm == "maintain" ? "write" : perm == "triage" ? "read" : perm;
    return done(200, {{"permission", legacy},
                      {"role_name", role},
                      {"user", {{"login", parts[4]}, {"type", "User"}}}});
  }
  return done(404, error_body("Not Found"));
}

}  // namespace jarvis::test::fakes
