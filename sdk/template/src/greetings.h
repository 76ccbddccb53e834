// hello/src/greetings.h — the plugin's one concern: making and counting greetings.
#pragma once

#include <string>

#include "jarvis/jarvis.h"

namespace hello {

/// Greets names and records each greeting in the `hello_greetings` table. Concurrent greetings
/// (the webhook's deliveries) share one transaction: jarvis/group_commit.h.
class Greetings {
 public:
  explicit Greetings(jarvis::Host& host) : host_(host), commits_(host.db()) {}

  /// Validates `name` (1..max_name_length characters, no control characters) — throws
  /// jarvis::Error 400 `invalid_name` otherwise — stores the greeting and returns its text.
  std::string greet(const std::string& name, const std::string& greeted_by);
  /// How many times `name` was greeted.
  long long count(const std::string& name);

 private:
  jarvis::Host& host_;
  jarvis::GroupCommit commits_;  ///< one commit for the greetings arriving together
};

}  // namespace hello
