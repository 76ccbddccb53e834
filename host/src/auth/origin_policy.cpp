// host/src/auth/origin_policy.cpp — see origin_policy.h.
#include "auth/origin_policy.h"

#include <algorithm>
#include <cctype>

#include "auth/auth_settings.h"

namespace jarvis::host {

OriginStatus check_origin(const jarvis::Request& req, const std::vector<std::string>& allowed) {
  const std::string* value = nullptr;
  int count = 0;
  for (const auto& [name, v] : req.headers.all()) {
    if (name.size() == 6 && std::equal(name.begin(), name.end(), "origin", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      ++count;
      value = &v;
    }
  }
  if (count == 0) return OriginStatus::Absent;
  if (count > 1) return OriginStatus::Multiple;
  std::string origin = normalize_origin(*value);
  if (origin.empty()) return OriginStatus::Denied;
  return std::find(allowed.begin(), allowed.end(), origin) != allowed.end() ? OriginStatus::Allowed
                                                                            : OriginStatus::Denied;
}

}  // namespace jarvis::host
