// selfupdate/src/plugin.cpp — entry of the selfupdate plugin: registration only.
#include <memory>

#include "jarvis/jarvis.h"
#include "pipeline.h"
#include "routes.h"

namespace selfupdate {

class SelfUpdatePlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    host_ = &host;
    Settings s = Settings::from(host.config());
    PipelineDeps d;
    d.db = &host.db();
    d.system = &host.system();
    d.log = host.log();
    jarvis::Host* h = &host;
    d.enqueue = [h](const std::string& task, const std::string& id, jarvis::Transaction* tx) {
      // No idempotency key: a stage killed with its process leaves its task `running` until its
      // lease runs out, and a resume must queue a new one at once. Stages are guarded by state.
      jarvis::EnqueueOptions o{.payload = {{"trace_id", id}}, .trace_id = id};
      if (tx) {
        h->tasks().enqueue(task, o, *tx);
      } else {
        h->tasks().enqueue(task, o);
      }
    };
    d.emit = [h](const std::string& type, const jarvis::Json& payload, const std::string& trace,
                 jarvis::Transaction& tx) {
      h->events().emit({.type = type,
                        .payload = payload,
                        .trace_id = trace,
                        .actor_type = "system",
                        .actor_id = "selfupdate"},
                       tx);
    };
    const std::string url = s.readyz_url;
    d.probe_ready = [h, url] {
      PipelineDeps::ReadyProbe probe;
      jarvis::OutboundResponse r =
          h->http().send({.url = url, .connect_timeout_ms = 2000, .timeout_ms = 5000});
      if (r.status != 200) return probe;
      auto j = jarvis::try_parse_json(r.body);
      probe.ready = j && j->is_object() && j->value("ok", false) == true;
      if (probe.ready && j->contains("commit") && (*j)["commit"].is_string()) {
        // Only a hex commit is evidence: "unknown" (a host built outside git) says nothing.
        const std::string c = (*j)["commit"].get<std::string>();
        const bool hex = c.size() >= 7 && c.size() <= 64 &&
                         c.find_first_not_of("0123456789abcdef") == std::string::npos;
        if (hex) probe.commit = c;
      }
      return probe;
    };
    const auto stage_lease = [](std::chrono::milliseconds a, std::chrono::milliseconds b) {
      return std::chrono::duration_cast<std::chrono::seconds>(a + b) + std::chrono::seconds(600);
    };
    const auto build =
        s.build_timeout * static_cast<long>(std::max<std::size_t>(1, s.build_commands.size()));
    const auto tests =
        s.test_timeout * static_cast<long>(std::max<std::size_t>(1, s.test_commands.size()));
    const auto verify =
        s.readyz_interval * s.readyz_attempts + std::chrono::seconds(10) * s.readyz_attempts;
    pipeline_ = std::make_unique<Pipeline>(s, d);
    Pipeline* p = pipeline_.get();

    register_routes(host, *p);
    register_tool(host, *p);
    register_commands(host, *p);

    struct StageTask {
      const char* name;
      const char* description;
      std::chrono::seconds lease;
    };
    for (const StageTask& t :
         {StageTask{"selfupdate.validate",
                    "Validate a proposed patch {trace_id}: diff format, paths, "
                    "protected set, git apply --check in a worktree",
                    stage_lease(s.git_timeout * 6, {})},
          StageTask{"selfupdate.test",
                    "Build and test a validated patch {trace_id} in its worktree",
                    stage_lease(build, tests)},
          StageTask{"selfupdate.apply",
                    "Apply an approved patch {trace_id}: commit on "
                    "selfupdate/<trace_id>, build, install, switch, restart",
                    stage_lease(build * 2, s.git_timeout * 10)},
          StageTask{"selfupdate.verify",
                    "Poll SELFUPDATE_READYZ_URL after the restart; roll back "
                    "when not ready {trace_id}",
                    stage_lease(verify, {})},
          StageTask{"selfupdate.rollback",
                    "Switch the install back to the previous release "
                    "{trace_id}",
                    stage_lease({}, {})},
          StageTask{"selfupdate.cleanup", "Remove a finished patch's worktree {trace_id}",
                    stage_lease(s.git_timeout * 2, {})}}) {
      std::string name = t.name;
      host.tasks().add({.name = name,
                        .description = t.description,
                        .handler =
                            [p, name](jarvis::TaskContext& ctx) {
                              std::string id = ctx.payload.value("trace_id", "");
                              return p->run(name, id, jarvis::CancelToken::when(ctx.should_stop));
                            },
                        .retry = {.max_attempts = 1},
                        .timeout = t.lease});
    }
  }

  void start() override {
    try {
      pipeline_->on_start();
    } catch (const std::exception& e) {
      host_->log()->error("selfupdate: start-up recovery failed: {}", e.what());
    }
  }

 private:
  jarvis::Host* host_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace selfupdate

JARVIS_PLUGIN(selfupdate::SelfUpdatePlugin)
