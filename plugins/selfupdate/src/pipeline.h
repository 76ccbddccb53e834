// selfupdate/src/pipeline.h — the self-update state machine:
//
//   proposed → validating → validated | invalid
//   validating → awaiting_test_approval (source "tool": an agent's patch) → (an admin's
//                allow-test) validated | rejected | abandoned
//   validated → testing → tested | test_failed
//   tested | approval_expired → approved (an admin) | rejected
//   approved → applying → applied | apply_failed | approval_expired | tested (refused: lockdown)
//   applied → verifying → verified (ready and reporting the patch's commit) | applied_unverified
//             (ready, but no commit reported: nothing shows the new code runs) | rolling_back →
//             rolled_back (not ready, or a different commit reported)
//   verified | applied_unverified | applied → rollback_requested → rolling_back → rolled_back   (an
//   admin's rollback) validating | testing | applying | verifying | rolling_back → interrupted (the
//   process died) interrupted → (resume) the stage's entry state | (abandon) abandoned, or a
//   rollback when the
//                 install was already switched to the patch
//
// Each stage is a durable task (selfupdate.validate, .test, .apply, .verify, .rollback,
// .cleanup); every transition is a conditional UPDATE in the database plus a rewrite of
// ${SELFUPDATE_PATCH_DIR}/<trace_id>/state.json. One patch at a time holds the update lock from
// proposal to tested, and from approval to its end. A running stage renews its patch's lease;
// one that ran out makes it `interrupted` (another process, the re-claimed task, resume or
// abandon notice). The build, test and install commands run in a sandbox (sandbox.h).
// Decisions 0050–0054, 0077–0079.
//
//   Pipeline p(settings, {.db = &host.db(), .system = &host.system(), .enqueue = …});
//   jarvis::Json r = p.propose({.diff = text, .rationale = "fix typo", .actor = "user:usr_1",
//                               .source = "api"});
//   p.run("selfupdate.validate", r["trace_id"], cancel);    // what the task handler does
#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <string>

#include "jarvis/cancel.h"
#include "jarvis/database.h"
#include "jarvis/json.h"
#include "jarvis/system.h"
#include "sandbox.h"
#include "settings.h"
#include "store.h"

namespace selfupdate {

/// What the pipeline needs from the host; the plugin wires the real services, tests their own.
struct PipelineDeps {
  jarvis::Database* db = nullptr;
  jarvis::SystemControl* system = nullptr;
  /// Enqueues task `task` with payload {trace_id} (inside `tx` when not null).
  std::function<void(const std::string& task, const std::string& trace_id, jarvis::Transaction* tx)>
      enqueue;
  /// Emits an event inside `tx` (optional).
  std::function<void(const std::string& type, const jarvis::Json& payload,
                     const std::string& trace_id, jarvis::Transaction& tx)>
      emit;
  /// One poll of SELFUPDATE_READYZ_URL.
  struct ReadyProbe {
    bool ready = false;  ///< 200 with {"ok": true}
    std::string commit;  ///< the body's "commit" (the running code's git commit); "" = not reported
  };
  /// One readiness poll of SELFUPDATE_READYZ_URL.
  std::function<ReadyProbe()> probe_ready;
  /// Milliseconds added to the clock (tests move time forward; 0 in production).
  std::function<long long()> clock_offset_ms;
  /// Called with each step a stage records, before it is done (a test seam: a test throws from
  /// it something that is not a std::exception to stop the stage as a kill -9 would).
  std::function<void(const std::string& trace_id, const std::string& step)> on_step;
  /// The absolute path this host process was started as (argv[0]); default: read from
  /// /proc/self/cmdline. The apply refuses (restart_not_current) unless it lies under
  /// ${SELFUPDATE_INSTALL_DIR}/current/ (decision 0078). A test seam.
  std::function<std::string()> invoked_executable;
  /// Logger (optional).
  std::shared_ptr<spdlog::logger> log;
};

/// The absolute path of this process's argv[0] (against the working directory), "" when it has
/// no '/' (found through PATH) or cannot be read.
std::string invoked_executable_path();

/// A proposal.
struct ProposeInput {
  std::string diff;
  std::string rationale;
  std::string actor;   ///< "user:<id>", "agent:<id> for user:<id>", "system"
  std::string source;  ///< "api", "cli" or "tool"
};

/// The pipeline. Thread-safe: every state change is a conditional database update.
class Pipeline {
 public:
  /// Paths in `settings` are made absolute against the current directory.
  Pipeline(Settings settings, PipelineDeps deps);

  // --- requests (quick: no build, no test; at most one git rev-parse) ---

  /// Records a proposal and queues its validation → {trace_id, state, baseline}. Errors: 409
  /// lockdown, 409 update_in_progress, 400 invalid_field / empty_diff, 413 patch_too_large,
  /// 422 binary_patch (NUL bytes), 503 repo_unavailable.
  jarvis::Json propose(const ProposeInput& in);
  /// An admin's approval of a tested patch; queues the apply. 409 lockdown, invalid_state,
  /// update_in_progress; 404 patch_not_found.
  jarvis::Json approve(const std::string& id, const std::string& actor);
  /// An admin allows the build and tests of a patch that waits in awaiting_test_approval (an
  /// agent's proposal: its build runs the proposed code as the host user); queues the test.
  /// 409 lockdown, invalid_state, update_in_progress; 404 patch_not_found.
  jarvis::Json allow_test(const std::string& id, const std::string& actor);
  /// An admin's rejection of a tested (or expired, or awaiting test approval) patch.
  jarvis::Json reject(const std::string& id, const std::string& actor, const std::string& reason);
  /// Runs an interrupted stage again.
  jarvis::Json resume(const std::string& id, const std::string& actor);
  /// Gives up a patch that waits or was interrupted; rolls back first when the install already
  /// runs it.
  jarvis::Json abandon(const std::string& id, const std::string& actor);
  /// An admin's rollback of the current (applied or verified) patch.
  jarvis::Json rollback(const std::string& id, const std::string& actor);
  /// One patch: the row, its transitions, what its state means (`explanation`), the install's
  /// current release, the test and apply log tails and artifact.json. 404 patch_not_found.
  jarvis::Json show(const std::string& id);
  /// Newest first (list envelope); `state` filters.
  jarvis::Json list(const std::string& state, int limit, int offset);

  // --- tasks ---

  /// Runs the stage of task `task` (selfupdate.validate, …) for `id`. A patch not in the
  /// stage's entry state is skipped ({"skipped": state}): tasks may run twice.
  jarvis::Json run(const std::string& task, const std::string& id,
                   const jarvis::CancelToken& cancel);
  /// At `jarvis serve` start: stages whose process died become `interrupted`; an `applied`
  /// patch (this is the restarted process) gets its verify task.
  void on_start();

  /// The baseline a new proposal is made against: the commit of the current release when the
  /// install runs one made by this plugin, else the repository's HEAD.
  std::string current_baseline();

  /// This process's runner id "<hostname>:<pid>:<instance>".
  const std::string& runner() const { return runner_; }
  /// The settings with absolute paths.
  const Settings& settings() const { return s_; }

 private:
  struct Next;
  std::string now() const;
  std::string at_offset(long long ms) const;
  bool move(const std::string& id, const std::string& from, const std::string& to,
            const std::string& detail, const std::string& actor,
            const jarvis::Json& fields = jarvis::Json::object(), const std::string& task = "",
            bool unlock = false);
  void sync_state_file(const std::string& id);
  void set_step(const std::string& id, const std::string& step);
  bool runner_alive(const std::string& runner) const;
  jarvis::Json require(const std::string& id);
  std::string explain(const jarvis::Json& row) const;

  jarvis::Json stage(
      const std::string& id, const std::string& from, const std::string& running,
      const std::string& name, const std::string& fail_state, const jarvis::CancelToken& cancel,
      const std::function<Next(const jarvis::Json& row, const jarvis::CancelToken& cancel)>& body);
  bool lease_expired(const jarvis::Json& row) const;
  jarvis::Json reap_if_expired(const jarvis::Json& row);
  Sandbox sandbox() const;
  SandboxPlace sandbox_place(const std::string& worktree, std::vector<std::string> writable,
                             const jarvis::CancelToken& cancel) const;
  void confirm_sandbox(const Sandbox& box, const std::string& id, const std::string& log) const;
  void check_restart_runs_current() const;
  std::vector<std::string> prune_releases();
  Next do_validate(const jarvis::Json& row, const jarvis::CancelToken& cancel);
  Next do_test(const jarvis::Json& row, const jarvis::CancelToken& cancel);
  Next do_apply(const jarvis::Json& row, const jarvis::CancelToken& cancel);
  Next do_verify(const jarvis::Json& row, const jarvis::CancelToken& cancel);
  Next do_rollback(const jarvis::Json& row, const std::string& why);
  void fresh_patched_worktree(const jarvis::Json& row, const std::vector<std::string>& files,
                              const jarvis::CancelToken& cancel, const std::string& log);
  jarvis::Json cleanup(const std::string& id, const jarvis::CancelToken& cancel);

  Settings s_;
  PipelineDeps d_;
  PatchStore store_;
  std::string runner_;
};

/// The states in which a stage runs in some process.
bool is_running_state(const std::string& state);
/// Terminal states (nothing more happens; the worktree is removed).
bool is_terminal_state(const std::string& state);

}  // namespace selfupdate
