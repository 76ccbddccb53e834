// selfupdate/src/pipeline_view.cpp — what `show` and GET /api/v1/selfupdate/patches/{id} answer:
// the row, the state timeline, the log tails, the install's current release and a sentence that
// says what the state means and what an operator can do next.
#include <filesystem>

#include "installs.h"
#include "patch_files.h"
#include "pipeline.h"

namespace selfupdate {

std::string Pipeline::explain(const jarvis::Json& row) const {
  const std::string id = row["trace_id"];
  const std::string state = row["state"];
  const std::string step = row.value("step", "");
  std::string current;
  try {
    current = Installs(s_.install_dir).current();
  } catch (const std::exception& e) {
    current = std::string("(unreadable: ") + e.what() + ")";
  }
  const std::string install =
      current == id ? "The install runs this patch (current -> releases/" + id + ")."
                    : "The install runs releases/" + (current.empty() ? "(none)" : current) +
                          "; this patch is not switched in.";
  if (state == "proposed") return "Queued for validation. " + install;
  if (state == "validated") return "Valid; queued for the build and tests. " + install;
  if (is_running_state(state)) {
    std::string who = row.value("runner", "");
    return "Stage " + row.value("stage", "") + " is running (step '" + step + "') in " + who +
           (runner_alive(who) ? "."
                              : "; that process is gone — the next start marks it "
                                "interrupted.") +
           " " + install;
  }
  if (state == "interrupted") {
    return "Stage " + row.value("interrupted_stage", "") + " was interrupted at step '" + step +
           "' (" + row.value("detail", "") + "). " + install +
           (current == id ? " Resume (`jarvis selfupdate resume " + id +
                                "`) runs the stage again; abandon rolls the install back to "
                                "releases/" +
                                row.value("previous_release", "") + "."
                          : " Nothing half-done is live. Resume (`jarvis selfupdate resume " + id +
                                "`) runs the stage again from its recorded steps; abandon "
                                "(`jarvis selfupdate abandon " +
                                id + "`) gives the patch up.");
  }
  if (state == "awaiting_test_approval") {
    return "Valid. Proposed by an agent: the build and tests would run its code as the host "
           "user, so an admin reads the diff first and allows them (`jarvis selfupdate "
           "allow-test " +
           id + "`) or rejects. " + install;
  }
  if (state == "tested") {
    return "Build and tests passed. Waiting for an admin: `jarvis selfupdate approve " + id +
           "` (valid " + std::to_string(s_.approval_ttl_minutes) + " min) or reject. " + install;
  }
  if (state == "approval_expired") {
    return "The approval expired before the apply; approve again or reject. " + install;
  }
  if (state == "approved") {
    return "Approved until " + row.value("approval_expires_at", "") + "; the apply is queued. " +
           install;
  }
  if (state == "applied") {
    return "Switched in; waiting for the restart and the readiness check. " + install;
  }
  if (state == "rollback_requested") return "A rollback is queued. " + install;
  if (state == "verified") return "Applied, ready and reporting the patch's commit. " + install;
  if (state == "applied_unverified") {
    return "Switched in and ready, but the readiness URL reports no commit, so nothing shows the "
           "new release runs (the default restart re-executes the same binary). Check it by "
           "hand; `jarvis selfupdate rollback " +
           id + "` goes back. " + install;
  }
  if (state == "rolled_back") return "Rolled back: " + row.value("detail", "") + ". " + install;
  if (state == "invalid") return "Refused by validation (" + row.value("reason_code", "") + ").";
  if (state == "test_failed") {
    return "The build or tests failed (" + row.value("reason_code", "") + "); see the test log.";
  }
  if (state == "apply_failed") {
    return "The apply failed before the switch (" + row.value("reason_code", "") + "). " + install;
  }
  return "State " + state + ". " + install;
}

jarvis::Json Pipeline::show(const std::string& id) {
  jarvis::Json row = require(id);
  PatchFiles f(s_.patch_dir, id);
  row["transitions"] = store_.transitions(id);
  row["explanation"] = explain(row);
  row["test_log_tail"] = f.tail("test.log", s_.log_tail_bytes);
  row["apply_log_tail"] = f.tail("apply.log", s_.log_tail_bytes);
  row["artifact"] = f.read_json("artifact.json");
  row["patch_dir"] = f.dir();
  std::string current;
  try {
    current = Installs(s_.install_dir).current();
  } catch (const std::exception&) {
  }
  row["install"] = {{"current", current}, {"is_current", current == id}};
  return row;
}

jarvis::Json Pipeline::list(const std::string& state, int limit, int offset) {
  return store_.list(state, limit, offset);
}

}  // namespace selfupdate
