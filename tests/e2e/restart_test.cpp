// tests/e2e/restart_test.cpp — controlled restart of a real `jarvis serve`: the default re-exec
// replaces the process image (same pid, same port), the new image clears the `restarting` flag,
// answers /readyz again and emits system.restart.complete; queued tasks survive it.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::http;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

TEST(ControlledRestart, ReExecsOnTheSamePortAndCompletes) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")}, {"LOG_LEVEL", "info"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
  std::string user = jarvis::test::create_user_token(dir.path(), env, "joe", false);
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();

  EXPECT_EQ(http("POST", server.url("/api/v1/system/restart"), "{}", {bearer(user)}).status, 403);
  auto r = http("POST", server.url("/api/v1/system/restart"), "{}",
                {bearer(admin), "Content-Type: application/json"});
  ASSERT_EQ(r.status, 202) << r.body;

  // Wait for the new image: the restart.complete event is written by it at start-up.
  json complete;
  for (int i = 0; i < 400 && complete.is_null(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto ev =
        http("GET", server.url("/api/v1/events?type=system.restart.complete"), "", {bearer(admin)});
    if (ev.status != 200) continue;
    json j = json::parse(ev.body, nullptr, false);
    if (j.is_object() && !j["items"].empty()) complete = j["items"][0];
  }
  ASSERT_FALSE(complete.is_null()) << server.output();
  auto ready = http("GET", server.url("/readyz"));
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto status = http("GET", server.url("/api/v1/system/status"), "", {bearer(admin)});
  ASSERT_EQ(status.status, 200);
  EXPECT_FALSE(json::parse(status.body)["system"]["restarting"].get<bool>()) << status.body;
  // Same process (exec keeps the pid): the test harness still owns and stops it cleanly.
  EXPECT_EQ(server.terminate(), 0) << server.output();
}
