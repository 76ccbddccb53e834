// selfupdate/src/pipeline.cpp — the requests on the pipeline (propose, approve, reject, resume,
// abandon, rollback), the transition helper and start-up recovery. The stages are in stages.cpp,
// show/list in pipeline_view.cpp.
#include "pipeline.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "installs.h"
#include "jarvis/crypto.h"
#include "jarvis/error.h"
#include "patch_files.h"
#include "workspace.h"

namespace selfupdate {
namespace fs = std::filesystem;

bool is_running_state(const std::string& s) {
  return s == "validating" || s == "testing" || s == "applying" || s == "verifying" ||
         s == "rolling_back";
}

bool is_terminal_state(const std::string& s) {
  return s == "invalid" || s == "test_failed" || s == "rejected" || s == "apply_failed" ||
         s == "verified" || s == "applied_unverified" || s == "rolled_back" || s == "abandoned";
}

namespace pipeline_impl {

std::string absolute(const std::string& p) {
  return p.empty() ? p : fs::absolute(p).lexically_normal().string();
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// "stage" for a running state.
std::string stage_of(const std::string& running) {
  if (running == "validating") return "validate";
  if (running == "testing") return "test";
  if (running == "applying") return "apply";
  if (running == "verifying") return "verify";
  return "rollback";
}

}  // namespace pipeline_impl

using namespace pipeline_impl;

Pipeline::Pipeline(Settings settings, PipelineDeps deps)
    : s_(std::move(settings)), d_(std::move(deps)), store_(*d_.db) {
  s_.repo_dir = absolute(s_.repo_dir);
  s_.patch_dir = absolute(s_.patch_dir);
  s_.install_dir = absolute(s_.install_dir);
  runner_ = host_name() + ":" + std::to_string(::getpid()) + ":" + jarvis::random_token(6);
}

std::string Pipeline::now() const { return at_offset(0); }

std::string Pipeline::at_offset(long long ms) const {
  return jarvis::iso_from_now(ms + (d_.clock_offset_ms ? d_.clock_offset_ms() : 0));
}

bool Pipeline::move(const std::string& id, const std::string& from, const std::string& to,
                    const std::string& detail, const std::string& actor, const jarvis::Json& fields,
                    const std::string& task, bool unlock) {
  {
    auto tx = d_.db->transaction();
    if (!store_.transition(tx->session(), id, from, to, detail, actor, now())) return false;
    store_.set_fields(tx->session(), id, fields);
    if (unlock || is_terminal_state(to)) store_.unlock(tx->session(), id);
    if (!task.empty() && d_.enqueue) d_.enqueue(task, id, tx.get());
    if (is_terminal_state(to) && d_.enqueue) d_.enqueue("selfupdate.cleanup", id, tx.get());
    if (d_.emit) {
      d_.emit("selfupdate." + to, {{"trace_id", id}, {"from", from}, {"detail", detail}}, id, *tx);
    }
    tx->commit();
  }
  if (d_.log) d_.log->info("selfupdate {}: {} -> {} ({})", id, from, to, detail);
  sync_state_file(id);
  return true;
}

void Pipeline::sync_state_file(const std::string& id) {
  try {
    jarvis::Json row = store_.get(id);
    if (row.is_null()) return;
    PatchFiles f(s_.patch_dir, id);
    if (!fs::is_directory(f.dir())) return;
    f.write_json("state.json", {{"trace_id", id},
                                {"state", row["state"]},
                                {"detail", row["detail"]},
                                {"reason_code", row["reason_code"]},
                                {"stage", row["stage"]},
                                {"step", row["step"]},
                                {"updated_at", row["updated_at"]},
                                {"transitions", store_.transitions(id)}});
  } catch (const std::exception& e) {
    if (d_.log) d_.log->warn("selfupdate {}: state.json not written: {}", id, e.what());
  }
}

void Pipeline::set_step(const std::string& id, const std::string& step) {
  {
    auto sql = d_.db->session();
    store_.set_fields(*sql, id, {{"step", step}});
  }
  sync_state_file(id);
  if (d_.on_step) d_.on_step(id, step);
}

bool Pipeline::runner_alive(const std::string& runner) const {
  if (runner.empty() || runner == runner_) return runner == runner_;
  std::size_t a = runner.find(':');
  std::size_t b = runner.find(':', a == std::string::npos ? 0 : a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  if (runner.substr(0, a) != host_name()) return true;  // another machine: not ours to judge
  int pid = std::atoi(runner.substr(a + 1, b - a - 1).c_str());
  if (pid <= 0 || pid == ::getpid()) return false;  // re-executed in place: that image is gone
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

jarvis::Json Pipeline::require(const std::string& id) {
  if (!is_trace_id(id)) throw jarvis::not_found("no such patch", "patch_not_found");
  jarvis::Json row = store_.get(id);
  if (row.is_null()) throw jarvis::not_found("no such patch", "patch_not_found");
  return row;
}

std::string Pipeline::current_baseline() {
  Installs in(s_.install_dir);
  std::string cur;
  try {
    cur = in.current();
  } catch (const std::exception&) {
  }
  if (!cur.empty()) {
    jarvis::Json info = in.release_info(cur);
    if (info.contains("commit") && info["commit"].is_string()) return info["commit"];
  }
  try {
    return Workspace({.repo_dir = s_.repo_dir, .timeout = std::chrono::seconds(10)}).head();
  } catch (const StageFailure& f) {
    throw jarvis::Error(503, f.code(), f.what());
  }
}

jarvis::Json Pipeline::propose(const ProposeInput& in) {
  if (d_.system->lockdown()) {
    throw jarvis::conflict("the system is in lockdown: self-updates are refused", "lockdown");
  }
  if (in.rationale.empty()) throw jarvis::bad_request("rationale is required", "invalid_field");
  if (static_cast<long long>(in.rationale.size()) > s_.max_rationale_bytes) {
    throw jarvis::Error(413, "rationale_too_large",
                        "rationale is longer than SELFUPDATE_MAX_RATIONALE_BYTES (" +
                            std::to_string(s_.max_rationale_bytes) + ")");
  }
  if (in.diff.empty()) throw jarvis::bad_request("diff is empty", "empty_diff");
  if (static_cast<long long>(in.diff.size()) > s_.max_patch_bytes) {
    throw jarvis::Error(413, "patch_too_large",
                        "the diff has " + std::to_string(in.diff.size()) +
                            " bytes; SELFUPDATE_MAX_PATCH_BYTES is " +
                            std::to_string(s_.max_patch_bytes));
  }
  if (in.diff.find('\0') != std::string::npos) {
    throw jarvis::unprocessable("the diff holds NUL bytes: binary patches are refused",
                                "binary_patch");
  }
  std::string holder;
  {
    auto sql = d_.db->session();
    holder = store_.lock_holder(*sql);
  }
  if (!holder.empty()) {
    // A holder whose process died with its lease is marked interrupted here (it keeps the lock
    // until an admin resumes or abandons it, but says so).
    jarvis::Json h = store_.get(holder);
    const std::string state = h.is_null() ? "" : reap_if_expired(h).value("state", "");
    throw jarvis::conflict(
        "another update runs: " + holder + (state.empty() ? "" : " (" + state + ")"),
        "update_in_progress");
  }
  const std::string baseline = current_baseline();
  const std::string id = jarvis::new_id("trc");
  const std::string at = now();
  PatchFiles f(s_.patch_dir, id);
  f.create(in.diff);
  f.write_json("context.json", {{"trace_id", id},
                                {"repo_path", s_.repo_dir},
                                {"rationale", in.rationale},
                                {"baseline_ref", baseline},
                                {"proposed_by", in.actor},
                                {"source", in.source},
                                {"created_at", at}});
  f.write_json("artifact.json", {{"plan", {{"rationale", in.rationale}}},
                                 {"diff", {{"char_count", in.diff.size()}}}});
  try {
    auto tx = d_.db->transaction();
    if (!store_.try_lock(tx->session(), id, at)) {
      throw jarvis::conflict("another update runs", "update_in_progress");
    }
    store_.insert(tx->session(),
                  {{"trace_id", id},
                   {"state", "proposed"},
                   {"detail", "queued for validation"},
                   {"rationale", in.rationale},
                   {"proposed_by", in.actor},
                   {"source", in.source},
                   {"baseline", baseline},
                   {"diff_sha256", jarvis::sha256_hex(in.diff)},
                   {"diff_bytes", static_cast<long long>(in.diff.size())}},
                  in.actor, at);
    if (d_.enqueue) d_.enqueue("selfupdate.validate", id, tx.get());
    if (d_.emit) {
      d_.emit("selfupdate.proposed",
              {{"trace_id", id},
               {"baseline", baseline},
               {"source", in.source},
               {"proposed_by", in.actor}},
              id, *tx);
    }
    tx->commit();
  } catch (...) {
    f.remove();
    throw;
  }
  sync_state_file(id);
  return {{"trace_id", id}, {"state", "proposed"}, {"baseline", baseline}};
}

jarvis::Json Pipeline::approve(const std::string& id, const std::string& actor) {
  jarvis::Json row = require(id);
  const std::string state = row["state"];
  if (state != "tested" && state != "approval_expired") {
    throw jarvis::conflict("only a tested patch can be approved (it is " + state + ")",
                           "invalid_state");
  }
  if (d_.system->lockdown()) {
    throw jarvis::conflict("the system is in lockdown: self-updates are refused", "lockdown");
  }
  const std::string at = now();
  const std::string expires = at_offset(static_cast<long long>(s_.approval_ttl_minutes) * 60000);
  {
    auto tx = d_.db->transaction();
    if (!store_.try_lock(tx->session(), id, at)) {
      throw jarvis::conflict("another update runs: " + store_.lock_holder(tx->session()),
                             "update_in_progress");
    }
    if (!store_.transition(tx->session(), id, state, "approved",
                           "approved by " + actor + " until " + expires, actor, at)) {
      throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
    }
    store_.set_fields(tx->session(), id,
                      {{"approved_by", actor},
                       {"approved_at", at},
                       {"approval_expires_at", expires},
                       {"reason_code", ""}});
    if (d_.enqueue) d_.enqueue("selfupdate.apply", id, tx.get());
    if (d_.emit) {
      d_.emit("selfupdate.approved", {{"trace_id", id}, {"by", actor}, {"expires_at", expires}}, id,
              *tx);
    }
    tx->commit();
  }
  sync_state_file(id);
  return {{"trace_id", id}, {"state", "approved"}, {"approval_expires_at", expires}};
}

jarvis::Json Pipeline::allow_test(const std::string& id, const std::string& actor) {
  jarvis::Json row = require(id);
  const std::string state = row["state"];
  if (state != "awaiting_test_approval") {
    throw jarvis::conflict(
        "only a patch awaiting test approval can be allowed (it is " + state + ")",
        "invalid_state");
  }
  if (d_.system->lockdown()) {
    throw jarvis::conflict("the system is in lockdown: self-updates are refused", "lockdown");
  }
  const std::string at = now();
  {
    auto tx = d_.db->transaction();
    if (!store_.try_lock(tx->session(), id, at)) {
      throw jarvis::conflict("another update runs: " + store_.lock_holder(tx->session()),
                             "update_in_progress");
    }
    if (!store_.transition(tx->session(), id, state, "validated",
                           "test allowed by " + actor + ": the build and tests run", actor, at)) {
      throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
    }
    store_.set_fields(tx->session(), id, {{"reason_code", ""}});
    if (d_.enqueue) d_.enqueue("selfupdate.test", id, tx.get());
    tx->commit();
  }
  sync_state_file(id);
  return {{"trace_id", id}, {"state", "validated"}};
}

jarvis::Json Pipeline::reject(const std::string& id, const std::string& actor,
                              const std::string& reason) {
  jarvis::Json row = require(id);
  const std::string state = row["state"];
  if (state != "tested" && state != "approval_expired" && state != "awaiting_test_approval") {
    throw jarvis::conflict("only a tested patch can be rejected (it is " + state + ")",
                           "invalid_state");
  }
  std::string detail = "rejected by " + actor + (reason.empty() ? "" : ": " + reason);
  if (!move(id, state, "rejected", detail, actor)) {
    throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
  }
  return {{"trace_id", id}, {"state", "rejected"}};
}

jarvis::Json Pipeline::resume(const std::string& id, const std::string& actor) {
  jarvis::Json row = reap_if_expired(require(id));
  if (row["state"] != "interrupted") {
    throw jarvis::conflict(
        "only an interrupted patch can be resumed (it is " + row["state"].get<std::string>() + ")",
        "invalid_state");
  }
  const std::string stage = row["interrupted_stage"];
  std::string to, task;
  jarvis::Json fields = {{"interrupted_stage", ""}, {"reason_code", ""}};
  if (stage == "validate") {
    to = "proposed", task = "selfupdate.validate";
  } else if (stage == "test") {
    to = "validated", task = "selfupdate.test";
  } else if (stage == "apply") {
    if (d_.system->lockdown()) {
      throw jarvis::conflict("the system is in lockdown: the apply is not resumed (abandon it)",
                             "lockdown");
    }
    to = "approved", task = "selfupdate.apply";
    fields["approved_by"] = actor;
    fields["approved_at"] = now();
    fields["approval_expires_at"] =
        at_offset(static_cast<long long>(s_.approval_ttl_minutes) * 60000);
  } else if (stage == "verify") {
    to = "applied", task = "selfupdate.verify";
  } else {
    to = "rollback_requested", task = "selfupdate.rollback";
  }
  if (!move(id, "interrupted", to, "resumed by " + actor + ": stage " + stage + " runs again",
            actor, fields, task)) {
    throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
  }
  return {{"trace_id", id}, {"state", to}};
}

jarvis::Json Pipeline::abandon(const std::string& id, const std::string& actor) {
  jarvis::Json row = reap_if_expired(require(id));
  const std::string state = row["state"];
  if (state != "interrupted" && state != "tested" && state != "approval_expired" &&
      state != "awaiting_test_approval") {
    throw jarvis::conflict(
        "only an interrupted or waiting patch can be abandoned (it is " + state + ")",
        "invalid_state");
  }
  std::string current;
  try {
    current = Installs(s_.install_dir).current();
  } catch (const std::exception&) {
  }
  if (current == id) {
    if (!move(id, state, "rollback_requested",
              "abandoned by " + actor + " after the install was switched: rolling back", actor,
              {{"interrupted_stage", ""}}, "selfupdate.rollback")) {
      throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
    }
    return {{"trace_id", id}, {"state", "rollback_requested"}};
  }
  if (!move(id, state, "abandoned", "abandoned by " + actor + "; the install was not changed",
            actor, {{"interrupted_stage", ""}})) {
    throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
  }
  return {{"trace_id", id}, {"state", "abandoned"}};
}

jarvis::Json Pipeline::rollback(const std::string& id, const std::string& actor) {
  jarvis::Json row = require(id);
  const std::string state = row["state"];
  if (state != "verified" && state != "applied" && state != "applied_unverified") {
    throw jarvis::conflict(
        "only an applied or verified patch can be rolled back (it is " + state + ")",
        "invalid_state");
  }
  std::string current;
  try {
    current = Installs(s_.install_dir).current();
  } catch (const std::exception&) {
  }
  if (current != id) {
    throw jarvis::conflict("the install does not run this patch (current: " +
                               (current.empty() ? std::string("none") : current) + ")",
                           "not_current");
  }
  {
    auto tx = d_.db->transaction();
    if (!store_.try_lock(tx->session(), id, now())) {
      throw jarvis::conflict("another update runs: " + store_.lock_holder(tx->session()),
                             "update_in_progress");
    }
    if (!store_.transition(tx->session(), id, state, "rollback_requested",
                           "rollback requested by " + actor, actor, now())) {
      throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
    }
    if (d_.enqueue) d_.enqueue("selfupdate.rollback", id, tx.get());
    tx->commit();
  }
  sync_state_file(id);
  return {{"trace_id", id}, {"state", "rollback_requested"}};
}

void Pipeline::on_start() {
  for (const auto& row :
       store_.with_states({"validating", "testing", "applying", "verifying", "rolling_back"})) {
    const std::string id = row["trace_id"];
    if (runner_alive(row.value("runner", "")) && !lease_expired(row)) continue;
    const std::string state = row["state"];
    std::string stage = row.value("stage", "");
    if (stage.empty()) stage = stage_of(state);
    move(id, state, "interrupted",
         "the process running stage " + stage + " stopped at step '" + row.value("step", "") +
             "' (" + row.value("runner", "") + ")",
         "system", {{"interrupted_stage", stage}});
  }
  for (const auto& row : store_.with_states({"applied"})) {
    if (d_.enqueue) d_.enqueue("selfupdate.verify", row["trace_id"], nullptr);
  }
}

}  // namespace selfupdate
