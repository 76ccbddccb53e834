// host/src/main.cpp — the `jarvis` executable: hands argv to the CLI.
#include "cli/cli.h"

int main(int argc, char** argv, char** envp) { return jarvis::host::run_cli(argc, argv, envp); }
