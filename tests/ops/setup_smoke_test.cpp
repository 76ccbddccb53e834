// tests/ops/setup_smoke_test.cpp — scripts/setup-smoke.sh (`make setup-smoke`, decision 0061) run
// as a real subprocess: a PATH without a tool fails with the tool's name and its fix, a missing
// Debian package (a fake dpkg-query) is listed, a busy BIND_PORT fails unless --running, a missing
// binary says `make build`, and the built host migrates a scratch database and answers /readyz.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "jarvis/subprocess.h"
#include "support/fakes/loopback_server.h"
#include "support/support.h"

namespace setup_smoke_test {

namespace fs = std::filesystem;
using jarvis::test::TempDir;
using jarvis::test::write_file;

const std::string kScript = std::string(JARVIS_SOURCE_DIR) + "/scripts/setup-smoke.sh";

/// A directory of symlinks to every program on this process's PATH except `without`.
std::string fake_path(const TempDir& dir, const std::set<std::string>& without) {
  const std::string bin = dir.file("bin");
  fs::create_directories(bin);
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  std::string entry;
  while (std::getline(path, entry, ':')) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(entry, ec)) {
      const std::string name = f.path().filename().string();
      if (without.count(name) || fs::exists(bin + "/" + name)) continue;
      fs::create_symlink(f.path(), bin + "/" + name, ec);
    }
  }
  return bin;
}

jarvis::ProcessResult run_smoke(const std::vector<std::string>& args,
                                std::map<std::string, std::string> env) {
  jarvis::ProcessOptions o;
  o.argv = {"bash", kScript};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.cwd = JARVIS_SOURCE_DIR;
  o.timeout_ms = 240000;
  o.inherit_env = {"LANG", "TMPDIR"};
  // A HOME of this test process, not the runner's: nothing the smoke runs (its scratch host, npm,
  // git) writes into the home of whoever runs the suite (decision 0095).
  static const TempDir home;
  if (!env.count("HOME")) env["HOME"] = home.path();
  if (!env.count("PATH")) env["PATH"] = std::getenv("PATH");
  if (!env.count("BUILD_DIR")) env["BUILD_DIR"] = JARVIS_BUILD_DIR;
  o.extra_env = std::move(env);
  return jarvis::run_process(o);
}

TEST(SetupSmoke, AMissingToolIsNamedWithItsFix) {
  TempDir dir;
  const std::string bin = fake_path(dir, {"ninja"});
  auto r = run_smoke({}, {{"PATH", bin}, {"SMOKE_ONLY", "toolchain"}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("[FAIL] toolchain: 'ninja' not found on PATH"), std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("fix: ./scripts/install-deps.sh (installs ninja-build)"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("1 step(s) failed"), std::string::npos) << r.stdout_text;
  // With the tool present the same step passes (the test can tell the difference).
  auto full = run_smoke({}, {{"SMOKE_ONLY", "toolchain"}});
  EXPECT_EQ(full.exit_code, 0) << full.stdout_text;
}

TEST(SetupSmoke, AMissingDebianPackageIsListed) {
  TempDir dir;
  const std::string bin = fake_path(dir, {"dpkg-query"});
  // Every package is installed except libsodium-dev.
  write_file(bin + "/dpkg-query",
             "#!/bin/sh\nfor a; do last=$a; done\n"
             "[ \"$last\" = libsodium-dev ] && exit 1\nprintf 'install ok installed'\n");
  ::chmod((bin + "/dpkg-query").c_str(), 0755);
  auto r = run_smoke({}, {{"PATH", bin}, {"SMOKE_ONLY", "packages"}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("missing Debian packages: libsodium-dev"), std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("fix: ./scripts/install-deps.sh"), std::string::npos);
}

TEST(SetupSmoke, ABusyPortFailsUnlessRunning) {
  jarvis::test::fakes::LoopbackServer other(
      [](const jarvis::test::fakes::HttpRequest&, jarvis::test::fakes::Responder& out) {
        out.respond(404, "no");
      });
  const std::map<std::string, std::string> env = {{"SMOKE_ONLY", "port"},
                                                  {"BIND_HOST", "127.0.0.1"},
                                                  {"BIND_PORT", std::to_string(other.port())}};
  auto busy = run_smoke({}, env);
  EXPECT_EQ(busy.exit_code, 1) << busy.stdout_text;
  EXPECT_NE(busy.stdout_text.find("is in use by another process"), std::string::npos)
      << busy.stdout_text;
  EXPECT_NE(busy.stdout_text.find("make setup-smoke-running"), std::string::npos);
  auto running = run_smoke({"--running"}, env);
  EXPECT_EQ(running.exit_code, 0) << running.stdout_text;
  EXPECT_NE(running.stdout_text.find("[skip] port"), std::string::npos) << running.stdout_text;
  EXPECT_EQ(run_smoke({"--bogus"}, env).exit_code, 2);
}

TEST(SetupSmoke, AMissingBinarySaysMakeBuild) {
  auto r = run_smoke(
      {}, {{"SMOKE_ONLY", "binary migrations readyz"}, {"JARVIS_BIN", "/nonexistent/bin/jarvis"}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text;
  EXPECT_NE(
      r.stdout_text.find("no working host binary at /nonexistent/bin/jarvis -> fix: make build"),
      std::string::npos)
      << r.stdout_text;
}

TEST(SetupSmoke, TheBuiltHostMigratesAScratchDatabaseAndAnswersReadyz) {
  auto r = run_smoke({}, {{"SMOKE_ONLY", "port binary migrations readyz web"},
                          {"BIND_PORT", std::to_string(jarvis::test::free_port())},
                          {"SMOKE_READYZ_ATTEMPTS", "120"}});
  EXPECT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  for (const char* step :
       {"[ ok ] port", "[ ok ] binary", "[ ok ] migrations", "[ ok ] readyz", "[ ok ] web"}) {
    EXPECT_NE(r.stdout_text.find(step), std::string::npos) << step << "\n" << r.stdout_text;
  }
  EXPECT_NE(r.stdout_text.find("setup-smoke: all steps passed"), std::string::npos);
}

}  // namespace setup_smoke_test

namespace setup_smoke_test {

/// A stand-in `jarvis` whose `migrate` and `serve` behave as `migrate_rc` / `serve_line` say.
std::string fake_jarvis(const TempDir& dir, int migrate_rc, const std::string& serve_line) {
  const std::string path = dir.file("fake-jarvis");
  write_file(path,
             "#!/bin/sh\ncase \"$1\" in\n  version) echo 'jarvis 0.0 (fake)' ;;\n"
             "  migrate) echo \"plugin 'x' migration failed: disk full\" >&2; exit " +
                 std::to_string(migrate_rc) + " ;;\n  serve) echo '" + serve_line +
                 "' >&2; exit 1 ;;\nesac\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(SetupSmoke, AHostThatDiesAtStartUpIsReportedWithItsLog) {
  TempDir dir;
  auto r = run_smoke({}, {{"SMOKE_ONLY", "binary migrations readyz"},
                          {"JARVIS_BIN", fake_jarvis(dir, 0, "cannot bind 127.0.0.1: boom")}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("[FAIL] readyz: the host exited at start-up (exit 1): cannot "
                               "bind 127.0.0.1: boom"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("1 step(s) failed"), std::string::npos) << r.stdout_text;
}

TEST(SetupSmoke, AHostThatCrashesIsReportedWithItsSignal) {
  TempDir dir;
  const std::string path = dir.file("crashing-jarvis");
  write_file(path,
             "#!/bin/sh\ncase \"$1\" in\n  version) echo fake ;;\n  migrate) exit 0 ;;\n"
             "  serve) kill -SEGV $$ ;;\nesac\n");
  ::chmod(path.c_str(), 0755);
  auto r = run_smoke({}, {{"SMOKE_ONLY", "binary migrations readyz"}, {"JARVIS_BIN", path}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("the host exited at start-up (killed by SIGSEGV)"),
            std::string::npos)
      << r.stdout_text;
}

TEST(SetupSmoke, AFailedMigrationIsReportedAndReadyzNotTried) {
  TempDir dir;
  auto r = run_smoke({}, {{"SMOKE_ONLY", "binary migrations readyz"},
                          {"JARVIS_BIN", fake_jarvis(dir, 1, "unused")}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("[FAIL] migrations: jarvis migrate on a scratch database failed: "
                               "plugin 'x' migration failed: disk full"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("[FAIL] readyz: not tried: the scratch database did not migrate"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("2 step(s) failed"), std::string::npos) << r.stdout_text;
}

// The scratch host runs under env -i: an operator's exported settings do not reach it. Its serve
// ignores TERM and never answers: the smoke test still ends (TERM, SMOKE_STOP_SECONDS, KILL).
// Before the fix the host saw both variables and the final `wait` hung until ctest's timeout.
TEST(SetupSmoke, TheScratchHostInheritsNothingAndIsKilledWhenItIgnoresTerm) {
  TempDir dir;
  const std::string path = dir.file("stubborn-jarvis");
  const std::string seen = dir.file("seen-env");
  write_file(path,
             "#!/bin/bash\ncase \"$1\" in\n  version) echo fake ;;\n"
             "  migrate) env > '" +
                 seen +
                 "'; exit 0 ;;\n"
                 "  serve) trap '' TERM; while :; do sleep 0.2; done ;;\nesac\n");
  ::chmod(path.c_str(), 0755);
  auto r = run_smoke({}, {{"SMOKE_ONLY", "binary migrations readyz"},
                          {"JARVIS_BIN", path},
                          {"SMOKE_READYZ_ATTEMPTS", "2"},
                          {"SMOKE_STOP_SECONDS", "1"},
                          {"BIND_PORT", std::to_string(jarvis::test::free_port())},
                          {"MEMORY_EMBED_BASE_URL", "http://operator-embed.invalid:9/v1"},
                          {"BACKUP_LOCAL_DIR", dir.file("operator-backups")}});
  EXPECT_FALSE(r.timed_out) << r.stdout_text;
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;  // readyz never answered
  const std::string env = jarvis::test::read_file(seen);
  EXPECT_NE(env.find("APP_DB="), std::string::npos) << env;
  EXPECT_EQ(env.find("operator-embed.invalid"), std::string::npos) << env;
  EXPECT_EQ(env.find("operator-backups"), std::string::npos) << env;
}

}  // namespace setup_smoke_test
