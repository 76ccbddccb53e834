// jarvis/error.h — errors plugin code throws to produce a clean HTTP/CLI/tool error.
//
// Throw `jarvis::Error(404, "bug_not_found", "bug 12 does not exist")` from a route handler and the
// host answers `{"error":{"code":"bug_not_found","message":"...","request_id":"..."}}` with 404.
// Any other exception escaping plugin code becomes a 500 `internal_error` with an error id, is
// logged and is counted against the plugin.
#pragma once

#include <stdexcept>
#include <string>

#include "jarvis/version.h"

namespace jarvis {

/// An error a caller can cause: an HTTP status, a stable machine-readable code and a message.
class JARVIS_API Error : public std::runtime_error {
 public:
  /// `status` is an HTTP status (400..599); `code` is stable snake_case, documented per route.
  Error(int status, std::string code, const std::string& message);
  ~Error() override;

  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

/// 400 with the given code (default `invalid_request`).
JARVIS_API Error bad_request(const std::string& message, std::string code = "invalid_request");
/// 404 `not_found`.
JARVIS_API Error not_found(const std::string& message, std::string code = "not_found");
/// 403 `forbidden`.
JARVIS_API Error forbidden(const std::string& message, std::string code = "forbidden");
/// 409 `conflict`.
JARVIS_API Error conflict(const std::string& message, std::string code = "conflict");
/// 422 `validation_failed`.
JARVIS_API Error unprocessable(const std::string& message, std::string code = "validation_failed");

}  // namespace jarvis
