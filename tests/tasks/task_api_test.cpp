// tests/tasks/task_api_test.cpp — the schedules/tasks routes (called through the Router with a
// Request whose principal is set, as the HTTP dispatcher does) and the `jarvis tasks|schedules`
// commands (called through the CommandTable): owner scoping, auth levels, error codes, retry,
// queue status, enqueue --wait with and without --run-here.
#include <gtest/gtest.h>

#include <sstream>

#include "http/router.h"
#include "jarvis/error.h"
#include "registry/command_table.h"
#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "tasks/task_commands.h"
#include "tasks/task_queue.h"
#include "tasks/task_routes.h"
#include "tasks/task_service.h"
#include "task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using jarvis::Json;
using testing::Db;

jarvis::Principal user(const std::string& id) {
  return jarvis::Principal{id, id + "_name", jarvis::Role::User, true};
}
jarvis::Principal admin() {
  return jarvis::Principal{"usr_admin", "admin", jarvis::Role::Admin, true};
}

struct Called {
  int status = 0;
  Json body;
  std::string code;  // error code when the handler threw jarvis::Error
};

class TaskApiTest : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = testing::open_db(GetParam(), dir_);
    ASSERT_TRUE(db_);
    tasks_ = std::make_unique<TaskService>(*db_, nullptr, nullptr);
    register_task_routes(router_, *tasks_, *db_);
    register_task_commands(commands_, *tasks_, *db_);
  }

  // Routes a request like the dispatcher: match, then run the handler; jarvis::Error becomes
  // its status and code.
  Called call(const std::string& method, const std::string& target, const jarvis::Principal& who,
              const Json& body = Json()) {
    jarvis::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string rest = target.substr(q + 1);
      std::size_t pos = 0;
      while (pos <= rest.size()) {
        auto amp = rest.find('&', pos);
        std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        auto eq = kv.find('=');
        if (eq != std::string::npos) req.query[kv.substr(0, eq)] = kv.substr(eq + 1);
        if (amp == std::string::npos) break;
        pos = amp + 1;
      }
    }
    req.principal = who;
    if (!body.is_null()) req.body = body.dump();
    auto m = router_.match(method, req.path);
    EXPECT_EQ(m.kind, RouteMatch::Kind::Found) << method << " " << req.path;
    if (m.kind != RouteMatch::Kind::Found) return {};
    req.path_params = m.path_params;
    // The dispatcher enforces the declared level before the handler runs.
    auto level = m.route->spec.auth;
    if (level == jarvis::Auth::Admin && !who.is_admin()) return {403, Json(), "forbidden"};
    if (level == jarvis::Auth::User && !who.authenticated) return {401, Json(), "unauthenticated"};
    try {
      auto resp = m.route->spec.handler(req);
      Called c;
      c.status = resp.status;
      if (!resp.body.empty()) c.body = Json::parse(resp.body);
      return c;
    } catch (const jarvis::Error& e) {
      return {e.status(), Json{{"message", e.what()}}, e.code()};
    }
  }

  struct Ran {
    int code = -1;
    std::string out, err;
  };
  Ran run(const std::string& group, const std::string& name, std::vector<std::string> args) {
    auto entry = commands_.find(group, name);
    EXPECT_TRUE(entry) << group << " " << name;
    if (!entry) return {};
    std::ostringstream out, err;
    std::istringstream in;
    jarvis::CommandContext ctx{std::move(args), out, err, in};
    Ran r;
    try {
      r.code = entry->spec.handler(ctx);
    } catch (const jarvis::UsageError& e) {
      r.code = 2;
      err << e.what();
    }
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  jarvis::test::TempDir dir_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<TaskService> tasks_;
  Router router_;
  CommandTable commands_;
};

TEST_P(TaskApiTest, RoutesDeclareTheirAuthLevels) {
  std::map<std::string, jarvis::Auth> expected = {
      {"GET /api/v1/schedules", jarvis::Auth::User},
      {"POST /api/v1/schedules", jarvis::Auth::User},
      {"PATCH /api/v1/schedules/{id}", jarvis::Auth::User},
      {"DELETE /api/v1/schedules/{id}", jarvis::Auth::User},
      {"GET /api/v1/schedules/{id}/dispatches", jarvis::Auth::User},
      {"GET /api/v1/task-catalog", jarvis::Auth::User},
      {"GET /api/v1/tasks", jarvis::Auth::Admin},
      {"GET /api/v1/tasks/{id}", jarvis::Auth::Admin},
      {"POST /api/v1/tasks/{id}/retry", jarvis::Auth::Admin}};
  std::map<std::string, jarvis::Auth> found;
  for (const auto& r : router_.routes()) {
    EXPECT_EQ(r->owner.name, "host");
    found[r->spec.method + " " + r->spec.path] = r->spec.auth;
  }
  EXPECT_EQ(found, expected);
}

TEST_P(TaskApiTest, SchedulesAreOwnerScoped) {
  Json body = {{"cron_expr", "@every:60"}, {"task", "system.echo"}, {"payload", {{"x", 1}}}};
  auto created = call("POST", "/api/v1/schedules", user("usr_alice"), body);
  ASSERT_EQ(created.status, 201) << created.body.dump();
  std::string id = created.body["id"];
  EXPECT_EQ(created.body["owner"], "usr_alice");
  EXPECT_EQ(created.body["payload"], (Json{{"x", 1}}));
  auto bobs = call("POST", "/api/v1/schedules", user("usr_bob"),
                   {{"cron_expr", "0 9 * * MON-FRI"}, {"task", "system.echo"}});
  ASSERT_EQ(bobs.status, 201);

  // Each user lists only their own; the admin sees both and can filter.
  auto alice_list = call("GET", "/api/v1/schedules", user("usr_alice"));
  ASSERT_EQ(alice_list.body["items"].size(), 1u);
  EXPECT_EQ(alice_list.body["items"][0]["id"], id);
  auto admin_list = call("GET", "/api/v1/schedules", admin());
  EXPECT_EQ(admin_list.body["total"], 2);
  auto filtered = call("GET", "/api/v1/schedules?owner=usr_bob", admin());
  ASSERT_EQ(filtered.body["items"].size(), 1u);
  EXPECT_EQ(filtered.body["items"][0]["owner"], "usr_bob");

  // Bob cannot see, change, inspect or delete Alice's schedule: 404, nothing changed.
  EXPECT_EQ(call("PATCH", "/api/v1/schedules/" + id, user("usr_bob"), {{"enabled", false}}).code,
            "schedule_not_found");
  EXPECT_EQ(call("GET", "/api/v1/schedules/" + id + "/dispatches", user("usr_bob")).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/schedules/" + id, user("usr_bob")).status, 404);
  EXPECT_TRUE(tasks_->scheduler().get(id)->enabled);
  // Anonymous callers are stopped by the auth level.
  EXPECT_EQ(call("GET", "/api/v1/schedules", jarvis::Principal{}).status, 401);

  // Alice and the admin can.
  auto patched = call("PATCH", "/api/v1/schedules/" + id, user("usr_alice"), {{"enabled", false}});
  EXPECT_EQ(patched.status, 200);
  EXPECT_EQ(patched.body["enabled"], false);
  EXPECT_EQ(
      call("PATCH", "/api/v1/schedules/" + id, admin(), {{"max_catchup", 4}}).body["max_catchup"],
      4);
  tasks_->scheduler().tick(unix_now());
  auto dispatches = call("GET", "/api/v1/schedules/" + id + "/dispatches", user("usr_alice"));
  EXPECT_EQ(dispatches.status, 200);
  EXPECT_TRUE(dispatches.body["items"].is_array());
  EXPECT_EQ(dispatches.body["schedule_id"], id);
  EXPECT_EQ(dispatches.body["limit"], 100);
  EXPECT_TRUE(dispatches.body["has_more"].is_boolean());
  EXPECT_FALSE(dispatches.body.contains("total"));  // a log: the envelope without a count
  EXPECT_EQ(call("DELETE", "/api/v1/schedules/" + id, user("usr_alice")).status, 204);
  EXPECT_FALSE(tasks_->scheduler().get(id));
}

TEST_P(TaskApiTest, ScheduleErrorsHaveStableCodes) {
  auto bad_cron = call("POST", "/api/v1/schedules", user("usr_a"),
                       {{"cron_expr", "@every:x"}, {"task", "system.echo"}});
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_EQ(bad_cron.code, "invalid_cron");
  EXPECT_NE(bad_cron.body["message"].get<std::string>().find("every"), std::string::npos);
  auto unknown = call("POST", "/api/v1/schedules", user("usr_a"),
                      {{"cron_expr", "@hourly"}, {"task", "nope.nothing"}});
  EXPECT_EQ(unknown.code, "unknown_task");
  auto missing = call("POST", "/api/v1/schedules", user("usr_a"), {{"task", "system.echo"}});
  EXPECT_EQ(missing.code, "missing_field");
  EXPECT_NE(missing.body["message"].get<std::string>().find("cron_expr"), std::string::npos);
  auto field = call("POST", "/api/v1/schedules", user("usr_a"),
                    {{"cron_expr", "@hourly"}, {"task", "system.echo"}, {"payload", {1, 2}}});
  EXPECT_EQ(field.code, "invalid_field");
  EXPECT_NE(field.body["message"].get<std::string>().find("payload"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/schedules?limit=0", user("usr_a")).code, "invalid_query");
  EXPECT_EQ(call("PATCH", "/api/v1/schedules/sch_none", admin(), {{"enabled", true}}).code,
            "schedule_not_found");
  EXPECT_EQ(tasks_->scheduler().list("", 100, 0).size(), 0u);
}

TEST_P(TaskApiTest, TaskRoutesListShowAndRetryForAdminsOnly) {
  std::string ok = tasks_->enqueue("system.echo", {.payload = {{"a", 1}}});
  tasks_->add(Owner{"test", {}},
              {.name = "test.fail",
               .handler = [](jarvis::TaskContext&) -> Json { throw std::runtime_error("boom"); },
               .retry = {.max_attempts = 1}},
              jarvis::TaskAccess::Admin);
  std::string bad = tasks_->enqueue("test.fail", {});
  ASSERT_TRUE(tasks_->run_task(ok));
  ASSERT_TRUE(tasks_->run_task(bad));

  EXPECT_EQ(call("GET", "/api/v1/tasks", user("usr_a")).status, 403);
  auto all = call("GET", "/api/v1/tasks", admin());
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body["total"], 2);
  auto dead = call("GET", "/api/v1/tasks?status=dead", admin());
  ASSERT_EQ(dead.body["items"].size(), 1u);
  EXPECT_EQ(dead.body["items"][0]["id"], bad);
  EXPECT_EQ(dead.body["items"][0]["last_error"], "boom");
  auto named = call("GET", "/api/v1/tasks?name=system.echo", admin());
  ASSERT_EQ(named.body["items"].size(), 1u);
  EXPECT_EQ(named.body["items"][0]["result"], (Json{{"a", 1}}));
  EXPECT_EQ(call("GET", "/api/v1/tasks?status=weird", admin()).code, "invalid_query");
  EXPECT_EQ(call("GET", "/api/v1/tasks/" + ok, admin()).body["status"], "succeeded");
  EXPECT_EQ(call("GET", "/api/v1/tasks/tsk_none", admin()).code, "task_not_found");

  auto retried = call("POST", "/api/v1/tasks/" + bad + "/retry", admin());
  EXPECT_EQ(retried.status, 200);
  EXPECT_EQ(retried.body["status"], "queued");
  EXPECT_EQ(retried.body["attempts"], 0);
  EXPECT_EQ(call("POST", "/api/v1/tasks/" + ok + "/retry", admin()).code, "task_not_retryable");
}

TEST_P(TaskApiTest, QueueStatusReportsDepthsAndBacklogWithoutWriting) {
  tasks_->enqueue("system.echo", {});
  tasks_->enqueue("system.echo", {});
  ScheduleFields f;
  f.cron_expr = "@every:60";
  f.task = "system.echo";
  tasks_->scheduler().create("usr_a", f);
  Json s = queue_status(*db_);
  EXPECT_EQ(s["tasks"]["queued"], 2);
  EXPECT_EQ(s["tasks"]["dead"], 0);
  EXPECT_TRUE(s["oldest_queued_at"].is_string());
  EXPECT_EQ(s["scheduler"]["schedule_count"], 1);
  EXPECT_EQ(s["scheduler"]["dispatchable_total"], 1);
  EXPECT_EQ(s["scheduler"]["deferred_total"], 0);
  EXPECT_EQ(s["scheduler"]["schedules"][0]["max_catchup"], 10);
  EXPECT_EQ(queue_status(*db_)["tasks"]["queued"], 2);  // nothing was dispatched by looking
}

TEST_P(TaskApiTest, EnqueueWaitRunHereAndTimeout) {
  auto here = run("tasks", "enqueue",
                  {"system.echo", "--payload", "{\"text\":\"hi\"}", "--wait", "--run-here"});
  EXPECT_EQ(here.code, 0) << here.err;
  EXPECT_EQ(Json::parse(here.out), (Json{{"text", "hi"}}));

  // No serving host and no --run-here: a clear timeout, exit 1, the task stays queued.
  auto waited = run("tasks", "enqueue", {"system.echo", "--wait", "--timeout", "1"});
  EXPECT_EQ(waited.code, 1);
  EXPECT_NE(waited.err.find("timed out after 1 s"), std::string::npos) << waited.err;
  EXPECT_NE(waited.err.find("jarvis serve"), std::string::npos);
  EXPECT_EQ(TaskQueue(*db_).counts_by_status()["queued"], 1);

  auto plain = run("tasks", "enqueue", {"system.echo", "--json"});
  EXPECT_EQ(plain.code, 0);
  EXPECT_TRUE(Json::parse(plain.out)["id"].is_string());

  auto unknown = run("tasks", "enqueue", {"nope.nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("unknown_task"), std::string::npos);
  EXPECT_EQ(run("tasks", "enqueue", {"system.echo", "--payload", "[1]"}).code, 2);
  EXPECT_EQ(run("tasks", "enqueue", {}).code, 2);
  EXPECT_EQ(run("tasks", "enqueue", {"system.echo", "--run-here"}).code, 2);
}

TEST_P(TaskApiTest, TaskCommandsListShowRetryStatus) {
  tasks_->add(Owner{"test", {}},
              {.name = "test.fail",
               .handler = [](jarvis::TaskContext&) -> Json { throw std::runtime_error("kaput"); },
               .retry = {.max_attempts = 1}},
              jarvis::TaskAccess::Admin);  // the CLI may enqueue admin tasks
  std::string bad = tasks_->enqueue("test.fail", {});
  ASSERT_TRUE(tasks_->run_task(bad));
  auto failed_wait = run("tasks", "enqueue", {"test.fail", "--wait", "--run-here"});
  EXPECT_EQ(failed_wait.code, 1);
  EXPECT_NE(failed_wait.err.find("kaput"), std::string::npos);

  auto list = run("tasks", "list", {"--status", "dead", "--json"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(Json::parse(list.out)["total"], 2);
  auto human = run("tasks", "list", {});
  EXPECT_NE(human.out.find("test.fail"), std::string::npos);
  EXPECT_EQ(run("tasks", "list", {"--status", "bogus"}).code, 2);
  auto show = run("tasks", "show", {bad});
  EXPECT_NE(show.out.find("last_error:   kaput"), std::string::npos) << show.out;
  EXPECT_EQ(Json::parse(run("tasks", "show", {bad, "--json"}).out)["status"], "dead");
  EXPECT_EQ(run("tasks", "show", {"tsk_nope"}).code, 1);
  auto retry = run("tasks", "retry", {bad});
  EXPECT_EQ(retry.code, 0);
  EXPECT_EQ(TaskQueue(*db_).get(bad)->status, "queued");
  auto again = run("tasks", "retry", {bad});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("task_not_retryable"), std::string::npos);
  auto status = run("tasks", "status", {"--json"});
  EXPECT_EQ(Json::parse(status.out)["tasks"]["queued"], 1);
}

TEST_P(TaskApiTest, ScheduleCommandsAddListDisable) {
  auto added =
      run("schedules", "add",
          {"--cron", "@every:300", "--task", "system.echo", "--payload", "{\"k\":1}", "--json"});
  ASSERT_EQ(added.code, 0) << added.err;
  std::string id = Json::parse(added.out)["id"];
  EXPECT_EQ(Json::parse(added.out)["owner"], "system");
  auto bad = run("schedules", "add", {"--cron", "@every:abc", "--task", "system.echo"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("invalid_cron"), std::string::npos);
  EXPECT_EQ(run("schedules", "add", {"--task", "system.echo"}).code, 2);
  auto list = run("schedules", "list", {"--json"});
  ASSERT_EQ(Json::parse(list.out)["items"].size(), 1u);
  EXPECT_NE(run("schedules", "list", {}).out.find("@every:300"), std::string::npos);
  EXPECT_EQ(run("schedules", "disable", {id}).code, 0);
  EXPECT_FALSE(tasks_->scheduler().get(id)->enabled);
  EXPECT_EQ(run("schedules", "enable", {id}).code, 0);
  EXPECT_TRUE(tasks_->scheduler().get(id)->enabled);
  EXPECT_EQ(run("schedules", "disable", {"sch_none"}).code, 1);
  EXPECT_EQ(run("schedules", "remove", {id}).code, 0);
  EXPECT_EQ(run("schedules", "remove", {id}).code, 1);
}

// Issue 8, finding 2: re-queueing is starting — an admin may not retry an internal task (only
// plugins start those), through the API or the CLI.
TEST_P(TaskApiTest, RetryOfAnInternalTaskIsForbidden) {
  tasks_->add(Owner{"test", {}},
              {.name = "test.internal_fail",
               .handler = [](jarvis::TaskContext&) -> Json { throw std::runtime_error("boom"); },
               .retry = {.max_attempts = 1}});
  std::string dead = tasks_->enqueue("test.internal_fail", {});
  ASSERT_TRUE(tasks_->run_task(dead));
  auto r = call("POST", "/api/v1/tasks/" + dead + "/retry", admin());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code, "task_forbidden");
  EXPECT_EQ(run("tasks", "retry", {dead}).code, 1);
  EXPECT_EQ(tasks_->queue().get(dead)->status, "dead");
}

INSTANTIATE_TEST_SUITE_P(Dialects, TaskApiTest, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         testing::db_name);

}  // namespace
}  // namespace jarvis::host
