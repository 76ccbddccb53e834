// hello/tests/webhook_test.cpp — the example plugin's signed webhook, signed here the way GitHub
// signs (`X-Hub-Signature-256: sha256=<HMAC-SHA256 hex of the body>`) with jarvis/crypto.h, sent
// to a real host (jarvis/testing.h) as exact bytes. Concurrent deliveries share transactions
// (jarvis/group_commit.h): every answered greeting is stored.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "jarvis/crypto.h"
#include "jarvis/testing.h"

using jarvis::testing::Headers;
using jarvis::testing::HttpResponse;
using jarvis::testing::TestHost;

namespace {

const std::string kSecret = "It's a Secret to Everybody";
const std::string kPath = "/api/v1/hello/webhook";

Headers signature(const std::string& secret, const std::string& body) {
  return {{"X-Hub-Signature-256", "sha256=" + jarvis::hmac_sha256_hex(secret, body)}};
}

std::string code(const HttpResponse& r) { return r.json()["error"]["code"].get<std::string>(); }

class HelloWebhook : public ::testing::Test {
 protected:
  TestHost host_{{.plugins = {HELLO_PLUGIN_DIR}}};
};

TEST_F(HelloWebhook, SignedBodyIsAcceptedAndAnythingElseRefused) {
  host_.start({{"HELLO_WEBHOOK_SECRET", kSecret}});
  const std::string body = R"({"name":"Octocat"})";

  auto ok = host_.request("POST", kPath, body, signature(kSecret, body));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["greeting"], "Hello, Octocat!");

  auto unsigned_ = host_.request("POST", kPath, body);
  EXPECT_EQ(unsigned_.status, 401);
  EXPECT_EQ(code(unsigned_), "invalid_signature");
  EXPECT_EQ(host_.request("POST", kPath, body, signature("guess", body)).status, 401);
  auto tampered = host_.request("POST", kPath, R"({"name":"Mallory"})", signature(kSecret, body));
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(code(tampered), "invalid_signature");
  auto no_scheme = host_.request("POST", kPath, body,
                                 {{"X-Hub-Signature-256", jarvis::hmac_sha256_hex(kSecret, body)}});
  EXPECT_EQ(no_scheme.status, 401);

  const std::string nameless = R"({"who":1})";
  auto bad = host_.request("POST", kPath, nameless, signature(kSecret, nameless));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(code(bad), "invalid_body");
}

TEST_F(HelloWebhook, ConcurrentDeliveriesAreEachStoredBeforeTheirAnswer) {
  host_.start({{"HELLO_WEBHOOK_SECRET", kSecret}});
  const std::string body = R"({"name":"Crowd"})";
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 12; ++i) {
    answers.push_back(std::async(std::launch::async, [&] {
      return host_.request("POST", kPath, body, signature(kSecret, body));
    }));
  }
  for (auto& a : answers) EXPECT_EQ(a.get().status, 200);
  // Twelve group-committed rows, then the CLI's own greeting: the thirteenth.
  auto r = host_.run({"hello", "greet", "Crowd", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.json()["count"], 13);
}

TEST_F(HelloWebhook, IsOffWithoutASecret) {
  host_.start();
  const std::string body = R"({"name":"Octocat"})";
  auto r = host_.request("POST", kPath, body, signature("", body));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "webhook_disabled");
}

}  // namespace
