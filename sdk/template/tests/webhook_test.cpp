// hello/tests/webhook_test.cpp — the example plugin's signed webhook, signed here the way GitHub
// signs (`X-Hub-Signature-256: sha256=<HMAC-SHA256 hex of the body>`) with jarvis/crypto.h.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "jarvis/crypto.h"
#include "support/support.h"

using jarvis::test::http;
using nlohmann::json;

namespace {

const std::string kSecret = "It's a Secret to Everybody";

class HelloWebhook : public ::testing::Test {
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
    auto m = jarvis::test::run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  }

  static std::string signature(const std::string& secret, const std::string& body) {
    return "X-Hub-Signature-256: sha256=" + jarvis::hmac_sha256_hex(secret, body);
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(HelloWebhook, SignedBodyIsAcceptedAndAnythingElseRefused) {
  auto env = env_;
  env["HELLO_WEBHOOK_SECRET"] = kSecret;
  jarvis::test::ServerProcess server(dir_.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  const std::string url = server.url("/api/v1/hello/webhook");
  const std::string body = R"({"name":"Octocat"})";

  auto ok = http("POST", url, body, {signature(kSecret, body)});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["greeting"], "Hello, Octocat!");

  auto code = [](const jarvis::test::HttpResult& r) {
    return json::parse(r.body)["error"]["code"].get<std::string>();
  };
  auto unsigned_ = http("POST", url, body);
  EXPECT_EQ(unsigned_.status, 401);
  EXPECT_EQ(code(unsigned_), "invalid_signature");
  auto wrong_key = http("POST", url, body, {signature("guess", body)});
  EXPECT_EQ(wrong_key.status, 401);
  auto tampered = http("POST", url, R"({"name":"Mallory"})", {signature(kSecret, body)});
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(code(tampered), "invalid_signature");
  auto no_scheme =
      http("POST", url, body, {"X-Hub-Signature-256: " + jarvis::hmac_sha256_hex(kSecret, body)});
  EXPECT_EQ(no_scheme.status, 401);

  const std::string nameless = R"({"who":1})";
  auto bad = http("POST", url, nameless, {signature(kSecret, nameless)});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(code(bad), "invalid_body");
}

TEST_F(HelloWebhook, IsOffWithoutASecret) {
  jarvis::test::ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  const std::string body = R"({"name":"Octocat"})";
  auto r = http("POST", server.url("/api/v1/hello/webhook"), body, {signature("", body)});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "webhook_disabled");
}

}  // namespace
