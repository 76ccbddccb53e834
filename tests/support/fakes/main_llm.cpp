// tests/support/fakes/main_llm.cpp — jarvis-fake-llm: one FakeLlmServer as a process, for clients
// that are not C++ tests (tests/node with the vendors' official SDKs, bench/chat.sh).
//
//   jarvis-fake-llm --dialect openai [--port N] [--api-key KEY] [--model ID]...
//   → prints "PORT=<n>" on stdout once listening, serves until SIGTERM/SIGINT (exit 0).
// Scripted through the control endpoints (fake_llm_server.h): POST /_fake/script,
// GET /_fake/requests, GET /_fake/state, POST /_fake/reset.
#include <signal.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "support/fakes/fake_llm_server.h"

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "jarvis-fake-llm: %s\n"
               "usage: jarvis-fake-llm --dialect openai|gemini|anthropic [--port N] "
               "[--api-key KEY] [--model ID]...\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using jarvis::test::fakes::FakeLlmServer;
  std::string dialect;
  std::string api_key;
  std::vector<std::string> models;
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      usage("a fake LLM API server on 127.0.0.1");
      return 0;
    }
    if (!has_value) return usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--dialect") {
      dialect = value;
    } else if (arg == "--port") {
      try {
        port = std::stoi(value);
      } catch (const std::exception&) {
        return usage("--port takes a number");
      }
      if (port < 0 || port > 65535) return usage("--port takes 0..65535");
    } else if (arg == "--api-key") {
      api_key = value;
    } else if (arg == "--model") {
      models.push_back(value);
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  if (dialect.empty()) return usage("--dialect is required");

  // Block the stop signals before any thread starts, then wait for one.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    FakeLlmServer fake(FakeLlmServer::parse_dialect(dialect), port);
    if (!api_key.empty()) fake.set_api_key(api_key);
    if (!models.empty()) fake.set_models(models);
    std::printf("PORT=%d\n", fake.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jarvis-fake-llm: %s\n", e.what());
    return 1;
  }
  return 0;
}
