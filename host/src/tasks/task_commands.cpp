// host/src/tasks/task_commands.cpp — `jarvis tasks …` and `jarvis schedules …` (see
// task_commands.h).
#include "tasks/task_commands.h"

#include <charconv>
#include <chrono>
#include <iomanip>
#include <thread>

#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "jarvis/list.h"
#include "registry/command_table.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"

namespace jarvis::host {
namespace {

using jarvis::Args;
using jarvis::CommandContext;
using jarvis::Json;

// Parses an integer option; UsageError naming it when malformed or out of range.
long long int_option(const Args& a, const std::string& name, long long fallback, long long min,
                     long long max) {
  if (!a.has_option(name)) return fallback;
  std::string v = a.option(name);
  long long out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max) {
    throw jarvis::UsageError(name + " must be an integer from " + std::to_string(min) + " to " +
                             std::to_string(max) + " (got '" + v + "')");
  }
  return out;
}

// Parses --payload as a JSON object ({} when absent).
Json payload_option(const Args& a) {
  if (!a.has_option("--payload")) return Json::object();
  auto j = jarvis::try_parse_json(a.option("--payload"));
  if (!j || !j->is_object()) {
    throw jarvis::UsageError("--payload must be a JSON object of at most " +
                             std::to_string(jarvis::kMaxJsonDepth) +
                             " levels, e.g. '{\"text\":\"hi\"}'");
  }
  return std::move(*j);
}

// Runs `body`, turning a jarvis::Error into a message on stderr and exit code 1.
int guarded(CommandContext& c, const std::function<int()>& body) {
  try {
    return body();
  } catch (const jarvis::Error& e) {
    c.err << "error: " << e.what() << " (" << e.code() << ")\n";
    return 1;
  }
}

void print_task(std::ostream& out, const TaskRecord& t) {
  out << "id:           " << t.id << "\n"
      << "name:         " << t.name << "\n"
      << "status:       " << t.status << "\n"
      << "attempts:     " << t.attempts << "/" << t.max_attempts << "\n"
      << "priority:     " << t.priority << "\n"
      << "run_after:    " << t.run_after << "\n"
      << "created_at:   " << t.created_at << "\n"
      << "finished_at:  " << t.finished_at.value_or("-") << "\n"
      << "trace_id:     " << t.trace_id.value_or("-") << "\n"
      << "payload:      " << t.payload << "\n";
  if (t.idempotency_key) out << "idempotency:  " << *t.idempotency_key << "\n";
  if (t.lease_owner && t.lease_expires_at) {
    out << "lease:        " << *t.lease_owner << " until " << *t.lease_expires_at << "\n";
  } else if (t.lease_owner) {
    out << "ran on:       " << *t.lease_owner << "\n";
  }
  if (t.result) out << "result:       " << *t.result << "\n";
  if (t.last_error) out << "last_error:   " << *t.last_error << "\n";
}

bool terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "dead";
}

// Waits for task `id` to finish; prints the outcome. Exit code 0 on success.
int wait_for(CommandContext& c, TaskService& tasks, const std::string& id,
             std::chrono::seconds timeout, bool run_here, bool json) {
  if (run_here && !tasks.run_task(id)) {
    // Someone else (a serving host) claimed it first, or it is not runnable here: just wait.
    auto r = tasks.queue().get(id);
    if (r && r->status == "queued" && !tasks.has(r->name)) {
      c.err << "error: task " << id << " (" << r->name
            << ") has no handler in this process; start `jarvis serve` to run it\n";
      return 1;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<TaskRecord> r;
  for (;;) {
    r = tasks.queue().get(id);
    if (!r) {
      c.err << "error: task " << id << " disappeared\n";
      return 1;
    }
    if (terminal(r->status)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      c.err << "error: timed out after " << timeout.count() << " s waiting for task " << id
            << " (status " << r->status
            << "); is `jarvis serve` running on this database? Use --run-here to run it in this "
               "process.\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (json) {
    c.out << r->to_json().dump(2) << "\n";
  } else if (r->status == "succeeded") {
    c.out << r->result.value_or("null") << "\n";
  } else {
    c.err << "task " << id << " " << r->status << " after " << r->attempts
          << " attempt(s): " << r->last_error.value_or("") << "\n";
  }
  return r->status == "succeeded" ? 0 : 1;
}

void add_task_commands(CommandTable& commands, TaskService* tasks) {
  const Owner host{"host", {}};
  commands.add(host,
               {.group = "tasks",
                .name = "list",
                .summary = "List tasks, newest first",
                .usage = "jarvis tasks list [--status queued|running|succeeded|failed|dead] "
                         "[--name NAME] [--limit N] [--json]",
                .handler = [tasks](CommandContext& c) {
                  Args a = Args::parse(c.args, {"--json"}, {"--status", "--name", "--limit"});
                  TaskListFilter f;
                  f.status = a.option("--status");
                  if (!f.status.empty() && !is_task_status(f.status)) {
                    throw jarvis::UsageError(
                        "--status must be one of queued, running, "
                        "succeeded, failed, dead");
                  }
                  f.name = a.option("--name");
                  f.limit = static_cast<int>(int_option(a, "--limit", 50, 1, 10000));
                  long long total = 0;
                  auto rows = tasks->queue().list(f, &total);
                  if (a.flag("--json")) {
                    Json items = Json::array();
                    for (const auto& r : rows) items.push_back(r.to_json());
                    c.out << jarvis::list_page(std::move(items), total,
                                               {.limit = f.limit, .offset = 0})
                                 .dump(2)
                          << "\n";
                    return 0;
                  }
                  c.out << std::left << std::setw(38) << "ID" << std::setw(28) << "NAME"
                        << std::setw(11) << "STATUS" << std::setw(10) << "ATTEMPTS"
                        << "CREATED\n";
                  for (const auto& r : rows) {
                    c.out << std::left << std::setw(38) << r.id << std::setw(28) << (r.name + " ")
                          << std::setw(11) << r.status << std::setw(10)
                          << (std::to_string(r.attempts) + "/" + std::to_string(r.max_attempts))
                          << r.created_at << "\n";
                  }
                  c.out << rows.size() << " of " << total << " task(s)\n";
                  return 0;
                }});

  commands.add(host, {.group = "tasks",
                      .name = "show",
                      .summary = "Show one task with its payload, result and last error",
                      .usage = "jarvis tasks show ID [--json]",
                      .handler = [tasks](CommandContext& c) {
                        Args a = Args::parse(c.args, {"--json"}, {});
                        const std::string& id = a.positional(0, "ID");
                        auto r = tasks->queue().get(id);
                        if (!r) {
                          c.err << "error: task " << id << " does not exist (task_not_found)\n";
                          return 1;
                        }
                        if (a.flag("--json")) {
                          c.out << r->to_json().dump(2) << "\n";
                        } else {
                          print_task(c.out, *r);
                        }
                        return 0;
                      }});

  commands.add(host, {.group = "tasks",
                      .name = "retry",
                      .summary = "Queue a failed or dead task again",
                      .usage = "jarvis tasks retry ID",
                      .handler = [tasks](CommandContext& c) {
                        Args a = Args::parse(c.args, {}, {});
                        const std::string& id = a.positional(0, "ID");
                        return guarded(c, [&] {
                          if (auto existing = tasks->queue().get(id)) {
                            tasks->require_may_start(existing->name, jarvis::Principal::system());
                          }
                          auto r = tasks->queue().retry(id);
                          c.out << "task " << r.id << " (" << r.name << ") queued again\n";
                          return 0;
                        });
                      }});

  commands.add(host,
               {.group = "tasks",
                .name = "status",
                .summary = "Queue depths and scheduler backlog",
                .usage = "jarvis tasks status [--json]",
                .handler = [tasks](CommandContext& c) {
                  Args a = Args::parse(c.args, {"--json"}, {});
                  Json s = tasks->queue_status();
                  if (a.flag("--json")) {
                    c.out << s.dump(2) << "\n";
                    return 0;
                  }
                  for (const auto& [status, n] : s["tasks"].items()) {
                    c.out << std::left << std::setw(11) << status << n.get<long long>() << "\n";
                  }
                  const Json& b = s["scheduler"];
                  c.out << "schedules  " << b["schedule_count"].get<long long>() << " enabled, "
                        << b["dispatchable_total"].get<long long>() << " slot(s) dispatchable, "
                        << b["deferred_total"].get<long long>() << " deferred, "
                        << b["invalid_count"].get<long long>() << " invalid\n";
                  return 0;
                }});

  commands.add(
      host,
      {.group = "tasks",
       .name = "enqueue",
       .summary = "Enqueue a task by name (optionally wait for its result)",
       .usage = "jarvis tasks enqueue NAME [--payload JSON] [--priority N] [--idempotency-key K] "
                "[--wait [--timeout SECONDS] [--run-here]] [--json]",
       .handler = [tasks](CommandContext& c) {
         Args a = Args::parse(c.args, {"--wait", "--run-here", "--json"},
                              {"--payload", "--priority", "--idempotency-key", "--timeout"});
         const std::string& name = a.positional(0, "NAME");
         jarvis::EnqueueOptions o;
         o.payload = payload_option(a);
         o.priority = static_cast<int>(int_option(a, "--priority", 0, -1000000, 1000000));
         o.idempotency_key = a.option("--idempotency-key");
         auto timeout = std::chrono::seconds(int_option(a, "--timeout", 60, 1, 86400));
         if (a.flag("--run-here") && !a.flag("--wait")) {
           throw jarvis::UsageError("--run-here needs --wait");
         }
         return guarded(c, [&] {
           // The operator acts as the system principal: admin and user tasks, never internal.
           tasks->require_may_start(name, jarvis::Principal::system());
           std::string id = tasks->enqueue(name, std::move(o));
           if (!a.flag("--wait")) {
             if (a.flag("--json")) {
               c.out << Json{{"id", id}}.dump() << "\n";
             } else {
               c.out << id << "\n";
             }
             return 0;
           }
           return wait_for(c, *tasks, id, timeout, a.flag("--run-here"), a.flag("--json"));
         });
       }});
}

void add_schedule_commands(CommandTable& commands, TaskService* tasks) {
  const Owner host{"host", {}};
  commands.add(
      host, {.group = "schedules",
             .name = "list",
             .summary = "List every schedule (user schedules and plugin periodic jobs)",
             .usage = "jarvis schedules list [--owner USER_ID] [--json]",
             .handler = [tasks](CommandContext& c) {
               Args a = Args::parse(c.args, {"--json"}, {"--owner"});
               long long total = 0;
               auto rows = tasks->scheduler().list(a.option("--owner"), 10000, 0, &total);
               if (a.flag("--json")) {
                 Json items = Json::array();
                 for (const auto& s : rows) items.push_back(s.to_json());
                 c.out << jarvis::list_page(std::move(items), total, {.limit = 10000, .offset = 0})
                              .dump(2)
                       << "\n";
                 return 0;
               }
               c.out << std::left << std::setw(38) << "ID" << std::setw(16) << "OWNER "
                     << std::setw(32) << "NAME " << std::setw(16) << "CRON " << std::setw(32)
                     << "TASK " << std::setw(5) << "ON "
                     << "NEXT DUE\n";
               for (const auto& s : rows) {
                 c.out << std::left << std::setw(38) << s.id << std::setw(16) << (s.owner + " ")
                       << std::setw(32) << (s.name.value_or("-") + " ") << std::setw(16)
                       << (s.cron_expr + " ") << std::setw(32) << (s.task + " ") << std::setw(5)
                       << (s.enabled ? "yes" : "no") << s.next_due_at.value_or("-") << "\n";
               }
               c.out << rows.size() << " schedule(s)\n";
               return 0;
             }});

  commands.add(
      host, {.group = "schedules",
             .name = "add",
             .summary = "Create a schedule owned by \"system\"",
             .usage = "jarvis schedules add --cron EXPR --task NAME [--payload JSON] "
                      "[--max-catchup N] [--thread ID] [--json]",
             .handler = [tasks](CommandContext& c) {
               Args a = Args::parse(c.args, {"--json"},
                                    {"--cron", "--task", "--payload", "--max-catchup", "--thread"});
               if (!a.has_option("--cron")) throw jarvis::UsageError("--cron is required");
               if (!a.has_option("--task")) throw jarvis::UsageError("--task is required");
               ScheduleFields f;
               f.cron_expr = a.option("--cron");
               f.task = a.option("--task");
               f.payload = payload_option(a);
               if (a.has_option("--max-catchup")) {
                 f.max_catchup = std::optional<int>(
                     static_cast<int>(int_option(a, "--max-catchup", 0, 1, 1000)));
               }
               if (a.has_option("--thread")) {
                 f.thread_id = std::optional<std::string>(a.option("--thread"));
               }
               return guarded(c, [&] {
                 auto s = tasks->scheduler().create("system", f);
                 if (a.flag("--json")) {
                   c.out << s.to_json().dump(2) << "\n";
                 } else {
                   c.out << "schedule " << s.id << " created (" << s.cron_expr << " -> " << s.task
                         << ", next due " << s.next_due_at.value_or("-") << ")\n";
                 }
                 return 0;
               });
             }});

  auto toggle = [tasks](bool enable) {
    return [tasks, enable](CommandContext& c) {
      Args a = Args::parse(c.args, {}, {});
      const std::string& id = a.positional(0, "ID");
      return guarded(c, [&] {
        ScheduleFields f;
        f.enabled = enable;
        auto s = tasks->scheduler().update(id, f);
        c.out << "schedule " << s.id << (enable ? " enabled" : " disabled") << "\n";
        return 0;
      });
    };
  };
  commands.add(host, {.group = "schedules",
                      .name = "disable",
                      .summary = "Stop a schedule from firing (kept, can be enabled again)",
                      .usage = "jarvis schedules disable ID",
                      .handler = toggle(false)});
  commands.add(host, {.group = "schedules",
                      .name = "enable",
                      .summary = "Enable a schedule again (no catch-up for the time it was off)",
                      .usage = "jarvis schedules enable ID",
                      .handler = toggle(true)});
  commands.add(host, {.group = "schedules",
                      .name = "remove",
                      .summary = "Delete a schedule and its dispatch records",
                      .usage = "jarvis schedules remove ID",
                      .handler = [tasks](CommandContext& c) {
                        Args a = Args::parse(c.args, {}, {});
                        const std::string& id = a.positional(0, "ID");
                        if (!tasks->scheduler().remove(id)) {
                          c.err << "error: schedule " << id
                                << " does not exist (schedule_not_found)\n";
                          return 1;
                        }
                        c.out << "schedule " << id << " removed\n";
                        return 0;
                      }});
}

}  // namespace

void register_task_commands(CommandTable& commands, TaskService& tasks, SqlDatabase& db) {
  (void)db;  // the service's queue and scheduler already work on this database
  add_task_commands(commands, &tasks);
  add_schedule_commands(commands, &tasks);
}

}  // namespace jarvis::host
