// tests/support/fakes/main_transcription.cpp — jarvis-fake-transcription: one FakeTranscription
// as a process, for clients that are not C++ tests (tests/node/transcription.test.mjs, bench).
//
//   jarvis-fake-transcription [--port N] [--api-key KEY] [--text TEXT]
//   → prints "PORT=<n>" once listening, serves until SIGTERM/SIGINT (exit 0).
// Control: GET /_fake/requests, POST /_fake/text (body = the transcript), POST /_fake/fail
// ([statuses]).
#include <signal.h>

#include <cstdio>
#include <exception>
#include <string>

#include "support/fakes/fake_transcription.h"

int main(int argc, char** argv) {
  int port = 0;
  std::string key;
  std::string text;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    std::string value = argv[i + 1];
    try {
      if (arg == "--port") {
        port = std::stoi(value);
      } else if (arg == "--api-key") {
        key = value;
      } else if (arg == "--text") {
        text = value;
      } else {
        std::fprintf(stderr,
                     "usage: jarvis-fake-transcription [--port N] [--api-key K] [--text T]\n");
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "jarvis-fake-transcription: bad value for %s\n", arg.c_str());
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  jarvis::test::fakes::FakeTranscription fake(port);
  if (!key.empty()) fake.set_api_key(key);
  if (!text.empty()) fake.set_text(text);
  std::printf("PORT=%d\n", fake.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
