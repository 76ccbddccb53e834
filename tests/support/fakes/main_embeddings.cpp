// tests/support/fakes/main_embeddings.cpp — jarvis-fake-embeddings: one FakeEmbeddings as a
// process, for clients that are not C++ tests (tests/node/embeddings.test.mjs, manual runs).
//
//   jarvis-fake-embeddings [--port N] [--api-key KEY] [--dims N]
//   → prints "PORT=<n>" once listening, serves until SIGTERM/SIGINT (exit 0).
// Control: GET /_fake/requests, POST /_fake/fail ([statuses]).
#include <signal.h>

#include <cstdio>
#include <exception>
#include <string>

#include "support/fakes/fake_embeddings.h"

int main(int argc, char** argv) {
  int port = 0;
  std::string key;
  int dims = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    std::string value = argv[i + 1];
    try {
      if (arg == "--port") {
        port = std::stoi(value);
      } else if (arg == "--api-key") {
        key = value;
      } else if (arg == "--dims") {
        dims = std::stoi(value);
      } else {
        std::fprintf(stderr, "usage: jarvis-fake-embeddings [--port N] [--api-key K] [--dims N]\n");
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "jarvis-fake-embeddings: bad value for %s\n", arg.c_str());
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  jarvis::test::fakes::FakeEmbeddings fake(port, dims);
  if (!key.empty()) fake.set_api_key(key);
  std::printf("PORT=%d\n", fake.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
