// tests/support/fakes/main_llm.cpp — jarvis-fake-llm: one FakeLlmServer as a process, for clients
// that are not C++ tests (tests/node with the vendors' official SDKs, bench/chat.sh).
//
//   jarvis-fake-llm --dialect openai [--port N] [--api-key KEY] [--model ID]...
//   → prints "PORT=<n>" on stdout once listening, serves until SIGTERM/SIGINT (exit 0).
// Scripted through the control endpoints (fake_llm_server.h): POST /_fake/script,
// GET /_fake/requests, GET /_fake/state, POST /_fake/reset.
#include <memory>
#include <string>
#include <vector>

#include "support/fakes/fake_llm_server.h"
#include "support/fakes/fake_main.h"

int main(int argc, char** argv) {
  using namespace jarvis::test::fakes;
  FakeMain cli("jarvis-fake-llm", "a fake LLM API server (openai|gemini|anthropic)");
  std::string dialect;
  std::string api_key;
  std::vector<std::string> models;
  int port = 0;
  cli.text("--dialect", &dialect)
      .required("--dialect")
      .number("--port", &port, 0, 65535)
      .text("--api-key", &api_key)
      .list("--model", &models);
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  return cli.serve([&] {
    auto fake = std::make_unique<FakeLlmServer>(FakeLlmServer::parse_dialect(dialect), port);
    if (!api_key.empty()) fake->set_api_key(api_key);
    if (!models.empty()) fake->set_models(models);
    return fake;
  });
}
