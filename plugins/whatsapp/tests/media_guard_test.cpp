// whatsapp/tests/media_guard_test.cpp — MediaFetcher over real loopback HTTP with the host's real
// guarded client (CurlHttpClient): 127.0.0.2 is exempted from the private-range check to stand
// for an allowed internet host (as tests/net does), and the policy admits http because the
// loopback servers speak no TLS. Every refusal code; a redirect from the allowed host to
// 127.0.0.1 and a DNS name resolving to a private address are refused before any byte is read.
#include <gtest/gtest.h>

#include <filesystem>

#include "media.h"
#include "net/http_client.h"
#include "support/fakes/loopback_server.h"
#include "support/support.h"

namespace whatsapp {
namespace {

using jarvis::test::fakes::HttpRequest;
using jarvis::test::fakes::LoopbackServer;
using jarvis::test::fakes::Responder;

const std::string kPng = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(200, 'p');

struct Rig {
  jarvis::test::TempDir dir;
  Settings settings;  // no Evolution URL: only URL fetches and inline bytes here
  jarvis::host::CurlHttpClient http{[] {
    jarvis::host::HttpClientOptions o;
    o.guard_address_exemptions = {"127.0.0.2"};
    return o;
  }()};
  EvolutionClient evo{http, settings};
  MediaPolicy policy;

  Rig() {
    policy.dir = dir.file("media");
    policy.max_bytes = 1000;
    policy.mime_prefixes = {"image/", "audio/"};
    policy.hosts = {"127.0.0.2", "localhost"};
    policy.schemes = {"http"};
    policy.timeout_ms = 10000;
  }
  MediaOutcome fetch(const std::string& url, const std::string& id = "wmd_t1") {
    MediaFetcher f(http, evo, policy);
    MediaRef ref{.kind = "image", .declared_mime = "image/png", .media_url = url};
    return f.fetch({.key_id = "K", .ref = ref, .media_id = id});
  }
  std::size_t files() const {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir.file("media"), ec);
         !ec && it != std::filesystem::directory_iterator(); ++it) {
      ++n;
    }
    return n;
  }
};

TEST(MediaGuard, AnAllowedHostIsFetchedAndTheMimeIsSniffedNotDeclared) {
  Rig rig;
  LoopbackServer pub(
      [](const HttpRequest&, Responder& out) {
        out.respond(200, kPng, {{"Content-Type", "text/html"}});
      },
      "127.0.0.2");
  MediaOutcome o = rig.fetch("http://127.0.0.2:" + std::to_string(pub.port()) + "/img");
  ASSERT_TRUE(o.stored()) << o.reason << " " << o.detail;
  EXPECT_EQ(o.mime, "image/png");
  EXPECT_EQ(o.size, static_cast<long long>(kPng.size()));
  EXPECT_EQ(std::filesystem::path(o.path).filename(), "wmd_t1.png");
  EXPECT_EQ(std::filesystem::path(o.path).parent_path(),
            std::filesystem::canonical(rig.dir.file("media")));
  EXPECT_EQ(o.sha256.size(), 64u);
}

TEST(MediaGuard, ARedirectFromTheAllowedHostTo127001IsRefused) {
  Rig rig;
  LoopbackServer internal([](const HttpRequest&, Responder& out) { out.respond(200, kPng); });
  const std::string internal_url = internal.url("/secret");
  LoopbackServer pub(
      [&](const HttpRequest&, Responder& out) {
        out.respond(302, "", {{"Location", internal_url}});
      },
      "127.0.0.2");
  rig.policy.hosts = {"127.0.0.2", "127.0.0.1"};  // even listed, the address is refused
  MediaOutcome o = rig.fetch("http://127.0.0.2:" + std::to_string(pub.port()) + "/go");
  EXPECT_EQ(o.reason, "media_host_denied") << o.detail;
  EXPECT_NE(o.detail.find("127.0.0.1"), std::string::npos) << o.detail;
  EXPECT_TRUE(internal.requests().empty());
  EXPECT_EQ(pub.requests().size(), 1u);
  EXPECT_EQ(rig.files(), 0u);  // the partial file is gone
}

TEST(MediaGuard, ADnsNameResolvingToAPrivateAddressIsRefused) {
  Rig rig;
  LoopbackServer internal([](const HttpRequest&, Responder& out) { out.respond(200, kPng); });
  // Directly: "localhost" is on the allow-list, but it resolves to loopback.
  MediaOutcome o = rig.fetch("http://localhost:" + std::to_string(internal.port()) + "/x");
  EXPECT_EQ(o.reason, "media_host_denied") << o.detail;
  EXPECT_NE(o.detail.find("resolves to"), std::string::npos) << o.detail;
  // Through a redirect from the allowed host.
  LoopbackServer pub(
      [&](const HttpRequest&, Responder& out) {
        out.respond(301, "",
                    {{"Location", "http://localhost:" + std::to_string(internal.port()) + "/y"}});
      },
      "127.0.0.2");
  o = rig.fetch("http://127.0.0.2:" + std::to_string(pub.port()) + "/go", "wmd_t2");
  EXPECT_EQ(o.reason, "media_host_denied") << o.detail;
  EXPECT_TRUE(internal.requests().empty());
}

TEST(MediaGuard, TheSizeIsEnforcedWhileStreaming) {
  Rig rig;
  LoopbackServer pub(
      [](const HttpRequest&, Responder& out) {
        out.start_stream(200, {{"Content-Type", "image/png"}});  // no Content-Length
        out.send_chunk(kPng);
        for (int i = 0; i < 20 && out.send_chunk(std::string(500, 'x')); ++i) {
        }
        out.end_stream();
      },
      "127.0.0.2");
  MediaOutcome o = rig.fetch("http://127.0.0.2:" + std::to_string(pub.port()) + "/big");
  EXPECT_EQ(o.reason, "media_size_exceeded") << o.detail;
  EXPECT_EQ(rig.files(), 0u);
}

TEST(MediaGuard, UrlSchemeHostMimeAndDownloadRefusals) {
  Rig rig;
  LoopbackServer pub(
      [](const HttpRequest& r, Responder& out) {
        if (r.path == "/exe")
          return (void)out.respond(200,
                                   "\x7f"
                                   "ELF\x02\x01\x01 binary",
                                   {{"Content-Type", "image/png"}});
        out.respond(404, "no");
      },
      "127.0.0.2");
  const std::string base = "http://127.0.0.2:" + std::to_string(pub.port());
  EXPECT_EQ(rig.fetch(base + "/exe").reason, "media_mime_denied");
  EXPECT_EQ(rig.fetch(base + "/missing", "wmd_t3").reason, "media_download_failed");
  EXPECT_EQ(rig.fetch("not a url").reason, "media_url_invalid");
  EXPECT_EQ(rig.fetch("ftp://127.0.0.2/x").reason, "media_url_invalid");
  EXPECT_EQ(rig.fetch("http://user:pw@127.0.0.2/x").reason, "media_url_invalid");
  EXPECT_EQ(rig.fetch("http://evil.example.net/x").reason, "media_host_denied");
  rig.policy.hosts.clear();  // no allow-list: no URL is fetched at all
  EXPECT_EQ(rig.fetch(base + "/exe", "wmd_t4").reason, "media_host_denied");
  // The production policy is https only.
  rig.policy = MediaPolicy::from(rig.settings);
  rig.policy.hosts = {"127.0.0.2"};
  rig.policy.dir = rig.dir.file("media");
  EXPECT_EQ(rig.fetch(base + "/exe", "wmd_t5").reason, "media_url_invalid");
  EXPECT_EQ(rig.files(), 0u);
}

TEST(MediaGuard, UnsafePathsAreRefused) {
  Rig rig;
  // A media "directory" that is a file.
  jarvis::test::write_file(rig.dir.file("not-a-dir"), "x");
  rig.policy.dir = rig.dir.file("not-a-dir");
  MediaFetcher f(rig.http, rig.evo, rig.policy);
  MediaRef ref{.kind = "image"};
  EXPECT_EQ(f.fetch({.ref = ref, .inline_base64 = "iVBORw0KGgo=", .media_id = "wmd_p"}).reason,
            "media_path_unsafe");
  // A symlink planted where the file would be created is not followed.
  rig.policy.dir = rig.dir.file("media");
  std::filesystem::create_directories(rig.dir.file("media"));
  jarvis::test::write_file(rig.dir.file("victim"), "keep me");
  std::filesystem::create_symlink(rig.dir.file("victim"), rig.dir.file("media/wmd_s.part"));
  MediaFetcher g(rig.http, rig.evo, rig.policy);
  EXPECT_EQ(g.fetch({.ref = ref, .inline_base64 = "iVBORw0KGgo=", .media_id = "wmd_s"}).reason,
            "media_path_unsafe");
  EXPECT_EQ(jarvis::test::read_file(rig.dir.file("victim")), "keep me");
  // Ids never become paths: separators and dots are dropped from the generated name.
  MediaOutcome o = g.fetch(
      {.ref = ref, .inline_base64 = "iVBORw0KGgoAAAANSUhEUg==", .media_id = "../../etc/wmd_x"});
  ASSERT_TRUE(o.stored()) << o.reason;
  EXPECT_EQ(std::filesystem::path(o.path).parent_path(),
            std::filesystem::canonical(rig.dir.file("media")));
  EXPECT_EQ(std::filesystem::path(o.path).filename(), "etcwmd_x.png");
}

}  // namespace
}  // namespace whatsapp
