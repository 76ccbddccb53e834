// host/src/auth/origin_policy.h — the one Origin rule of the host (CSRF on cookie-authenticated
// writes, login, and the /ws handshake): the request's Origin must be one of the configured
// origins (WEB_PUBLIC_ORIGIN or the one derived from BIND_HOST/BIND_PORT, plus WEB_CORS_ORIGINS),
// compared by scheme, host and port. The request's own Host header is never trusted for this.
#pragma once

#include <string>
#include <vector>

#include "jarvis/http.h"

namespace jarvis::host {

enum class OriginStatus {
  Absent,    ///< no Origin header
  Allowed,   ///< exactly one Origin, in the list
  Denied,    ///< exactly one Origin, not in the list ("null", garbage or foreign)
  Multiple,  ///< more than one Origin header: always refused (403)
};

/// Classifies the request's Origin against `allowed` (normalised origins, see normalize_origin).
OriginStatus check_origin(const jarvis::Request& req, const std::vector<std::string>& allowed);

}  // namespace jarvis::host
