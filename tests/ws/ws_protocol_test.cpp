// tests/ws/ws_protocol_test.cpp — the Beast-free parts of /ws: credentials, the Origin policy,
// client message parsing and the push envelope.
#include <gtest/gtest.h>

#include "ws/ws_protocol.h"

namespace jarvis::host::ws {
namespace {

jarvis::Request make(std::vector<std::pair<std::string, std::string>> headers,
                     std::string target = "/ws") {
  jarvis::Request r;
  r.target = std::move(target);
  for (auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

TEST(WsProtocol, TokenFromBearerHeaderWinsOverCookie) {
  auto r = make({{"Authorization", "Bearer abc123"}, {"Cookie", "jarvis_session=zzz"}});
  EXPECT_EQ(request_token(r), "abc123");
}

TEST(WsProtocol, TokenFromSessionCookieAmongOthers) {
  auto r = make({{"Cookie", "theme=dark; jarvis_session=s3cr3t ; other=1"}});
  EXPECT_EQ(request_token(r), "s3cr3t");
  EXPECT_EQ(request_token(make({{"Cookie", "jarvis_session_old=x"}})), std::nullopt);
  EXPECT_EQ(request_token(make({{"Authorization", "Basic dXNlcjpwdw=="}})), std::nullopt);
  EXPECT_EQ(request_token(make({{"Authorization", "Bearer "}})), std::nullopt);
  EXPECT_EQ(request_token(make({})), std::nullopt);
}

TEST(WsProtocol, QueryTokensAreDetected) {
  auto r = make({}, "/ws?token=abc");
  r.query["token"] = "abc";
  EXPECT_TRUE(has_query_token(r));
  auto r2 = make({}, "/ws?Access_Token=abc");
  r2.query["Access_Token"] = "abc";
  EXPECT_TRUE(has_query_token(r2));
  auto r3 = make({}, "/ws?v=2");
  r3.query["v"] = "2";
  EXPECT_FALSE(has_query_token(r3));
  // An unparsable query string (query map left empty) is refused too.
  EXPECT_TRUE(has_query_token(make({}, "/ws?%zz")));
  EXPECT_FALSE(has_query_token(make({}, "/ws")));
}

TEST(WsProtocol, OriginPolicy) {
  std::vector<std::string> listed = {"https://app.example.com/", "http://127.0.0.1:8000"};
  EXPECT_TRUE(origin_allowed(make({{"Host", "127.0.0.1:8000"}}), listed, true));
  EXPECT_FALSE(origin_allowed(make({{"Host", "127.0.0.1:8000"}}), listed, false));
  EXPECT_TRUE(origin_allowed(make({{"Origin", "http://127.0.0.1:8000"}}), listed, true));
  EXPECT_TRUE(origin_allowed(make({{"Origin", "https://APP.example.com:443"}}), listed, true));
  // The Host header is never trusted: an Origin equal to it is not enough.
  EXPECT_FALSE(origin_allowed(make({{"Host", "evil.example"}, {"Origin", "http://evil.example"}}),
                              listed, true));
  EXPECT_FALSE(origin_allowed(
      make({{"Host", "jarvis.local:80"}, {"Origin", "http://jarvis.local"}}), listed, true));
  // Scheme and port count; "null" and several Origin headers never pass.
  EXPECT_FALSE(origin_allowed(make({{"Origin", "https://127.0.0.1:8000"}}), listed, true));
  EXPECT_FALSE(origin_allowed(make({{"Origin", "http://127.0.0.1:8001"}}), listed, true));
  EXPECT_FALSE(origin_allowed(make({{"Origin", "null"}}), listed, true));
  EXPECT_FALSE(
      origin_allowed(make({{"Origin", "http://127.0.0.1:8000"}, {"Origin", "http://evil.example"}}),
                     listed, true));
}

TEST(WsProtocol, ParsesActions) {
  using Kind = ClientAction::Kind;
  auto a = parse_client_message(R"({"action":"subscribe","thread_id":"thr_1"})");
  EXPECT_EQ(a.kind, Kind::Subscribe);
  EXPECT_EQ(a.thread_id, "thr_1");
  EXPECT_EQ(parse_client_message(R"({"action":"unsubscribe","thread_id":"t"})").kind,
            Kind::Unsubscribe);
  EXPECT_EQ(parse_client_message(R"({"action":"subscribe_system"})").kind, Kind::SubscribeSystem);
  EXPECT_EQ(parse_client_message(R"({"action":"unsubscribe_system"})").kind,
            Kind::UnsubscribeSystem);
  EXPECT_EQ(parse_client_message(R"({"action":"dance"})").kind, Kind::Unknown);
  EXPECT_EQ(parse_client_message(R"({"hello":1})").kind, Kind::Unknown);
  auto bad = parse_client_message("{not json");
  EXPECT_EQ(bad.kind, Kind::Invalid);
  EXPECT_EQ(bad.detail, "invalid json");
  EXPECT_EQ(parse_client_message("[1,2]").kind, Kind::Invalid);
  auto missing = parse_client_message(R"({"action":"subscribe"})");
  EXPECT_EQ(missing.kind, Kind::Invalid);
  EXPECT_EQ(missing.detail, "thread_id required");
  EXPECT_EQ(parse_client_message(R"({"action":"subscribe","thread_id":5})").kind, Kind::Invalid);
  EXPECT_EQ(
      parse_client_message(R"({"action":"subscribe","thread_id":")" + std::string(201, 'x') + "\"}")
          .kind,
      Kind::Invalid);
  EXPECT_EQ(parse_client_message("").kind, Kind::Invalid);
}

TEST(WsProtocol, EnvelopeRedactsAndMarksSystemEvents) {
  jarvis::Event e;
  e.type = "lockdown.triggered";
  e.id = "evt_1";
  e.created_at = "2026-01-01T00:00:00.000Z";
  e.component = "system";
  e.payload = {{"reason", "manual"}, {"nested", {{"api_key", "k"}}}};
  auto m = event_envelope(e);
  EXPECT_EQ(m["type"], "lockdown.triggered");
  EXPECT_TRUE(m["thread_id"].is_null());
  EXPECT_EQ(m["id"], "evt_1");
  EXPECT_EQ(m["component"], "system");
  EXPECT_EQ(m["payload"]["reason"], "manual");
  EXPECT_EQ(m["payload"]["nested"]["api_key"], "[REDACTED]");
  e.thread_id = "thr_9";
  e.payload = {{"text", std::string("bad \xff utf8")}};
  auto text = event_message(e);  // invalid UTF-8 must not throw
  EXPECT_NE(text.find("\"thread_id\":\"thr_9\""), std::string::npos);
  EXPECT_EQ(auth_ok_message(jarvis::Principal{"usr_1", "ada", jarvis::Role::Admin, true}),
            R"({"role":"admin","type":"auth.ok","user_id":"usr_1"})");
  EXPECT_EQ(error_message("forbidden", "t1"),
            R"({"detail":"forbidden","thread_id":"t1","type":"error"})");
}

}  // namespace
}  // namespace jarvis::host::ws
