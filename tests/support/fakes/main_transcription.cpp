// tests/support/fakes/main_transcription.cpp — jarvis-fake-transcription: one FakeTranscription
// as a process, for clients that are not C++ tests (tests/node/transcription.test.mjs, bench).
//
//   jarvis-fake-transcription [--port N] [--api-key KEY] [--text TEXT]
//   → prints "PORT=<n>" once listening, serves until SIGTERM/SIGINT (exit 0).
// Control: GET /_fake/requests, POST /_fake/text (body = the transcript), POST /_fake/fail
// ([statuses]).
#include <memory>
#include <string>

#include "support/fakes/fake_main.h"
#include "support/fakes/fake_transcription.h"

int main(int argc, char** argv) {
  using namespace jarvis::test::fakes;
  FakeMain cli("jarvis-fake-transcription", "a fake whisper-style transcription server");
  int port = 0;
  std::string key;
  std::string text;
  cli.number("--port", &port, 0, 65535).text("--api-key", &key).text("--text", &text);
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  return cli.serve([&] {
    auto fake = std::make_unique<FakeTranscription>(port);
    if (!key.empty()) fake->set_api_key(key);
    if (!text.empty()) fake->set_text(text);
    return fake;
  });
}
