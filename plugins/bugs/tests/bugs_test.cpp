// bugs/tests/bugs_test.cpp — the bugs plugin end to end against the built `jarvis` binary: the
// HTTP API with real users and tokens (owner scoping, validation), the tasks bugs.report (dedupe)
// and bugs.link_external, the bug.created event and the CLI.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::create_user_token;
using jarvis::test::http;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace {

const std::string kJson = "Content-Type: application/json";

class Bugs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jarvis::test::TempDir();
    env_ = {{"APP_DB", dir_->file("jarvis.db")}, {"LOG_LEVEL", "warn"}};
    auto m = run_jarvis({"migrate"}, dir_->path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
    admin_ = create_user_token(dir_->path(), env_, "root", true);
    alice_ = create_user_token(dir_->path(), env_, "alice", false);
    bob_ = create_user_token(dir_->path(), env_, "bob", false);
    server_ = new ServerProcess(dir_->path(), env_);
    ASSERT_TRUE(server_->ready()) << server_->output();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                       const std::string& token, const std::string& body = "") {
    std::vector<std::string> h{kJson};
    if (!token.empty()) h.push_back(bearer(token));
    return http(method, server_->url(path), body, h);
  }
  static json create(const std::string& token, const json& body,
                     const std::string& path = "/api/v1/bugs") {
    auto r = call("POST", path, token, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static std::string error_code(const jarvis::test::HttpResult& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  static jarvis::test::TempDir* dir_;
  static std::map<std::string, std::string> env_;
  static std::string admin_, alice_, bob_;
  static ServerProcess* server_;
};

jarvis::test::TempDir* Bugs::dir_ = nullptr;
std::map<std::string, std::string> Bugs::env_;
std::string Bugs::admin_, Bugs::alice_, Bugs::bob_;
ServerProcess* Bugs::server_ = nullptr;

TEST_F(Bugs, CreateReturnsTheStoredReport) {
  json b =
      create(alice_, {{"title", "Crash on start"}, {"description", "boom"}, {"priority", "high"}});
  EXPECT_EQ(b["title"], "Crash on start");
  EXPECT_EQ(b["kind"], "bug");
  EXPECT_EQ(b["status"], "open");
  EXPECT_EQ(b["priority"], "high");
  EXPECT_EQ(b["sync_to_github"], false);
  EXPECT_TRUE(b["github_issue_number"].is_null());
  EXPECT_EQ(b["id"].get<std::string>().rfind("bug_", 0), 0u);
}

TEST_F(Bugs, AnonymousIsRejected) {
  EXPECT_EQ(call("GET", "/api/v1/bugs", "").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/bugs", "", R"({"title":"x"})").status, 401);
}

TEST_F(Bugs, ValidationErrorsNameTheField) {
  struct Case {
    std::string body, code, field;
  } cases[] = {
      {R"({})", "invalid_field", "title"},
      {R"({"title":"   "})", "invalid_field", "title"},
      {R"({"title":5})", "invalid_field", "title"},
      {R"({"title":"t","priority":"urgent"})", "invalid_field", "priority"},
      {R"({"title":"t","kind":"question"})", "invalid_field", "kind"},
      {R"({"title":"t","sync_to_github":"yes"})", "invalid_field", "sync_to_github"},
      {R"({"title":"t","colour":"red"})", "unknown_field", "colour"},
      {R"({"title":")" + std::string(300, 'x') + R"("})", "invalid_field", "title"},
      {R"(not json)", "invalid_json", ""},
      {R"([1,2])", "invalid_json", ""},
  };
  for (const auto& c : cases) {
    auto r = call("POST", "/api/v1/bugs", alice_, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " → " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.body << " → " << r.body;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << r.body;
  }
}

TEST_F(Bugs, UsersSeeOnlyTheirOwnAdminsSeeAll) {
  json a = create(alice_, {{"title", "alice only"}});
  json b = create(bob_, {{"title", "bob only"}});
  auto la = json::parse(call("GET", "/api/v1/bugs?search=only", alice_).body);
  ASSERT_EQ(la["total"], 1);
  EXPECT_EQ(la["items"][0]["id"], a["id"]);
  auto lr = json::parse(call("GET", "/api/v1/bugs?search=ONLY", admin_).body);
  EXPECT_EQ(lr["total"], 2);

  std::string bob_path = "/api/v1/bugs/" + b["id"].get<std::string>();
  EXPECT_EQ(call("GET", bob_path, alice_).status, 404);
  EXPECT_EQ(call("PATCH", bob_path, alice_, R"({"status":"closed"})").status, 404);
  EXPECT_EQ(call("DELETE", bob_path, alice_).status, 404);
  EXPECT_EQ(call("GET", bob_path, bob_).status, 200);
  auto p = call("PATCH", bob_path, admin_, R"({"status":"in_progress","assignee":"ops"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body)["status"], "in_progress");
  EXPECT_EQ(json::parse(p.body)["assignee"], "ops");
}

TEST_F(Bugs, FiltersAndPaging) {
  create(alice_, {{"title", "filter-me low"}, {"priority", "low"}});
  create(alice_, {{"title", "filter-me critical"}, {"priority", "critical"}});
  auto r = json::parse(call("GET", "/api/v1/bugs?search=filter-me&priority=critical", alice_).body);
  ASSERT_EQ(r["total"], 1);
  EXPECT_EQ(r["items"][0]["priority"], "critical");
  auto page =
      json::parse(call("GET", "/api/v1/bugs?search=filter-me&limit=1&offset=1", alice_).body);
  EXPECT_EQ(page["total"], 2);
  EXPECT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/bugs?limit=0", alice_).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/bugs?limit=201", alice_).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/bugs?limit=ten", alice_).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/bugs?status=done", alice_).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/bugs?kind=idea", alice_).status, 400);
  // LIKE wildcards in the search are literal.
  EXPECT_EQ(json::parse(call("GET", "/api/v1/bugs?search=%25", alice_).body)["total"], 0);
}

TEST_F(Bugs, PatchAndDelete) {
  json b = create(alice_, {{"title", "to change"}});
  std::string path = "/api/v1/bugs/" + b["id"].get<std::string>();
  EXPECT_EQ(error_code(call("PATCH", path, alice_, "{}")), "no_fields");
  EXPECT_EQ(call("PATCH", path, alice_, R"({"status":"done"})").status, 400);
  EXPECT_EQ(call("PATCH", path, alice_, R"({"reporter_id":"x"})").status, 400);
  auto p = call("PATCH", path, alice_, R"({"title":"changed","priority":"low"})");
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(json::parse(p.body)["title"], "changed");
  EXPECT_EQ(call("DELETE", path, alice_).status, 204);
  EXPECT_EQ(call("GET", path, alice_).status, 404);
  EXPECT_EQ(call("DELETE", path, alice_).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/bugs/bug_doesnotexist", admin_).status, 404);
}

TEST_F(Bugs, FeatureRequests) {
  json f = create(alice_, {{"title", "dark mode"}}, "/api/v1/feature-requests");
  EXPECT_EQ(f["kind"], "feature");
  auto bad = call("POST", "/api/v1/feature-requests", alice_, R"({"title":"x","kind":"bug"})");
  EXPECT_EQ(bad.status, 400);
  auto l = json::parse(call("GET", "/api/v1/feature-requests", alice_).body);
  for (const auto& i : l["items"]) EXPECT_EQ(i["kind"], "feature");
  EXPECT_GE(l["total"].get<int>(), 1);
}

TEST_F(Bugs, CreatedEventIsEmitted) {
  json b = create(alice_, {{"title", "evented"}, {"sync_to_github", true}});
  auto r = call("GET", "/api/v1/events?type=bug.created&limit=200", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  bool found = false;
  json events = json::parse(r.body);
  for (const auto& e : events["items"]) {
    if (e["payload"]["id"] == b["id"]) {
      found = true;
      EXPECT_EQ(e["payload"]["kind"], "bug");
      EXPECT_EQ(e["payload"]["sync_to_github"], true);
      EXPECT_EQ(e["component"], "bugs");
    }
  }
  EXPECT_TRUE(found) << "created " << b.dump() << "\nevents " << r.body;
}

TEST_F(Bugs, ReportTaskDedupesOpenReports) {
  std::string payload = R"({"title":"disk full","description":"d","dedupe_key":"disk"})";
  auto t1 = run_jarvis(
      {"tasks", "enqueue", "bugs.report", "--payload", payload, "--wait", "--run-here", "--json"},
      dir_->path(), env_);
  ASSERT_EQ(t1.exit_code, 0) << t1.out << t1.err;
  auto t2 = run_jarvis(
      {"tasks", "enqueue", "bugs.report", "--payload", payload, "--wait", "--run-here", "--json"},
      dir_->path(), env_);
  ASSERT_EQ(t2.exit_code, 0) << t2.out << t2.err;
  json r1 = json::parse(t1.out)["result"], r2 = json::parse(t2.out)["result"];
  EXPECT_TRUE(r1["created"].get<bool>());
  EXPECT_FALSE(r2["created"].get<bool>());
  EXPECT_EQ(r1["id"], r2["id"]);
  // Closed reports are not reused.
  auto close = call("PATCH", "/api/v1/bugs/" + r1["id"].get<std::string>(), admin_,
                    R"({"status":"closed"})");
  ASSERT_EQ(close.status, 200) << close.body;
  auto t3 = run_jarvis(
      {"tasks", "enqueue", "bugs.report", "--payload", payload, "--wait", "--run-here", "--json"},
      dir_->path(), env_);
  EXPECT_TRUE(json::parse(t3.out)["result"]["created"].get<bool>());
}

// Reports racing on one dedupe key (the serving host's workers run them at the same time) file
// one report; reopening a closed duplicate while another is open is a 409.
TEST_F(Bugs, ConcurrentReportsWithOneKeyFileOneReport) {
  std::string payload = R"({"title":"racing","description":"d","dedupe_key":"race"})";
  std::vector<jarvis::test::RunResult> results(8);
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&r, &payload] {
      r = run_jarvis({"tasks", "enqueue", "bugs.report", "--payload", payload, "--wait", "--json"},
                     dir_->path(), env_);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  int created = 0;
  for (const auto& r : results) {
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    json res = json::parse(r.out)["result"];
    ids.insert(res["id"].get<std::string>());
    created += res["created"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);

  std::string first = *ids.begin();
  ASSERT_EQ(call("PATCH", "/api/v1/bugs/" + first, admin_, R"({"status":"closed"})").status, 200);
  auto again = run_jarvis(
      {"tasks", "enqueue", "bugs.report", "--payload", payload, "--wait", "--run-here", "--json"},
      dir_->path(), env_);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  std::string second = json::parse(again.out)["result"]["id"];
  EXPECT_NE(second, first);
  auto reopen = call("PATCH", "/api/v1/bugs/" + first, admin_, R"({"status":"open"})");
  EXPECT_EQ(reopen.status, 409) << reopen.body;
  EXPECT_EQ(error_code(reopen), "duplicate_report");
  ASSERT_EQ(call("PATCH", "/api/v1/bugs/" + second, admin_, R"({"status":"resolved"})").status,
            200);
  EXPECT_EQ(call("PATCH", "/api/v1/bugs/" + first, admin_, R"({"status":"open"})").status, 200);
}

TEST_F(Bugs, ReportTaskRejectsBadPayload) {
  auto t = run_jarvis({"tasks", "enqueue", "bugs.report", "--payload", R"({"priority":"low"})",
                       "--wait", "--run-here", "--json"},
                      dir_->path(), env_);
  EXPECT_EQ(t.exit_code, 1) << t.out << t.err;
  json j = json::parse(t.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << t.out;
  EXPECT_NE(j["status"], "succeeded");
  EXPECT_NE(j["last_error"].get<std::string>().find("title"), std::string::npos) << t.out;
}

TEST_F(Bugs, LinkExternalFillsGithubFields) {
  json b = create(alice_, {{"title", "sync me"}, {"sync_to_github", true}});
  json payload = {{"id", b["id"]},
                  {"github_issue_number", 42},
                  {"github_issue_url", "https://github.com/o/r/issues/42"},
                  {"synced_at", "2026-11-28T00:00:00.000Z"}};
  auto t = run_jarvis({"tasks", "enqueue", "bugs.link_external", "--payload", payload.dump(),
                       "--wait", "--run-here"},
                      dir_->path(), env_);
  ASSERT_EQ(t.exit_code, 0) << t.out << t.err;
  json got = json::parse(call("GET", "/api/v1/bugs/" + b["id"].get<std::string>(), alice_).body);
  EXPECT_EQ(got["github_issue_number"], 42);
  EXPECT_EQ(got["github_issue_url"], "https://github.com/o/r/issues/42");
  EXPECT_EQ(got["github_synced_at"], "2026-11-28T00:00:00.000Z");
  auto missing = run_jarvis({"tasks", "enqueue", "bugs.link_external", "--payload",
                             R"({"id":"bug_nope"})", "--wait", "--run-here"},
                            dir_->path(), env_);
  EXPECT_EQ(missing.exit_code, 1);
}

TEST_F(Bugs, Cli) {
  json b = create(bob_, {{"title", "cli visible"}});
  auto l = run_jarvis({"bugs", "list", "--json"}, dir_->path(), env_);
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_GE(json::parse(l.out)["total"].get<int>(), 1);
  auto s = run_jarvis({"bugs", "show", b["id"].get<std::string>(), "--json"}, dir_->path(), env_);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["title"], "cli visible");
  EXPECT_EQ(run_jarvis({"bugs", "show", "bug_missing"}, dir_->path(), env_).exit_code, 1);
  EXPECT_EQ(run_jarvis({"bugs", "list", "--status", "nope"}, dir_->path(), env_).exit_code, 2);
  EXPECT_EQ(run_jarvis({"bugs", "show"}, dir_->path(), env_).exit_code, 2);
}

}  // namespace
