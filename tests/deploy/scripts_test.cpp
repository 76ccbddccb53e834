// tests/deploy/scripts_test.cpp — deploy/install-systemd.sh, healthcheck.sh, rollback.sh and
// restore_db.sh as real subprocesses in a throwaway directory, with a fake `systemctl` on PATH
// (deploy_fixture.h): the unit written with the given user, paths and port; exit codes of the
// health check; a rollback that switches back when the new release is not ready (the live tree
// untouched); a restore that reverts when RESTORE_READYZ_URL is not ready and refuses a corrupt
// snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include <filesystem>

#include "deploy/deploy_fixture.h"

using deploy_test::deploy_script;
using deploy_test::DeployDir;
using deploy_test::StaticServer;
using deploy_test::write_executable;
using jarvis::test::read_file;
using jarvis::test::write_file;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace scripts_test {

using deploy_test::count_files;
using deploy_test::service_user;

/// The user the installs in these tests name (never root: the script refuses it).
std::string me() { return service_user(); }

// A fake installed release: <prefix>/releases/r1/bin/jarvis and current -> releases/r1.
void fake_release(const std::string& prefix) {
  write_executable(prefix + "/releases/r1/bin/jarvis", "#!/bin/sh\nexit 0\n");
  fs::create_directory_symlink("releases/r1", prefix + "/current");
}

std::string sqlite(const DeployDir&, const std::string& db, const std::string& sql) {
  return deploy_test::sqlite_query(db, sql);
}

// A jarvis-shaped SQLite file holding one row `marker`.
void make_db(const DeployDir& d, const std::string& path, const std::string& marker) {
  sqlite(d, path,
         "CREATE TABLE schema_migrations(component TEXT, version TEXT); CREATE TABLE t(v TEXT); "
         "INSERT INTO t VALUES('" +
             marker + "');");
}

}  // namespace scripts_test

using namespace scripts_test;

TEST(InstallSystemd, WritesTheUnitWithTheGivenUserPathsAndPort) {
  DeployDir d;
  const std::string prefix = d.file("opt/jv"), data = d.file("data"), units = d.file("units");
  fake_release(prefix);
  // A stale unit of the original project is removed.
  write_file(units + "/jarvis-worker.service", "[Service]\nExecStart=celery worker\n");
  const std::string user = me();
  auto r = d.run({deploy_script("install-systemd.sh"), "--user", user, "--prefix", prefix,
                  "--data-dir", data, "--unit-dir", units, "--port", "18123", "--host", "127.0.0.2",
                  "--watchdog-sec", "30", "--service", "jv-test"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  std::string unit = read_file(units + "/jv-test.service");
  EXPECT_THAT(unit, HasSubstr("Type=notify\n"));
  EXPECT_THAT(unit, HasSubstr("WatchdogSec=30\n"));
  EXPECT_THAT(unit, HasSubstr("User=" + user + "\n"));
  EXPECT_THAT(unit, HasSubstr("WorkingDirectory=" + data + "\n"));
  EXPECT_THAT(unit, HasSubstr("Environment=BIND_PORT=18123\n"));
  EXPECT_THAT(unit, HasSubstr("Environment=BIND_HOST=127.0.0.2\n"));
  EXPECT_THAT(unit, HasSubstr("ExecStart=" + prefix + "/current/bin/jarvis serve\n"));
  EXPECT_THAT(unit, Not(HasSubstr("@")));            // every placeholder rendered
  EXPECT_THAT(unit, Not(HasSubstr("/opt/jarvis")));  // nothing of the defaults left
  EXPECT_TRUE(fs::is_directory(data + "/var/backups"));
  EXPECT_FALSE(fs::exists(units + "/jarvis-worker.service"));
  std::string log = d.systemctl_log();
  EXPECT_THAT(log, HasSubstr("disable --now jarvis-worker.service"));
  EXPECT_THAT(log, HasSubstr("daemon-reload"));
  EXPECT_THAT(log, HasSubstr("enable --now jv-test.service"));
  // The fake says the unit is active (a reinstall): enable --now alone would leave the old one
  // running.
  EXPECT_THAT(log, HasSubstr("enable --now jv-test.service\nrestart jv-test.service"));
}

TEST(InstallSystemd, TakesItsValuesFromTheEnvironment) {
  DeployDir d;
  const std::string prefix = d.file("p"), units = d.file("u");
  fake_release(prefix);
  auto r = d.run({deploy_script("install-systemd.sh"), "--no-start"},
                 {{"JARVIS_USER", me()},
                  {"JARVIS_PREFIX", prefix},
                  {"JARVIS_DATA_DIR", d.file("state-dir")},
                  {"SYSTEMD_UNIT_DIR", units},
                  {"BIND_PORT", "18999"}});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  std::string unit = read_file(units + "/jarvis.service");
  EXPECT_THAT(unit, HasSubstr("Environment=BIND_PORT=18999\n"));
  EXPECT_THAT(unit, HasSubstr("WorkingDirectory=" + d.file("state-dir") + "\n"));
  EXPECT_THAT(d.systemctl_log(), HasSubstr("enable jarvis.service"));
  EXPECT_THAT(d.systemctl_log(), Not(HasSubstr("--now")));
}

TEST(InstallSystemd, RefusesBadValuesAndWritesNothing) {
  DeployDir d;
  const std::string prefix = d.file("p"), units = d.file("u");
  fake_release(prefix);
  for (std::vector<std::string> bad : {std::vector<std::string>{"--port", "70000"},
                                       {"--port", "80a"},
                                       {"--user", "no-such-user-jv"},
                                       {"--prefix", "relative/path"},
                                       {"--data-dir", d.file("x") + ";rm -rf /"},
                                       {"--data-dir", d.file("100%h")},
                                       {"--data-dir", d.file("a\"b")},
                                       {"--host", "127.0.0.1/evil"},
                                       {"--data-dir", "/"},
                                       {"--data-dir", "/home"},
                                       {"--data-dir", "/usr/../etc"}}) {
    std::vector<std::string> argv{deploy_script("install-systemd.sh"),
                                  "--unit-dir",
                                  units,
                                  "--prefix",
                                  prefix,
                                  "--user",
                                  me(),
                                  "--data-dir",
                                  d.file("dd")};
    argv.insert(argv.end(), bad.begin(), bad.end());
    auto r = d.run(argv);
    EXPECT_EQ(r.exit_code, 1) << bad[0] << " " << bad[1] << ": " << r.stderr_text;
  }
  // No binary under the prefix: refused too.
  auto r = d.run({deploy_script("install-systemd.sh"), "--unit-dir", units, "--prefix",
                  d.file("empty"), "--user", me(), "--data-dir", d.file("dd")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("no jarvis binary"));
  EXPECT_FALSE(fs::exists(units + "/jarvis.service"));
  EXPECT_EQ(d.systemctl_log(), "");
}

TEST(Healthcheck, ExitCodesSayReadyUnreachableOrUnexpected) {
  DeployDir d;
  write_file(d.file("www/readyz"), R"({"ok":true,"plugins":[]})");
  StaticServer server(d.file("www"));
  ASSERT_TRUE(server.ready());
  auto ready = d.run({deploy_script("healthcheck.sh"), server.url("/readyz")});
  EXPECT_EQ(ready.exit_code, 0) << ready.stderr_text;
  auto missing = d.run({deploy_script("healthcheck.sh"), server.url("/nothing-here")});
  EXPECT_EQ(missing.exit_code, 3) << missing.stderr_text;  // a 404 is no readiness answer
  int closed = jarvis::test::free_port();
  auto down = d.run(
      {deploy_script("healthcheck.sh"), "http://127.0.0.1:" + std::to_string(closed) + "/readyz"},
      {{"HEALTHCHECK_TIMEOUT_SECONDS", "2"}});
  EXPECT_EQ(down.exit_code, 2) << down.stderr_text;
  EXPECT_THAT(down.stderr_text, HasSubstr("unreachable"));
  auto usage = d.run({deploy_script("healthcheck.sh"), "a", "b"});
  EXPECT_EQ(usage.exit_code, 64);
}

namespace scripts_test {

// A fixture repository whose "build" installs a fake jarvis: serving /readyz when the tree's
// `health` file says good, exiting at once when it says bad.
struct RollbackRepo {
  std::string good, bad;
};

RollbackRepo make_rollback_repo(const DeployDir& d, const std::string& repo) {
  fs::create_directories(repo);
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", repo, "-c", "user.email=t@example.invalid", "-c",
                               "user.name=t", "-c", "commit.gpgsign=false"});
    auto r = d.run(args);
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    return r.stdout_text.substr(0, r.stdout_text.find('\n'));
  };
  git({"init", "-q"});
  write_file(repo + "/health", "good\n");
  git({"add", "health"});
  git({"commit", "-q", "-m", "good"});
  RollbackRepo out;
  out.good = git({"rev-parse", "HEAD"});
  write_file(repo + "/health", "bad\n");
  git({"commit", "-q", "-a", "-m", "bad"});
  out.bad = git({"rev-parse", "HEAD"});
  return out;
}

const char* kFakeBuild =
    "mkdir -p \"$RELEASE_DIR/bin\" \"$RELEASE_DIR/www\" && "
    "if grep -q good health; then echo '{\"ok\":true}' > \"$RELEASE_DIR/www/readyz\"; fi && "
    "printf '#!/bin/sh\\ncd \"$(dirname \"$0\")/../www\" && [ -f readyz ] && exec python3 -m "
    "http.server --bind 127.0.0.1 \"$FAKE_PORT\"\\nexit 1\\n' > \"$RELEASE_DIR/bin/jarvis\" && "
    "chmod +x \"$RELEASE_DIR/bin/jarvis\"";

/// The unit install-systemd.sh would write for `prefix` (what `systemctl cat` shows).
std::string write_unit(const DeployDir& d, const std::string& prefix,
                       const std::string& exec = "") {
  const std::string path = d.file("state/unit.service");
  write_file(path, "# /etc/systemd/system/jarvis.service\n[Service]\nType=notify\nExecStart=" +
                       (exec.empty() ? prefix + "/current/bin/jarvis" : exec) + " serve\n");
  return path;
}

std::map<std::string, std::string> rollback_env(const DeployDir& d, const std::string& repo,
                                                const std::string& prefix, int port) {
  return {{"JARVIS_REPO", repo},
          {"JARVIS_PREFIX", prefix},
          {"JARVIS_READYZ_URL", "http://127.0.0.1:" + std::to_string(port) + "/readyz"},
          {"ROLLBACK_READYZ_ATTEMPTS", "50"},
          {"ROLLBACK_READYZ_INTERVAL_SECONDS", "0.1"},
          {"JARVIS_BUILD_COMMAND", kFakeBuild},
          {"FAKE_PORT", std::to_string(port)},
          {"FAKE_SERVICE_CMD", "exec \"" + prefix + "/current/bin/jarvis\""},
          {"FAKE_UNIT_FILE", write_unit(d, prefix)}};
}

/// Runs rollback.sh REF in the background, waits (bounded) until `ready_test` (a shell test)
/// holds, sends it SIGTERM and returns "rc=<its exit code>" on stdout.
jarvis::ProcessResult rollback_interrupted(const DeployDir& d, const std::string& ref,
                                           const std::string& ready_test,
                                           const std::map<std::string, std::string>& env) {
  return d.run({"bash", "-c",
                "\"$0\" \"$1\" & p=$!; for _ in $(seq 2400); do eval \"$2\" && break; "
                "sleep 0.05; done; kill -TERM $p; wait $p; echo rc=$?",
                deploy_script("rollback.sh"), ref, ready_test},
               env);
}

/// Release directories under `prefix`/releases.
std::vector<std::string> releases_of(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(prefix + "/releases", ec);
       !ec && it != fs::directory_iterator(); ++it) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace scripts_test

TEST(Rollback, BuildsInAWorktreeSwitchesAndSwitchesBackWhenNotReady) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  const int port = jarvis::test::free_port();
  std::map<std::string, std::string> env = rollback_env(d, repo, prefix, port);

  auto first = d.run({deploy_script("rollback.sh"), refs.good}, env);
  ASSERT_EQ(first.exit_code, 0) << first.stdout_text << first.stderr_text;
  const std::string good_release = fs::read_symlink(prefix + "/current").string();
  EXPECT_THAT(good_release, HasSubstr(refs.good.substr(0, 12)));

  // The bad release never answers: switched back to the good one, which is ready again.
  auto second = d.run({deploy_script("rollback.sh"), refs.bad}, env);
  EXPECT_EQ(second.exit_code, 1) << second.stdout_text << second.stderr_text;
  EXPECT_THAT(second.stderr_text, HasSubstr("ready again"));
  EXPECT_EQ(fs::read_symlink(prefix + "/current").string(), good_release);
  EXPECT_EQ(jarvis::test::http("GET", env["JARVIS_READYZ_URL"]).status, 200);
  // restart for the good one, restart for the bad one, restart back.
  std::string log = d.systemctl_log();
  std::size_t restarts = 0;
  for (std::size_t p = 0; (p = log.find("restart jarvis.service", p)) != std::string::npos; ++p) {
    ++restarts;
  }
  EXPECT_EQ(restarts, 3u) << log;

  // The live tree was never touched: still on the bad commit, clean, and no worktree left.
  auto head = d.run({"git", "-C", repo, "rev-parse", "HEAD"});
  EXPECT_EQ(head.stdout_text.substr(0, refs.bad.size()), refs.bad);
  EXPECT_EQ(d.run({"git", "-C", repo, "status", "--porcelain"}).stdout_text, "");
  auto trees = d.run({"git", "-C", repo, "worktree", "list", "--porcelain"}).stdout_text;
  std::size_t worktrees = 0;
  for (std::size_t p = 0; (p = trees.find("worktree ", p)) != std::string::npos; ++p) ++worktrees;
  EXPECT_EQ(worktrees, 1u) << trees;  // only the main tree
}

TEST(Rollback, AnUnknownRefOrAFailedBuildSwitchesNothing) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  fake_release(prefix);
  std::map<std::string, std::string> env{
      {"JARVIS_REPO", repo}, {"JARVIS_PREFIX", prefix}, {"FAKE_UNIT_FILE", write_unit(d, prefix)}};
  auto unknown = d.run({deploy_script("rollback.sh"), "no-such-ref"}, env);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.stderr_text;
  env["JARVIS_BUILD_COMMAND"] = "echo compile error >&2; exit 1";
  auto failed = d.run({deploy_script("rollback.sh"), refs.good}, env);
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.stderr_text, HasSubstr("nothing was switched"));
  EXPECT_EQ(fs::read_symlink(prefix + "/current").string(), "releases/r1");
  EXPECT_EQ(d.systemctl_log(), "cat jarvis.service\n");  // read, never restarted
  EXPECT_EQ(count_files(prefix + "/releases", "-"), 0);  // the failed build's release removed
}

TEST(RestoreDb, RevertsWhenReadyzIsNotReady) {
  DeployDir d;
  const std::string db = d.file("data/var/jarvis.db");
  fs::create_directories(d.file("data/var"));
  make_db(d, db, "current");
  make_db(d, d.file("snap.db"), "snapshot");
  ASSERT_EQ(d.run({"gzip", d.file("snap.db")}).exit_code, 0);
  const int closed = jarvis::test::free_port();
  auto r = d.run({deploy_script("restore_db.sh"), d.file("snap.db.gz"), db},
                 {{"RESTORE_READYZ_URL", "http://127.0.0.1:" + std::to_string(closed) + "/readyz"},
                  {"RESTORE_READYZ_ATTEMPTS", "2"},
                  {"RESTORE_READYZ_INTERVAL_SECONDS", "0.1"},
                  {"HEALTHCHECK_TIMEOUT_SECONDS", "2"}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("reverting"));
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "current");
  bool failed_copy = false;
  for (const auto& e : fs::directory_iterator(d.file("data/var"))) {
    if (e.path().filename().string().find("failed_restore") != std::string::npos) {
      failed_copy = true;
      EXPECT_EQ(sqlite(d, e.path().string(), "SELECT v FROM t"), "snapshot");
    }
  }
  EXPECT_TRUE(failed_copy);
  EXPECT_EQ(d.systemctl_log(),
            "stop jarvis.service\nstart jarvis.service\nstop jarvis.service\nstart "
            "jarvis.service\n");
}

TEST(RestoreDb, SwapsTheSnapshotInAndKeepsTheCurrentAsideWhenReady) {
  DeployDir d;
  const std::string db = d.file("var/jarvis.db");
  fs::create_directories(d.file("var"));
  make_db(d, db, "current");
  make_db(d, d.file("snap.db"), "snapshot");
  write_file(d.file("www/readyz"), R"({"ok":true})");
  StaticServer ready(d.file("www"));
  ASSERT_TRUE(ready.ready());
  // db_path from APP_DB this time.
  auto r = d.run({deploy_script("restore_db.sh"), d.file("snap.db")},
                 {{"APP_DB", db}, {"RESTORE_READYZ_URL", ready.url("/readyz")}});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "snapshot");
  bool aside = false;
  for (const auto& e : fs::directory_iterator(d.file("var"))) {
    if (e.path().filename().string().find("pre_restore") != std::string::npos) {
      aside = true;
      EXPECT_EQ(sqlite(d, e.path().string(), "SELECT v FROM t"), "current");
    }
  }
  EXPECT_TRUE(aside);
  EXPECT_EQ(d.systemctl_log(), "stop jarvis.service\nstart jarvis.service\n");
}

TEST(RestoreDb, RefusesACorruptOrForeignSnapshotAndChangesNothing) {
  DeployDir d;
  const std::string db = d.file("var/jarvis.db");
  fs::create_directories(d.file("var"));
  make_db(d, db, "current");
  // Not gzip at all; a gzip of garbage; a truncated database; a SQLite file of another program.
  write_file(d.file("garbage.db.gz"), "this is not gzip");
  write_file(d.file("text.db"), std::string(8192, 'x'));
  ASSERT_EQ(d.run({"gzip", "-k", d.file("text.db")}).exit_code, 0);
  make_db(d, d.file("big.db"), "snapshot");
  sqlite(d, d.file("big.db"),
         "CREATE TABLE filler(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
         "WHERE i < 2000) INSERT INTO filler SELECT randomblob(200) FROM c;");
  std::string whole = read_file(d.file("big.db"));
  write_file(d.file("truncated.db"), whole.substr(0, whole.size() / 2));
  sqlite(d, d.file("foreign.db"), "CREATE TABLE notes(x); INSERT INTO notes VALUES(1);");
  for (const char* snap :
       {"garbage.db.gz", "text.db.gz", "truncated.db", "foreign.db", "missing.db"}) {
    auto r = d.run({deploy_script("restore_db.sh"), d.file(snap), db});
    EXPECT_EQ(r.exit_code, 1) << snap << ": " << r.stdout_text << r.stderr_text;
    EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "current") << snap;
  }
  EXPECT_EQ(d.systemctl_log(), "");  // refused before the service was touched
  for (const auto& e : fs::directory_iterator(d.file("var"))) {
    EXPECT_EQ(e.path().filename().string().find("pre_restore"), std::string::npos) << e.path();
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }
}

// A host that writes to the restored database in WAL mode and dies (kill -9) before it is ready:
// the revert must not leave that WAL next to the previous database (SQLite would replay the
// crashed host's rows into it).
TEST(RestoreDb, RevertDoesNotReplayTheFailedHostsWalIntoThePreviousDatabase) {
  DeployDir d;
  const std::string db = d.file("data/var/jarvis.db");
  fs::create_directories(d.file("data/var"));
  make_db(d, db, "current");
  make_db(d, d.file("snap.db"), "snapshot");
  // A systemctl whose start runs the "service" to completion: deterministic, no race with the
  // readiness polls.
  write_executable(d.bin() + "/systemctl", R"SH(#!/usr/bin/env bash
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
if [ "$1" = start ] && [ ! -f "$FAKE_STATE_DIR/crashed" ]; then
  touch "$FAKE_STATE_DIR/crashed"
  python3 -c "
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('PRAGMA journal_mode=WAL')
c.execute('CREATE TABLE crashed(x)')
c.execute('INSERT INTO crashed VALUES (1)')
c.commit()
os.kill(os.getpid(), 9)" "$CRASH_DB"
fi
exit 0
)SH");
  const int closed = jarvis::test::free_port();
  auto r = d.run({deploy_script("restore_db.sh"), d.file("snap.db"), db},
                 {{"RESTORE_READYZ_URL", "http://127.0.0.1:" + std::to_string(closed) + "/readyz"},
                  {"RESTORE_READYZ_ATTEMPTS", "1"},
                  {"HEALTHCHECK_TIMEOUT_SECONDS", "2"},
                  {"CRASH_DB", db}});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  ASSERT_TRUE(fs::exists(d.state() + "/crashed"));
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "current");
  EXPECT_EQ(sqlite(d, db, "SELECT count(*) FROM sqlite_master WHERE name='crashed'"), "0");
  EXPECT_EQ(sqlite(d, db, "PRAGMA integrity_check"), "ok");
  // The crashed host's rows went with the restored copy.
  for (const auto& e : fs::directory_iterator(d.file("data/var"))) {
    const std::string name = e.path().filename().string();
    if (name.find("failed_restore") != std::string::npos && !name.ends_with("-wal") &&
        !name.ends_with("-shm")) {
      EXPECT_EQ(sqlite(d, e.path().string(), "SELECT count(*) FROM crashed"), "1");
    }
  }
}

// A -wal left at the database path (a previous restore killed between its renames) is moved
// aside before the snapshot lands there, never applied to it.
TEST(RestoreDb, MovesALeftoverWalAsideWhenThereIsNoDatabaseFile) {
  DeployDir d;
  const std::string db = d.file("var/jarvis.db");
  fs::create_directories(d.file("var"));
  make_db(d, db, "current");
  deploy_test::crash_writer_in_wal_mode(db);
  ASSERT_TRUE(fs::exists(db + "-wal"));
  fs::rename(db, d.file("var/moved.db"));
  make_db(d, d.file("snap.db"), "snapshot");
  auto r = d.run({deploy_script("restore_db.sh"), d.file("snap.db"), db});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "snapshot");
  EXPECT_EQ(sqlite(d, db, "SELECT count(*) FROM sqlite_master WHERE name='crashed'"), "0");
}

// The swap holds the serving lock exclusively: a jarvis process holding it shared (here: this
// test, on the real path, while the script is given a symlink to the database) makes it refuse.
TEST(RestoreDb, RefusesWhileTheServingLockIsHeldEvenThroughASymlink) {
  DeployDir d;
  const std::string db = d.file("real/jarvis.db");
  fs::create_directories(d.file("real"));
  make_db(d, db, "current");
  make_db(d, d.file("snap.db"), "snapshot");
  fs::create_symlink(db, d.file("alias.db"));
  int fd = ::open((db + ".serving").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH), 0);
  auto r = d.run({deploy_script("restore_db.sh"), d.file("snap.db"), d.file("alias.db")});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("still has"));
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "current");
  EXPECT_TRUE(fs::is_symlink(d.file("alias.db")));
}

// A 200 whose body says {"ok":false} is not "ready".
TEST(Healthcheck, OkFalseIsNotReady) {
  DeployDir d;
  write_file(d.file("www/readyz"), R"({"ok":false,"checks":{}})");
  StaticServer server(d.file("www"));
  ASSERT_TRUE(server.ready());
  auto r = d.run({deploy_script("healthcheck.sh"), server.url("/readyz")});
  EXPECT_NE(r.exit_code, 0) << r.stdout_text;
  write_file(d.file("www/readyz"), R"({"ok": true})");
  EXPECT_EQ(d.run({deploy_script("healthcheck.sh"), server.url("/readyz")}).exit_code, 0);
}

// The unit does not start `current` (an older unit naming a release directly, or bin/jarvis of
// the prefix): a switch would change nothing and a ready /readyz would prove nothing.
TEST(Rollback, RefusesWhenTheUnitDoesNotRunCurrent) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  fake_release(prefix);
  auto env = rollback_env(d, repo, prefix, jarvis::test::free_port());
  for (const std::string& exec :
       {prefix + "/releases/r1/bin/jarvis", prefix + "/bin/jarvis", std::string("/usr/bin/true")}) {
    env["FAKE_UNIT_FILE"] = write_unit(d, prefix, exec);
    auto r = d.run({deploy_script("rollback.sh"), refs.good}, env);
    EXPECT_EQ(r.exit_code, 1) << exec << ": " << r.stdout_text << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("not " + prefix + "/current/bin/jarvis")) << exec;
  }
  env.erase("FAKE_UNIT_FILE");  // no such unit
  auto none = d.run({deploy_script("rollback.sh"), refs.good}, env);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.stderr_text, HasSubstr("systemctl cat"));
  EXPECT_EQ(fs::read_symlink(prefix + "/current").string(), "releases/r1");
  EXPECT_EQ(releases_of(prefix), std::vector<std::string>{"r1"});  // nothing built
  EXPECT_THAT(d.systemctl_log(), Not(HasSubstr("restart")));
}

// SIGTERM while the release builds: the build stops, its half-built release is removed, nothing
// was switched or restarted.
TEST(Rollback, SigtermDuringTheBuildRemovesTheHalfBuiltRelease) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  fake_release(prefix);
  auto env = rollback_env(d, repo, prefix, jarvis::test::free_port());
  const std::string flag = d.file("state/building");
  env["JARVIS_BUILD_COMMAND"] =
      "mkdir -p \"$RELEASE_DIR/bin\" && touch '" + flag + "' && sleep 300";
  auto r = rollback_interrupted(d, refs.good, "[ -e '" + flag + "' ]", env);
  EXPECT_THAT(r.stdout_text, HasSubstr("rc=143")) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("interrupted"));
  EXPECT_EQ(fs::read_symlink(prefix + "/current").string(), "releases/r1");
  EXPECT_EQ(releases_of(prefix), std::vector<std::string>{"r1"});
  EXPECT_THAT(d.systemctl_log(), Not(HasSubstr("restart")));
  auto trees = d.run({"git", "-C", repo, "worktree", "list", "--porcelain"}).stdout_text;
  EXPECT_EQ(trees.find("jarvis-rollback"), std::string::npos) << trees;
}

// SIGTERM after the switch, while the new release is polled: switched back and restarted, the
// new release removed.
TEST(Rollback, SigtermAfterTheSwitchSwitchesBackAndRemovesTheNewRelease) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  const int port = jarvis::test::free_port();
  auto env = rollback_env(d, repo, prefix, port);
  ASSERT_EQ(d.run({deploy_script("rollback.sh"), refs.good}, env).exit_code, 0);
  const std::string good = fs::read_symlink(prefix + "/current").string();
  env["ROLLBACK_READYZ_ATTEMPTS"] = "100000";  // the bad release never answers: polled until TERM
  auto r = rollback_interrupted(
      d, refs.bad, "[ \"$(readlink '" + prefix + "/current')\" != '" + good + "' ]", env);
  EXPECT_THAT(r.stdout_text, HasSubstr("rc=143")) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("switched back to " + good));
  EXPECT_EQ(fs::read_symlink(prefix + "/current").string(), good);
  EXPECT_EQ(releases_of(prefix), std::vector<std::string>{fs::path(good).filename().string()});
  EXPECT_TRUE(jarvis::test::eventually(
      [&] { return jarvis::test::http("GET", env["JARVIS_READYZ_URL"]).status == 200; }));
}

// A run killed with -9 mid-build leaves releases/<id>/.jarvis-release-building: the next run
// removes that directory, never the active release nor an operator's directory without the mark.
TEST(Rollback, AHalfBuiltReleaseOfAKilledRunIsRemovedByTheNextRun) {
  DeployDir d;
  const std::string repo = d.file("repo"), prefix = d.file("prefix");
  RollbackRepo refs = make_rollback_repo(d, repo);
  fake_release(prefix);
  write_file(prefix + "/releases/0123456789ab-20261201T000000Z/.jarvis-release-building", "");
  write_file(prefix + "/releases/operator-copy/bin/jarvis", "#!/bin/sh\n");
  write_file(prefix + "/releases/r1/.jarvis-release-building", "");  // active: kept anyway
  auto env = rollback_env(d, repo, prefix, jarvis::test::free_port());
  env["JARVIS_BUILD_COMMAND"] = "exit 1";
  auto r = d.run({deploy_script("rollback.sh"), refs.good}, env);
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("half-built release 0123456789ab-20261201T000000Z"));
  EXPECT_EQ(releases_of(prefix), (std::vector<std::string>{"operator-copy", "r1"}));
}

// Never root; never a non-empty directory that is not a jarvis data dir; never over a unit that
// install-systemd.sh did not write. Each refusal comes before anything is created or chowned.
TEST(InstallSystemd, RefusesRootForeignDataDirsAndForeignUnits) {
  DeployDir d;
  const std::string prefix = d.file("p"), units = d.file("u");
  fake_release(prefix);
  auto install = [&](std::vector<std::string> extra, const std::string& data,
                     std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv{deploy_script("install-systemd.sh"),
                                  "--unit-dir",
                                  units,
                                  "--prefix",
                                  prefix,
                                  "--data-dir",
                                  data,
                                  "--no-start"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return d.run(argv, env);
  };
  auto root = install({"--user", "root"}, d.file("fresh"));
  EXPECT_EQ(root.exit_code, 1);
  EXPECT_THAT(root.stderr_text, HasSubstr("as root"));
  if (::geteuid() == 0) {  // the default user of a root shell is root: refused too
    auto dflt = install({}, d.file("fresh"), {{"SUDO_USER", ""}, {"JARVIS_USER", ""}});
    EXPECT_EQ(dflt.exit_code, 1);
    EXPECT_THAT(dflt.stderr_text, HasSubstr("as root"));
  }
  auto root_group = install({"--user", me(), "--group", "root"}, d.file("fresh"));
  EXPECT_EQ(root_group.exit_code, 1);
  EXPECT_THAT(root_group.stderr_text, HasSubstr("gid 0"));
  EXPECT_FALSE(fs::exists(d.file("fresh")));

  // Someone else's files: not chowned, not marked.
  write_file(d.file("foreign/important.txt"), "theirs");
  ::chmod(d.file("foreign/important.txt").c_str(), 0640);
  auto foreign = install({"--user", me()}, d.file("foreign"));
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_THAT(foreign.stderr_text, HasSubstr("not empty"));
  struct stat st {};
  ASSERT_EQ(::stat(d.file("foreign/important.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_FALSE(fs::exists(d.file("foreign/.jarvis-data-dir")));
  // --adopt-data-dir needs a jarvis database or .env in it.
  EXPECT_EQ(install({"--user", me(), "--adopt-data-dir"}, d.file("foreign")).exit_code, 1);
  fs::create_symlink(d.file("foreign"), d.file("alias"));
  EXPECT_EQ(install({"--user", me()}, d.file("alias")).exit_code, 1);
  EXPECT_FALSE(fs::exists(units + "/jarvis.service"));

  // An install from before the marker: adopted explicitly, marked; the next install needs no flag.
  write_file(d.file("old/var/jarvis.db"), "");
  EXPECT_EQ(install({"--user", me()}, d.file("old")).exit_code, 1);
  auto adopted = install({"--user", me(), "--adopt-data-dir"}, d.file("old"));
  ASSERT_EQ(adopted.exit_code, 0) << adopted.stderr_text;
  EXPECT_TRUE(fs::exists(d.file("old/.jarvis-data-dir")));
  auto again = install({"--user", me()}, d.file("old"));
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;

  // A unit of that name that this script did not write (another service): left alone.
  write_file(units + "/sshd.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n");
  auto other = install({"--user", me(), "--service", "sshd"}, d.file("old"));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.stderr_text, HasSubstr("not written by install-systemd.sh"));
  EXPECT_EQ(read_file(units + "/sshd.service"), "[Service]\nExecStart=/usr/sbin/sshd -D\n");
  EXPECT_THAT(d.systemctl_log(), Not(HasSubstr("sshd")));
}

// A gzip bomb (64 MiB of zeros in a few hundred KiB) stops at RESTORE_MAX_BYTES; a restore that
// would leave less than RESTORE_MIN_FREE_BYTES free is refused; neither touches the service.
TEST(RestoreDb, AGzipBombAndAFullDiskAreRefusedBeforeTheServiceIsTouched) {
  DeployDir d;
  const std::string db = d.file("var/jarvis.db");
  fs::create_directories(d.file("var"));
  make_db(d, db, "current");
  deploy_test::gzip_to(d.file("bomb.db.gz"), std::string(64u << 20, '\0'));
  auto bomb = d.run({deploy_script("restore_db.sh"), d.file("bomb.db.gz"), db},
                    {{"RESTORE_MAX_BYTES", "1048576"}});
  EXPECT_EQ(bomb.exit_code, 1) << bomb.stdout_text << bomb.stderr_text;
  EXPECT_THAT(bomb.stderr_text, HasSubstr("snapshot_too_large"));
  make_db(d, d.file("snap.db"), "snapshot");
  for (const std::string& snap : {d.file("snap.db"), d.file("bomb.db.gz")}) {
    auto full = d.run({deploy_script("restore_db.sh"), snap, db},
                      {{"RESTORE_MIN_FREE_BYTES", std::to_string(1LL << 60)}});
    EXPECT_EQ(full.exit_code, 1) << snap;
    EXPECT_THAT(full.stderr_text, HasSubstr("insufficient_space")) << snap;
  }
  EXPECT_EQ(sqlite(d, db, "SELECT v FROM t"), "current");
  EXPECT_EQ(count_files(d.file("var"), ".partial"), 0);
  EXPECT_EQ(d.systemctl_log(), "");
}
