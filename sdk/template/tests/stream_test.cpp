// hello/tests/stream_test.cpp — the example plugin's streamed route end to end against the built
// `jarvis` binary: GET /api/v1/hello/stream?count=N answers text/event-stream, and the SDK's own
// SSE parser (jarvis/sse.h) reads exactly N greeting events and the final `done` event.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jarvis/sse.h"
#include "support/support.h"

using jarvis::test::run_jarvis;
using nlohmann::json;

namespace {

class HelloStream : public ::testing::Test {
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
    token_ = jarvis::test::create_user_token(dir_.path(), env_, "ada", false);
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
  std::string token_;
};

TEST_F(HelloStream, SendsCountGreetingsAsServerSentEvents) {
  jarvis::test::ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  auto r = jarvis::test::http("GET", server.url("/api/v1/hello/stream?count=5"), "",
                              {jarvis::test::bearer(token_)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/event-stream; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "no-cache");
  EXPECT_FALSE(r.headers["x-request-id"].empty());
  jarvis::SseParser parser;
  auto events = parser.feed(r.body);
  ASSERT_EQ(events.size(), 6u) << r.body;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i].type, "greeting");
    EXPECT_EQ(events[i].id, std::to_string(i + 1));
    EXPECT_EQ(json::parse(events[i].data), (json{{"n", i + 1}, {"of", 5}}));
  }
  EXPECT_EQ(events[5].type, "done");
}

TEST_F(HelloStream, ABadCountIsAJsonErrorBeforeAnyStream) {
  jarvis::test::ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  auto r = jarvis::test::http("GET", server.url("/api/v1/hello/stream?count=0"), "",
                              {jarvis::test::bearer(token_)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_query");
  auto anonymous = jarvis::test::http("GET", server.url("/api/v1/hello/stream"));
  EXPECT_EQ(anonymous.status, 401);
}

}  // namespace
