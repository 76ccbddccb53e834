// host/src/config/host_settings.cpp — the host's key table and its typed view.
#include "config/host_settings.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace jarvis::host {

std::size_t default_handler_threads() {
  // Sized for waiting, not for cores (decision 0094): most handlers wait on the database (a
  // group commit, the write gate, a pooled session) or on an outbound call.
  return std::max<std::size_t>(
      32, 8 * static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
}

const std::vector<SettingDecl>& host_setting_decls() {
  static const std::vector<SettingDecl> decls = {
      {"APP_DB", ConfigType::String, "./var/jarvis.db", false,
       "SQLite database file (embedded default)"},
      {"DATABASE_URL", ConfigType::String, "", true,
       "postgresql://… selects PostgreSQL; overrides APP_DB"},
      {"BIND_HOST", ConfigType::String, "127.0.0.1", false, "HTTP listen address"},
      {"BIND_PORT", ConfigType::Int, "8000", false, "HTTP listen port"},
      {"JARVIS_HTTP_THREADS", ConfigType::Int, "0", false,
       "HTTP worker threads (0 = number of cores)"},
      {"JARVIS_HTTP_MAX_BODY_BYTES", ConfigType::Int, "1048576", false,
       "default request body limit"},
      {"JARVIS_HTTP_MAX_CONNECTIONS", ConfigType::Int, "0", false,
       "open HTTP/WebSocket connections (0 = RLIMIT_NOFILE minus a reserve)"},
      {"JARVIS_HTTP_MAX_CONNECTIONS_PER_IP", ConfigType::Int, "0", false,
       "open connections per client address (0 = 90% of the global cap)"},
      {"JARVIS_HANDLER_THREADS", ConfigType::Int, "0", false,
       "route-handler threads (0 = max(32, 8 x cores))"},
      {"JARVIS_HANDLER_QUEUE", ConfigType::Int, "256", false,
       "requests waiting for a handler thread before 503 overloaded"},
      {"JARVIS_STREAM_MAX_BUFFER_BYTES", ConfigType::Int, "1048576", false,
       "unsent bytes per streamed response before a client that does not read is dropped"},
      {"JARVIS_SSE_KEEPALIVE_SECONDS", ConfigType::Int, "15", false,
       "keep-alive comment on an idle server-sent-events stream (0 = never)"},
      {"JARVIS_STREAM_MAX_SECONDS", ConfigType::Int, "0", false,
       "streamed responses are ended after this long (0 = no limit)"},
      {"JARVIS_DB_POOL_SIZE", ConfigType::Int, "8", false, "database connections in the pool"},
      {"JARVIS_PLUGIN_DIRS", ConfigType::String, "", false,
       "extra plugin directories, colon-separated"},
      {"JARVIS_PLUGINS_DISABLED", ConfigType::String, "", false,
       "plugins not to load, comma-separated"},
      {"PLUGINS_DISABLED", ConfigType::String, "", false, "jarvis.yaml plugins.disabled (list)"},
      {"JARVIS_PLUGINS_REQUIRED", ConfigType::String, "", false,
       "plugins whose failure stops start-up"},
      {"JARVIS_PLUGIN_DRAIN_SECONDS", ConfigType::Int, "30", false,
       "at shutdown, wait this long for calls still running in plugin code; on timeout the "
       "process exits (code 1) without destroying plugin objects"},
      {"WEB_DIST_DIR", ConfigType::String, "web/dist", false, "static web UI directory"},
      {"WEB_CORS_ORIGINS", ConfigType::String, "", false,
       "allowed browser origins, comma-separated"},
      {"LOG_LEVEL", ConfigType::String, "info", false, "trace, debug, info, warn, error"},
      {"TASK_RUNNER_MAX_CONCURRENT", ConfigType::Int, "4", false, "task worker threads"},
      {"TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS", ConfigType::Int, "30", false,
       "drain limit at shutdown/restart"},
      {"TASK_RUNNER_LEASE_SECONDS", ConfigType::Int, "30", false,
       "task lease; a dead host's tasks are re-claimed after it"},
      {"SCHEDULER_MAX_CATCHUP", ConfigType::Int, "10", false,
       "slots dispatched per schedule after downtime"},
      {"SCHEDULER_TZ", ConfigType::String, "UTC", false, "time zone for cron schedules"},
      {"SCHEDULER_TICK_MS", ConfigType::Int, "1000", false,
       "scheduler tick interval in milliseconds"},
      {"TASK_RETENTION_DAYS", ConfigType::Int, "7", false,
       "finished tasks and dispatch records are purged after this many days"},
      {"TASK_MAX_PAYLOAD_BYTES", ConfigType::Int, "65536", false,
       "largest task or schedule payload (serialized JSON)"},
      {"SCHEDULES_MAX_PER_USER", ConfigType::Int, "50", false,
       "schedules one non-admin user may own"},
      {"SCHEDULES_MIN_INTERVAL_SECONDS", ConfigType::Int, "60", false,
       "shortest interval a non-admin's schedule may fire at"},
      {"SCHEDULES_MAX_PAYLOAD_BYTES", ConfigType::Int, "8192", false,
       "largest payload of a non-admin's schedule"},
  };
  return decls;
}

std::string redact_url(const std::string& value) {
  auto scheme = value.find("://");
  if (scheme == std::string::npos) return value;
  auto at = value.find('@', scheme + 3);
  if (at == std::string::npos) return value;
  auto colon = value.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return value;
  return value.substr(0, colon + 1) + "***" + value.substr(at);
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

HostSettings HostSettings::from(const ConfigStore& store) {
  std::map<std::string, std::string> v;
  for (const auto& d : host_setting_decls()) {
    auto cv = store.get(d.key);
    std::string value = cv ? cv->value : d.default_value;
    if (cv && !(d.type == ConfigType::Int && value.empty())) {
      std::string problem = check_config_value(d.type, value);
      if (!problem.empty()) {
        throw std::runtime_error("invalid config " + d.key + "=" +
                                 (d.secret ? std::string("***") : "'" + value + "'") + " from " +
                                 cv->origin + ": " + problem);
      }
    }
    if (d.type == ConfigType::Int && value.empty()) value = d.default_value;
    v[d.key] = value;
  }
  auto int_in = [&](const std::string& key, long long lo, long long hi) {
    long long n = std::stoll(v[key]);
    if (n < lo || n > hi) {
      auto cv = store.get(key);
      throw std::runtime_error("invalid config " + key + "=" + v[key] + " from " +
                               (cv ? cv->origin : "default") + ": expected int in [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return n;
  };

  HostSettings s;
  s.database_url = v["DATABASE_URL"].empty() ? v["APP_DB"] : v["DATABASE_URL"];
  s.bind_host = v["BIND_HOST"];
  s.bind_port = static_cast<int>(int_in("BIND_PORT", 0, 65535));
  s.http_threads = static_cast<int>(int_in("JARVIS_HTTP_THREADS", 0, 256));
  if (s.http_threads == 0) s.http_threads = std::max(1u, std::thread::hardware_concurrency());
  s.http_max_body_bytes =
      static_cast<std::size_t>(int_in("JARVIS_HTTP_MAX_BODY_BYTES", 1, 1LL << 32));
  s.http_max_connections =
      static_cast<std::size_t>(int_in("JARVIS_HTTP_MAX_CONNECTIONS", 0, 10000000));
  s.http_max_connections_per_ip =
      static_cast<std::size_t>(int_in("JARVIS_HTTP_MAX_CONNECTIONS_PER_IP", 0, 10000000));
  s.handler_threads = static_cast<std::size_t>(int_in("JARVIS_HANDLER_THREADS", 0, 1024));
  if (s.handler_threads == 0) s.handler_threads = default_handler_threads();
  s.handler_queue = static_cast<std::size_t>(int_in("JARVIS_HANDLER_QUEUE", 0, 1000000));
  s.stream_max_buffer_bytes =
      static_cast<std::size_t>(int_in("JARVIS_STREAM_MAX_BUFFER_BYTES", 1024, 1LL << 32));
  s.sse_keepalive = std::chrono::seconds(int_in("JARVIS_SSE_KEEPALIVE_SECONDS", 0, 86400));
  s.stream_max_duration = std::chrono::seconds(int_in("JARVIS_STREAM_MAX_SECONDS", 0, 31536000));
  s.db_pool_size = static_cast<std::size_t>(int_in("JARVIS_DB_POOL_SIZE", 1, 256));
  s.plugin_dirs = split(v["JARVIS_PLUGIN_DIRS"], ':');
  for (auto& p : split(v["JARVIS_PLUGINS_DISABLED"], ',')) s.plugins_disabled.insert(p);
  for (auto& p : split(v["PLUGINS_DISABLED"], ',')) s.plugins_disabled.insert(p);
  for (auto& p : split(v["JARVIS_PLUGINS_REQUIRED"], ',')) s.plugins_required.insert(p);
  s.plugin_drain_timeout = std::chrono::seconds(int_in("JARVIS_PLUGIN_DRAIN_SECONDS", 0, 86400));
  s.web_dist_dir = v["WEB_DIST_DIR"];
  s.log_level = v["LOG_LEVEL"];
  static const std::set<std::string> levels = {"trace", "debug",    "info", "warn",
                                               "error", "critical", "off"};
  if (!levels.count(s.log_level)) {
    auto cv = store.get("LOG_LEVEL");
    throw std::runtime_error("invalid config LOG_LEVEL='" + s.log_level + "' from " +
                             (cv ? cv->origin : "default") +
                             ": expected one of trace, debug, info, warn, error, critical, off");
  }
  s.task_max_concurrent = static_cast<int>(int_in("TASK_RUNNER_MAX_CONCURRENT", 1, 1024));
  s.task_shutdown_timeout =
      std::chrono::seconds(int_in("TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS", 0, 86400));
  s.task_lease = std::chrono::seconds(int_in("TASK_RUNNER_LEASE_SECONDS", 2, 86400));
  s.scheduler_max_catchup = static_cast<int>(int_in("SCHEDULER_MAX_CATCHUP", 0, 100000));
  s.scheduler_tz = v["SCHEDULER_TZ"];
  s.scheduler_interval = std::chrono::milliseconds(int_in("SCHEDULER_TICK_MS", 50, 3600000));
  s.task_retention = std::chrono::hours(24 * int_in("TASK_RETENTION_DAYS", 1, 36500));
  s.task_max_payload_bytes =
      static_cast<std::size_t>(int_in("TASK_MAX_PAYLOAD_BYTES", 1024, 64 * 1024 * 1024));
  s.schedules_max_per_user = static_cast<int>(int_in("SCHEDULES_MAX_PER_USER", 0, 1000000));
  s.schedules_min_interval_seconds = int_in("SCHEDULES_MIN_INTERVAL_SECONDS", 1, 31536000);
  s.schedules_max_payload_bytes =
      static_cast<std::size_t>(int_in("SCHEDULES_MAX_PAYLOAD_BYTES", 2, 64 * 1024 * 1024));
  return s;
}

}  // namespace jarvis::host
