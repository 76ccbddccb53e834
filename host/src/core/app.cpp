// host/src/core/app.cpp — wiring: services, registries, plugins, migrations and the serve loop.
#include "core/app.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "auth/auth_service.h"
#include "auth/auth_settings.h"
#include "auth/permissions.h"
#include "auth/thread_owners.h"
#include "core/install_layout.h"
#include "core/system_routes.h"
#include "events/event_query.h"
#include "events/event_relay.h"
#include "db/backup_service.h"
#include "db/migrations.h"
#include "db/serve_lock.h"
#include "db/sql_database.h"
#include "http/connection_limits.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "jarvis/error.h"
#include "net/http_client.h"
#include "observability/metrics.h"
#include "plugins/plugin_manager.h"
#include "plugins/shutdown_watchdog.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "registry/tool_registry.h"
#include "registry/tool_routes.h"
#include "system/service_notify.h"
#include "system/system_state.h"
#include "tasks/task_commands.h"
#include "tasks/task_routes.h"
#include "tasks/task_service.h"
#include "ws/ws_hub.h"

namespace fs = std::filesystem;

namespace jarvis::host {

// Registries and services, destroyed after the plugin manager (see Application's members).
struct Application::Parts {
  MetricsRegistry metrics;
  Router router;
  CommandTable commands;
  PolicyRegistryImpl policies;
  std::unique_ptr<EventBusImpl> events;
  std::unique_ptr<ToolRegistryImpl> tools;
  std::unique_ptr<BackupService> backups;  // outlives the task workers that run system.backup
  std::unique_ptr<TaskService> tasks;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<ThreadOwners> thread_owners;
  std::unique_ptr<SystemState> system;  // outlives the tool registry's flags (destroyed first)
  /// Shared flock on <real db path>.serving, taken before the database is opened by any command
  /// (serve, migrate, doctor --fix, users …): `jarvis db restore` and restore_db.sh take it
  /// exclusively, so neither swaps a file a process has open (decision 0057).
  std::unique_ptr<ServeLock> db_lock;
};

Application::Application(ConfigStore store, std::string workdir)
    : store_(std::move(store)),
      settings_(HostSettings::from(store_)),
      workdir_(std::move(workdir)),
      started_(std::chrono::steady_clock::now()),
      parts_(std::make_unique<Parts>()) {}

Application::~Application() {
  // Plugins first (they hold Host views onto the parts), then everything else.
  if (plugins_) plugins_->stop_all();
  plugins_.reset();
}

Router& Application::router() { return parts_->router; }
CommandTable& Application::commands() { return parts_->commands; }
SystemState& Application::system_state() { return *parts_->system; }

void Application::init(AppMode mode, bool plugin_errors_fatal) {
  mode_ = mode;
  Parts& p = *parts_;
  register_process_collector(p.metrics);

  if (mode != AppMode::Offline) {
    if (std::string lock = serve_lock_path(settings_.database_url); !lock.empty()) {
      // Throws when a restore holds the lock: nothing is opened. The directory as SqlDatabase
      // would create it.
      std::error_code dir_ec;
      fs::create_directories(fs::path(lock).parent_path(), dir_ec);
      p.db_lock = ServeLock::acquire_shared(lock, "pid " + std::to_string(::getpid()));
    }
    db_ = SqlDatabase::open(settings_.database_url, settings_.db_pool_size);
    db_->set_session_timeout(
        SqlDatabase::parse_session_timeout(store_.get_or("JARVIS_DB_SESSION_TIMEOUT_MS", "")));
  }
  p.events = std::make_unique<EventBusImpl>(db_.get(), &p.metrics);
  p.tools = std::make_unique<ToolRegistryImpl>(db_.get(), p.policies, p.events.get());
  p.http = std::make_unique<CurlHttpClient>();
  if (db_) {
    p.tasks = std::make_unique<TaskService>(*db_, p.events.get(), &p.metrics);
    p.tasks->set_limits({.max_payload_bytes = settings_.task_max_payload_bytes});
    p.auth = std::make_unique<AuthService>(*db_, p.events.get(), AuthSettings::from(store_));
    p.thread_owners = std::make_unique<ThreadOwners>(*db_);
    p.events->add_owner_removal_hook([owners = p.thread_owners.get()](const std::string& name) {
      owners->live().remove_owner(name);
    });
    p.system = std::make_unique<SystemState>(*db_, p.events.get(), SystemOptions::from(store_),
                                             &p.metrics);
    p.tools->set_system_flags(p.system->flags());
    // Plugins asking SystemControl::status() get the GET /api/v1/system/status document.
    p.system->set_status_source([this] { return system_status(*this); });
  }

  services_.config = &store_;
  services_.db = db_.get();
  services_.routes = &p.router;
  services_.tools = p.tools.get();
  services_.policies = &p.policies;
  services_.tasks = p.tasks.get();
  services_.commands = &p.commands;
  services_.events = p.events.get();
  services_.http = p.http.get();
  services_.metrics = &p.metrics;
  services_.system = p.system.get();
  services_.threads = p.thread_owners.get();

  register_system_routes(*this);
  if (db_) {
    register_task_routes(p.router, *p.tasks, *db_);
    register_task_commands(p.commands, *p.tasks, *db_);
    register_auth_routes(p.router, *p.auth);
    register_auth_commands(p.commands, *p.auth);
    register_permission_routes(p.router, *db_, p.events.get());
    register_permission_commands(p.commands, *db_, p.events.get());
    register_tool_api(p.router, p.commands, *p.tools, *db_);
    register_event_routes(p.router, *db_);
    add_system_state_routes(p.router, *p.system);
    add_system_state_tasks(*p.tasks, *p.system);
    // Snapshots: the periodic job, and SystemControl::backup_now for destructive admin operations.
    p.backups = std::make_unique<BackupService>(settings_.database_url,
                                                BackupSettings::from(store_), p.events.get());
    add_backup_tasks(*p.tasks, *p.backups);
    p.system->set_backup_source([backups = p.backups.get()](const std::string& reason) {
      try {
        return backups->backup_now(reason).to_json();
      } catch (const BackupError& e) {
        throw jarvis::Error(503, "backup_failed", e.what());
      }
    });
  }

  PluginManagerOptions opts;
  opts.plugin_dirs.push_back(default_plugin_dir());  // <root>/lib/jarvis/plugins
  for (const auto& d : settings_.plugin_dirs) opts.plugin_dirs.push_back(d);
  opts.disabled = settings_.plugins_disabled;
  opts.required = settings_.plugins_required;
  opts.drain_timeout = settings_.plugin_drain_timeout;
  plugins_ = std::make_unique<PluginManager>(services_, opts);
  plugins_->discover();
  PluginOutcome loaded = plugins_->load_all();
  // Diagnostic commands (plugins list/info) must list even when a plugin's config is bad.
  if (plugin_errors_fatal) throw_if_fatal(loaded);
}

void Application::throw_if_fatal(const PluginOutcome& outcome) {
  if (!outcome.fatal) return;
  std::string msg;
  for (const auto& e : outcome.errors) msg += (msg.empty() ? "" : "\n") + e;
  throw std::runtime_error(msg);
}

std::vector<MigrationSource> Application::migration_sources() const {
  std::vector<MigrationSource> out{{"host", host_migrations_dir()}};
  if (plugins_) {
    for (auto& s : plugins_->migration_sources()) out.push_back(s);
  }
  return out;
}

int Application::migrate(std::ostream& out) {
  MigrationRunner runner(*db_);
  auto sources = migration_sources();
  int count = 0;
  auto report = [&](const std::vector<MigrationFile>& applied) {
    for (const auto& f : applied)
      out << "applied " << f.component << " " << f.version << " " << f.name << "\n";
    count += static_cast<int>(applied.size());
  };
  // Migrations cannot be undone: a database that already has a schema gets a verified snapshot
  // before pending ones run, and none run without it (BACKUP_BEFORE_MIGRATE; decision 0056).
  if (parts_->backups && parts_->backups->settings().before_migrate &&
      parts_->backups->supported()) {
    bool has_schema = false;
    std::string pending;
    for (const auto& st : runner.status(sources)) {
      if (st.applied) has_schema = true;
      if (!st.applied && pending.size() < 150) {
        pending += (pending.empty() ? "" : ", ") + st.file.component + "/" + st.file.version;
      }
    }
    if (has_schema && !pending.empty()) {
      try {
        BackupResult r = parts_->backups->backup_now("before migrations " + pending);
        spdlog::info("backup before migrating: {}", r.path);
      } catch (const BackupError& e) {
        throw std::runtime_error("no migrations applied: the backup before them failed (" +
                                 e.code() + "): " + e.what() +
                                 " — fix it, or set BACKUP_BEFORE_MIGRATE=0");
      }
    }
  }
  // The host's schema first: its failure is fatal (MigrationError propagates).
  report(runner.apply({sources.front()}));
  // Then each plugin: a failing plugin migration fails that plugin only (unless it is required).
  for (std::size_t i = 1; i < sources.size(); ++i) {
    try {
      report(runner.apply({sources[i]}));
      plugins_->mark_migrated(sources[i].component);
    } catch (const std::exception& e) {
      out << "failed " << sources[i].component << ": " << e.what() << "\n";
      migration_failures_.emplace_back(sources[i].component, e.what());
      throw_if_fatal(plugins_->mark_failed(sources[i].component, e.what()));
    }
  }
  plugins_->mark_all_migrated();
  return count;
}

bool Application::migrations_current(std::string* problem) {
  try {
    MigrationRunner runner(*db_);
    for (const auto& s : runner.status(migration_sources())) {
      if (s.checksum_mismatch) {
        if (problem)
          *problem =
              "edited migration " + s.file.component + "/" + s.file.version + "_" + s.file.name;
        return false;
      }
      if (!s.applied) {
        if (problem)
          *problem =
              "pending migration " + s.file.component + "/" + s.file.version + "_" + s.file.name;
        return false;
      }
    }
    return true;
  } catch (const std::exception& e) {
    if (problem) *problem = e.what();
    return false;
  }
}

jarvis::Json Application::readiness() {
  jarvis::Json body;
  bool db_ok = false;
  std::string db_error;
  try {
    auto sql = db_->session();
    int one = 0;
    *sql << "SELECT 1", soci::into(one);
    db_ok = one == 1;
  } catch (const std::exception& e) {
    db_error = e.what();
  }
  std::string problem;
  bool migrations_ok = db_ok && migrations_current(&problem);
  body["db"] = {{"ok", db_ok}};
  if (!db_error.empty()) body["db"]["error"] = db_error;
  body["migrations"] = {{"ok", migrations_ok}};
  if (!problem.empty()) body["migrations"]["detail"] = problem;
  bool required_ok = true;
  jarvis::Json plugins = jarvis::Json::array();
  auto health = plugins_->health();
  for (const auto& info : plugins_->list()) {
    jarvis::Json p = {
        {"name", info.name}, {"version", info.version}, {"state", to_string(info.state)}};
    if (!info.reason.empty()) p["reason"] = info.reason;
    for (const auto& h : health) {
      if (h.name != info.name || info.state != PluginState::Started) continue;
      p["health"] = h.health.status == jarvis::Health::Status::Healthy    ? "healthy"
                    : h.health.status == jarvis::Health::Status::Degraded ? "degraded"
                                                                          : "failed";
      if (!h.health.detail.empty()) p["health_detail"] = h.health.detail;
      if (!h.health.details.is_null()) p["health_details"] = h.health.details;
    }
    if (info.required && info.state != PluginState::Started) required_ok = false;
    plugins.push_back(p);
  }
  body["plugins"] = plugins;
  if (const HttpServer* server = http_server_.load()) {
    ServerStats st = server->stats();
    FdLimit fd = current_fd_limit();
    body["http"] = {{"connections", st.connections},
                    {"max_connections", st.max_connections},
                    {"max_connections_per_ip", st.max_connections_per_ip},
                    {"connections_shed", st.connections_shed},
                    {"connections_refused", st.connections_refused},
                    {"fd_limit", fd.soft},
                    {"fd_limit_hard", fd.hard},
                    {"handler_threads", st.handler_threads},
                    {"handler_busy", st.handler_busy},
                    {"handler_queued", st.handler_queued},
                    {"handler_queue_limit", st.handler_queue_limit},
                    {"streams_active", st.streams_active},
                    {"streams_dropped", st.streams_dropped}};
  }
  body["ok"] = db_ok && migrations_ok && required_ok;
  return body;
}

int Application::started_plugin_count() const {
  int n = 0;
  for (const auto& p : plugins_->list()) n += p.state == PluginState::Started ? 1 : 0;
  return n;
}

void Application::request_stop() {
  stop_requested_ = true;
  ::kill(::getpid(), SIGTERM);
}

int Application::serve(bool migrate_first) {
  Parts& p = *parts_;
  // Block the stop signals in every thread we start; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Every connection is a file descriptor: use the whole hard limit (the connection cap is derived
  // from it and reported in /readyz).
  FdLimit fd = raise_fd_limit();
  spdlog::info("file descriptor limit {} (hard {})", fd.soft, fd.hard);

  DispatchHooks hooks;
  // CORS: preflights are answered before routing; allowed origins get their headers on every
  // response.
  hooks.before_route = [&p](jarvis::Request& req) { return p.auth->preflight(req); };
  hooks.decorate = [&p](const jarvis::Request& req, jarvis::Response& res) {
    p.auth->decorate(req, res);
  };
  // Order: a restart in progress answers webhooks 503 first; then the route's auth level.
  hooks.authorize = [&p](jarvis::Request& req,
                         const RouteEntry& route) -> std::optional<jarvis::Response> {
    if (auto r = p.system->guard_webhook(req, route)) return r;
    return p.auth->authorize(req, route);
  };
  Dispatcher dispatcher(p.router, p.metrics, hooks);
  fs::path web = fs::path(settings_.web_dist_dir);
  if (web.is_relative()) web = fs::path(workdir_) / web;
  // The default (web/dist under the working directory) falls back to the host's own copy,
  // <root>/share/jarvis/web, so an installed host serves its UI from any directory.
  if (!fs::exists(web / "index.html") &&
      (!store_.get("WEB_DIST_DIR") ||
       store_.get("WEB_DIST_DIR")->source == ConfigSource::Default)) {
    web = installed_web_dir();
  }
  if (fs::exists(web / "index.html")) dispatcher.set_static_dir(web.string());

  ServerOptions so;
  so.host = settings_.bind_host;
  so.port = static_cast<uint16_t>(settings_.bind_port);
  so.threads = settings_.http_threads;
  so.max_body_bytes = settings_.http_max_body_bytes;
  so.max_connections = settings_.http_max_connections;
  so.max_connections_per_ip = settings_.http_max_connections_per_ip;
  so.handler_threads = settings_.handler_threads;
  so.handler_queue = settings_.handler_queue;
  so.stream_max_buffer_bytes = settings_.stream_max_buffer_bytes;
  so.sse_keepalive = settings_.sse_keepalive;
  so.stream_max_duration = settings_.stream_max_duration;
  HttpServer server(so, dispatcher);
  // Bind before anything starts (migrations, plugins, workers, scheduler): a second `serve` on a
  // busy port fails here without side effects. Accepting starts in server.start() below.
  try {
    server.listen();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  // "A host serves this database" for `jarvis db restore` (SQLite; decision 0057).
  std::unique_ptr<ServeLock> serve_lock;
  if (std::string lock = serve_lock_path(settings_.database_url); !lock.empty()) {
    try {
      serve_lock = ServeLock::acquire_shared(lock, "pid " + std::to_string(::getpid()) + " port " +
                                                       std::to_string(settings_.bind_port));
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }
  // systemd's watchdog (WatchdogSec): pings from now on, through migrations and start-up.
  WatchdogPinger watchdog_pinger;
  watchdog_pinger.start();

  if (migrate_first) {
    std::ostringstream applied;
    int n = migrate(applied);
    if (n > 0) spdlog::info("applied {} migration(s)", n);
  } else {
    std::string problem;
    if (!migrations_current(&problem)) {
      spdlog::warn("serving with --no-migrate but migrations are not current: {}", problem);
    }
    for (const auto& s : migration_sources()) {
      if (s.component != "host") plugins_->mark_migrated(s.component);
    }
    plugins_->mark_all_migrated();
  }
  p.system->refresh();  // the row exists now that the host's migrations ran
  throw_if_fatal(plugins_->start_all());

  RunnerOptions runner;
  runner.max_concurrent = settings_.task_max_concurrent;
  runner.shutdown_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.task_shutdown_timeout);
  runner.scheduler_max_catchup = settings_.scheduler_max_catchup;
  runner.lease = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.task_lease);
  runner.scheduler_tz = settings_.scheduler_tz;
  runner.scheduler_interval = settings_.scheduler_interval;
  runner.retention = settings_.task_retention;
  runner.schedule_quota = {.max_per_user = settings_.schedules_max_per_user,
                           .min_interval_seconds = settings_.schedules_min_interval_seconds,
                           .max_payload_bytes = settings_.schedules_max_payload_bytes,
                           .max_task_payload_bytes = settings_.task_max_payload_bytes};
  p.tasks->start(runner);

  WsHub hub(
      WsOptions::from(store_),
      [&p](const std::string& token) { return p.auth->authenticate_token(token); },
      [&p](const jarvis::Principal& who, const std::string& thread) {
        return p.thread_owners->may_access(who, thread);
      },
      &p.metrics,
      // Open sockets' tokens are re-checked in one query each WS_REVALIDATE_SECONDS, past the
      // token cache, so a revoke from the CLI (another process) closes them within that time.
      [&p](const std::vector<std::string>& tokens) { return p.auth->validate_tokens(tokens); });
  // An in-process revoke, disable or role change re-checks at once.
  p.auth->set_revocation_listener([&hub] { hub.revalidate_now(); });
  server.set_upgrade_handler("/ws", hub.upgrade_handler());
  p.events->set_forwarder([&hub](const jarvis::Event& e) { hub.publish(e); });
  p.thread_owners->live().set_ws_sink([&hub](const jarvis::LivePush& push) {
    hub.publish_live(push.thread_id, push.component, push.message);
  });
  // Several hosts on PostgreSQL: events stored by the others (and by the CLI) reach our /ws, and
  // so do their live pushes (and our listeners).
  std::unique_ptr<EventRelay> relay;
  if (db_->dialect() == jarvis::Dialect::Postgresql) {
    relay = std::make_unique<EventRelay>(*db_, [&hub](const jarvis::Event& e) { hub.publish(e); });
    relay->set_live_handler([this, &p](const std::string& payload) {
      if (auto push = LivePushes::parse_notification(payload, db_->origin())) {
        p.thread_owners->live().deliver_remote(std::move(*push));
      }
    });
    relay->start();
  }
  p.system->set_restart_hooks(RestartHooks{
      .drain_tasks =
          [&p](std::chrono::milliseconds t) {
            // The re-executed image (same pid) sends READY=1 again.
            notify_service_manager(reloading_message("controlled restart: draining"));
            p.tasks->stop_claiming();
            return p.tasks->drain(t);
          },
      .stop_accepting = [&server] { server.stop_accepting(); },
      .drain_http =
          [&server, &hub, &watchdog_pinger](std::chrono::milliseconds t) {
            watchdog_pinger.watch(nullptr);  // the loop stops below; the new image watches again
            hub.close_all(std::chrono::seconds(1));
            server.shutdown(t);
            return true;
          },
      .before_exec =
          [this] {
            // Plugins release their resources before the image is replaced.
            plugins_->stop_all();
          },
      .exit_process = [this](int) { request_stop(); },
  });
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (relay) relay->stop();
    p.events->set_forwarder(nullptr);  // the hub goes out of scope
    p.thread_owners->live().set_ws_sink(nullptr);
    p.tasks->stop_claiming();
    p.tasks->drain(std::chrono::seconds(5));
    plugins_->stop_all();
    return 1;
  }
  http_server_.store(&server);
  // From now on WATCHDOG=1 proves the HTTP event loop runs: a stuck loop gets no pings.
  watchdog_pinger.watch([&server](std::function<void()> f) { server.post_to_io(std::move(f)); });
  spdlog::info("jarvis {} serving on http://{}:{} ({} plugin(s) started, database {})",
               JARVIS_VERSION, settings_.bind_host, server.port(), started_plugin_count(),
               db_->display_url());

  p.system->start([this] { return readiness()["ok"].get<bool>(); });
  notify_service_manager("READY=1\nSTATUS=serving on " + settings_.bind_host + ":" +
                         std::to_string(server.port()) + "\nMAINPID=" + std::to_string(::getpid()));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  notify_service_manager("STOPPING=1\nSTATUS=shutting down");
  watchdog_pinger.watch(nullptr);  // the drain below stops the loop

  auto grace =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.task_shutdown_timeout);
  // The HTTP server and the task runner wait for handlers running in plugin code; if one is stuck
  // past every grace period, exit without destroying the plugins it runs in (nor their services).
  ShutdownWatchdog watchdog(grace + grace + settings_.plugin_drain_timeout,
                            [this] { return plugins_->busy_plugins(); });
  p.system->stop();
  server.stop_accepting();
  p.tasks->stop_claiming();
  if (relay) relay->stop();
  p.auth->set_revocation_listener(nullptr);  // the hub goes out of scope below
  hub.close_all(std::chrono::seconds(2));
  server.shutdown(grace);
  http_server_.store(nullptr);
  p.events->set_forwarder(nullptr);
  p.thread_owners->live().set_ws_sink(nullptr);
  if (!p.tasks->drain(grace))
    spdlog::warn("task drain timed out; unfinished tasks will be re-claimed");
  if (!plugins_->stop_all()) {
    // Calls are still running in plugin code: destroying the plugins or the services they use
    // would free memory under those threads. End the process here instead (no destructors).
    spdlog::error("exiting without destroying plugin objects (plugin drain timed out)");
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }
  watchdog.disarm();
  spdlog::info("stopped");
  return 0;
}

}  // namespace jarvis::host
