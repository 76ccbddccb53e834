// maintenance/tests/maintenance_test.cpp — the maintenance plugin end to end through the built
// `jarvis` binary: command runs, failures, timeouts that kill a process group, bounded output,
// bug filing through the bugs plugin (and without it), status, and the serving loop.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/support.h"

using jarvis::test::read_file;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace {

class Maintenance : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"APP_DB", dir_.file("jarvis.db")},
            {"LOG_LEVEL", "warn"},
            {"MAINTENANCE_ENABLED", "1"},
            {"MAINTENANCE_WORKDIR", dir_.path()}};
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  }
  json run_json(std::map<std::string, std::string> extra, int expect_exit) {
    auto env = env_;
    for (auto& [k, v] : extra) env[k] = v;
    auto r = run_jarvis({"maintenance", "run", "--json"}, dir_.path(), env);
    EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    return json::parse(r.out, nullptr, false);
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(Maintenance, DisabledRunIsSkipped) {
  auto r = run_json({{"MAINTENANCE_ENABLED", "0"}, {"MAINTENANCE_COMMANDS", "false"}}, 0);
  EXPECT_EQ(r["skipped"], "maintenance_disabled");
}

TEST_F(Maintenance, PassingCommandsRecordOutputAndDuration) {
  auto r = run_json({{"MAINTENANCE_COMMANDS", "echo one\\necho two >&2"}}, 0);
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(r["ok"].get<bool>());
  ASSERT_EQ(r["results"].size(), 2u);
  EXPECT_EQ(r["results"][0]["stdout"], "one\n");
  EXPECT_EQ(r["results"][1]["stderr"], "two\n");
  EXPECT_EQ(r["results"][0]["exit_code"], 0);
  EXPECT_GE(r["results"][0]["duration_ms"].get<long long>(), 0);
}

TEST_F(Maintenance, FailureExitsOneAndFilesADedupedBugThroughTheServer) {
  // The failed command queues bugs.report; a serving host runs it. Twice → one open report.
  auto r1 = run_json({{"MAINTENANCE_COMMANDS", "exit 3"}}, 1);
  EXPECT_FALSE(r1["ok"].get<bool>());
  EXPECT_EQ(r1["results"][0]["exit_code"], 3);
  EXPECT_EQ(r1["bug_filing"], "bugs.report");
  ASSERT_EQ(r1["bug_tasks"].size(), 1u);
  run_json({{"MAINTENANCE_COMMANDS", "exit 3"}}, 1);

  ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  json bugs;
  for (int i = 0; i < 200; ++i) {
    auto l = run_jarvis({"bugs", "list", "--json"}, dir_.path(), env_);
    bugs = json::parse(l.out, nullptr, false);
    if (bugs.is_object() && bugs["total"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(bugs.is_object());
  EXPECT_EQ(bugs["total"], 1) << bugs.dump();
  EXPECT_EQ(bugs["items"][0]["title"], "Local maintenance check failed: exit 3");
  EXPECT_EQ(bugs["items"][0]["status"], "open");
}

TEST_F(Maintenance, WithoutBugsPluginFailureIsStillRecorded) {
  auto env = env_;
  env["JARVIS_PLUGINS_DISABLED"] = "bugs";
  env["MAINTENANCE_COMMANDS"] = "false";
  auto r = run_jarvis({"maintenance", "run", "--json"}, dir_.path(), env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["bug_filing"], "unavailable: bugs plugin not loaded");
  EXPECT_TRUE(j["bug_tasks"].empty());
  auto s = run_jarvis({"maintenance", "status", "--json"}, dir_.path(), env);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  json st = json::parse(s.out);
  EXPECT_FALSE(st["last_run"]["ok"].get<bool>());
  EXPECT_EQ(st["bug_filing"], "unavailable: bugs plugin not loaded");
}

TEST_F(Maintenance, TimeoutKillsTheWholeProcessGroup) {
  std::string pids = dir_.file("pids");
  std::string cmd = "sleep 300 & echo $! > " + pids + "; sleep 300 & echo $! >> " + pids + "; wait";
  auto r = run_json({{"MAINTENANCE_COMMANDS", cmd}, {"MAINTENANCE_TIMEOUT_SECONDS", "5"}},
                    1);  // bash -l start-up alone can take a second
  EXPECT_EQ(r["results"][0]["exit_code"], 124);
  EXPECT_TRUE(r["results"][0]["timed_out"].get<bool>());
  std::string text = read_file(pids);
  std::istringstream in(text);
  int pid = 0, n = 0;
  while (in >> pid) {
    ++n;
    // The group got SIGTERM/SIGKILL before run_process returned; the orphans may still be on their
    // way out or waiting for init to reap them (a zombie counts as dead).
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      auto close = stat.rfind(')');
      gone = ::kill(pid, 0) != 0 ||
             (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z');
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(gone) << "grandchild " << pid << " survived the timeout";
  }
  EXPECT_EQ(n, 2);
}

TEST_F(Maintenance, HugeOutputIsBounded) {
  auto r = run_json({{"MAINTENANCE_COMMANDS", "yes | head -c 20000000"},
                     {"MAINTENANCE_OUTPUT_MAX_BYTES", "1000"}},
                    0);
  EXPECT_EQ(r["results"][0]["stdout"].get<std::string>().size(), 1000u);
  EXPECT_TRUE(r["results"][0]["stdout_truncated"].get<bool>());
}

TEST_F(Maintenance, BadConfigStopsWithKeyName) {
  auto env = env_;
  env["MAINTENANCE_TIMEOUT_SECONDS"] = "soon";
  auto r = run_jarvis({"maintenance", "status"}, dir_.path(), env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("MAINTENANCE_TIMEOUT_SECONDS"), std::string::npos) << r.err;
}

TEST_F(Maintenance, UsageErrors) {
  EXPECT_EQ(run_jarvis({"maintenance", "run", "--bogus"}, dir_.path(), env_).exit_code, 2);
  EXPECT_EQ(run_jarvis({"maintenance"}, dir_.path(), env_).exit_code, 2);
  EXPECT_EQ(run_jarvis({"maintenance", "explode"}, dir_.path(), env_).exit_code, 2);
}

TEST_F(Maintenance, ServingHostRunsThePeriodicLoopAndHeartbeat) {
  auto env = env_;
  env["MAINTENANCE_INTERVAL_SECONDS"] = "1";
  env["MAINTENANCE_HEARTBEAT_INTERVAL_SECONDS"] = "1";
  env["MAINTENANCE_COMMANDS"] = "echo periodic";
  env["SCHEDULER_TICK_MS"] = "100";
  ServerProcess server(dir_.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  json st;
  for (int i = 0; i < 300; ++i) {
    auto s = run_jarvis({"maintenance", "status", "--json"}, dir_.path(), env);
    st = json::parse(s.out, nullptr, false);
    if (st.is_object() && st["last_run"].is_object() && st["last_heartbeat_at"].is_string()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(st["last_run"].is_object()) << st.dump() << server.output();
  EXPECT_EQ(st["last_run"]["trigger"], "periodic");
  EXPECT_TRUE(st["last_heartbeat_at"].is_string());
  EXPECT_TRUE(st["periodic_scheduled"].get<bool>());
}

TEST_F(Maintenance, EnqueueIsRunByTheServingHost) {
  auto env = env_;
  env["MAINTENANCE_COMMANDS"] = "echo queued";
  auto q = run_jarvis({"maintenance", "enqueue", "--json"}, dir_.path(), env);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_TRUE(json::parse(q.out)["task_id"].is_string());
  ServerProcess server(dir_.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  json st;
  for (int i = 0; i < 200; ++i) {
    st = json::parse(run_jarvis({"maintenance", "status", "--json"}, dir_.path(), env).out, nullptr,
                     false);
    if (st.is_object() && st["last_run"].is_object()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(st["last_run"].is_object()) << server.output();
  EXPECT_EQ(st["last_run"]["trigger"], "enqueue");
}

TEST_F(Maintenance, ShutdownStopsTheRunningCommandAndRecordsTheRun) {
  // A serving host runs a long command from the queue; SIGTERM makes the task's should_stop
  // true, which stops the command's process group (exit 130) instead of waiting it out, and
  // the run is still recorded — the command marked cancelled, not filed as a failing check.
  std::string marker = dir_.file("started");
  auto env = env_;
  env["MAINTENANCE_COMMANDS"] = "touch " + marker + "; sleep 300";
  env["MAINTENANCE_TIMEOUT_SECONDS"] = "600";
  env["TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS"] = "120";
  ASSERT_EQ(run_jarvis({"maintenance", "enqueue", "--json"}, dir_.path(), env).exit_code, 0);
  {
    ServerProcess server(dir_.path(), env);
    ASSERT_TRUE(server.ready()) << server.output();
    for (int i = 0; i < 400 && !std::filesystem::exists(marker); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::filesystem::exists(marker)) << server.output();
    EXPECT_EQ(server.terminate(std::chrono::seconds(90)), 0) << server.output();
  }
  json st = json::parse(run_jarvis({"maintenance", "status", "--json"}, dir_.path(), env).out,
                        nullptr, false);
  ASSERT_TRUE(st.is_object() && st["last_run"].is_object()) << st.dump();
  ASSERT_EQ(st["last_run"]["results"].size(), 1u);
  const json& r = st["last_run"]["results"][0];
  EXPECT_TRUE(r["cancelled"].get<bool>()) << r.dump();
  EXPECT_EQ(r["exit_code"], 130);
  EXPECT_FALSE(r["timed_out"].get<bool>());
}

}  // namespace
