// Tests of jarvis::SseParser: line endings, multi-line data, comments, fields, ids, retry, BOM,
// chunk boundaries at every position, and the size bound.
#include "jarvis/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jarvis/error.h"

namespace {

using jarvis::SseEvent;
using jarvis::SseParser;

std::vector<SseEvent> parse_all(std::string_view stream) {
  SseParser p;
  return p.feed(stream);
}

/// Feeds `stream` split at every pair of positions (three chunks) and checks the events match
/// the one-chunk parse.
void expect_split_invariant(const std::string& stream) {
  std::vector<SseEvent> whole = parse_all(stream);
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      SseParser p;
      std::vector<SseEvent> got;
      for (auto part : {stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)}) {
        for (auto& ev : p.feed(part)) got.push_back(ev);
      }
      ASSERT_EQ(got.size(), whole.size()) << "split at " << a << "," << b;
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].type, whole[i].type) << a << "," << b;
        EXPECT_EQ(got[i].data, whole[i].data) << a << "," << b;
        EXPECT_EQ(got[i].id, whole[i].id) << a << "," << b;
      }
    }
  }
}

TEST(SseParser, SimpleEvents) {
  auto evs = parse_all("data: hello\n\ndata: world\n\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, "message");
  EXPECT_EQ(evs[0].data, "hello");
  EXPECT_EQ(evs[1].data, "world");
  EXPECT_EQ(evs[1].id, "");
}

TEST(SseParser, AllLineEndings) {
  for (std::string eol : {"\n", "\r\n", "\r"}) {
    auto evs = parse_all("event: delta" + eol + "data: a" + eol + "data: b" + eol + eol +
                         "data: c" + eol + eol);
    ASSERT_EQ(evs.size(), 2u) << static_cast<int>(eol[0]);
    EXPECT_EQ(evs[0].type, "delta");
    EXPECT_EQ(evs[0].data, "a\nb");
    EXPECT_EQ(evs[1].type, "message");  // the type does not carry over
    EXPECT_EQ(evs[1].data, "c");
  }
}

TEST(SseParser, CommentsFieldsWithoutSpaceAndUnknownFields) {
  auto evs = parse_all(": keep-alive\n:\ndata:no-space\nfoo: bar\ndata:  two spaces\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "no-space\n two spaces");  // only one leading space is removed
}

TEST(SseParser, FieldWithoutColonAndEmptyData) {
  auto evs = parse_all("data\n\ndata:\ndata:\n\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "");
  EXPECT_EQ(evs[1].data, "\n");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  auto evs = parse_all("event: ping\n\nid: 7\n\ndata: x\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, "message");
  EXPECT_EQ(evs[0].id, "7");  // the id persists across events
}

TEST(SseParser, IdPersistsAndCanBeReset) {
  SseParser p;
  auto evs = p.feed("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].id, "1");
  EXPECT_EQ(evs[1].id, "1");
  EXPECT_EQ(evs[2].id, "");
  p.feed(std::string("id: bad\0id\ndata: d\n\n", 19));
  EXPECT_EQ(p.last_event_id(), "");  // an id containing NUL is ignored
  p.feed("id: 42\n\n");
  EXPECT_EQ(p.last_event_id(), "42");
}

TEST(SseParser, Retry) {
  SseParser p;
  EXPECT_FALSE(p.retry_ms().has_value());
  p.feed("retry: 1500\n\n");
  EXPECT_EQ(p.retry_ms().value_or(-1), 1500);
  p.feed("retry: soon\nretry: -5\nretry: 12a\nretry:\n\n");
  EXPECT_EQ(p.retry_ms().value_or(-1), 1500);  // non-digits are ignored
}

TEST(SseParser, IncompleteEventAtEndIsNotDispatched) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: partial\n").empty());
  EXPECT_TRUE(p.feed("data: more").empty());
  auto evs = p.feed("\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "partial\nmore");
  p.feed("data: dropped\n");
  p.reset();
  evs = p.feed("data: fresh\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "fresh");
}

TEST(SseParser, LeadingBomIsSkippedOnlyAtTheStart) {
  auto evs = parse_all(
      "\xEF\xBB\xBF"
      "data: x\n\n\xEF\xBB\xBF"
      "data: y\n\n");
  ASSERT_EQ(evs.size(), 1u);  // the second BOM makes the field name "\uFEFFdata": ignored
  EXPECT_EQ(evs[0].data, "x");
  // The BOM arriving split across chunks, and a stream that only starts like one.
  SseParser p;
  EXPECT_TRUE(p.feed("\xEF").empty());
  EXPECT_TRUE(p.feed("\xBB").empty());
  evs = p.feed(
      "\xBF"
      "data: z\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "z");
  SseParser q;
  q.feed("\xEF");
  evs = q.feed("data: w\n\n");
  EXPECT_TRUE(evs.empty());  // "\xEF" "data" is an unknown field name
}

TEST(SseParser, ChunkBoundariesAnywhere) {
  expect_split_invariant(
      "\xEF\xBB\xBF: c\r\nevent: a\r\ndata: 1\r\ndata: \xC3\xA9\r\n\r\nid: 9\rdata:2\r\rretry: 5\n"
      "data: 3\n\n");
  expect_split_invariant("data: x\r\n\r\ndata: y\r\r\n\n");
}

TEST(SseParser, CrLfSplitAcrossChunksCountsOnce) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: a\r").empty());
  EXPECT_TRUE(p.feed("\ndata: b\r").empty());  // LF after CR is not an empty line
  auto evs = p.feed("\n\r\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "a\nb");
}

TEST(SseParser, OversizedEventThrows) {
  SseParser p(64);
  try {
    p.feed("data: " + std::string(100, 'x'));  // one unfinished line
    FAIL() << "no throw";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "sse_event_too_large");
    EXPECT_EQ(e.status(), 502);
  }
  SseParser q(64);
  EXPECT_THROW(
      {
        for (int i = 0; i < 20; ++i) q.feed("data: 0123456789\n");  // many lines, one event
      },
      jarvis::Error);
  SseParser r(64);
  for (int i = 0; i < 100; ++i) {  // many small events are fine
    ASSERT_EQ(r.feed("data: 0123456789\n\n").size(), 1u);
  }
}

}  // namespace
