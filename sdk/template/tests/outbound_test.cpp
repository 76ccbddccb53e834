// hello/tests/outbound_test.cpp — the `hello.wordcount` task end to end against a real host
// (jarvis/testing.h): the CLI runs it (--run-here), and the task runs `wc -w` through
// jarvis::run_process with an allow-listed environment.
#include <gtest/gtest.h>

#include <string>

#include "jarvis/testing.h"

using jarvis::testing::CommandResult;
using jarvis::testing::TestHost;

namespace {

class HelloOutbound : public ::testing::Test {
 protected:
  CommandResult wordcount(const std::string& payload) {
    return host_.run({"tasks", "enqueue", "hello.wordcount", "--payload", payload, "--wait",
                      "--run-here", "--json"});
  }

  // A secret in the host's environment: the child process never sees it.
  TestHost host_{{.plugins = {HELLO_PLUGIN_DIR}, .env = {{"HELLO_WEBHOOK_SECRET", "s3cr3t"}}}};
};

TEST_F(HelloOutbound, CountsWordsInASubprocess) {
  auto r = wordcount(R"({"text":"the quick brown\nfox"})");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.json()["result"]["words"], 4);
}

TEST_F(HelloOutbound, BadPayloadFails) {
  auto r = wordcount(R"({"words":"x"})");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE((r.out + r.err).find("invalid_payload"), std::string::npos) << r.out << r.err;
}

}  // namespace
