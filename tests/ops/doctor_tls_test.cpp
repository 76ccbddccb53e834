// tests/ops/doctor_tls_test.cpp — doctor's TLS outage classes (decision 0083) over real loopback:
// `openssl s_server` with a self-signed certificate generated at test time is `tls_certificate`,
// a plain HTTP server behind an https:// URL is `tls_handshake`, and both stay apart from a
// listener that never answers the handshake (`timeout`) and a closed port
// (`network_unreachable`); `jarvis doctor --json` reports the class with its fix hint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "jarvis/subprocess.h"
#include "ops/dependency_probe.h"
#include "ops/listeners.h"
#include "support/support.h"

namespace doctor_tls_test {

using jarvis::host::ops::classify_outage;
using jarvis::host::ops::OutageClass;
using jarvis::host::ops::probe_http;
using jarvis::test::TempDir;

/// `openssl s_server -www` on 127.0.0.1 with a fresh self-signed certificate for CN=127.0.0.1.
class SelfSignedTlsServer {
 public:
  explicit SelfSignedTlsServer(const TempDir& dir) : port_(jarvis::test::free_port()) {
    const std::string key = dir.file("tls.key"), cert = dir.file("tls.crt");
    auto gen =
        jarvis::run_process({.argv = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                                      "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"},
                             .timeout_ms = 60000});
    if (gen.exit_code != 0) {
      ADD_FAILURE() << "openssl req failed: " << gen.stderr_text;
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      const std::string accept = "127.0.0.1:" + std::to_string(port_);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(),
               "-cert", cert.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Listening once a TCP connection is accepted (a plain-HTTP GET fails the handshake, fine).
    ready_ = jarvis::test::eventually(
        [&] { return probe_http(url(), 2000).outage != OutageClass::NetworkUnreachable; });
  }
  ~SelfSignedTlsServer() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  SelfSignedTlsServer(const SelfSignedTlsServer&) = delete;
  SelfSignedTlsServer& operator=(const SelfSignedTlsServer&) = delete;

  bool ready() const { return ready_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  int port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace doctor_tls_test

using namespace doctor_tls_test;

TEST(DoctorTls, TheClassificationTable) {
  EXPECT_EQ(classify_outage(CURLE_PEER_FAILED_VERIFICATION, 0, 0), OutageClass::TlsCertificate);
  EXPECT_EQ(classify_outage(CURLE_SSL_ISSUER_ERROR, 0, 0), OutageClass::TlsCertificate);
  EXPECT_EQ(classify_outage(CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, 0), OutageClass::TlsCertificate);
  EXPECT_EQ(classify_outage(CURLE_SSL_CONNECT_ERROR, 0, 0), OutageClass::TlsHandshake);
  EXPECT_EQ(classify_outage(CURLE_OPERATION_TIMEDOUT, 0, 0), OutageClass::Timeout);
  EXPECT_EQ(to_string(OutageClass::TlsCertificate), "tls_certificate");
  EXPECT_EQ(to_string(OutageClass::TlsHandshake), "tls_handshake");
}

TEST(DoctorTls, SelfSignedCertificateHandshakeTimeoutAndRefusalAreFourClasses) {
  TempDir dir;
  SelfSignedTlsServer tls(dir);
  ASSERT_TRUE(tls.ready());
  auto cert = probe_http(tls.url(), 3000);
  EXPECT_FALSE(cert.ok);
  EXPECT_EQ(cert.outage, OutageClass::TlsCertificate) << cert.detail;

  // Plain HTTP at an https:// URL: the server answers the ClientHello with HTTP, no handshake.
  ops_test::PlainHttpAnswer plain;
  auto handshake = probe_http(plain.https_url() + "/", 3000);
  EXPECT_EQ(handshake.outage, OutageClass::TlsHandshake) << handshake.detail;

  // A peer that never answers the handshake is a timeout, a closed port no TLS problem at all.
  ops_test::SilentListener mute;
  auto hung = probe_http(mute.https_url() + "/", 500);
  EXPECT_EQ(hung.outage, OutageClass::Timeout) << hung.detail;
  auto refused =
      probe_http("https://127.0.0.1:" + std::to_string(jarvis::test::free_port()) + "/", 2000);
  EXPECT_EQ(refused.outage, OutageClass::NetworkUnreachable) << refused.detail;
}

TEST(DoctorTls, DoctorJsonNamesTheTlsClassAndItsFix) {
  TempDir dir;
  SelfSignedTlsServer tls(dir);
  ASSERT_TRUE(tls.ready());
  ops_test::PlainHttpAnswer plain;
  const std::string plain_url = plain.https_url();
  std::map<std::string, std::string> env{{"APP_DB", dir.file("var/jarvis.db")},
                                         {"LOG_LEVEL", "warn"},
                                         {"BIND_PORT", std::to_string(jarvis::test::free_port())},
                                         {"OPENAI_BASE_URL", tls.url() + "v1"},
                                         {"OPENAI_MODEL", "m"},
                                         {"GITHUB_API_BASE_URL", plain_url},
                                         {"GITHUB_TOKEN", "x"}};
  ASSERT_EQ(jarvis::test::run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto r =
      jarvis::test::run_jarvis({"doctor", "--json", "--probe-timeout-ms", "3000"}, dir.path(), env);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(r.exit_code, 1);
  std::map<std::string, nlohmann::json> checks;
  for (const auto& c : doc["checks"]) checks[c["name"].get<std::string>()] = c;
  ASSERT_TRUE(checks.count("dependency:openai")) << r.out;
  EXPECT_EQ(checks["dependency:openai"]["outage_class"], "tls_certificate") << r.out;
  EXPECT_NE(checks["dependency:openai"]["fix_hint"].get<std::string>().find("certificate"),
            std::string::npos);
  ASSERT_TRUE(checks.count("dependency:github")) << r.out;
  EXPECT_EQ(checks["dependency:github"]["outage_class"], "tls_handshake") << r.out;
  EXPECT_NE(checks["dependency:github"]["fix_hint"].get<std::string>().find("plain http"),
            std::string::npos);
}
