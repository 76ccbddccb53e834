// tests/http/framing_test.cpp — the request framing rules of http/framing.h on their own (the
// server applies them to Beast's parsed header; tests/security/ checks them over the wire).
#include "http/framing.h"

#include <gtest/gtest.h>

using jarvis::host::check_framing;
using jarvis::host::FramingFacts;
using jarvis::host::has_obs_fold;

namespace {

FramingFacts facts(std::vector<std::string_view> te, std::size_t hosts = 1, std::size_t cl = 0,
                   unsigned version = 11) {
  return FramingFacts{.version = version,
                      .host_fields = hosts,
                      .content_length_fields = cl,
                      .transfer_encodings = std::move(te)};
}

}  // namespace

TEST(Framing, PlainRequestsPass) {
  EXPECT_EQ(check_framing(facts({})).status, 0);
  EXPECT_EQ(check_framing(facts({}, 1, 1)).status, 0);
  EXPECT_EQ(check_framing(facts({}, 0, 0, 10)).status, 0) << "HTTP/1.0 needs no Host";
  EXPECT_EQ(check_framing(facts({"chunked"})).status, 0);
  EXPECT_EQ(check_framing(facts({" Chunked "})).status, 0) << "case and OWS do not matter";
}

TEST(Framing, HostMustBeThereOnceOnHttp11) {
  EXPECT_EQ(check_framing(facts({}, 0)).status, 400);
  EXPECT_EQ(check_framing(facts({}, 2)).status, 400);
  EXPECT_EQ(check_framing(facts({}, 2, 0, 10)).status, 400);
}

TEST(Framing, TransferEncodingMustEndInChunked) {
  for (auto te : {"foo", "xchunked", "chunked, identity", "", ","}) {
    EXPECT_EQ(check_framing(facts({te})).status, 400) << te;
  }
  EXPECT_EQ(check_framing(facts({"chunked", "identity"})).status, 400) << "over several fields";
  auto gzip = check_framing(facts({"gzip, chunked"}));
  EXPECT_EQ(gzip.status, 501);
  EXPECT_STREQ(gzip.code, "not_implemented");
  EXPECT_EQ(check_framing(facts({"gzip", "chunked"})).status, 501);
}

TEST(Framing, TransferEncodingWithContentLengthOrOnHttp10IsRefused) {
  EXPECT_EQ(check_framing(facts({"chunked"}, 1, 1)).status, 400);
  EXPECT_EQ(check_framing(facts({"chunked"}, 1, 0, 10)).status, 400);
}

TEST(Framing, ObsFoldIsDetectedInTheRawHeader) {
  EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n"));
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"));
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nX: b\r\n\tc\r\n\r\n"));
}

TEST(Framing, DateIsAnImfFixdate) {
  std::string d(jarvis::host::http_date());
  ASSERT_EQ(d.size(), 29u) << d;  // "Tue, 01 Dec 2026 14:00:00 GMT"
  EXPECT_EQ(d.substr(25), " GMT");
}
