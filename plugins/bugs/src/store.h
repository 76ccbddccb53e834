// bugs/src/store.h — bug and feature reports in the `bug_reports` table; validation of fields.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace bugs {

/// Filters of a list query; empty strings mean "any".
struct ListQuery {
  std::string status, priority, kind, search;
  long long limit = 50;
  long long offset = 0;
};

/// Storage and rules for reports. Every method that takes a Principal scopes to it: users see and
/// change only their own reports (others' are reported as not found), admins all.
class BugStore {
 public:
  explicit BugStore(jarvis::Host& host) : host_(host) {}

  /// Creates a report from a validated API body; `forced_kind` ("bug"/"feature") when the route
  /// fixes it. Emits `bug.created`. Returns the stored report.
  jarvis::Json create(const jarvis::Json& body, const jarvis::Principal& who,
                      const std::string& forced_kind);
  /// {items, total}.
  jarvis::Json list(const ListQuery& q, const jarvis::Principal& who);
  /// One report; throws 404 `bug_not_found` when absent or not visible to `who`.
  jarvis::Json get(const std::string& id, const jarvis::Principal& who);
  /// Applies a validated PATCH body; returns the updated report.
  jarvis::Json update(const std::string& id, const jarvis::Json& body,
                      const jarvis::Principal& who);
  void remove(const std::string& id, const jarvis::Principal& who);
  /// Task bugs.report: files a report as "system", reusing an open/in-progress one with the same
  /// dedupe_key. Returns {id, created}.
  jarvis::Json report(const jarvis::Json& payload);
  /// Task bugs.link_external: records the GitHub sync outcome.
  jarvis::Json link_external(const jarvis::Json& payload);
  /// Open or in-progress reports whose title starts with `prefix` (for other tools' status views).
  long long count_open(const std::string& title_prefix);
  /// Task bugs.unsynced: ids of reports filed with sync_to_github that have no GitHub issue yet,
  /// oldest first (at most `limit`).
  std::vector<std::string> unsynced(int limit);

 private:
  /// Throws 429 `quota_exceeded` when `user_id` filed max_reports_per_hour reports in the last
  /// hour.
  void require_report_quota(const std::string& user_id);
  /// The id of the open or in-progress report with this dedupe key, if any.
  std::optional<std::string> live_with_key(const std::string& dedupe_key);
  /// The stored dedupe key of report `id` ("" when none).
  std::string dedupe_key_of(const std::string& id);
  std::string insert(const std::string& kind, const std::string& title,
                     const std::string& description, const std::string& priority,
                     const std::string& reporter, const std::string& thread_id,
                     const std::string& trace_id, bool sync, const std::string& dedupe_key);
  jarvis::Json load(const std::string& id);
  jarvis::Host& host_;
};

/// Validation shared by routes, tasks and the CLI. Each throws jarvis::Error 400 naming the field.
bool is_kind(const std::string& v);
bool is_priority(const std::string& v);
bool is_status(const std::string& v);

}  // namespace bugs
