// memory/src/core.h — the memory core's services, built once in setup() and shared by its routes,
// tools, tasks, CLI commands and background loop.
//
//   auto core = std::make_unique<jarvis::memory::MemoryCore>(host);
//   jarvis::memory::register_routes(host, *core);   // routes.cpp
//   jarvis::memory::register_tools(host, *core);    // tools.cpp
//   jarvis::memory::register_learning(host, *core, intake); // learn.cpp
//   jarvis::memory::register_tasks(host, *core);    // tasks.cpp
//   jarvis::memory::register_cli(host, *core);      // cli.cpp
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "embedder.h"
#include "jarvis/host.h"
#include "learn.h"
#include "memory_context.h"
#include "redactor.h"
#include "search.h"
#include "settings.h"
#include "vector_index.h"
#include "writer.h"

namespace jarvis::memory {

/// Everything the core's handlers need; lives from setup() until the plugin is destroyed.
struct MemoryCore {
  /// Reads the settings and builds the redactor, embedder, index (not loaded yet), search and
  /// writer.
  explicit MemoryCore(Host& host);

  Host& host;
  MemorySettings settings;
  std::unique_ptr<Redactor> redactor;
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<MemoryContext> ctx;
  std::unique_ptr<VectorIndex> index;
  std::unique_ptr<HybridSearch> search;
  std::unique_ptr<MemoryWriter> writer;

  /// Loads the index file (dimensions from the local embedder or the table) once; thread-safe.
  void ensure_index_loaded();
  /// Called with the seqs of the items a search returned (set by the plugin to the background
  /// loop, which counts accesses for importance); empty in CLI processes.
  std::function<void(const std::vector<long long>&)> on_access;
  /// Learns the prompt.build traces noted since the last call (set by register_learning; the
  /// background loop calls it every second and at stop).
  std::function<void()> flush_learning;
  /// Reports the hits of a search result to on_access.
  void note_hits(const Json& result) const;
  /// Items scoped for `who`: their own unless admin (or system) — then `owner_param` or all.
  ItemFilter scope_for(const Principal& who, const std::string& owner_param) const;

 private:
  std::mutex load_mu_;
  bool loaded_ = false;
};

void register_routes(Host& host, MemoryCore& core);
void register_tools(Host& host, MemoryCore& core);
/// memory.learn_message (durable on message.new) and the prompt.build subscriber (learn.cpp);
/// `intake` hands user and assistant texts to the structured-state half (empty: none).
void register_learning(Host& host, MemoryCore& core, StateIntake intake);
void register_tasks(Host& host, MemoryCore& core);
void register_cli(Host& host, MemoryCore& core);

}  // namespace jarvis::memory
