// host/src/cli/host_commands.cpp — serve, migrate, doctor, plugins, config, routes, version.
#include "cli/host_commands.h"

#include "cli/ops_commands.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include "auth/auth_settings.h"
#include "config/host_settings.h"
#include "system/build_commit.h"
#include "system/system_state.h"
#include "core/app.h"
#include "db/backup_service.h"
#include "db/migrations.h"
#include "db/sql_database.h"
#include "http/router.h"
#include "jarvis/commands.h"
#include "jarvis/json.h"
#include "jarvis/version.h"
#include "core/plugin_report.h"
#include "plugins/plugin_manager.h"

namespace fs = std::filesystem;

namespace jarvis::host {
namespace {

/// Configuration values and file names are bytes, not UTF-8: invalid sequences print as U+FFFD
/// instead of throwing json's type_error 316 (which left stdout empty).
void print_json(std::ostream& out, const jarvis::Json& j) {
  out << j.dump(2, ' ', false, jarvis::Json::error_handler_t::replace) << "\n";
}

size_t append_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > (4u << 20)) return 0;  // a /readyz body is small; stop otherwise
  body->append(data, size * n);
  return size * n;
}

/// The /readyz body of a jarvis server listening on this configuration's BIND_HOST:BIND_PORT,
/// or nullopt when nothing (or something that is not jarvis) answers within a second.
std::optional<jarvis::Json> ask_running_server(const HostSettings& s, std::string& url) {
  std::string host = s.bind_host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  url = "http://" + host + ":" + std::to_string(s.bind_port);
  CURL* curl = curl_easy_init();
  if (!curl) return std::nullopt;
  std::string body;
  const std::string readyz = url + "/readyz";
  curl_easy_setopt(curl, CURLOPT_URL, readyz.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 3000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || (status != 200 && status != 503)) return std::nullopt;
  auto j = jarvis::Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("plugins") || !j["plugins"].is_array()) {
    return std::nullopt;
  }
  return j;
}

}  // namespace

int cmd_version(const std::vector<std::string>& args, std::ostream& out) {
  Args a = Args::parse(args, {"--json"}, {});
  std::string sdk =
      std::to_string(JARVIS_SDK_VERSION_MAJOR) + "." + std::to_string(JARVIS_SDK_VERSION_MINOR);
  if (a.flag("--json")) {
    print_json(out, {{"version", JARVIS_VERSION},
                     {"sdk", sdk},
                     {"abi", JARVIS_ABI_TAG},
                     {"commit", running_commit()}});
  } else {
    out << "jarvis " << JARVIS_VERSION << " (sdk " << sdk << ", abi " << JARVIS_ABI_TAG
        << ", commit " << running_commit() << ")\n";
  }
  return 0;
}

int cmd_serve(CliContext& ctx, const std::vector<std::string>& args) {
  Args a = Args::parse(args, {"--no-migrate"}, {});
  Application app(ctx.store, ctx.cwd);
  app.init(AppMode::Serve);
  return app.serve(!a.flag("--no-migrate"));
}

int cmd_migrate(CliContext& ctx, const std::vector<std::string>& args) {
  Args a = Args::parse(args, {"--status", "--json"}, {});
  Application app(ctx.store, ctx.cwd);
  app.init(AppMode::Command);
  if (a.flag("--status")) {
    MigrationRunner runner(app.db());
    auto states = runner.status(app.migration_sources());
    bool current = true;
    jarvis::Json items = jarvis::Json::array();
    for (const auto& s : states) {
      std::string state = s.checksum_mismatch ? "edited" : (s.applied ? "applied" : "pending");
      if (state != "applied") current = false;
      items.push_back({{"component", s.file.component},
                       {"version", s.file.version},
                       {"name", s.file.name},
                       {"state", state},
                       {"applied_at", s.applied_at}});
      if (!a.flag("--json")) {
        ctx.out << std::left << std::setw(12) << s.file.component << " " << s.file.version << "_"
                << std::setw(32) << s.file.name << " " << state
                << (s.applied ? "  " + s.applied_at : "") << "\n";
      }
    }
    if (a.flag("--json")) print_json(ctx.out, {{"current", current}, {"migrations", items}});
    return current ? 0 : 1;
  }
  std::ostringstream applied;
  int n = app.migrate(applied);
  const auto& failures = app.migration_failures();
  if (a.flag("--json")) {
    jarvis::Json failed = jarvis::Json::array();
    for (const auto& [plugin, why] : failures)
      failed.push_back({{"plugin", plugin}, {"error", why}});
    print_json(ctx.out, {{"applied", n}, {"database", app.db().display_url()}, {"failed", failed}});
  } else {
    ctx.out << applied.str()
            << (n == 0 ? "migrations: nothing to apply"
                       : "migrations: applied " + std::to_string(n))
            << " (" << app.db().display_url() << ")\n";
  }
  // A deploy script must not believe a half-migrated database: any plugin failure is exit 1.
  for (const auto& [plugin, why] : failures) {
    ctx.err << "jarvis migrate: plugin '" << plugin << "' migration failed: " << why << "\n";
  }
  return failures.empty() ? 0 : 1;
}

int cmd_plugins(CliContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "list" && args[0] != "info")) {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      ctx.out
          << "usage: jarvis plugins list [--json] [--local] | jarvis plugins info NAME [--json]\n";
      return 0;
    }
    ctx.err
        << "usage: jarvis plugins list [--json] [--local] | jarvis plugins info NAME [--json]\n";
    return 2;
  }
  Args a = Args::parse(std::vector<std::string>(args.begin() + 1, args.end()),
                       {"--json", "--local"}, {});
  Application app(ctx.store, ctx.cwd);
  // A diagnostic command: a plugin with a bad config value is listed (refused, config_invalid),
  // it does not make the listing itself fail.
  app.init(AppMode::Command, /*plugin_errors_fatal=*/false);
  auto list = app.plugins().list();
  if (args[0] == "list") {
    // Whose view: a running server's states (started, health) when one answers on this
    // configuration's BIND_HOST:BIND_PORT, else this CLI process's own (set up, never started).
    std::string server_url;
    std::optional<jarvis::Json> server;
    if (!a.flag("--local")) server = ask_running_server(app.settings(), server_url);
    std::map<std::string, jarvis::Json> remote;
    if (server) {
      for (const auto& p : (*server)["plugins"]) {
        if (p.is_object() && p.contains("name")) remote[p.value("name", "")] = p;
      }
    }
    jarvis::Json items = jarvis::Json::array();
    for (const auto& p : list) {
      jarvis::Json item = plugin_info_json(p);
      auto it = remote.find(p.name);
      if (it != remote.end()) {
        item["state"] = it->second.value("state", item["state"].get<std::string>());
        item["reason"] = it->second.value("reason", "");
        if (it->second.contains("health")) item["health"] = it->second["health"];
        if (it->second.contains("health_detail")) {
          item["health_detail"] = it->second["health_detail"];
        }
        remote.erase(it);
      }
      items.push_back(std::move(item));
    }
    for (const auto& [name, p] : remote) items.push_back(p);  // only the server has it
    const std::string view = server ? "server" : "local";
    const std::string note =
        server ? "states reported by the jarvis server at " + server_url
               : "states of this CLI process (plugins are set up here, never started); no server "
                 "answered at " +
                     (server_url.empty() ? std::string("--local") : server_url + "/readyz");
    if (a.flag("--json")) {
      jarvis::Json out = {{"view", view}, {"view_note", note}, {"plugins", items}};
      if (server) out["server"] = server_url;
      print_json(ctx.out, out);
      return 0;
    }
    ctx.out << "view: " << view << " (" << note << ")\n";
    ctx.out << std::left << std::setw(20) << "NAME" << std::setw(10) << "VERSION" << std::setw(12)
            << "STATE" << std::setw(10) << "HEALTH"
            << "REASON\n";
    for (const auto& p : items) {
      std::string reason = p.value("reason", "");
      if (reason.empty()) reason = p.value("health_detail", "");
      ctx.out << std::left << std::setw(20) << p.value("name", "") << std::setw(10)
              << p.value("version", "") << std::setw(12) << p.value("state", "") << std::setw(10)
              << p.value("health", "-") << reason << "\n";
    }
    return 0;
  }
  const std::string& name = a.positional(0, "NAME");
  for (const auto& p : list) {
    if (p.name != name) continue;
    jarvis::Json j = plugin_info_json(p);
    j["config"] = plugin_config_json(p);
    if (a.flag("--json")) {
      print_json(ctx.out, j);
    } else {
      // Columns as wide as their longest entry, so long keys never run into the next column.
      std::size_t key_w = 0, env_w = 0, type_w = 0;
      for (auto it = j.begin(); it != j.end(); ++it) key_w = std::max(key_w, it.key().size() + 1);
      for (const auto& c : j["config"]) {
        env_w = std::max(env_w, c.value("env", "").size());
        type_w = std::max(type_w, c.value("type", "").size());
      }
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "config") continue;
        ctx.out << std::left << std::setw(static_cast<int>(key_w + 1)) << (it.key() + ":")
                << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump())
                << "\n";
      }
      ctx.out << "config:\n";
      for (const auto& c : j["config"]) {
        const std::string constraints = c.value("constraints", "");
        ctx.out << "  " << std::left << std::setw(static_cast<int>(env_w + 2)) << c.value("env", "")
                << std::setw(static_cast<int>(type_w + 1)) << c.value("type", "") << "= "
                << c.value("value", "") << "  (" << c.value("source", "") << ")"
                << (constraints.empty() ? "" : "  [" + constraints + "]") << "\n";
      }
    }
    return 0;
  }
  ctx.err << "jarvis plugins info: no plugin named '" << name << "'\n";
  return 1;
}

int cmd_config(CliContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "show") {
    ctx.err << "usage: jarvis config show [--json]\n";
    return 2;
  }
  Args a = Args::parse(std::vector<std::string>(args.begin() + 1, args.end()), {"--json"}, {});
  jarvis::Json host = jarvis::Json::array();
  std::vector<SettingDecl> decls = host_setting_decls();
  for (const auto* extra :
       {&auth_setting_decls(), &system_setting_decls(), &backup_setting_decls()}) {
    decls.insert(decls.end(), extra->begin(), extra->end());
  }
  for (const auto& d : decls) {
    auto v = ctx.store.get(d.key);
    std::string value = v ? v->value : d.default_value;
    if (d.secret && !value.empty()) value = d.key == "DATABASE_URL" ? redact_url(value) : "***";
    host.push_back({{"key", d.key},
                    {"value", value},
                    {"type", to_string(d.type)},
                    {"source", v ? v->origin : "default"},
                    {"secret", d.secret},
                    {"description", d.description}});
  }
  // Validate first: a bad value is reported, not shown as if it were fine.
  HostSettings::from(ctx.store);
  // Plugins' keys need the plugins set up; when that fails (an unreachable database, a bad plugin
  // value) the host's keys are still shown and the reason is reported.
  jarvis::Json plugins = jarvis::Json::object();
  std::string plugin_error;
  try {
    Application app(ctx.store, ctx.cwd);
    app.init(AppMode::Command, /*plugin_errors_fatal=*/false);
    for (const auto& p : app.plugins().list()) {
      plugins[p.name] = plugin_config_json(p);
      if (p.reason_code == "config_invalid") {
        ctx.err << "jarvis config show: " << p.reason << "\n";
        plugin_error = p.reason;
      }
    }
  } catch (const std::exception& e) {
    plugin_error = e.what();
    ctx.err << "jarvis config show: plugin configuration unavailable: " << plugin_error << "\n";
  }
  if (a.flag("--json")) {
    jarvis::Json out = {{"host", host}, {"plugins", plugins}};
    if (!plugin_error.empty()) out["plugins_error"] = plugin_error;
    print_json(ctx.out, out);
    return 0;
  }
  auto row = [&](const jarvis::Json& c, const std::string& keyfield) {
    ctx.out << "  " << std::left << std::setw(40) << c.value(keyfield, "") << " = " << std::setw(24)
            << c.value("value", "") << " (" << c.value("source", "") << ")\n";
  };
  ctx.out << "host:\n";
  for (const auto& c : host) row(c, "key");
  for (auto it = plugins.begin(); it != plugins.end(); ++it) {
    ctx.out << it.key() << ":\n";
    for (const auto& c : it.value()) row(c, "env");
  }
  return 0;
}

int cmd_routes(CliContext& ctx, const std::vector<std::string>& args) {
  Args a = Args::parse(args, {"--json", "--markdown"}, {});
  Application app(ctx.store, ctx.cwd);
  app.init(AppMode::Command);
  auto routes = app.router().routes();
  if (a.flag("--json")) {
    jarvis::Json items = jarvis::Json::array();
    for (const auto& r : routes) {
      items.push_back({{"method", r->spec.method},
                       {"path", r->spec.path},
                       {"auth", jarvis::to_string(r->spec.auth)},
                       {"owner", r->owner.name},
                       {"summary", r->spec.summary}});
    }
    print_json(ctx.out, {{"routes", items}});
    return 0;
  }
  if (a.flag("--markdown")) {
    ctx.out
        << "# API reference\n\n"
           "Generated from the route table by `jarvis routes --markdown` (`make docs`); do not "
           "edit by hand.\n"
           "Auth levels: `public` (anyone), `user` (401 without a valid session or token), `admin` "
           "(401 anonymous, 403 for users), `webhook` (the route verifies its caller itself).\n"
           "Errors are JSON: `{\"error\":{\"code\",\"message\",\"request_id\"}}`.\n\n"
           "| Method | Path | Auth | Owner | Summary |\n|---|---|---|---|---|\n";
    for (const auto& r : routes) {
      ctx.out << "| " << r->spec.method << " | `" << r->spec.path << "` | "
              << jarvis::to_string(r->spec.auth) << " | " << r->owner.name << " | "
              << r->spec.summary << " |\n";
    }
    ctx.out << "\nWebSocket: `GET /ws` (upgrade; user — `jarvis_session` cookie or `Authorization: "
               "Bearer`, "
               "never a query token). Actions `subscribe {thread_id}`, `unsubscribe {thread_id}`, "
               "`subscribe_system` (admin); see docs/runbook.md.\n";
    return 0;
  }
  for (const auto& r : routes) {
    ctx.out << std::left << std::setw(7) << r->spec.method << std::setw(48) << r->spec.path
            << std::setw(9) << jarvis::to_string(r->spec.auth) << r->owner.name << "\n";
  }
  return 0;
}

}  // namespace jarvis::host

namespace jarvis::host {
namespace {

struct Check {
  std::string name;
  bool passed;
  std::string message;
  std::string fix_hint;
  /// Plugin checks: the running server's health report of the plugin (null without a server).
  jarvis::Json health = nullptr;
  /// Dependency checks: {dependency, plugin, env, url, outage_class, …} (ops_commands.h).
  jarvis::Json dependency = nullptr;
};

// True when `host:port` can be bound right now (nobody listens there).
bool port_free(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) {
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
  }
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool dir_writable(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return ::access(dir.c_str(), W_OK) == 0;
}

}  // namespace

int cmd_doctor(CliContext& ctx, const std::vector<std::string>& args) {
  Args a = Args::parse(args, {"--json", "--fix", "--offline"}, {"--probe-timeout-ms"});
  std::vector<Check> checks;
  std::vector<std::string> fixed;

  fs::path env_file = fs::path(ctx.cwd) / ".env";
  fs::path example = fs::path(ctx.cwd) / ".env.example";
  if (!fs::exists(env_file) && a.flag("--fix") && fs::exists(example)) {
    fs::copy_file(example, env_file);
    fixed.push_back("created .env from .env.example");
  }
  checks.push_back(
      {".env", fs::exists(env_file),
       fs::exists(env_file) ? ".env present" : ".env missing (defaults and environment are used)",
       "jarvis doctor --fix copies .env.example to .env"});
  // .env is optional: its absence is reported but does not fail the doctor.
  checks.back().passed = true;

  std::optional<HostSettings> settings;
  try {
    settings = HostSettings::from(ctx.store);
    checks.push_back({"config", true, "host configuration valid", ""});
  } catch (const std::exception& e) {
    checks.push_back(
        {"config", false, e.what(), "fix the value in .env, jarvis.yaml or the environment"});
  }

  std::unique_ptr<Application> app;
  if (settings) {
    try {
      app = std::make_unique<Application>(ctx.store, ctx.cwd);
      app->init(AppMode::Command);
      checks.push_back({"database", true, "reachable: " + app->db().display_url(), ""});
    } catch (const std::exception& e) {
      checks.push_back({"database_and_plugins", false, e.what(),
                        "check APP_DB / DATABASE_URL and the plugin configuration"});
      app.reset();
    }
  }
  if (app) {
    std::string problem;
    bool current = app->migrations_current(&problem);
    if (!current && a.flag("--fix") && problem.rfind("pending", 0) == 0) {
      std::ostringstream applied;
      try {
        int n = app->migrate(applied);
        fixed.push_back("applied " + std::to_string(n) + " migration(s)");
        current = app->migrations_current(&problem);
      } catch (const std::exception& e) {
        problem = e.what();
      }
    }
    checks.push_back({"migrations", current, current ? "all migrations applied" : problem,
                      "jarvis migrate (or jarvis doctor --fix)"});
    // Plugin health (with the plugin's structured details) is what a running server reports;
    // without one, this process's view (plugins set up here, never started: no health).
    std::string server_url;
    std::map<std::string, jarvis::Json> served;
    if (auto server = ask_running_server(app->settings(), server_url)) {
      for (const auto& p : (*server)["plugins"]) {
        if (p.is_object() && p.contains("name")) served[p.value("name", "")] = p;
      }
    }
    for (const auto& p : app->plugins().list()) {
      bool ok = p.state != PluginState::Refused && p.state != PluginState::Failed;
      checks.push_back({"plugin:" + p.name, ok,
                        std::string(to_string(p.state)) + (p.reason.empty() ? "" : ": " + p.reason),
                        ok ? "" : "see jarvis plugins info " + p.name});
      auto it = served.find(p.name);
      if (it == served.end()) continue;
      jarvis::Json health = {{"source", server_url + "/readyz"},
                             {"state", it->second.value("state", "")}};
      for (const char* key : {"health", "health_detail", "health_details"}) {
        if (it->second.contains(key)) health[key] = it->second[key];
      }
      checks.back().health = std::move(health);
    }
  }
  if (settings) {
    bool free = port_free(settings->bind_host, settings->bind_port);
    const std::string where = settings->bind_host + ":" + std::to_string(settings->bind_port);
    // A busy port held by a jarvis that answers /readyz is this host running, not a conflict.
    std::string running_url;
    const bool running = !free && ask_running_server(*settings, running_url).has_value();
    checks.push_back(
        {"port", free || running,
         where + (free      ? " is free"
                  : running ? " is in use by a running jarvis (" + running_url + "/readyz answered)"
                            : " is in use by another process (not a jarvis answering /readyz)"),
         free || running ? "" : "stop the other process or set BIND_PORT"});
    std::vector<fs::path> dirs{fs::path(ctx.cwd) / "var"};
    if (settings->database_url.find("://") == std::string::npos ||
        settings->database_url.rfind("sqlite://", 0) == 0) {
      std::string path = settings->database_url;
      if (path.rfind("sqlite://", 0) == 0) path = path.substr(9);
      fs::path dbp(path);
      if (dbp.is_relative()) dbp = fs::path(ctx.cwd) / dbp;
      dirs.push_back(dbp.parent_path());
    }
    for (const auto& d : dirs) {
      bool w = dir_writable(d);
      checks.push_back({"writable:" + d.string(), w, w ? "writable" : "not writable",
                        "fix the directory's permissions or point APP_DB elsewhere"});
    }
  }

  // External dependencies (model providers, GitHub, Evolution API, transcription, embeddings):
  // one short unauthenticated GET each, with the outage class of a failure (decision 0060).
  if (!a.flag("--offline")) {
    long timeout_ms = 3000;
    try {
      timeout_ms = std::stol(a.option("--probe-timeout-ms", "3000"));
    } catch (const std::exception&) {
      throw jarvis::UsageError("--probe-timeout-ms wants a number of milliseconds");
    }
    if (timeout_ms < 1 || timeout_ms > 60000) {
      throw jarvis::UsageError("--probe-timeout-ms must be between 1 and 60000");
    }
    for (auto& d : dependency_checks(ctx.store, timeout_ms)) {
      checks.push_back({d.name, d.passed, d.message, d.fix_hint});
      checks.back().dependency = std::move(d.detail);
    }
  }

  bool all = std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
  if (a.flag("--json")) {
    jarvis::Json items = jarvis::Json::array();
    for (const auto& c : checks) {
      items.push_back({{"name", c.name},
                       {"passed", c.passed},
                       {"message", c.message},
                       {"fix_hint", c.fix_hint}});
      if (!c.health.is_null()) items.back()["health"] = c.health;
      if (!c.dependency.is_null()) {
        for (auto it = c.dependency.begin(); it != c.dependency.end(); ++it) {
          items.back()[it.key()] = it.value();
        }
      }
    }
    print_json(ctx.out, {{"ok", all},
                         {"version", JARVIS_VERSION},
                         {"commit", running_commit()},
                         {"checks", items},
                         {"fixed", fixed}});
  } else {
    for (const auto& f : fixed) ctx.out << "fixed: " << f << "\n";
    for (const auto& c : checks) {
      ctx.out << (c.passed ? "[ ok ] " : "[FAIL] ") << c.name << ": " << c.message;
      if (!c.passed && !c.fix_hint.empty()) ctx.out << "  → " << c.fix_hint;
      ctx.out << "\n";
    }
    ctx.out << "jarvis " << JARVIS_VERSION << ", commit " << running_commit() << "\n"
            << (all ? "doctor: all checks passed\n" : "doctor: some checks failed\n");
  }
  return all ? 0 : 1;
}

}  // namespace jarvis::host
