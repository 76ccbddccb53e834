// maintenance/src/plugin.cpp — entry of the maintenance plugin: registration only.
#include <memory>

#include "commands.h"
#include "jarvis/jarvis.h"
#include "runner.h"

namespace maintenance {

class MaintenancePlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    runner_ = std::make_unique<Runner>(host);
    Runner* rn = runner_.get();
    const auto& cfg = host.config();

    host.tasks().add(
        {.name = "maintenance.run",
         .description = "Run the maintenance commands (MAINTENANCE_COMMANDS)",
         .handler =
             [rn](jarvis::TaskContext& t) {
               // Shutdown or the task's deadline stops the running command's process group.
               return rn->run(t.payload.value("trigger", "task"),
                              jarvis::CancelToken::when(t.should_stop));
             },
         .retry = {.max_attempts = 1},
         // Commands run one after another, each bounded by the timeout.
         .timeout = std::chrono::seconds(std::max<long long>(
             60, cfg.get_int("timeout_seconds") *
                         std::max<long long>(
                             1, static_cast<long long>(cfg.get_list("commands").size())) +
                     60))},
        jarvis::TaskAccess::Admin);  // admins may schedule it; the API route is admin-only too
    host.tasks().add({.name = "maintenance.heartbeat",
                      .description = "Emit maintenance.heartbeat",
                      .handler = [rn](jarvis::TaskContext&) { return rn->heartbeat(); },
                      .retry = {.max_attempts = 1}});

    if (cfg.get_bool("enabled") && cfg.get_int("interval_seconds") > 0) {
      host.tasks().add_periodic(
          {.name = "maintenance.run",
           .cron_expr = "@every:" + std::to_string(cfg.get_int("interval_seconds")),
           .task = "maintenance.run",
           .payload = {{"trigger", "periodic"}}});
    }
    if (cfg.get_int("heartbeat_interval_seconds") > 0) {
      host.tasks().add_periodic(
          {.name = "maintenance.heartbeat",
           .cron_expr = "@every:" + std::to_string(cfg.get_int("heartbeat_interval_seconds")),
           .task = "maintenance.heartbeat"});
    }
    register_commands(host, *rn);
    register_routes(host, *rn);
  }

 private:
  std::unique_ptr<Runner> runner_;
};

}  // namespace maintenance

JARVIS_PLUGIN(maintenance::MaintenancePlugin)
