// selfupdate/tests/selfupdate_support.h — a throwaway git repository with a tiny build
// (build.sh copies app.txt to out/), test (test.sh fails when app.txt says BROKEN) and install
// (install.sh PREFIX copies out/ there), an install folder with releases/initial and current,
// and, for in-process tests, the pipeline on a migrated SQLite or PostgreSQL database with the
// host's real SystemState (rollback burst → lockdown) behind a SystemControl that records
// restart requests instead of restarting.
//
//   PipelineRig rig(Backend::Sqlite);
//   auto p = rig.pipeline();
//   std::string id = p->propose({.diff = rig.diff_v2(), .rationale = "v2", .actor = "t",
//                                .source = "cli"})["trace_id"];
//   rig.drain(*p);                        // runs the queued stage tasks
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <filesystem>
#include <memory>
#include <mutex>

#include "db/migrations.h"
#include "jarvis/error.h"
#include "db/sql_database.h"
#include "jarvis/sql.h"
#include "jarvis/subprocess.h"
#include "pipeline.h"
#include "sandbox.h"
#include "support/support.h"
#include "system/system_state.h"

namespace selfupdate_test {

using jarvis::test::Backend;
namespace fs = std::filesystem;

/// Runs `sh -c cmd` in `cwd`; returns stdout (fails the test on a non-zero exit when `check`).
inline std::string sh(const std::string& cmd, const std::string& cwd, bool check = true) {
  jarvis::ProcessOptions o{.argv = {"sh", "-c", cmd}, .cwd = cwd, .timeout_ms = 60000};
  jarvis::ProcessResult r = jarvis::run_process(o);
  if (check) {
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.stdout_text << r.stderr_text;
  }
  return r.stdout_text;
}

/// "<status> <code>" of the jarvis::Error `f` throws, "no error" when it returns.
inline std::string error_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const jarvis::Error& e) {
    return std::to_string(e.status()) + " " + e.code();
  }
  return "no error";
}

/// The sandbox the tests run the fixture's commands in: bwrap where it can create its namespaces
/// (this machine: scripts/install-deps.sh installs it), else none — the pipeline's behaviour is
/// the same; sandbox_test.cpp checks the confinement itself, or the refusal where bwrap fails.
inline std::string test_sandbox_mode() {
  static const std::string mode =
      selfupdate::Sandbox({.mode = selfupdate::SandboxMode::Bwrap}).probe().empty() ? "bwrap"
                                                                                    : "none";
  return mode;
}

/// The fixture repository and install folder under `root`.
struct FixtureRepo {
  explicit FixtureRepo(const std::string& root, const std::string& install_extra = "")
      : repo(root + "/repo"), install(root + "/install"), patches(root + "/patches") {
    fs::create_directories(repo + "/sub");
    jarvis::test::write_file(repo + "/app.txt", "version 1\n");
    jarvis::test::write_file(repo + "/sub/notes.txt", "notes\n");
    jarvis::test::write_file(repo + "/build.sh", "mkdir -p out && cp app.txt out/app.txt\n");
    jarvis::test::write_file(repo + "/test.sh", "! grep -q BROKEN app.txt\n");
    jarvis::test::write_file(repo + "/install.sh",
                             install_extra + "mkdir -p \"$1\" && cp out/app.txt \"$1/app.txt\"\n");
    jarvis::test::write_file(repo + "/.gitignore", "out/\n");
    fs::create_directory_symlink("sub", repo + "/linked");
    sh("git init -q -b main . && git add app.txt sub build.sh test.sh install.sh .gitignore "
       "linked && git -c user.name=t -c user.email=t@t commit -q -m initial",
       repo);
    fs::create_directories(install + "/releases/initial");
    jarvis::test::write_file(install + "/releases/initial/app.txt", "version 1\n");
    fs::create_directory_symlink("releases/initial", install + "/current");
  }

  /// The release `current` points to.
  std::string current() const { return fs::read_symlink(install + "/current").string(); }
  /// The live repository's HEAD.
  std::string head() const {
    std::string h = sh("git rev-parse HEAD", repo);
    while (!h.empty() && h.back() == '\n') h.pop_back();
    return h;
  }
  /// `git status --porcelain` of the live tree ("" = untouched).
  std::string status() const { return sh("git status --porcelain", repo); }

  /// app.txt "version N" → "version M".
  static std::string diff_version(int from, int to) {
    return "diff --git a/app.txt b/app.txt\n--- a/app.txt\n+++ b/app.txt\n@@ -1 +1 @@\n-version " +
           std::to_string(from) + "\n+version " + std::to_string(to) + "\n";
  }
  /// A new file at `path` with one line.
  static std::string diff_new_file(const std::string& path, const std::string& mode = "100644") {
    return "diff --git a/" + path + " b/" + path + "\nnew file mode " + mode +
           "\n--- /dev/null\n+++ b/" + path + "\n@@ -0,0 +1 @@\n+hello\n";
  }

  std::string repo, install, patches;
};

/// Records restart requests; everything else goes to the host's real SystemState.
class RecordingSystem : public jarvis::SystemControl {
 public:
  explicit RecordingSystem(jarvis::host::SystemState& real) : real_(real) {}
  bool lockdown() const override { return real_.lockdown(); }
  bool restarting() const override { return false; }
  bool unlock(const std::string& c, const std::string& a, std::string* r) override {
    return real_.unlock(c, a, r);
  }
  void request_restart(const std::string& actor, const std::string& trace) override {
    std::lock_guard lk(mu_);
    restarts.push_back(actor + " " + trace);
  }
  void report_rollback(const std::string& detail) override {
    {
      std::lock_guard lk(mu_);
      rollbacks.push_back(detail);
    }
    real_.report_rollback(detail);
  }
  jarvis::Json status() override { return real_.status(); }
  bool set_lockdown(bool on, const std::string& r, const std::string& a,
                    const std::string& t) override {
    return real_.set_lockdown(on, r, a, t);
  }
  std::size_t restart_count() {
    std::lock_guard lk(mu_);
    return restarts.size();
  }
  std::vector<std::string> restarts, rollbacks;

 private:
  jarvis::host::SystemState& real_;
  std::mutex mu_;
};

/// Thrown by the step hook to stop a stage the way kill -9 would (no handler sees it).
struct SimulatedCrash {};

/// The in-process rig (see the file comment).
class PipelineRig {
 public:
  explicit PipelineRig(Backend backend, int rollback_threshold = 2) : repo(tmp.path()) {
    std::string url = backend == Backend::Sqlite ? "sqlite://" + tmp.file("j.db")
                                                 : jarvis::test::pg_fresh_database();
    db = jarvis::host::SqlDatabase::open(url, 4);
    jarvis::host::MigrationRunner(*db).apply(
        {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"},
         {"selfupdate", std::string(JARVIS_SOURCE_DIR) + "/plugins/selfupdate/migrations"}});
    jarvis::host::SystemOptions o;
    o.unlock_code_path = tmp.file("var/unlock_code");
    o.rollback_threshold = rollback_threshold;
    state = std::make_unique<jarvis::host::SystemState>(*db, nullptr, o);
    state->start(nullptr);
    system = std::make_unique<RecordingSystem>(*state);
    settings.repo_dir = repo.repo;
    settings.patch_dir = repo.patches;
    settings.install_dir = repo.install;
    settings.critical_paths = {"plugins/selfupdate/", "migrations/"};
    settings.build_commands = {"sh build.sh"};
    settings.test_commands = {"sh test.sh"};
    settings.install_commands = {"sh install.sh {prefix}"};
    settings.sandbox = test_sandbox_mode();
    settings.build_timeout = settings.test_timeout = std::chrono::seconds(60);
    settings.git_timeout = std::chrono::seconds(60);
    settings.readyz_attempts = 2;
    settings.readyz_interval = std::chrono::milliseconds(10);
    settings.approval_ttl_minutes = 30;
  }
  ~PipelineRig() { state->stop(); }

  /// A pipeline instance (a new one = the plugin in a new process).
  std::unique_ptr<selfupdate::Pipeline> pipeline() {
    selfupdate::PipelineDeps d;
    d.db = db.get();
    d.system = system.get();
    d.enqueue = [this](const std::string& task, const std::string& id, jarvis::Transaction*) {
      std::lock_guard lk(mu);
      queue.emplace_back(task, id);
    };
    // The "restarted process" reports the commit of the release `current` points to, unless a
    // test makes it report none (report_commit) or a fixed one (fixed_commit).
    d.probe_ready = [this] {
      selfupdate::PipelineDeps::ReadyProbe probe{.ready = ready.load()};
      if (!report_commit) return probe;
      if (!fixed_commit.empty()) {
        probe.commit = fixed_commit;
        return probe;
      }
      auto info = jarvis::try_parse_json(
          jarvis::test::read_file(repo.install + "/current/.selfupdate-release.json"));
      if (info && info->is_object()) probe.commit = info->value("commit", "");
      return probe;
    };
    d.clock_offset_ms = [this] { return skew_ms.load(); };
    // The host runs from the install's `current` (its restart starts the switched release)
    // unless a test says otherwise.
    d.invoked_executable = [this] {
      return invoked.empty() ? repo.install + "/current/bin/jarvis" : invoked;
    };
    d.on_step = [this](const std::string&, const std::string& step) {
      if (at_step) at_step(step);
      if (!crash_at.empty() && step == crash_at) {
        crash_at.clear();
        throw SimulatedCrash{};
      }
    };
    return std::make_unique<selfupdate::Pipeline>(settings, d);
  }

  /// Runs queued tasks (in order) until the queue is empty or `stop_before` is next.
  void drain(selfupdate::Pipeline& p, const std::string& stop_before = "") {
    while (true) {
      std::pair<std::string, std::string> t;
      {
        std::lock_guard lk(mu);
        if (queue.empty()) return;
        if (!stop_before.empty() && queue.front().first == stop_before) return;
        t = queue.front();
        queue.pop_front();
      }
      p.run(t.first, t.second, jarvis::CancelToken());
    }
  }
  /// The tasks queued now, in order.
  std::vector<std::string> queued() {
    std::lock_guard lk(mu);
    std::vector<std::string> out;
    for (auto& q : queue) out.push_back(q.first);
    return out;
  }
  /// Proposes and runs validate + test; returns the trace id.
  std::string propose_and_test(selfupdate::Pipeline& p, const std::string& diff) {
    std::string id = p.propose({.diff = diff,
                                .rationale = "change",
                                .actor = "user:usr_root",
                                .source = "api"})["trace_id"];
    drain(p);
    return id;
  }
  std::string state_of(selfupdate::Pipeline& p, const std::string& id) {
    return p.show(id)["state"];
  }
  /// A proposal by "system" from the CLI (no drain) → the propose answer.
  static jarvis::Json propose(selfupdate::Pipeline& p, const std::string& diff,
                              const std::string& rationale = "x") {
    return p.propose({.diff = diff, .rationale = rationale, .actor = "system", .source = "cli"});
  }
  /// Proposes, tests, approves and runs the apply; returns the trace id (state `applied` when
  /// everything went well).
  std::string apply(selfupdate::Pipeline& p, const std::string& diff) {
    std::string id = propose_and_test(p, diff);
    p.approve(id, "user:usr_root");
    drain(p);
    return id;
  }
  /// Proposes version 1 → 2, tests, approves, and lets the apply "crash" (SimulatedCrash, as a
  /// kill -9 would stop it) at the step `at`; returns the trace id.
  std::string crash_apply_at(selfupdate::Pipeline& p, const std::string& at) {
    std::string id = propose_and_test(p, FixtureRepo::diff_version(1, 2));
    p.approve(id, "user:usr_root");
    crash_at = at;
    EXPECT_THROW(drain(p), SimulatedCrash);
    return id;
  }
  /// Records another machine's runner on patch `id`: no process here can judge whether it lives.
  void hand_to_another_machine(const std::string& id) {
    auto sql = db->session();
    jarvis::sql::exec(*sql, "UPDATE selfupdate_patches SET runner = :r WHERE trace_id = :i",
                      {std::string("other-machine:4242:abcdef"), id});
  }
  /// What the restarted process does: a new instance whose start-up queues the verify, drained.
  std::unique_ptr<selfupdate::Pipeline> restart() {
    auto p = pipeline();
    p->on_start();
    drain(*p);
    return p;
  }

  jarvis::test::TempDir tmp;
  FixtureRepo repo;
  std::unique_ptr<jarvis::host::SqlDatabase> db;
  std::unique_ptr<jarvis::host::SystemState> state;
  std::unique_ptr<RecordingSystem> system;
  selfupdate::Settings settings;
  std::mutex mu;
  std::deque<std::pair<std::string, std::string>> queue;
  std::atomic<bool> ready{true};
  /// Called with every step a stage records (before crash_at is looked at).
  std::function<void(const std::string& step)> at_step;
  bool report_commit = true;  ///< the probe reports the running release's commit
  std::string fixed_commit;   ///< when set, the probe reports this commit instead
  std::atomic<long long> skew_ms{0};
  std::string crash_at;
  std::string invoked;  ///< the host's argv[0]; "" = install/current/bin/jarvis
};

}  // namespace selfupdate_test
