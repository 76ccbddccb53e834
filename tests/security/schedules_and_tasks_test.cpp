// tests/security/schedules_and_tasks_test.cpp — issue 8 findings 1, 2, 5 and 10 against a real
// `jarvis serve` (SQLite): deep JSON that crashed the process, schedules that ran admin-only work
// for a plain user, writes into another user's thread, and the missing per-user quotas.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <set>
#include <string>

#include "auth/thread_owners.h"
#include "db/sql_database.h"
#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::create_user_token;
using jarvis::test::http;
using jarvis::test::HttpResult;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace {

const std::string kJson = "Content-Type: application/json";

// {"payload":{"a":{"a":…1…}}} nested `depth` levels below "payload", built as text (building it
// as a json value would itself recurse).
std::string deep_schedule_body(int depth) {
  std::string open, close;
  open.reserve(static_cast<std::size_t>(depth) * 5);
  for (int i = 0; i < depth; ++i) {
    open += "{\"a\":";
    close += "}";
  }
  return R"({"cron_expr":"@every:3600","task":"system.echo","payload":)" + open + "1" + close + "}";
}

std::string code_of(const HttpResult& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

class SecuritySchedules : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"APP_DB", dir_.file("jarvis.db")}, {"LOG_LEVEL", "warn"}};
    env_.insert(extra_env_.begin(), extra_env_.end());
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
    admin_ = create_user_token(dir_.path(), env_, "root", true);
    alice_ = create_user_token(dir_.path(), env_, "alice", false);
    bob_ = create_user_token(dir_.path(), env_, "bob", false);
    start();
  }

  void start() {
    server_ = std::make_unique<ServerProcess>(dir_.path(), env_);
    ASSERT_TRUE(server_->ready()) << server_->output();
  }

  HttpResult call(const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "") {
    std::vector<std::string> h{kJson};
    if (!token.empty()) h.push_back(bearer(token));
    return http(method, server_->url(path), body, h);
  }

  std::string user_id(const std::string& token) {
    auto r = call("GET", "/api/v1/auth/me", token);
    return json::parse(r.body, nullptr, false).value("user_id", "");
  }

  // Claims `thread` for the user of `token`, as a chat plugin would.
  void claim(const std::string& thread, const std::string& token) {
    auto db = jarvis::host::SqlDatabase::open(dir_.file("jarvis.db"), 1);
    jarvis::host::ThreadOwners(*db).claim(thread, user_id(token), "test");
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_, extra_env_;
  std::string admin_, alice_, bob_;
  std::unique_ptr<ServerProcess> server_;
};

// --- Finding 1: a payload nested 70,000 levels deep crashed the process. ---

TEST_F(SecuritySchedules, DeepJsonPayloadIsRefusedAndTheServerStaysUp) {
  std::string deep = deep_schedule_body(70000);  // ~420 KB, under the body limit
  auto created = call("POST", "/api/v1/schedules", alice_, deep);
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_EQ(code_of(created), "json_too_deep");

  auto ok = call("POST", "/api/v1/schedules", alice_,
                 R"({"cron_expr":"@every:3600","task":"system.echo","payload":{}})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  std::string id = json::parse(ok.body)["id"];
  auto patched = call("PATCH", "/api/v1/schedules/" + id, alice_, deep);
  EXPECT_EQ(patched.status, 400) << patched.body;
  EXPECT_EQ(code_of(patched), "json_too_deep");
  auto bug = call("POST", "/api/v1/bugs", alice_, deep);
  EXPECT_EQ(bug.status, 400);
  EXPECT_EQ(code_of(bug), "json_too_deep");

  EXPECT_EQ(http("GET", server_->url("/healthz")).status, 200) << server_->output();
}

TEST_F(SecuritySchedules, JsonAtTheDepthLimitIsAccepted) {
  // The body's own object is level 1, so the payload may nest 63 levels.
  auto at_limit = call("POST", "/api/v1/schedules", alice_, deep_schedule_body(63));
  EXPECT_EQ(at_limit.status, 201) << at_limit.body;
  auto over = call("POST", "/api/v1/schedules", alice_, deep_schedule_body(64));
  EXPECT_EQ(over.status, 400);
  EXPECT_EQ(code_of(over), "json_too_deep");
}

TEST_F(SecuritySchedules, DeepJsonOnTheCliIsAUsageError) {
  std::string payload;
  for (int i = 0; i < 70000; ++i) payload += "[";
  auto r = run_jarvis({"tasks", "enqueue", "system.echo", "--payload", payload}, dir_.path(), env_);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("at most 64 levels"), std::string::npos) << r.err;
}

// --- Finding 2: a plain user scheduled maintenance.run, system.rotate_unlock_code and
//     scheduler.tick, and they ran. ---

TEST_F(SecuritySchedules, UserCannotScheduleAdminOrInternalTasks) {
  for (const char* task : {"maintenance.run", "system.rotate_unlock_code", "scheduler.tick",
                           "bugs.report", "bugs.link_external"}) {
    json body = {{"cron_expr", "@every:3600"}, {"task", task}};
    auto r = call("POST", "/api/v1/schedules", alice_, body.dump());
    EXPECT_EQ(r.status, 403) << task << ": " << r.body;
    EXPECT_EQ(code_of(r), "task_forbidden") << task;
  }
  // A user task is fine; changing it into an admin task is not.
  auto ok = call("POST", "/api/v1/schedules", alice_,
                 R"({"cron_expr":"@every:3600","task":"system.echo"})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  std::string id = json::parse(ok.body)["id"];
  auto patched = call("PATCH", "/api/v1/schedules/" + id, alice_, R"({"task":"maintenance.run"})");
  EXPECT_EQ(patched.status, 403) << patched.body;
  EXPECT_EQ(json::parse(call("GET", "/api/v1/schedules", alice_).body)["items"][0]["task"],
            "system.echo");
  // Nothing was queued for the refused tasks.
  auto tasks = json::parse(call("GET", "/api/v1/tasks?name=maintenance.run", admin_).body);
  EXPECT_EQ(tasks["total"], 0);
}

TEST_F(SecuritySchedules, AdminMaySchedulesAdminTasksButNotInternalOnes) {
  auto admin_task = call("POST", "/api/v1/schedules", admin_,
                         R"({"cron_expr":"@every:3600","task":"maintenance.run"})");
  EXPECT_EQ(admin_task.status, 201) << admin_task.body;
  auto internal = call("POST", "/api/v1/schedules", admin_,
                       R"({"cron_expr":"@every:3600","task":"scheduler.tick"})");
  EXPECT_EQ(internal.status, 403) << internal.body;
  auto cli = run_jarvis({"tasks", "enqueue", "scheduler.tick"}, dir_.path(), env_);
  EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
  EXPECT_NE(cli.err.find("task_forbidden"), std::string::npos) << cli.err;
  auto cli_sched = run_jarvis(
      {"schedules", "add", "--cron", "@every:60", "--task", "scheduler.tick"}, dir_.path(), env_);
  EXPECT_EQ(cli_sched.exit_code, 1) << cli_sched.out << cli_sched.err;
}

TEST_F(SecuritySchedules, CatalogListsOnlyTasksTheCallerMaySchedule) {
  auto names = [&](const std::string& token) {
    std::set<std::string> out;
    auto r = call("GET", "/api/v1/task-catalog", token);
    EXPECT_EQ(r.status, 200) << r.body;
    json body = json::parse(r.body);
    for (const auto& t : body["items"]) out.insert(t["name"].get<std::string>());
    return out;
  };
  auto user = names(alice_);
  EXPECT_TRUE(user.count("system.echo"));
  EXPECT_FALSE(user.count("maintenance.run"));
  EXPECT_FALSE(user.count("scheduler.tick"));
  auto admin = names(admin_);
  EXPECT_TRUE(admin.count("maintenance.run"));
  EXPECT_FALSE(admin.count("scheduler.tick"));
}

TEST_F(SecuritySchedules, ForbiddenSchedulesAreDisabledAtStartUp) {
  // An admin's maintenance schedule, then the admin is demoted: the schedule would now run admin
  // work for a plain user.
  auto carol = create_user_token(dir_.path(), env_, "carol", true);
  auto r = call("POST", "/api/v1/schedules", carol,
                R"({"cron_expr":"@every:3600","task":"maintenance.run","enabled":true})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = json::parse(r.body)["id"];
  server_.reset();
  auto demote = run_jarvis({"users", "set-role", "carol", "user"}, dir_.path(), env_);
  ASSERT_EQ(demote.exit_code, 0) << demote.err;
  start();
  auto list = json::parse(call("GET", "/api/v1/schedules?owner=" + user_id(carol), admin_).body);
  ASSERT_EQ(list["items"].size(), 1u) << list.dump();
  EXPECT_EQ(list["items"][0]["enabled"], false);
  EXPECT_NE(list["items"][0]["disabled_reason"].get<std::string>().find("task_forbidden"),
            std::string::npos);
  // Enabling it again is refused for the demoted owner.
  auto again = call("PATCH", "/api/v1/schedules/" + id, carol, R"({"enabled":true})");
  EXPECT_EQ(again.status, 403) << again.body;
}

// --- Finding 5: a bug report or schedule carrying another user's thread_id. ---

TEST_F(SecuritySchedules, CallerSuppliedThreadMustBeTheirs) {
  claim("thr_bob", bob_);
  claim("thr_alice", alice_);
  for (const char* thread : {"thr_bob", "thr_nobody"}) {
    json bug = {{"title", "x"}, {"thread_id", thread}};
    auto b = call("POST", "/api/v1/bugs", alice_, bug.dump());
    EXPECT_EQ(b.status, 404) << thread << ": " << b.body;
    EXPECT_EQ(code_of(b), "thread_not_found");
    json sched = {{"cron_expr", "@every:3600"}, {"task", "system.echo"}, {"thread_id", thread}};
    auto s = call("POST", "/api/v1/schedules", alice_, sched.dump());
    EXPECT_EQ(s.status, 404) << thread << ": " << s.body;
    EXPECT_EQ(code_of(s), "thread_not_found");
  }
  // Nothing reached bob's thread.
  auto events = json::parse(call("GET", "/api/v1/events?thread_id=thr_bob", admin_).body);
  EXPECT_EQ(events["items"].size(), 0u) << events.dump();

  json own = {{"title", "mine"}, {"thread_id", "thr_alice"}};
  EXPECT_EQ(call("POST", "/api/v1/bugs", alice_, own.dump()).status, 201);
  auto s = call("POST", "/api/v1/schedules", alice_,
                R"({"cron_expr":"@every:3600","task":"system.echo"})");
  ASSERT_EQ(s.status, 201);
  std::string id = json::parse(s.body)["id"];
  auto p = call("PATCH", "/api/v1/schedules/" + id, alice_, R"({"thread_id":"thr_bob"})");
  EXPECT_EQ(p.status, 404) << p.body;
  // A thread_id inside the payload (tasks route their events by it) is checked the same way.
  json in_payload = {{"cron_expr", "@every:3600"},
                     {"task", "system.echo"},
                     {"payload", {{"thread_id", "thr_bob"}}}};
  auto hidden = call("POST", "/api/v1/schedules", alice_, in_payload.dump());
  EXPECT_EQ(hidden.status, 404) << hidden.body;
  EXPECT_EQ(code_of(hidden), "thread_not_found");
  // Admins may use any thread.
  EXPECT_EQ(call("POST", "/api/v1/bugs", admin_, R"({"title":"a","thread_id":"thr_bob"})").status,
            201);
}

// --- Finding 10: no quotas. ---

class SecurityQuotas : public SecuritySchedules {
 protected:
  void SetUp() override {
    extra_env_ = {{"SCHEDULES_MAX_PER_USER", "3"}, {"BUGS_MAX_REPORTS_PER_HOUR", "3"}};
    SecuritySchedules::SetUp();
  }
};

TEST_F(SecurityQuotas, SchedulesPerUserAreCapped) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("POST", "/api/v1/schedules", alice_,
                   R"({"cron_expr":"@every:3600","task":"system.echo"})")
                  .status,
              201);
  }
  auto over = call("POST", "/api/v1/schedules", alice_,
                   R"({"cron_expr":"@every:3600","task":"system.echo"})");
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(code_of(over), "quota_exceeded");
  EXPECT_NE(over.body.find("SCHEDULES_MAX_PER_USER"), std::string::npos);
  // Another user has their own allowance.
  EXPECT_EQ(
      call("POST", "/api/v1/schedules", bob_, R"({"cron_expr":"@every:3600","task":"system.echo"})")
          .status,
      201);
}

TEST_F(SecurityQuotas, ShortIntervalsAndLargePayloadsAreRefusedForUsers) {
  auto fast =
      call("POST", "/api/v1/schedules", alice_, R"({"cron_expr":"@every:1","task":"system.echo"})");
  EXPECT_EQ(fast.status, 400) << fast.body;
  EXPECT_EQ(code_of(fast), "interval_too_short");
  EXPECT_EQ(
      call("POST", "/api/v1/schedules", alice_, R"({"cron_expr":"* * * * *","task":"system.echo"})")
          .status,
      201);  // every minute = the default floor
  json big = {{"cron_expr", "@every:3600"},
              {"task", "system.echo"},
              {"payload", {{"blob", std::string(60000, 'x')}}}};
  auto large = call("POST", "/api/v1/schedules", alice_, big.dump());
  EXPECT_EQ(large.status, 413) << large.body;
  EXPECT_NE(large.body.find("SCHEDULES_MAX_PAYLOAD_BYTES"), std::string::npos);
  // Admins are bound only by TASK_MAX_PAYLOAD_BYTES.
  EXPECT_EQ(
      call("POST", "/api/v1/schedules", admin_, R"({"cron_expr":"@every:1","task":"system.echo"})")
          .status,
      201);
  EXPECT_EQ(call("POST", "/api/v1/schedules", admin_, big.dump()).status, 201);
  big["payload"]["blob"] = std::string(70000, 'x');
  EXPECT_EQ(call("POST", "/api/v1/schedules", admin_, big.dump()).status, 413);
}

TEST_F(SecurityQuotas, BugReportsPerHourAreCapped) {
  for (int i = 0; i < 3; ++i) {
    json b = {{"title", "report " + std::to_string(i)}};
    EXPECT_EQ(call("POST", "/api/v1/bugs", alice_, b.dump()).status, 201);
  }
  auto over = call("POST", "/api/v1/bugs", alice_, R"({"title":"one too many"})");
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(code_of(over), "quota_exceeded");
  EXPECT_EQ(call("POST", "/api/v1/bugs", bob_, R"({"title":"bob's first"})").status, 201);
  EXPECT_EQ(call("POST", "/api/v1/bugs", admin_, R"({"title":"admins are not capped"})").status,
            201);
}

}  // namespace
