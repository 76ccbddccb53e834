// selfupdate/src/stages.cpp — the stages run by the tasks: validate, test, apply, verify and
// rollback (see pipeline.h for the state machine). A stage first moves its patch into the
// running state (conditional: a task that runs twice finds it moved and skips), records each
// step before doing it, and ends with one transition. A StageFailure becomes the stage's
// failure state with its reason code.
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "diff_check.h"
#include "installs.h"
#include "jarvis/crypto.h"
#include "jarvis/error.h"
#include "patch_files.h"
#include "pipeline.h"
#include "stage_lease.h"
#include "workspace.h"

namespace selfupdate {
namespace fs = std::filesystem;

/// What a stage body decided.
struct Pipeline::Next {
  std::string to;
  std::string detail;
  jarvis::Json fields = jarvis::Json::object();
  std::string task;      ///< enqueued with the transition
  bool unlock = false;   ///< release the update lock
  bool restart = false;  ///< request the host's controlled restart after the transition
};

namespace stages_impl {

std::string tail_text(const std::string& s, std::size_t n) {
  std::string t = s.size() > n ? s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::string replace_prefix(std::string arg, const std::string& prefix) {
  for (std::size_t p = arg.find("{prefix}"); p != std::string::npos; p = arg.find("{prefix}")) {
    arg.replace(p, 8, prefix);
  }
  return arg;
}

// What `git diff --cached --raw -z --no-renames <base>` says the index changes: each path with
// its new and old mode. Git's own reading of the patch, so the parser and git cannot disagree.
struct StagedEntry {
  std::string old_mode, new_mode, path;
};

std::vector<StagedEntry> staged_entries(const Workspace& ws, const std::string& wt,
                                        const std::string& base, const std::string& code) {
  auto r = ws.git(wt, {"diff", "--cached", "--raw", "-z", "--no-renames", base});
  if (r.exit_code != 0) {
    throw StageFailure(code, "git diff --cached failed: " + tail_text(r.stderr_text, 800));
  }
  std::vector<std::string> tokens;
  std::size_t start = 0;
  const std::string& out = r.stdout_text;
  while (start < out.size()) {
    std::size_t z = out.find('\0', start);
    if (z == std::string::npos) z = out.size();
    tokens.push_back(out.substr(start, z - start));
    start = z + 1;
  }
  std::vector<StagedEntry> entries;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].empty()) continue;
    if (tokens[i].front() != ':' || i + 1 >= tokens.size()) {
      throw StageFailure(code, "unexpected git diff --raw output");
    }
    std::string meta = tokens[i].substr(1);
    StagedEntry e;
    std::size_t sp = meta.find(' ');
    e.old_mode = meta.substr(0, sp);
    e.new_mode =
        sp == std::string::npos ? "" : meta.substr(sp + 1, meta.find(' ', sp + 1) - sp - 1);
    e.path = tokens[++i];
    entries.push_back(std::move(e));
  }
  return entries;
}

// Refuses (StageFailure `code`) an index that differs from `base` in anything but exactly the
// validated `files`, or that holds a symlink or a submodule.
void check_staged(const Workspace& ws, const std::string& wt, const std::string& base,
                  const std::vector<std::string>& files, const std::string& code) {
  std::set<std::string> want(files.begin(), files.end());
  std::set<std::string> got;
  for (const StagedEntry& e : staged_entries(ws, wt, base, code)) {
    for (const std::string& m : {e.old_mode, e.new_mode}) {
      if (m == "120000" || m == "160000") {
        throw StageFailure(code, "the index holds a " +
                                     std::string(m == "120000" ? "symlink" : "submodule") + " at " +
                                     e.path.substr(0, 200));
      }
    }
    got.insert(e.path);
  }
  if (got != want) {
    std::string extra;
    for (const auto& g : got) {
      if (!want.count(g)) extra += (extra.empty() ? "" : ", ") + g.substr(0, 200);
    }
    for (const auto& w : want) {
      if (!got.count(w)) extra += (extra.empty() ? "missing " : ", missing ") + w.substr(0, 200);
    }
    throw StageFailure(
        code, "the index does not hold exactly the validated files: " + extra.substr(0, 1500));
  }
}

std::vector<std::string> validated_files(const jarvis::Json& row) {
  std::vector<std::string> out;
  if (row.contains("files") && row["files"].is_array()) {
    for (const auto& f : row["files"]) {
      if (f.is_string()) out.push_back(f.get<std::string>());
    }
  }
  return out;
}

std::string rev(const Workspace& ws, const std::string& dir, const std::string& what) {
  auto r = ws.git(dir, {"rev-parse", "--verify", "-q", what});
  return r.exit_code == 0 ? tail_text(r.stdout_text, 100) : "";
}

}  // namespace stages_impl

using namespace stages_impl;

jarvis::Json Pipeline::run(const std::string& task, const std::string& id,
                           const jarvis::CancelToken& cancel) {
  if (!is_trace_id(id)) return {{"skipped", "not a patch id"}};
  using Body = std::function<Next(const jarvis::Json&, const jarvis::CancelToken&)>;
  if (task == "selfupdate.validate") {
    return stage(id, "proposed", "validating", "validate", "invalid", cancel,
                 Body([&](const jarvis::Json& r, const jarvis::CancelToken& c) {
                   return do_validate(r, c);
                 }));
  }
  if (task == "selfupdate.test") {
    return stage(
        id, "validated", "testing", "test", "test_failed", cancel,
        Body([&](const jarvis::Json& r, const jarvis::CancelToken& c) { return do_test(r, c); }));
  }
  if (task == "selfupdate.apply") {
    return stage(
        id, "approved", "applying", "apply", "apply_failed", cancel,
        Body([&](const jarvis::Json& r, const jarvis::CancelToken& c) { return do_apply(r, c); }));
  }
  if (task == "selfupdate.verify") {
    return stage(
        id, "applied", "verifying", "verify", "interrupted", cancel,
        Body([&](const jarvis::Json& r, const jarvis::CancelToken& c) { return do_verify(r, c); }));
  }
  if (task == "selfupdate.rollback") {
    return stage(id, "rollback_requested", "rolling_back", "rollback", "interrupted", cancel,
                 Body([&](const jarvis::Json& r, const jarvis::CancelToken&) {
                   return do_rollback(r, "rollback requested: " + r.value("detail", ""));
                 }));
  }
  if (task == "selfupdate.cleanup") return cleanup(id, cancel);
  throw jarvis::bad_request("unknown selfupdate task " + task, "unknown_task");
}

jarvis::Json Pipeline::stage(
    const std::string& id, const std::string& from, const std::string& running,
    const std::string& name, const std::string& fail_state, const jarvis::CancelToken& cancel,
    const std::function<Next(const jarvis::Json& row, const jarvis::CancelToken& cancel)>& body) {
  jarvis::Json row = store_.get(id);
  if (row.is_null()) return {{"skipped", "no such patch"}};
  // The task of a stage whose process died, re-claimed after its lease: the patch's own lease
  // ran out too, so it becomes interrupted (resume or abandon) instead of staying stuck.
  if (row["state"] == running) row = reap_if_expired(row);
  if (row["state"] != from) return {{"skipped", row["state"]}};
  if (!move(id, from, running, "stage " + name + " started", "system",
            {{"stage", name},
             {"step", "start"},
             {"runner", runner_},
             {"lease_until", at_offset(s_.lease.count())}})) {
    return {{"skipped", "moved meanwhile"}};
  }
  StageLease lease(store_, id, runner_, s_.lease, [this](long long ms) { return at_offset(ms); });
  const jarvis::CancelToken stage_cancel = jarvis::CancelToken::any(
      cancel, jarvis::CancelToken::when([&lease] { return lease.lost(); }));
  row = store_.get(id);
  Next next;
  try {
    next = body(row, stage_cancel);
  } catch (const StageFailure& f) {
    next = {.to = fail_state, .detail = f.what(), .fields = {{"reason_code", f.code()}}};
    if (fail_state == "interrupted") next.fields["interrupted_stage"] = name;
    if (f.code() == "cancelled") {  // the host stops: the stage runs again after the start
      next = {.to = "interrupted",
              .detail = std::string("stopped by the host's shutdown: ") + f.what(),
              .fields = {{"interrupted_stage", name}, {"reason_code", "cancelled"}}};
    }
  } catch (const DiffRefusal& r) {
    next = {.to = fail_state, .detail = r.what(), .fields = {{"reason_code", r.code()}}};
  } catch (const std::exception& e) {
    next = {.to = fail_state,
            .detail = std::string("internal error: ") + e.what(),
            .fields = {{"reason_code", "internal_error"}}};
    if (fail_state == "interrupted") next.fields["interrupted_stage"] = name;
  }
  lease.stop();
  next.fields["step"] = next.to;
  next.fields["lease_until"] = nullptr;
  // The state now (a body may have moved on, e.g. verify into rolling_back).
  jarvis::Json now_row = store_.get(id);
  const std::string src = now_row.is_null() ? running : now_row["state"].get<std::string>();
  if (lease.lost() || !is_running_state(src) || now_row.value("runner", "") != runner_) {
    // Another process declared this stage dead (its lease ran out): the patch is theirs now.
    if (d_.log) d_.log->warn("selfupdate {}: stage {} lost its lease; it ends here", id, name);
    return {{"trace_id", id}, {"skipped", "lease lost"}, {"state", src}};
  }
  move(id, src, next.to, next.detail, "system", next.fields, next.task, next.unlock);
  if (next.restart && d_.system) d_.system->request_restart("plugin:selfupdate", id);
  return {{"trace_id", id}, {"state", next.to}, {"detail", next.detail}};
}

Pipeline::Next Pipeline::do_validate(const jarvis::Json& row, const jarvis::CancelToken& cancel) {
  const std::string id = row["trace_id"];
  PatchFiles f(s_.patch_dir, id);
  const std::string diff = f.read_text("proposal.diff");
  set_step(id, "parse");
  DiffSummary d = parse_unified_diff(diff);
  DiffRules rules{.critical_paths = s_.critical_paths,
                  .allow_deploy = s_.allow_deploy,
                  .max_files = s_.max_files};
  check_diff(d, rules);  // before git sees anything
  Workspace ws({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel});
  const std::string baseline = row["baseline"];
  if (!ws.has_commit(baseline)) {
    throw StageFailure("baseline_missing",
                       "the baseline " + baseline + " is not in the repository");
  }
  set_step(id, "tree");
  TreeSpecials sp = ws.specials(baseline);
  rules.tree_symlinks = sp.symlinks;
  rules.tree_submodules = sp.submodules;
  check_diff(d, rules);
  set_step(id, "worktree");
  fresh_patched_worktree(row, d.paths(), cancel, "");
  jarvis::Json files = jarvis::Json::array();
  int added = 0, removed = 0;
  for (const auto& p : d.paths()) files.push_back(p);
  for (const auto& x : d.files) added += x.added, removed += x.removed;
  f.merge_artifact("validation", {{"result", "passed"},
                                  {"files", files},
                                  {"added", added},
                                  {"removed", removed},
                                  {"apply_check", "ok"},
                                  {"at", now()}});
  const std::string valid =
      "valid: " + std::to_string(files.size()) + " file(s), git apply --index ok";
  if (row.value("source", "") == "tool") {  // an agent's patch: its build is code nobody read
    return {.to = "awaiting_test_approval",
            .detail = valid + "; an admin must allow the build and tests (allow-test)",
            .fields = {{"files", files.dump()}},
            .unlock = true};
  }
  return {.to = "validated",
          .detail = valid,
          .fields = {{"files", files.dump()}},
          .task = "selfupdate.test"};
}

void Pipeline::fresh_patched_worktree(const jarvis::Json& row,
                                      const std::vector<std::string>& files,
                                      const jarvis::CancelToken& cancel, const std::string& log) {
  const std::string id = row["trace_id"];
  const std::string baseline = row["baseline"];
  PatchFiles f(s_.patch_dir, id);
  Workspace ws({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel});
  // proposal.diff sits one folder above the worktree a build runs in: it must still be the
  // text that was proposed (and validated).
  const std::string text = f.read_text("proposal.diff");
  if (!jarvis::constant_time_equals(jarvis::sha256_hex(text), row.value("diff_sha256", ""))) {
    throw StageFailure("diff_mismatch",
                       "proposal.diff no longer matches the sha256 recorded at the proposal");
  }
  ws.add_worktree(f.worktree(), baseline);  // always fresh: nothing a build left is reused
  auto r = ws.git(f.worktree(), {"apply", "--index", f.file("proposal.diff")}, log);
  if (r.exit_code != 0) {
    throw StageFailure("patch_conflict", "git apply --index against the baseline " + baseline +
                                             " failed: " + tail_text(r.stderr_text, 1500));
  }
  if (!jarvis::constant_time_equals(jarvis::sha256_hex(f.read_text("proposal.diff")),
                                    row.value("diff_sha256", ""))) {
    throw StageFailure("diff_mismatch", "proposal.diff changed while it was applied");
  }
  check_staged(ws, f.worktree(), baseline, files, "staged_mismatch");
}

Pipeline::Next Pipeline::do_test(const jarvis::Json& row, const jarvis::CancelToken& cancel) {
  const std::string id = row["trace_id"];
  PatchFiles f(s_.patch_dir, id);
  const std::string log = f.file("test.log");
  const Sandbox box = sandbox();
  set_step(id, "sandbox");
  confirm_sandbox(box, id, log);
  set_step(id, "worktree");
  const std::vector<std::string> files = validated_files(row);
  fresh_patched_worktree(row, files, cancel, log);
  Workspace ws({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel});
  const SandboxPlace place = sandbox_place(f.worktree(), {}, cancel);
  jarvis::Json results = jarvis::Json::array();
  auto run_all = [&](const std::vector<std::string>& lines, std::chrono::milliseconds timeout,
                     const std::string& what) {
    for (const auto& line : lines) {
      set_step(id, what + ": " + line.substr(0, 200));
      CommandRun c = run_command(split_command_line(line), f.worktree(), timeout, log, cancel,
                                 kLogCapBytes, &box, &place);
      results.push_back(c.to_json());
      if (c.cancelled) throw StageFailure("cancelled", what + " command stopped");
      if (!c.ok()) {
        f.merge_artifact("tests", {{"commands", lines},
                                   {"result", "failed"},
                                   {"detail", what + " failed: " + line},
                                   {"command_results", results}});
        throw StageFailure(what == "build" ? "build_failed" : "tests_failed",
                           what + " command failed (exit " + std::to_string(c.exit_code) +
                               (c.timed_out ? ", timed out" : "") + "): " + line);
      }
    }
  };
  run_all(s_.build_commands, s_.build_timeout, "build");
  run_all(s_.test_commands, s_.test_timeout, "test");
  // The proposed code ran: it must not have changed what would be committed.
  set_step(id, "index_check");
  if (rev(ws, f.worktree(), "HEAD") != row["baseline"].get<std::string>()) {
    throw StageFailure("index_changed", "the build or tests moved the worktree's HEAD");
  }
  check_staged(ws, f.worktree(), row["baseline"], files, "index_changed");
  f.merge_artifact(
      "tests",
      {{"commands", s_.test_commands}, {"result", "passed"}, {"command_results", results}});
  return {.to = "tested",
          .detail = "build and tests passed; waiting for an admin's approval",
          .unlock = true};
}

Pipeline::Next Pipeline::do_apply(const jarvis::Json& row, const jarvis::CancelToken& cancel) {
  const std::string id = row["trace_id"];
  PatchFiles f(s_.patch_dir, id);
  const std::string log = f.file("apply.log");
  Installs in(s_.install_dir);
  if (d_.system->lockdown()) {
    return {.to = "tested",
            .detail = "apply refused: the system is in lockdown (approve again once cleared)",
            .fields = {{"reason_code", "lockdown"}},
            .unlock = true};
  }
  std::string current;
  try {
    current = in.current();
  } catch (const std::exception& e) {
    throw StageFailure("install_layout", e.what());
  }
  if (current == id) {  // switched before a crash: only the record is missing
    return {.to = "applied",
            .detail = "install already switched to this patch; waiting for the restart",
            .fields = {{"release_name", id}},
            .restart = true};
  }
  const std::string expires = row.value("approval_expires_at", "");
  if (expires.empty() || expires < now()) {
    return {.to = "approval_expired",
            .detail = "the approval expired at " + expires + " before the apply started",
            .fields = {{"reason_code", "approval_expired"}},
            .unlock = true};
  }
  if (current.empty()) {
    throw StageFailure("no_current_install",
                       "no " + s_.install_dir +
                           "/current: install a first release under releases/<name> and link "
                           "current -> releases/<name> (README, 'Install layout')");
  }
  check_restart_runs_current();
  const Sandbox box = sandbox();
  set_step(id, "sandbox");
  confirm_sandbox(box, id, log);
  const std::string baseline = row["baseline"];
  if (current_baseline() != baseline) {
    throw StageFailure("stale_baseline", "the install no longer runs the baseline " + baseline +
                                             ": propose the change again");
  }
  std::string previous = row.value("previous_release", "");
  if (previous.empty()) previous = current;
  {
    auto sql = d_.db->session();
    store_.set_fields(*sql, id, {{"previous_release", previous}});
  }
  Workspace ws({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel});
  const std::string branch = "selfupdate/" + id;

  // Always a fresh worktree of the baseline (never the one the test stage's build ran in), the
  // patch applied, the index checked against the validated files, then the commit. The branch
  // is (re)created here: one the proposed code may have made in the shared repository is not
  // trusted.
  set_step(id, "commit");
  const std::vector<std::string> files = validated_files(row);
  fresh_patched_worktree(row, files, cancel, log);
  if (ws.git(f.worktree(), {"switch", "-q", "-C", branch}, log).exit_code != 0) {
    throw StageFailure("commit_failed", "cannot create the branch " + branch);
  }
  std::string subject = row["rationale"].get<std::string>();
  subject = subject.substr(0, subject.find('\n')).substr(0, 72);
  auto c = ws.git(f.worktree(),
                  {"-c", "user.name=jarvis selfupdate", "-c", "user.email=selfupdate@localhost",
                   "commit", "-q", "--no-verify", "-m", "selfupdate " + id + ": " + subject, "-m",
                   row["rationale"].get<std::string>()},
                  log);
  if (c.exit_code != 0) {
    throw StageFailure("commit_failed", "git commit failed: " + tail_text(c.stderr_text, 800));
  }
  const std::string sha = rev(ws, f.worktree(), "HEAD");
  auto st = ws.git(f.worktree(), {"status", "--porcelain", "-z", "--untracked-files=all"});
  if (st.exit_code != 0 || !st.stdout_text.empty()) {
    throw StageFailure("staged_mismatch", "the worktree is not clean after the commit");
  }
  check_staged(ws, f.worktree(), baseline, files, "staged_mismatch");
  if (rev(ws, f.worktree(), "HEAD~1") != baseline) {
    throw StageFailure("staged_mismatch", "the commit's parent is not the baseline");
  }
  {
    auto sql = d_.db->session();
    store_.set_fields(*sql, id, {{"commit_sha", sha}});
  }
  jarvis::Json results = jarvis::Json::array();
  auto run_all = [&](const std::vector<std::string>& lines, const std::string& what,
                     const std::string& prefix) {
    const SandboxPlace place = sandbox_place(
        f.worktree(), prefix.empty() ? std::vector<std::string>{} : std::vector{prefix}, cancel);
    for (const auto& line : lines) {
      set_step(id, what + ": " + line.substr(0, 200));
      std::vector<std::string> argv = split_command_line(line);
      for (auto& a : argv) a = replace_prefix(a, prefix);
      CommandRun c = run_command(argv, f.worktree(), s_.build_timeout, log, cancel, kLogCapBytes,
                                 &box, &place);
      results.push_back(c.to_json());
      if (c.cancelled) throw StageFailure("cancelled", what + " command stopped");
      if (!c.ok()) {
        throw StageFailure(what + "_failed", what + " command failed (exit " +
                                                 std::to_string(c.exit_code) + "): " + line);
      }
    }
  };
  run_all(s_.build_commands, "build", "");
  set_step(id, "install");
  in.start_partial(id);
  run_all(s_.install_commands, "install", in.partial_dir(id));
  if (rev(ws, f.worktree(), "HEAD") != sha || rev(ws, s_.repo_dir, "refs/heads/" + branch) != sha) {
    throw StageFailure("index_changed", "the build or install moved " + branch);
  }
  in.finish_release(
      id, {{"trace_id", id}, {"commit", sha}, {"baseline", baseline}, {"installed_at", now()}});
  // Lockdown and the approval's expiry again, right before the commit point: the build may
  // have taken long.
  if (d_.system->lockdown()) {
    return {.to = "tested",
            .detail =
                "apply stopped before the switch: the system is in lockdown (approve again "
                "once cleared)",
            .fields = {{"reason_code", "lockdown"}},
            .unlock = true};
  }
  if (const std::string exp = row.value("approval_expires_at", ""); exp.empty() || exp < now()) {
    return {.to = "approval_expired",
            .detail = "the approval expired at " + exp + " before the switch",
            .fields = {{"reason_code", "approval_expired"}},
            .unlock = true};
  }
  // Still ours: a process that found the lease run out may have declared this stage dead.
  if (const jarvis::Json mine = store_.get(id);
      mine.value("state", "") != "applying" || mine.value("runner", "") != runner_) {
    throw StageFailure("lease_lost", "another process took the patch over before the switch");
  }
  set_step(id, "switch");
  in.switch_to(id);  // the commit point
  set_step(id, "switched");
  f.write_text("applied.txt", "applied " + id + " at " + now() + ": current -> releases/" + id +
                                  " (previous " + previous + ")\n");
  f.merge_artifact("apply", {{"branch", branch},
                             {"commit", sha},
                             {"release", id},
                             {"previous_release", previous},
                             {"command_results", results},
                             {"at", now()}});
  return {
      .to = "applied",
      .detail = "switched to releases/" + id + " (commit " + sha.substr(0, 12) + "); restarting",
      .fields = {{"release_name", id}},
      .restart = true};
}

Pipeline::Next Pipeline::do_verify(const jarvis::Json& row, const jarvis::CancelToken& cancel) {
  const std::string id = row["trace_id"];
  PatchFiles f(s_.patch_dir, id);
  const std::string sha = row.value("commit_sha", "");
  std::string seen;  // a commit the readiness URL reported that is not the patch's
  for (int attempt = 1; attempt <= s_.readyz_attempts; ++attempt) {
    set_step(id, "readyz " + std::to_string(attempt) + "/" + std::to_string(s_.readyz_attempts));
    PipelineDeps::ReadyProbe probe;
    try {
      if (d_.probe_ready) probe = d_.probe_ready();
    } catch (const std::exception&) {
      probe = {};
    }
    if (probe.ready && probe.commit.empty()) {
      // Ready, but nothing shows that the new code runs (decision 0053).
      f.merge_artifact("verification", {{"status", "ready_without_commit"},
                                        {"url", s_.readyz_url},
                                        {"attempts", attempt},
                                        {"at", now()}});
      return {.to = "applied_unverified",
              .detail = s_.readyz_url +
                        " is ready but reports no commit: unverified that the new release runs",
              .fields = {{"reason_code", "no_version_evidence"}}};
    }
    if (probe.ready && !sha.empty() && probe.commit == sha) {
      f.write_text("verified.txt", "verified " + id + " at " + now() + "\n");
      f.merge_artifact("verification", {{"status", "ready"},
                                        {"url", s_.readyz_url},
                                        {"commit", sha},
                                        {"attempts", attempt},
                                        {"at", now()}});
      return {.to = "verified",
              .detail = "ready after " + std::to_string(attempt) + " poll(s) of " + s_.readyz_url +
                        ", running commit " + sha.substr(0, 12)};
    }
    if (probe.ready) seen = probe.commit.substr(0, 64);
    auto until = std::chrono::steady_clock::now() + s_.readyz_interval;
    while (attempt < s_.readyz_attempts && std::chrono::steady_clock::now() < until) {
      if (cancel.cancelled()) {
        return {.to = "applied", .detail = "verify stopped by the host's shutdown; it runs again"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  f.merge_artifact("verification", {{"status", "not_ready"},
                                    {"url", s_.readyz_url},
                                    {"attempts", s_.readyz_attempts},
                                    {"at", now()}});
  const std::string why =
      seen.empty()
          ? "not ready after " + std::to_string(s_.readyz_attempts) + " poll(s) of " + s_.readyz_url
          : s_.readyz_url + " reports commit " + seen + ", not the patch's " + sha;
  move(id, "verifying", "rolling_back", why + "; rolling back", "system",
       {{"stage", "rollback"}, {"step", "start"}});
  return do_rollback(store_.get(id), why);
}

Pipeline::Next Pipeline::do_rollback(const jarvis::Json& row, const std::string& why) {
  const std::string id = row["trace_id"];
  PatchFiles f(s_.patch_dir, id);
  Installs in(s_.install_dir);
  const std::string previous = row.value("previous_release", "");
  std::string current;
  try {
    current = in.current();
  } catch (const std::exception& e) {
    throw StageFailure("install_layout", e.what());
  }
  set_step(id, "switch_back");
  if (current == id) {
    if (previous.empty() || !in.has_release(previous)) {
      throw StageFailure("no_previous_release",
                         "the previous release '" + previous + "' is gone; switch by hand");
    }
    in.switch_to(previous);
  }
  set_step(id, "report");
  if (d_.system) d_.system->report_rollback("selfupdate " + id + ": " + why);
  f.write_text("rollback.txt", "rolled back " + id + " at " + now() + ": current -> releases/" +
                                   previous + " (" + why + ")\n");
  f.merge_artifact("rollback", {{"status", "switched_back"},
                                {"detail", why},
                                {"recovery", current == id ? "release_switched" : "noop"},
                                {"to", previous},
                                {"at", now()}});
  return {.to = "rolled_back",
          .detail = "rolled back to releases/" + previous + ": " + why,
          .fields = {{"reason_code", "rolled_back"}},
          .restart = current == id};
}

jarvis::Json Pipeline::cleanup(const std::string& id, const jarvis::CancelToken& cancel) {
  jarvis::Json row = store_.get(id);
  if (row.is_null() || !is_terminal_state(row["state"])) return {{"skipped", "not ended"}};
  PatchFiles f(s_.patch_dir, id);
  if (fs::exists(f.worktree())) {
    Workspace({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel})
        .remove_worktree(f.worktree());
  }
  return {{"cleaned", id}, {"pruned_releases", prune_releases()}};
}

}  // namespace selfupdate
