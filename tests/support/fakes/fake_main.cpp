// tests/support/fakes/fake_main.cpp — see fake_main.h.
#include "support/fakes/fake_main.h"

#include <signal.h>

#include <charconv>
#include <utility>

namespace jarvis::test::fakes {
namespace {

sigset_t fake_main_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

FakeMain::FakeMain(std::string program, std::string what)
    : program_(std::move(program)), what_(std::move(what)) {}

FakeMain& FakeMain::text(const std::string& flag, std::string* out) {
  options_.push_back({flag, "TEXT", [out](const std::string& v) {
                        *out = v;
                        return true;
                      }});
  return *this;
}

FakeMain& FakeMain::list(const std::string& flag, std::vector<std::string>* out) {
  options_.push_back({flag, "TEXT...", [out](const std::string& v) {
                        out->push_back(v);
                        return true;
                      }});
  return *this;
}

FakeMain& FakeMain::number(const std::string& flag, int* out, int min, int max) {
  options_.push_back({flag, "N", [out, min, max](const std::string& v) {
                        int n = 0;
                        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                        if (ec != std::errc() || end != v.data() + v.size()) return false;
                        if (n < min || n > max) return false;
                        *out = n;
                        return true;
                      }});
  return *this;
}

FakeMain& FakeMain::required(const std::string& flag) {
  for (auto& o : options_)
    if (o.flag == flag) o.required = true;
  return *this;
}

std::string FakeMain::usage() const {
  std::string u = "usage: " + program_;
  for (const auto& o : options_) {
    std::string item = o.flag + " " + o.hint;
    u += o.required ? " " + item : " [" + item + "]";
  }
  return u + "\n";
}

int FakeMain::usage_error(const std::string& why) const {
  std::fprintf(stderr, "%s: %s\n%s", program_.c_str(), why.c_str(), usage().c_str());
  return 2;
}

int FakeMain::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s: %s on 127.0.0.1\n%s", program_.c_str(), what_.c_str(), usage().c_str());
      return 0;
    }
    Option* option = nullptr;
    for (auto& o : options_)
      if (o.flag == arg) option = &o;
    if (!option) return usage_error("unknown option " + arg);
    if (i + 1 >= argc) return usage_error("missing value after " + arg);
    if (!option->set(argv[++i])) return usage_error("bad value for " + arg);
    option->seen = true;
  }
  for (const auto& o : options_)
    if (o.required && !o.seen) return usage_error(o.flag + " is required");
  return -1;
}

void FakeMain::block_stop_signals() {
  sigset_t set = fake_main_stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void FakeMain::announce(int port) const {
  std::printf("PORT=%d\n", port);
  std::fflush(stdout);
}

void FakeMain::wait_for_stop() {
  sigset_t set = fake_main_stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
}

}  // namespace jarvis::test::fakes
