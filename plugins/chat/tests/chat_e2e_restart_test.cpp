// chat/tests/chat_e2e_restart_test.cpp — `jarvis ask "/restart"` restarts the host the CLI
// talks to: refused for a user, a controlled restart for an admin (the running host re-executes
// itself on the same port, same pid, emits system.restart.complete), after which the CLI works
// against the new image.
#include <gtest/gtest.h>

#include <thread>

#include "chat_cli_support.h"

namespace {

using namespace chat_test;

TEST(ChatE2eRestart, AskSlashRestartAsAdminRestartsTheRunningHost) {
  ChatHost h(Backend::Sqlite);
  const int pid = h.server->pid();

  // A user may not: the host answers without the model and does not restart.
  auto r = run_cli(h, {"ask", "--new-thread", "/restart"}, h.alice);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("admin"), std::string::npos) << r.out;
  auto status = json::parse(h.call("GET", "/api/v1/system/status", h.admin).body);
  EXPECT_EQ(status["system"]["restarting"], false) << status;
  EXPECT_TRUE(h.fake.model_requests().empty());

  r = run_cli(h, {"ask", "--json", "--new-thread", "/restart"}, h.admin);
  EXPECT_EQ(r.exit_code, 0) << r.err << h.server->output();
  json j = last_json_line(r.out);
  EXPECT_EQ(j["ok"], true) << r.out;
  EXPECT_NE(j.value("assistant", "").find("restart requested"), std::string::npos) << j;

  // The new image writes system.restart.complete when it is up again.
  json complete;
  for (int i = 0; i < 600 && complete.is_null(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto ev = h.call("GET", "/api/v1/events?type=system.restart.complete", h.admin);
    if (ev.status != 200) continue;
    json page = json::parse(ev.body, nullptr, false);
    if (page.is_object() && !page["items"].empty()) complete = page["items"][0];
  }
  ASSERT_FALSE(complete.is_null()) << h.server->output();
  EXPECT_EQ(h.server->pid(), pid);  // re-exec: the same process, the same port
  EXPECT_TRUE(ChatHost::eventually([&] { return h.call("GET", "/readyz", "").status == 200; }));

  // The CLI talks to the restarted host: the admin's cli thread is reused.
  r = run_cli(h, {"ask", "--json", "after the restart"}, h.admin);
  EXPECT_EQ(r.exit_code, 0) << r.err << h.server->output();
  json after = last_json_line(r.out);
  EXPECT_EQ(after["assistant"], "echo: after the restart") << r.out;
  EXPECT_EQ(after["thread_id"], j["thread_id"]);
  EXPECT_EQ(h.server->terminate(), 0) << h.server->output();
}

}  // namespace
