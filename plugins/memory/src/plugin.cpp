// memory/src/plugin.cpp — entry of the memory plugin: registration only.
//
// What it registers (details in plugins/memory/README.md):
//   core   routes /api/v1/memory, /stats, /export, /{id}, /{id}/feedback (routes.cpp); tools
//          memory.search / remember / forget (tools.cpp); task memory.learn_message durable on
//          message.new plus an in-process prompt.build subscriber, batched per trace
//          (learn.cpp, decision 0047); memory.embed, memory.jobs (periodic), memory.reindex
//          (tasks.cpp); CLI
//          jarvis memory search|stats|reindex|export (cli.cpp); the serve-time loop: index sync,
//          access counts, KPI gauges (background.cpp)
//   state  src/state/ (register_state): review queue, failure bridge, graph, consistency
#include <memory>
#include <utility>

#include "background.h"
#include "core.h"
#include "jarvis/jarvis.h"
#include "state/state_module.h"

namespace jarvis::memory {

class MemoryPlugin : public Plugin {
 public:
  void setup(Host& host) override {
    core_ = std::make_unique<MemoryCore>(host);
    register_routes(host, *core_);
    register_tools(host, *core_);
    // The state half registers in setup() too (its CLI command must exist in CLI processes),
    // before learning: the learner hands it the messages (decision 0047).
    StateIntake intake = state::register_state(host, *core_->ctx);
    register_learning(host, *core_, std::move(intake));
    register_tasks(host, *core_);
    register_cli(host, *core_);
  }

  void start() override {
    loop_ = std::make_unique<BackgroundLoop>(*core_);
    BackgroundLoop* loop = loop_.get();
    core_->on_access = [loop](const std::vector<long long>& seqs) { loop->note_access(seqs); };
    loop_->start();
  }

  void stop() override {
    if (loop_) loop_->stop();
  }

  Health health() const override {
    Health h;
    if (core_) {
      h.details = {{"embed_model", core_->embedder->model_id()},
                   {"index_vectors", core_->index->size()},
                   {"vector_kernel", core_->index->kernel()},
                   {"writes_enabled", core_->settings.writes_enabled}};
    }
    return h;
  }

 private:
  std::unique_ptr<MemoryCore> core_;
  std::unique_ptr<BackgroundLoop> loop_;
};

}  // namespace jarvis::memory

JARVIS_PLUGIN(jarvis::memory::MemoryPlugin)
