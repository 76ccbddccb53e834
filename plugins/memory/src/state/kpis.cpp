// memory/state/kpis.cpp — memory_reconciliation_rate and memory_hallucination_incidents (0033).
#include "state/kpis.h"

#include <limits>

#include "jarvis/database.h"
#include "jarvis/sql.h"

namespace jarvis::memory::state {

namespace {
constexpr long long kKpiWindowMs = 7LL * 24 * 3600 * 1000;
}

StateKpis compute_kpis(soci::session& sql) {
  StateKpis k;
  const std::string since = jarvis::iso_from_now(-kKpiWindowMs);
  Json row = jarvis::sql::one_row(sql,
                                  "SELECT COALESCE(SUM(candidates), 0) AS c, "
                                  "COALESCE(SUM(merged + superseded), 0) AS r FROM "
                                  "memory_state_runs WHERE created_at >= :s",
                                  {since});
  auto as_int = [](const Json& j, const char* key) -> long long {
    if (!j.is_object() || !j.contains(key)) return 0;
    const Json& v = j[key];
    if (v.is_number()) return v.get<long long>();
    if (v.is_string()) {
      try {
        return std::stoll(v.get<std::string>());
      } catch (const std::exception&) {
        return 0;
      }
    }
    return 0;
  };
  k.window_candidates = as_int(row, "c");
  if (k.window_candidates > 0) {
    k.reconciliation_rate =
        static_cast<double>(as_int(row, "r")) / static_cast<double>(k.window_candidates);
  }
  const long long incidents = jarvis::sql::scalar_int(
      sql,
      "SELECT COUNT(*) FROM memory_state_items WHERE type_tag = 'failure' AND unsupported = 1");
  const long long checked =
      jarvis::sql::scalar_int(sql,
                              "SELECT COUNT(*) FROM memory_state_runs WHERE method = 'model'") +
      jarvis::sql::scalar_int(sql,
                              "SELECT COUNT(*) FROM memory_review_queue WHERE status = 'resolved'");
  if (incidents > 0 || checked > 0) k.hallucination_incidents = static_cast<double>(incidents);
  return k;
}

void KpiPublisher::publish(Metrics& metrics, const StateKpis& k) {
  std::lock_guard lock(mu_);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (k.reconciliation_rate) {
    metrics.set_gauge("reconciliation_rate", *k.reconciliation_rate);
    rate_set_ = true;
  } else if (rate_set_) {
    metrics.set_gauge("reconciliation_rate", nan);
  }
  if (k.hallucination_incidents) {
    metrics.set_gauge("hallucination_incidents", *k.hallucination_incidents);
    incidents_set_ = true;
  } else if (incidents_set_) {
    metrics.set_gauge("hallucination_incidents", nan);
  }
}

}  // namespace jarvis::memory::state
