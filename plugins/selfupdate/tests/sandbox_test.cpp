// selfupdate/tests/sandbox_test.cpp — the sandbox of a patch's build, test and install commands
// (decision 0077), with real bubblewrap: a proposed build script that tries to read the host's
// environment through /proc, to write the shared repository's .git/config, to reach a socket
// listening on the host's loopback, to write outside its worktree and to `git add` is stopped, and
// (decision 0097) it cannot read a file outside the sandbox's allow-list of read-only binds — one
// in /var/tmp, the live tree's .env, this source tree under /work, /etc/shadow — while it does see
// the live tree's node_modules, read-only; the same script run with SELFUPDATE_SANDBOX=none does
// all of it (so the test can fail). A
// missing or broken bwrap refuses the stage (sandbox_unavailable) instead of running unconfined.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jarvis/crypto.h"
#include "sandbox.h"
#include "selfupdate_support.h"

namespace sandbox_test {

using namespace selfupdate_test;
using jarvis::Json;

/// A TCP socket listening on 127.0.0.1 (connections complete in the backlog; none is accepted).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// A process standing in for the host: started with an API key in its environment, as a host
/// started by systemd with its EnvironmentFile is (/proc/<pid>/environ shows a process's initial
/// environment).
class StandInHost {
 public:
  explicit StandInHost(const std::string& canary) {
    std::string key = "SELFUPDATE_SANDBOX_CANARY_KEY=" + canary, path = "PATH=/usr/bin:/bin";
    char* envp[] = {key.data(), path.data(), nullptr};
    std::string sleep = "/bin/sleep", secs = "600";
    char* argv[] = {sleep.data(), secs.data(), nullptr};
    ::posix_spawn(&pid_, "/bin/sleep", nullptr, nullptr, argv, envp);
  }
  ~StandInHost() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// A folder outside /tmp (the sandbox's /tmp is its own): read-only inside the sandbox.
class OutsideDir {
 public:
  OutsideDir() : path_("/var/tmp/jarvis-selfupdate-" + jarvis::random_token(8)) {
    fs::create_directories(path_);
  }
  ~OutsideDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// What the attack may try to read besides the host's environment: files outside the worktree
/// that the host user can read.
struct ReadTargets {
  std::string outside_file;  ///< in /var/tmp (outside /tmp, HOME and the host's folders)
  std::string live_env;      ///< the live repository's untracked .env
  std::string source_file;   ///< a file of this source tree (/work/…): not the worktree
};

/// build.sh rewritten by the patch: every attack prints a marker when it works; it exits 0.
std::string attack_diff(int port, pid_t host_pid, const std::string& outside,
                        const ReadTargets& reads = {}) {
  const std::string pid = std::to_string(host_pid);
  std::vector<std::string> lines = {
      "cat /proc/" + pid +
          "/environ /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep "
          "CANARY || true",
      "echo ENV_SCAN_DONE",
      "echo '[evil]' >> \"$(git rev-parse --git-common-dir)/config\" && echo GIT_CONFIG_WRITTEN",
      "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
          "' 2>/dev/null && echo NETWORK_REACHED",
      "touch '" + outside + "' 2>/dev/null && echo OUTSIDE_WRITTEN",
      "git add -f out/app.txt 2>/dev/null && echo GIT_ADD_WORKED"};
  if (!reads.outside_file.empty()) {
    lines.insert(lines.end(),
                 {"cat '" + reads.outside_file + "' 2>/dev/null || true",
                  "cat '" + reads.live_env + "' 2>/dev/null || true",
                  "head -c 1 '" + reads.source_file + "' >/dev/null 2>&1 && echo SOURCE_TREE_READ",
                  "head -c 1 /etc/shadow >/dev/null 2>&1 && echo SHADOW_READ",
                  "ls node_modules 2>/dev/null | grep -q dep-marker && echo DEPS_VISIBLE",
                  "touch node_modules/evil 2>/dev/null && echo DEPS_WRITTEN"});
  }
  lines.push_back("true");
  std::string diff = "diff --git a/build.sh b/build.sh\n--- a/build.sh\n+++ b/build.sh\n@@ -1 +1," +
                     std::to_string(lines.size() + 1) +
                     " @@\n"
                     " mkdir -p out && cp app.txt out/app.txt\n";
  for (const auto& l : lines) diff += "+" + l + "\n";
  return diff;
}

bool bwrap_works() {
  return selfupdate::Sandbox({.mode = selfupdate::SandboxMode::Bwrap}).probe().empty();
}

class Sandbox : public ::testing::TestWithParam<Backend> {
 protected:
  /// A readable file outside the worktree (/var/tmp), the live repository's .env and
  /// node_modules (the latter with a marker the build may see), each with its canary.
  ReadTargets plant_read_targets(PipelineRig& rig) {
    ReadTargets t{outside_dir.file("readable.txt"), rig.repo.repo + "/.env",
                  std::string(JARVIS_SOURCE_DIR) + "/README.md"};
    jarvis::test::write_file(t.outside_file, outside_canary + "\n");
    jarvis::test::write_file(t.live_env, "OPENAI_API_KEY=" + env_canary + "\n");
    jarvis::test::write_file(rig.repo.repo + "/node_modules/dep-marker.txt", "dep\n");
    return t;
  }
  const std::string canary = "canary-" + jarvis::random_token(8);
  const std::string outside_canary = "outside-" + jarvis::random_token(8);
  const std::string env_canary = "envfile-" + jarvis::random_token(8);
  StandInHost host{canary};
  OutsideDir outside_dir;
};

TEST_P(Sandbox, AProposedBuildCannotReadTheHostWriteGitOrReachTheNetwork) {
  if (!bwrap_works()) GTEST_SKIP() << "bwrap cannot create namespaces here (refusal: below)";
  PipelineRig rig(GetParam());
  ASSERT_EQ(rig.settings.sandbox, "bwrap");
  Listener listener;
  const std::string outside = outside_dir.file("written-by-the-build");
  auto p = rig.pipeline();
  const ReadTargets reads = plant_read_targets(rig);
  std::string id =
      rig.propose_and_test(*p, attack_diff(listener.port(), host.pid(), outside, reads));
  Json shown = p->show(id);
  ASSERT_EQ(shown["state"], "tested") << shown.dump(2);
  const std::string log = jarvis::test::read_file(rig.repo.patches + "/" + id + "/test.log");
  EXPECT_NE(log.find("ENV_SCAN_DONE"), std::string::npos) << log;  // the attack script ran
  EXPECT_NE(log.find("(sandbox: bwrap)"), std::string::npos) << log;
  EXPECT_EQ(log.find(canary), std::string::npos) << log;
  EXPECT_EQ(log.find("GIT_CONFIG_WRITTEN"), std::string::npos) << log;
  EXPECT_EQ(log.find("NETWORK_REACHED"), std::string::npos) << log;
  EXPECT_EQ(log.find("OUTSIDE_WRITTEN"), std::string::npos) << log;
  EXPECT_EQ(log.find("GIT_ADD_WORKED"), std::string::npos) << log;
  EXPECT_EQ(jarvis::test::read_file(rig.repo.repo + "/.git/config").find("[evil]"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(outside));
  // Only the allow-list of read-only binds exists (decision 0097): no file outside it.
  EXPECT_EQ(log.find(outside_canary), std::string::npos) << log;
  EXPECT_EQ(log.find(env_canary), std::string::npos) << log;
  EXPECT_EQ(log.find("SOURCE_TREE_READ"), std::string::npos) << log;
  EXPECT_EQ(log.find("SHADOW_READ"), std::string::npos) << log;
  // The live tree's node_modules is there for the offline test step, read-only.
  EXPECT_NE(log.find("DEPS_VISIBLE"), std::string::npos) << log;
  EXPECT_EQ(log.find("DEPS_WRITTEN"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(rig.repo.repo + "/node_modules/evil"));
}

// The same script unconfined: every attack works — what the sandbox is for, and proof that the
// test above can fail.
TEST_P(Sandbox, UnconfinedTheSameBuildDoesAllOfItAndTheLogSaysSo) {
  PipelineRig rig(GetParam());
  rig.settings.sandbox = "none";
  Listener listener;
  const std::string outside = outside_dir.file("written-by-the-build");
  auto p = rig.pipeline();
  const ReadTargets reads = plant_read_targets(rig);
  std::string id =
      rig.propose_and_test(*p, attack_diff(listener.port(), host.pid(), outside, reads));
  const std::string log = jarvis::test::read_file(rig.repo.patches + "/" + id + "/test.log");
  EXPECT_NE(log.find("WARNING: SELFUPDATE_SANDBOX=none"), std::string::npos) << log;
  EXPECT_NE(log.find(outside_canary), std::string::npos) << log;
  EXPECT_NE(log.find(env_canary), std::string::npos) << log;
  EXPECT_NE(log.find("SOURCE_TREE_READ"), std::string::npos) << log;
  if (::geteuid() == 0) {
    EXPECT_NE(log.find("SHADOW_READ"), std::string::npos) << log;
  }
  EXPECT_NE(log.find(canary), std::string::npos) << log;
  EXPECT_NE(log.find("GIT_CONFIG_WRITTEN"), std::string::npos) << log;
  EXPECT_NE(log.find("NETWORK_REACHED"), std::string::npos) << log;
  EXPECT_NE(log.find("OUTSIDE_WRITTEN"), std::string::npos) << log;
  EXPECT_NE(jarvis::test::read_file(rig.repo.repo + "/.git/config").find("[evil]"),
            std::string::npos);
  // The git add moved the index: refused by the check behind the sandbox.
  EXPECT_EQ(p->show(id)["reason_code"], "index_changed");
}

// A missing bwrap, or one that cannot create its namespaces, refuses the test and the apply:
// nothing runs unconfined by accident.
TEST_P(Sandbox, AMissingOrBrokenBwrapRefusesTheStage) {
  PipelineRig rig(GetParam());
  rig.settings.sandbox = "bwrap";
  rig.settings.sandbox_program = rig.tmp.file("no-such-bwrap");
  auto p = rig.pipeline();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "test_failed") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "sandbox_unavailable");
  EXPECT_NE(shown["detail"].get<std::string>().find("SELFUPDATE_SANDBOX=none"), std::string::npos);
  const std::string log_path = rig.repo.patches + "/" + id + "/test.log";
  EXPECT_EQ(jarvis::test::read_file(log_path).find("sh build.sh"), std::string::npos);

  // A bwrap that fails the way it does without user namespaces.
  const std::string broken = rig.tmp.file("broken-bwrap");
  jarvis::test::write_file(broken,
                           "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' "
                           ">&2\nexit 1\n");
  ::chmod(broken.c_str(), 0755);
  rig.settings.sandbox_program = broken;
  auto p2 = rig.pipeline();
  std::string id2 = rig.propose_and_test(*p2, FixtureRepo::diff_version(1, 2));
  shown = p2->show(id2);
  EXPECT_EQ(shown["reason_code"], "sandbox_unavailable") << shown.dump(2);
  EXPECT_NE(shown["detail"].get<std::string>().find("No permissions"), std::string::npos);

  // Tested with a working sandbox, then the apply finds it broken: nothing is installed.
  if (bwrap_works()) {
    rig.settings.sandbox_program = "bwrap";
    auto ok = rig.pipeline();
    std::string id3 = rig.propose_and_test(*ok, FixtureRepo::diff_version(1, 2));
    ASSERT_EQ(rig.state_of(*ok, id3), "tested");
    rig.settings.sandbox_program = broken;
    auto bad = rig.pipeline();
    bad->approve(id3, "user:usr_root");
    rig.drain(*bad);
    shown = bad->show(id3);
    EXPECT_EQ(shown["state"], "apply_failed") << shown.dump(2);
    EXPECT_EQ(shown["reason_code"], "sandbox_unavailable");
    EXPECT_EQ(rig.repo.current(), "releases/initial");
    EXPECT_FALSE(fs::exists(rig.repo.install + "/releases/" + id3));
  }
}

// The default test command's first step offline (decision 0097): the node_deps fixture
// (tests/node/npm_ci.sh) in a worktree whose node_modules is the live tree's, bound read-only,
// finds it current and needs no network; with a lockfile the live install does not match it
// must run `npm ci`, which fails in the sandbox (no network, read-only folder) — the documented
// limit: a patch that changes dependencies needs them installed in the live tree first.
TEST(SandboxUnit, TheNodeFixtureRunsOfflineOnTheLiveTreesNodeModules) {
  if (!bwrap_works()) GTEST_SKIP() << "bwrap cannot create namespaces here";
  const std::string src = JARVIS_SOURCE_DIR;
  const std::string stamp = src + "/node_modules/.jarvis-lock.sha256";
  if (!fs::exists(stamp)) GTEST_SKIP() << "no node_modules from node_deps in " << src;
  jarvis::test::TempDir tmp;
  const std::string wt = tmp.file("wt");
  fs::create_directories(wt + "/tests/node");
  for (const char* f :
       {"package.json", "package-lock.json", "tests/node/npm_ci.sh", "tests/node/node.sh"}) {
    fs::copy_file(src + "/" + f, wt + "/" + f);
  }
  selfupdate::Sandbox box({.mode = selfupdate::SandboxMode::Bwrap});
  const selfupdate::SandboxPlace place{
      .cwd = wt, .read_only_into = {{src + "/node_modules", wt + "/node_modules"}}};
  auto run = [&] {
    return jarvis::run_process(
        {.argv = box.wrap({"bash", "tests/node/npm_ci.sh", ".", "build"}, place),
         .timeout_ms = 120000});
  };
  const std::string want = jarvis::test::read_file(stamp).substr(0, 64);
  const std::string have = jarvis::sha256_hex(jarvis::test::read_file(wt + "/package-lock.json"));
  if (want != have) GTEST_SKIP() << "the live node_modules is stale (node_deps reinstalls it)";
  auto ok = run();
  EXPECT_EQ(ok.exit_code, 0) << ok.stdout_text << ok.stderr_text;
  EXPECT_NE(ok.stdout_text.find("node_modules matches package-lock.json"), std::string::npos)
      << ok.stdout_text << ok.stderr_text;
  // A patch's new lockfile: npm ci would need the network and a writable folder.
  jarvis::test::write_file(wt + "/package-lock.json",
                           jarvis::test::read_file(wt + "/package-lock.json") + "\n");
  auto changed = run();
  EXPECT_NE(changed.exit_code, 0) << changed.stdout_text << changed.stderr_text;
  EXPECT_TRUE(fs::exists(stamp));  // the live install is untouched
  EXPECT_EQ(jarvis::test::read_file(stamp).substr(0, 64), want);
}

// SELFUPDATE_SANDBOX_READ names a folder under /tmp (a checkout's build/bin in /tmp, as a CI
// clone has it): visible and read-only inside although the sandbox's /tmp is its own. Before,
// the e2e test's install.sh failed in a clone under /tmp ("cp: cannot stat …/build/bin/jarvis").
TEST(SandboxUnit, AReadOnlyFolderUnderTmpIsVisibleButNotWritable) {
  if (!bwrap_works()) GTEST_SKIP() << "bwrap cannot create namespaces here";
  jarvis::test::TempDir tmp;  // under /tmp
  const std::string marker = "ro-" + jarvis::random_token(8);
  jarvis::test::write_file(tmp.file("bin/tool.txt"), marker + "\n");
  fs::create_directories(tmp.file("wt"));
  selfupdate::Sandbox box({.mode = selfupdate::SandboxMode::Bwrap, .read_only = {tmp.file("bin")}});
  auto r = jarvis::run_process(
      {.argv = box.wrap({"sh", "-c",
                         "cat '" + tmp.file("bin/tool.txt") + "'; touch '" + tmp.file("bin/new") +
                             "' 2>/dev/null && echo WROTE; true"},
                        {.cwd = tmp.file("wt")}),
       .timeout_ms = 60000});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find(marker), std::string::npos) << r.stdout_text << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find("WROTE"), std::string::npos) << r.stdout_text;
  EXPECT_FALSE(fs::exists(tmp.file("bin/new")));
}

TEST(SandboxUnit, WrapsWithEveryConfinementAndHidesHostFolders) {
  jarvis::test::TempDir tmp;
  fs::create_directories(tmp.file("host/cwd"));
  fs::create_directories(tmp.file("etc-jarvis"));
  selfupdate::Sandbox box({.mode = selfupdate::SandboxMode::Bwrap,
                           .hide = {tmp.file("etc-jarvis"), "/usr", "/", "relative"},
                           .read_only = {"/opt/tool"},
                           .host_cwd = tmp.file("host/cwd")});
  auto argv =
      box.wrap({"sh", "build.sh"},
               {.cwd = tmp.file("wt"),
                .git_dir = tmp.file("r/.git"),
                .read_only_into = {{tmp.file("live/node_modules"), tmp.file("wt/node_modules")}}});
  std::string all;
  for (const auto& a : argv) all += a + " ";
  for (const char* want :
       {"--die-with-parent", "--unshare-all", "--cap-drop ALL", "--ro-bind /usr /usr",
        "--ro-bind-try /etc/passwd /etc/passwd", "--ro-bind-try /opt/tool /opt/tool",
        "--tmpfs /tmp", "--tmpfs /run", "--clearenv", "--setenv CI 1", "--setenv TMPDIR /tmp",
        "-- sh build.sh"}) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
  }
  // An allow-list, not the whole file system: no bind of /, /etc, /root or /var.
  for (const char* never :
       {"--ro-bind / /", "--ro-bind /etc /etc", "--ro-bind-try /etc /etc", "/etc/shadow",
        "/etc/ssl/private", "--ro-bind /var", "--ro-bind /root", "--bind /root"}) {
    EXPECT_EQ(all.find(never), std::string::npos) << never << "\n" << all;
  }
  // The operator's read-only binds come after the private /tmp (which would cover them).
  EXPECT_GT(all.find("--ro-bind-try /opt/tool"), all.find("--tmpfs /tmp")) << all;
  EXPECT_NE(
      all.find("--ro-bind " + tmp.file("live/node_modules") + " " + tmp.file("wt/node_modules")),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("--tmpfs " + tmp.file("host/cwd")), std::string::npos) << all;
  EXPECT_NE(all.find("--tmpfs " + tmp.file("etc-jarvis")), std::string::npos) << all;
  EXPECT_NE(all.find("--ro-bind " + tmp.file("r/.git") + " " + tmp.file("r/.git")),
            std::string::npos);
  EXPECT_NE(all.find("--bind " + tmp.file("wt") + " " + tmp.file("wt")), std::string::npos);
  // Never a tmpfs over the system or a relative path.
  EXPECT_EQ(all.find("--tmpfs /usr"), std::string::npos) << all;
  EXPECT_EQ(all.find("--tmpfs / "), std::string::npos) << all;
  EXPECT_EQ(all.find("relative"), std::string::npos) << all;
  // No secret-looking variable crosses, even one the allow-list's LC_* pattern matches.
  ::setenv("LC_SECRET_TOKEN", "x", 1);
  for (const auto& [k, v] : selfupdate::Sandbox::inner_env()) EXPECT_NE(k, "LC_SECRET_TOKEN");
  ::unsetenv("LC_SECRET_TOKEN");
  EXPECT_THROW(selfupdate::parse_sandbox_mode("off"), std::invalid_argument);
  // Mode none wraps nothing.
  selfupdate::Sandbox none({.mode = selfupdate::SandboxMode::None});
  EXPECT_EQ(none.wrap({"sh", "x"}, {.cwd = "/tmp"}), (std::vector<std::string>{"sh", "x"}));
  EXPECT_EQ(none.probe(), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, Sandbox, ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace sandbox_test
