// tests/support/fakes/main_embeddings.cpp — jarvis-fake-embeddings: one FakeEmbeddings as a
// process, for clients that are not C++ tests (tests/node/embeddings.test.mjs, manual runs).
//
//   jarvis-fake-embeddings [--port N] [--api-key KEY] [--dims N]
//   → prints "PORT=<n>" once listening, serves until SIGTERM/SIGINT (exit 0).
// Control: GET /_fake/requests, POST /_fake/fail ([statuses]).
#include <memory>
#include <string>

#include "support/fakes/fake_embeddings.h"
#include "support/fakes/fake_main.h"

int main(int argc, char** argv) {
  using namespace jarvis::test::fakes;
  FakeMain cli("jarvis-fake-embeddings", "a fake OpenAI-compatible embeddings API");
  int port = 0;
  int dims = 64;
  std::string key;
  cli.number("--port", &port, 0, 65535).text("--api-key", &key).number("--dims", &dims, 1, 65536);
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  return cli.serve([&] {
    auto fake = std::make_unique<FakeEmbeddings>(port, dims);
    if (!key.empty()) fake->set_api_key(key);
    return fake;
  });
}
