// host/src/config/host_settings.h — the host's own configuration keys, declared once.
//
// The declaration table drives validation at start-up, `jarvis config show` and the runbook's
// configuration section. Plugins declare theirs in plugin.yaml (see plugins/plugin_config.h).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"

namespace jarvis::host {

/// One declared host key.
struct SettingDecl {
  std::string key;  ///< environment-style name, e.g. "BIND_PORT"
  ConfigType type;
  std::string default_value;
  bool secret;
  std::string description;
};

/// The handler pool's size when JARVIS_HANDLER_THREADS is 0 (the default): max(32, 8 × cores).
/// Route handlers mostly wait (database, group commits, outbound calls), so the pool is sized for
/// concurrent requests, not for cores (decision 0094).
std::size_t default_handler_threads();

/// Every host key with its type and default.
const std::vector<SettingDecl>& host_setting_decls();

/// Typed, validated host settings.
struct HostSettings {
  std::string database_url;  ///< DATABASE_URL, else APP_DB (SQLite path; default ./var/jarvis.db)
  std::string bind_host;
  int bind_port = 8000;
  int http_threads = 0;
  std::size_t http_max_body_bytes = 1 << 20;
  std::size_t http_max_connections = 0;         ///< 0 = derived from RLIMIT_NOFILE
  std::size_t http_max_connections_per_ip = 0;  ///< 0 = 90% of the global cap
  std::size_t handler_threads =
      0;  ///< resolved: JARVIS_HANDLER_THREADS, 0 → default_handler_threads()
  std::size_t handler_queue = 256;
  std::size_t stream_max_buffer_bytes = 1 << 20;  ///< JARVIS_STREAM_MAX_BUFFER_BYTES
  std::chrono::seconds sse_keepalive{15};         ///< JARVIS_SSE_KEEPALIVE_SECONDS; 0 = off
  std::chrono::seconds stream_max_duration{0};    ///< JARVIS_STREAM_MAX_SECONDS; 0 = none
  std::size_t db_pool_size = 8;
  std::vector<std::string> plugin_dirs;  ///< JARVIS_PLUGIN_DIRS (colon-separated)
  std::set<std::string> plugins_disabled;
  std::set<std::string> plugins_required;
  /// JARVIS_PLUGIN_DRAIN_SECONDS: shutdown's wait for calls running in plugin code.
  std::chrono::seconds plugin_drain_timeout{30};
  std::string web_dist_dir;
  std::string log_level;
  int task_max_concurrent = 4;
  std::chrono::seconds task_shutdown_timeout{30};
  std::chrono::seconds task_lease{30};
  int scheduler_max_catchup = 10;
  std::string scheduler_tz;
  std::chrono::milliseconds scheduler_interval{1000};
  std::chrono::hours task_retention{24 * 7};
  std::size_t task_max_payload_bytes = 64 * 1024;
  int schedules_max_per_user = 50;
  long long schedules_min_interval_seconds = 60;
  std::size_t schedules_max_payload_bytes = 8 * 1024;

  /// Validates every declared key in `store`; throws std::runtime_error naming the key, the
  /// value's source and the expected type on the first bad value.
  static HostSettings from(const ConfigStore& store);
};

/// `value` with any password in a database URL replaced by "***".
std::string redact_url(const std::string& value);

}  // namespace jarvis::host
