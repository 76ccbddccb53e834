// hello/tests/outbound_test.cpp — the `hello.wordcount` task end to end: the built `jarvis` binary
// runs it (CLI, --run-here), and the task runs `wc -w` through jarvis::run_process.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::run_jarvis;
using nlohmann::json;

namespace {

class HelloOutbound : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string plugins = dir_.file("plugins");
    std::filesystem::create_directories(plugins);
    std::filesystem::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/hello",
                                              plugins + "/hello");
    env_ = {{"APP_DB", dir_.file("jarvis.db")},
            {"JARVIS_PLUGIN_DIRS", plugins},
            {"JARVIS_PLUGINS_REQUIRED", "hello"},
            {"LOG_LEVEL", "warn"}};
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  }

  jarvis::test::RunResult wordcount(const std::string& payload) {
    return run_jarvis({"tasks", "enqueue", "hello.wordcount", "--payload", payload, "--wait",
                       "--run-here", "--json"},
                      dir_.path(), env_);
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(HelloOutbound, CountsWordsInASubprocess) {
  env_["HELLO_WEBHOOK_SECRET"] = "not-for-children";
  auto r = wordcount(R"({"text":"the quick brown\nfox"})");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["result"]["words"], 4);
}

TEST_F(HelloOutbound, BadPayloadFails) {
  auto r = wordcount(R"({"words":"x"})");
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

}  // namespace
