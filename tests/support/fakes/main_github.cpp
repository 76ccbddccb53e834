// tests/support/fakes/main_github.cpp — jarvis-fake-github: one FakeGitHub as a process, for
// clients that are not C++ tests (tests/node/github.test.mjs with @octokit/rest, bench/github.sh).
//
//   jarvis-fake-github [--port N] [--token T] [--bot LOGIN]
//   → prints "PORT=<n>" on stdout once listening, serves until SIGTERM/SIGINT (exit 0).
// Scripted through the control endpoints listed in fake_github.h (POST /_fake/pulls, …).
#include <signal.h>

#include <cstdio>
#include <exception>
#include <string>

#include "support/fakes/fake_github.h"

int main(int argc, char** argv) {
  std::string token = "ghp_test", bot = "jarvis-bot";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("usage: jarvis-fake-github [--port N] [--token T] [--bot LOGIN]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "jarvis-fake-github: missing value after %s\n", arg.c_str());
      return 2;
    }
    std::string value = argv[++i];
    if (arg == "--port") {
      try {
        port = std::stoi(value);
      } catch (const std::exception&) {
        std::fprintf(stderr, "jarvis-fake-github: --port takes a number\n");
        return 2;
      }
    } else if (arg == "--token") {
      token = value;
    } else if (arg == "--bot") {
      bot = value;
    } else {
      std::fprintf(stderr, "jarvis-fake-github: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: only sigwait sees them
  try {
    jarvis::test::fakes::FakeGitHub fake(token, bot, port);
    std::printf("PORT=%d\n", fake.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jarvis-fake-github: %s\n", e.what());
    return 1;
  }
  return 0;
}
