// maintenance/src/runner.cpp — the maintenance loop's work.
#include "runner.h"

#include <unistd.h>

#include <filesystem>

namespace maintenance {
namespace {

constexpr const char* kBugTitlePrefix = "Local maintenance check failed: ";

std::string state_get(jarvis::Host& host, const std::string& key) {
  auto sql = host.db().session();
  std::string value;
  soci::indicator ind;
  *sql << "SELECT value FROM maintenance_state WHERE key = :k", soci::use(key),
      soci::into(value, ind);
  return sql->got_data() && ind == soci::i_ok ? value : "";
}

void state_set(jarvis::Host& host, const std::string& key, const std::string& value) {
  auto sql = host.db().session();
  std::string now = jarvis::now_iso();
  *sql << "INSERT INTO maintenance_state(key, value, updated_at) VALUES(:k, :v, :t) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      soci::use(key), soci::use(value), soci::use(now);
}

}  // namespace

std::string Runner::workdir() const {
  std::string w = host_.config().get_string("workdir");
  if (!w.empty()) return w;
  return std::filesystem::current_path().string();
}

jarvis::Json Runner::run(const std::string& trigger, jarvis::CancelToken cancel) {
  const auto& cfg = host_.config();
  if (!cfg.get_bool("enabled")) return {{"ok", true}, {"skipped", "maintenance_disabled"}};
  std::unique_lock lock(run_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return {{"ok", false}, {"skipped", "already_running"}};

  std::string dir = workdir();
  auto commands = cfg.get_list("commands");
  long long timeout_ms = cfg.get_int("timeout_seconds") * 1000;
  auto cap = static_cast<std::size_t>(cfg.get_int("output_max_bytes"));
  bool create_bugs = cfg.get_bool("create_bugs");
  bool bugs_available = host_.tasks().has("bugs.report");

  std::string started = jarvis::now_iso();
  jarvis::Json results = jarvis::Json::array();
  jarvis::Json bug_tasks = jarvis::Json::array();
  bool ok = true;
  bool cancelled = false;
  for (const auto& command : commands) {
    if (cancel.cancelled()) {
      cancelled = true;
      break;
    }
    jarvis::ProcessResult r;
    if (!std::filesystem::is_directory(dir)) {
      r.exit_code = 126;
      r.stderr_text = "workdir does not exist: " + dir;
    } else {
      r = jarvis::run_process({.argv = {"bash", "-lc", command},
                               .cwd = dir,
                               .timeout_ms = timeout_ms,
                               .max_output_bytes = cap,
                               .cancel = cancel});
    }
    jarvis::Json res = {{"command", command},
                        {"exit_code", r.exit_code},
                        {"timed_out", r.timed_out},
                        {"cancelled", r.cancelled},
                        {"duration_ms", r.duration_ms},
                        {"stdout", r.stdout_text},
                        {"stderr", r.stderr_text},
                        {"stdout_truncated", r.stdout_truncated},
                        {"stderr_truncated", r.stderr_truncated}};
    results.push_back(res);
    if (r.exit_code == 0) continue;
    if (r.cancelled) {
      cancelled = true;  // stopped from outside: not a failing check, no bug report
      break;
    }
    ok = false;
    host_.events().emit(
        {.type = "maintenance.command.failed",
         .payload = {{"command", command}, {"exit_code", r.exit_code}, {"timed_out", r.timed_out}},
         .actor_type = "system",
         .actor_id = "maintenance"});
    if (create_bugs && bugs_available) {
      jarvis::Json description = {
          {"source", "local_maintenance"}, {"workdir", dir}, {"result", res}};
      std::string task_id = host_.tasks().enqueue(
          "bugs.report", {.payload = {{"title", std::string(kBugTitlePrefix) + command},
                                      {"description", description.dump(2)},
                                      {"priority", "medium"},
                                      {"kind", "bug"},
                                      {"dedupe_key", "maintenance:" + command}}});
      bug_tasks.push_back(task_id);
    }
  }
  std::string bug_filing =
      !create_bugs ? "disabled"
                   : (bugs_available ? "bugs.report" : "unavailable: bugs plugin not loaded");

  std::string id = jarvis::new_id("mnt");
  std::string finished = jarvis::now_iso();
  int ok_i = ok ? 1 : 0;
  std::string results_text = results.dump();
  std::string bug_text = bug_tasks.dump();
  {
    auto sql = host_.db().session();
    *sql << "INSERT INTO maintenance_runs(id, trigger_kind, started_at, finished_at, ok, results, "
            "bug_tasks) "
            "VALUES(:id, :tr, :s, :f, :ok, :r, :b)",
        soci::use(id), soci::use(trigger), soci::use(started), soci::use(finished), soci::use(ok_i),
        soci::use(results_text), soci::use(bug_text);
  }
  host_.events().emit({.type = "maintenance.run.completed",
                       .payload = {{"run_id", id},
                                   {"ok", ok},
                                   {"trigger", trigger},
                                   {"command_count", commands.size()},
                                   {"failed", std::count_if(results.begin(), results.end(),
                                                            [](const jarvis::Json& r) {
                                                              return r["exit_code"] != 0 &&
                                                                     !r["cancelled"].get<bool>();
                                                            })},
                                   {"bug_filing", bug_filing},
                                   {"cancelled", cancelled}},
                       .actor_type = "system",
                       .actor_id = "maintenance"});
  return {{"ok", ok},
          {"run_id", id},
          {"trigger", trigger},
          {"workdir", dir},
          {"command_count", commands.size()},
          {"results", results},
          {"bug_tasks", bug_tasks},
          {"bug_filing", bug_filing},
          {"cancelled", cancelled}};
}

jarvis::Json Runner::heartbeat() {
  const auto& cfg = host_.config();
  std::string now = jarvis::now_iso();
  state_set(host_, "last_heartbeat_at", now);
  jarvis::Json payload = {{"source", "maintenance"},
                          {"maintenance_enabled", cfg.get_bool("enabled")},
                          {"maintenance_interval_seconds", cfg.get_int("interval_seconds")},
                          {"pid", static_cast<long long>(::getpid())}};
  host_.events().emit({.type = "maintenance.heartbeat",
                       .payload = payload,
                       .actor_type = "system",
                       .actor_id = "maintenance"});
  return {{"ok", true}, {"at", now}};
}

jarvis::Json Runner::status() {
  const auto& cfg = host_.config();
  bool enabled = cfg.get_bool("enabled");
  long long interval = cfg.get_int("interval_seconds");
  long long heartbeat = cfg.get_int("heartbeat_interval_seconds");
  jarvis::Json last_run = nullptr;
  {
    auto sql = host_.db().session();
    std::string id, trigger, started, finished, results, bug_tasks;
    int ok = 0;
    *sql << "SELECT id, trigger_kind, started_at, finished_at, ok, results, bug_tasks FROM "
            "maintenance_runs "
            "ORDER BY started_at DESC LIMIT 1",
        soci::into(id), soci::into(trigger), soci::into(started), soci::into(finished),
        soci::into(ok), soci::into(results), soci::into(bug_tasks);
    if (sql->got_data()) {
      last_run = {{"id", id},
                  {"trigger", trigger},
                  {"started_at", started},
                  {"finished_at", finished},
                  {"ok", ok != 0},
                  {"results", jarvis::Json::parse(results, nullptr, false)},
                  {"bug_tasks", jarvis::Json::parse(bug_tasks, nullptr, false)}};
    }
  }
  jarvis::Json open_bugs = nullptr;
  std::string bug_filing = "unavailable: bugs plugin not loaded";
  if (host_.tasks().has("bugs.count_open")) {
    bug_filing = cfg.get_bool("create_bugs") ? "bugs.report" : "disabled";
    try {
      open_bugs = host_.tasks()
                      .call("bugs.count_open", {{"title_prefix", kBugTitlePrefix}})
                      .value("count", 0);
    } catch (const std::exception& e) {
      host_.log()->warn("could not count open maintenance bugs: {}", e.what());
    }
  } else if (!cfg.get_bool("create_bugs")) {
    bug_filing = "disabled";
  }
  std::string last_hb = state_get(host_, "last_heartbeat_at");
  return {{"enabled", enabled},
          {"interval_seconds", interval},
          {"heartbeat_interval_seconds", heartbeat},
          {"timeout_seconds", cfg.get_int("timeout_seconds")},
          {"create_bugs", cfg.get_bool("create_bugs")},
          {"workdir", workdir()},
          {"commands", cfg.get_list("commands")},
          {"periodic_job",
           enabled && interval > 0 ? "scheduled (runs while jarvis serve runs)" : "not scheduled"},
          {"periodic_scheduled", enabled && interval > 0},
          {"heartbeat_scheduled", heartbeat > 0},
          {"last_heartbeat_at", last_hb.empty() ? jarvis::Json(nullptr) : jarvis::Json(last_hb)},
          {"last_run", last_run},
          {"open_maintenance_bugs", open_bugs},
          {"bug_filing", bug_filing}};
}

}  // namespace maintenance
