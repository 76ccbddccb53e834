// tests/support/fakes/main_github.cpp — jarvis-fake-github: one FakeGitHub as a process, for
// clients that are not C++ tests (tests/node/github.test.mjs with @octokit/rest, bench/github.sh).
//
//   jarvis-fake-github [--port N] [--token T] [--bot LOGIN]
//   → prints "PORT=<n>" on stdout once listening, serves until SIGTERM/SIGINT (exit 0).
// Scripted through the control endpoints listed in fake_github.h (POST /_fake/pulls, …).
#include <memory>
#include <string>

#include "support/fakes/fake_github.h"
#include "support/fakes/fake_main.h"

int main(int argc, char** argv) {
  using namespace jarvis::test::fakes;
  FakeMain cli("jarvis-fake-github", "a fake GitHub REST API");
  std::string token = "ghp_test";
  std::string bot = "jarvis-bot";
  int port = 0;
  cli.number("--port", &port, 0, 65535).text("--token", &token).text("--bot", &bot);
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  return cli.serve([&] { return std::make_unique<FakeGitHub>(token, bot, port); });
}
