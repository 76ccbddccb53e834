// selfupdate/src/patch_files.h — a patch's folder ${SELFUPDATE_PATCH_DIR}/<trace_id>/:
// proposal.diff, context.json, state.json (every transition and its time, rewritten from the
// database after each change), artifact.json (plan, diff, tests, apply, verification, rollback
// sections), test.log / apply.log, the markers applied.txt / verified.txt / rollback.txt, and the
// git worktree. Every JSON file is written to a temporary name and renamed, so a crash leaves the
// previous or the new version, never half a file.
//
//   PatchFiles f(settings.patch_dir, trace_id);
//   f.write_json("context.json", {{"trace_id", trace_id}, {"baseline", sha}});
//   f.merge_artifact("tests", {{"result", "passed"}});
#pragma once

#include <string>

#include "jarvis/json.h"

namespace selfupdate {

/// True for ids the plugin makes: "trc_" + 32 lower-case hex digits. Checked before any id from
/// a caller names a folder.
bool is_trace_id(const std::string& id);

/// The files of one patch. Thread-compatible (one stage at a time writes a patch).
class PatchFiles {
 public:
  /// `patch_dir` absolute; `trace_id` must satisfy is_trace_id (std::invalid_argument otherwise).
  PatchFiles(const std::string& patch_dir, const std::string& trace_id);

  const std::string& dir() const { return dir_; }
  /// dir() + "/" + name.
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  /// The git worktree's path.
  std::string worktree() const { return file("worktree"); }

  /// Creates the folder (mode 0700) and writes proposal.diff.
  void create(const std::string& diff) const;
  /// Removes the whole folder (a proposal that was not recorded).
  void remove() const;
  /// Writes `name` atomically (temporary file + rename), mode 0600.
  void write_text(const std::string& name, const std::string& text) const;
  /// JSON of `name`, or an empty object when missing or unreadable.
  jarvis::Json read_json(const std::string& name) const;
  /// Writes `name` as pretty JSON, atomically.
  void write_json(const std::string& name, const jarvis::Json& value) const;
  /// Sets artifact.json's `section` to `value` (other sections kept).
  void merge_artifact(const std::string& section, const jarvis::Json& value) const;
  /// The last `bytes` bytes of `name` ("" when missing), cut at a line start when possible.
  std::string tail(const std::string& name, long long bytes) const;
  /// The whole of `name` ("" when missing).
  std::string read_text(const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace selfupdate
