// tests/ops/doctor_test.cpp — `jarvis doctor --json`'s external dependencies and their outage
// classes (decision 0060) over real loopback: a fake answering 5xx (provider_unavailable), a
// listener that accepts and never answers (timeout), an unresolvable .invalid name
// (dns_resolution), a closed port (network_unreachable); no API key is sent or printed; the port
// check recognises a running jarvis.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "ops/dependency_probe.h"
#include "ops/listeners.h"
#include "support/fakes/loopback_server.h"
#include "support/support.h"

namespace doctor_test {

using jarvis::host::ops::classify_outage;
using jarvis::host::ops::OutageClass;
using jarvis::host::ops::probe_http;
using jarvis::host::ops::redact_probe_url;
using jarvis::test::run_jarvis;
using jarvis::test::TempDir;
using jarvis::test::fakes::HttpRequest;
using jarvis::test::fakes::LoopbackServer;
using jarvis::test::fakes::Responder;
using nlohmann::json;

using ops_test::SilentListener;

/// A loopback server answering every request with `status`.
LoopbackServer answering(int status) {
  return LoopbackServer([status](const HttpRequest&, Responder& out) {
    out.respond(status, "{\"error\":\"x\"}", {{"Content-Type", "application/json"}});
  });
}

std::string closed_port_url() {
  return "http://127.0.0.1:" + std::to_string(jarvis::test::free_port());
}

TEST(DoctorOutage, TheClassificationTable) {
  EXPECT_EQ(classify_outage(CURLE_OK, 0, 200), OutageClass::None);
  EXPECT_EQ(classify_outage(CURLE_OK, 0, 401), OutageClass::None);  // reachable, key not sent
  EXPECT_EQ(classify_outage(CURLE_OK, 0, 404), OutageClass::None);
  EXPECT_EQ(classify_outage(CURLE_OK, 0, 429), OutageClass::ProviderUnavailable);
  EXPECT_EQ(classify_outage(CURLE_OK, 0, 503), OutageClass::ProviderUnavailable);
  EXPECT_EQ(classify_outage(CURLE_COULDNT_RESOLVE_HOST, 0, 0), OutageClass::DnsResolution);
  EXPECT_EQ(classify_outage(CURLE_COULDNT_RESOLVE_PROXY, 0, 0), OutageClass::DnsResolution);
  EXPECT_EQ(classify_outage(CURLE_OPERATION_TIMEDOUT, 0, 0), OutageClass::Timeout);
  EXPECT_EQ(classify_outage(CURLE_COULDNT_CONNECT, ETIMEDOUT, 0), OutageClass::Timeout);
  for (long e : {ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ENETDOWN, EADDRNOTAVAIL}) {
    EXPECT_EQ(classify_outage(CURLE_COULDNT_CONNECT, e, 0), OutageClass::NetworkUnreachable) << e;
  }
  EXPECT_EQ(classify_outage(CURLE_GOT_NOTHING, 0, 0), OutageClass::ProviderUnavailable);
  EXPECT_EQ(classify_outage(CURLE_RECV_ERROR, ECONNRESET, 0), OutageClass::ProviderUnavailable);
  EXPECT_EQ(classify_outage(CURLE_URL_MALFORMAT, 0, 0), OutageClass::ConfigInvalid);
}

TEST(DoctorOutage, ProbesOverRealLoopback) {
  auto up = answering(401);
  auto down = answering(503);
  SilentListener silent;
  auto ok = probe_http(up.url("/v1/models"), 2000);
  EXPECT_TRUE(ok.ok) << ok.detail;
  EXPECT_EQ(ok.http_status, 401);
  auto five = probe_http(down.url("/v1/models"), 2000);
  EXPECT_EQ(five.outage, OutageClass::ProviderUnavailable) << five.detail;
  EXPECT_EQ(five.http_status, 503);
  auto hung = probe_http(silent.url() + "/v1/models", 500);
  EXPECT_EQ(hung.outage, OutageClass::Timeout) << hung.detail;
  auto refused = probe_http(closed_port_url(), 2000);
  EXPECT_EQ(refused.outage, OutageClass::NetworkUnreachable) << refused.detail;
  EXPECT_EQ(refused.os_errno, ECONNREFUSED);
  auto dns = probe_http("http://jarvis-doctor-test.invalid/", 2000);
  EXPECT_EQ(dns.outage, OutageClass::DnsResolution) << dns.detail;
  auto bad = probe_http("gopher://127.0.0.1/", 2000);
  EXPECT_EQ(bad.outage, OutageClass::ConfigInvalid) << bad.detail;
}

TEST(DoctorOutage, ProbeUrlsArePrintedWithoutCredentials) {
  EXPECT_EQ(redact_probe_url("https://user:pw@evo.example:8080/base?apikey=k#f"),
            "https://evo.example:8080/base");
  EXPECT_EQ(redact_probe_url("http://127.0.0.1:11434/v1"), "http://127.0.0.1:11434/v1");
}

class DoctorCli : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env() const {
    return {{"APP_DB", dir_.file("var/jarvis.db")},
            {"LOG_LEVEL", "warn"},
            {"BIND_PORT", std::to_string(jarvis::test::free_port())}};
  }
  static std::map<std::string, json> by_name(const json& doc) {
    std::map<std::string, json> m;
    for (const auto& c : doc["checks"]) m[c["name"].get<std::string>()] = c;
    return m;
  }
  TempDir dir_;
};

TEST_F(DoctorCli, EachConfiguredDependencyHasItsOutageClassInPureJson) {
  auto down = answering(502);
  auto github = answering(200);
  SilentListener silent;
  const std::string key = "doctor-test-key-" + std::to_string(::getpid()) + "-d41d8cd98f00b204";
  auto e = env();
  e["OPENAI_BASE_URL"] = down.url("/v1");  // provider_unavailable
  e["OPENAI_MODEL"] = "m";
  e["OPENAI_API_KEY"] = key;
  e["ANTHROPIC_BASE_URL"] = silent.url();  // timeout
  e["ANTHROPIC_API_KEY"] = key;
  e["EVOLUTION_API_URL"] = "http://evolution.jarvis-doctor-test.invalid:8080";  // dns_resolution
  e["WHATSAPP_VOICE_TRANSCRIBE_BACKEND"] = "faster_whisper";
  e["WHATSAPP_VOICE_URL"] = closed_port_url();  // network_unreachable
  e["GITHUB_API_BASE_URL"] = github.url();      // fine
  e["GITHUB_TOKEN"] = key;
  ASSERT_EQ(run_jarvis({"migrate"}, dir_.path(), e).exit_code, 0);
  auto r = run_jarvis({"doctor", "--json", "--probe-timeout-ms", "1000"}, dir_.path(), e);
  json doc = json::parse(r.out, nullptr, false);  // the whole stdout is one JSON document
  ASSERT_FALSE(doc.is_discarded()) << "not pure JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(doc["ok"].get<bool>());
  auto checks = by_name(doc);
  const std::map<std::string, std::string> want = {
      {"dependency:openai", "provider_unavailable"},
      {"dependency:anthropic", "timeout"},
      {"dependency:evolution_api", "dns_resolution"},
      {"dependency:transcription", "network_unreachable"}};
  for (const auto& [name, cls] : want) {
    ASSERT_TRUE(checks.count(name)) << name << " missing: " << r.out;
    EXPECT_FALSE(checks[name]["passed"].get<bool>()) << name;
    EXPECT_EQ(checks[name]["outage_class"], cls) << name << ": " << checks[name].dump();
    EXPECT_FALSE(checks[name]["fix_hint"].get<std::string>().empty()) << name;
  }
  ASSERT_TRUE(checks.count("dependency:github")) << r.out;
  EXPECT_TRUE(checks["dependency:github"]["passed"].get<bool>()) << checks["dependency:github"];
  EXPECT_TRUE(checks["dependency:github"]["outage_class"].is_null());
  EXPECT_EQ(checks["dependency:openai"]["env"], "OPENAI_BASE_URL");
  EXPECT_EQ(checks.count("dependency:gemini"), 0u) << "gemini is not configured";
  // No key leaves the process: not in the output, not in what the fakes received.
  EXPECT_EQ(r.out.find(key), std::string::npos);
  EXPECT_EQ(r.err.find(key), std::string::npos);
  for (const auto* server : {&down, &github}) {
    ASSERT_FALSE(server->requests().empty());
    for (const auto& req : server->requests()) {
      EXPECT_EQ(req.header("authorization"), "");
      EXPECT_EQ(req.header("x-api-key"), "");
    }
  }
  EXPECT_EQ(down.requests()[0].path, "/v1/models");

  // --offline probes nothing.
  auto offline = run_jarvis({"doctor", "--json", "--offline"}, dir_.path(), e);
  json off = json::parse(offline.out, nullptr, false);
  ASSERT_FALSE(off.is_discarded()) << offline.out;
  EXPECT_EQ(by_name(off).count("dependency:openai"), 0u);
  EXPECT_EQ(run_jarvis({"doctor", "--probe-timeout-ms", "zero"}, dir_.path(), e).exit_code, 2);
}

TEST_F(DoctorCli, ThePortCheckRecognisesARunningJarvis) {
  auto e = env();
  ASSERT_EQ(run_jarvis({"migrate"}, dir_.path(), e).exit_code, 0);
  jarvis::test::ServerProcess server(dir_.path(), e, {"--no-migrate"});
  ASSERT_TRUE(server.ready()) << server.output();
  e["BIND_PORT"] = std::to_string(server.port());
  auto r = run_jarvis({"doctor", "--json", "--offline"}, dir_.path(), e);
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  auto port = by_name(doc)["port"];
  EXPECT_TRUE(port["passed"].get<bool>()) << port;
  EXPECT_NE(port["message"].get<std::string>().find("running jarvis"), std::string::npos) << port;

  // Something else on the port (answers /readyz, but not as jarvis) is still a failure.
  auto other = answering(200);
  e["BIND_PORT"] = std::to_string(other.port());
  auto busy = run_jarvis({"doctor", "--json", "--offline"}, dir_.path(), e);
  json b = json::parse(busy.out, nullptr, false);
  ASSERT_FALSE(b.is_discarded()) << busy.out;
  EXPECT_FALSE(by_name(b)["port"]["passed"].get<bool>()) << by_name(b)["port"];
  EXPECT_EQ(busy.exit_code, 1);
}

}  // namespace doctor_test
