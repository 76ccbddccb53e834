// tests/support/fakes/fake_main.h — the command line and lifetime of a jarvis-fake-* executable
// (the main_<name>.cpp files): options with values, `--help`, the stop signals blocked before any
// thread starts, "PORT=<n>" on stdout once listening, serve until SIGTERM/SIGINT, exit 0.
//
//   int main(int argc, char** argv) {
//     jarvis::test::fakes::FakeMain cli("jarvis-fake-embeddings", "a fake embeddings API");
//     int port = 0, dims = 64;
//     std::string key;
//     cli.number("--port", &port, 0, 65535).text("--api-key", &key).number("--dims", &dims, 1,
//     8192); if (int rc = cli.parse(argc, argv); rc >= 0) return rc;     // --help, or a usage
//     error return cli.serve([&] {
//       auto fake = std::make_unique<FakeEmbeddings>(port, dims);
//       if (!key.empty()) fake->set_api_key(key);
//       return fake;                                              // anything with port()
//     });
//   }
#pragma once

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace jarvis::test::fakes {

/// Option parsing and the serve-until-signal loop shared by the fake executables.
class FakeMain {
 public:
  /// `program` names the executable in messages; `what` is the one-line description of --help.
  FakeMain(std::string program, std::string what);

  /// `--flag VALUE` stored as text. Repeated flags keep the last value.
  FakeMain& text(const std::string& flag, std::string* out);
  /// `--flag VALUE` appended to `out` on every occurrence (e.g. several --model).
  FakeMain& list(const std::string& flag, std::vector<std::string>* out);
  /// `--flag N`, an integer within [min, max]; anything else is a usage error.
  FakeMain& number(const std::string& flag, int* out, int min, int max);
  /// `--flag VALUE` that must be given.
  FakeMain& required(const std::string& flag);

  /// Parses argv. Returns -1 to go on, else the exit code to return at once: 0 after --help
  /// (usage on stdout), 2 after a usage error (message and usage on stderr).
  int parse(int argc, char** argv);

  /// Blocks SIGTERM/SIGINT (so that only this thread's sigwait sees them, whatever threads the
  /// fake starts) and ignores SIGPIPE, calls `make`, prints "PORT=<n>", waits for a stop signal.
  /// Returns 0, or 1 when `make` throws (the message on stderr). `make` returns an owning
  /// pointer to anything with `int port() const`.
  template <typename Make>
  int serve(Make make) {
    block_stop_signals();
    try {
      auto fake = make();
      announce(fake->port());
      wait_for_stop();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", program_.c_str(), e.what());
      return 1;
    }
    return 0;
  }

 private:
  struct Option {
    std::string flag;
    std::string hint;
    std::function<bool(const std::string&)> set;  ///< false: a bad value
    bool required = false;
    bool seen = false;
  };
  int usage_error(const std::string& why) const;
  std::string usage() const;
  void block_stop_signals();
  void announce(int port) const;
  void wait_for_stop();

  std::string program_;
  std::string what_;
  std::vector<Option> options_;
};

}  // namespace jarvis::test::fakes
