// hello/tests/stream_test.cpp — the example plugin's streamed route end to end against a real host
// (jarvis/testing.h): GET /api/v1/hello/stream?count=N answers text/event-stream, and the SDK's own
// SSE parser (jarvis/sse.h) reads exactly N greeting events and the final `done` event.
#include <gtest/gtest.h>

#include <string>

#include "jarvis/sse.h"
#include "jarvis/testing.h"

using jarvis::Json;
using jarvis::testing::TestHost;

namespace {

class HelloStream : public ::testing::Test {
 protected:
  void SetUp() override { host_.start(); }

  TestHost host_{{.plugins = {HELLO_PLUGIN_DIR}}};
};

TEST_F(HelloStream, SendsCountGreetingsAsServerSentEvents) {
  auto r = host_.login_user("ada").get("/api/v1/hello/stream?count=5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  EXPECT_FALSE(r.header("x-request-id").empty());
  jarvis::SseParser parser;
  auto events = parser.feed(r.body);
  ASSERT_EQ(events.size(), 6u) << r.body;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i].type, "greeting");
    EXPECT_EQ(events[i].id, std::to_string(i + 1));
    EXPECT_EQ(jarvis::parse_json(events[i].data), (Json{{"n", i + 1}, {"of", 5}}));
  }
  EXPECT_EQ(events[5].type, "done");
}

TEST_F(HelloStream, ABadCountIsAJsonErrorBeforeAnyStream) {
  auto r = host_.login_user("ada").get("/api/v1/hello/stream?count=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["code"], "invalid_query");
  EXPECT_EQ(host_.get("/api/v1/hello/stream").status, 401);
}

}  // namespace
