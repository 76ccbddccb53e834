// host/src/cli/cli.cpp — placeholder until the CLI lands (keeps the tree building).
#include "cli/cli.h"

#include <cstdio>

namespace jarvis::host {

int run_cli(int, char**, char**) {
  std::fprintf(stderr, "jarvis: CLI is being assembled\n");
  return 1;
}

}  // namespace jarvis::host
