// memory/src/settings.h — the memory core's typed settings, read once from the manifest keys.
//
//   jarvis::memory::MemorySettings s = jarvis::memory::MemorySettings::from(host.config());
//   if (s.writes_enabled && s.learn_enabled) learn(event);
//
// Every field maps to one key of plugins/memory/plugin.yaml (env name in the comment). The
// structured-state half reads its own keys (MEMORY_REVIEW_QUEUE_ENABLED, …) itself.
#pragma once

#include <string>

#include "jarvis/config.h"

namespace jarvis::memory {

/// The memory core's configuration (see plugin.yaml for meanings and defaults).
struct MemorySettings {
  bool writes_enabled = true;          ///< MEMORY_WRITES_ENABLED: 0 = nothing writes memory tables
  bool learn_enabled = true;           ///< MEMORY_LEARN_ENABLED: learn from chat's message events
  bool tiers_enabled = true;           ///< MEMORY_TIERS_ENABLED
  bool importance_enabled = true;      ///< MEMORY_IMPORTANCE_ENABLED
  long long working_hours = 24;        ///< MEMORY_WORKING_HOURS
  long long promote_access_count = 3;  ///< MEMORY_PROMOTE_ACCESS_COUNT
  long long archive_after_days = 90;   ///< MEMORY_ARCHIVE_AFTER_DAYS
  std::string jobs_cron = "@every:3600";  ///< MEMORY_JOBS_CRON
  long long purge_after_hours = 24;       ///< MEMORY_PURGE_AFTER_HOURS
  long long max_item_bytes = 8000;        ///< MEMORY_MAX_ITEM_BYTES
  long long min_learn_chars = 12;         ///< MEMORY_MIN_LEARN_CHARS
  bool secret_scan_enabled = true;        ///< MEMORY_SECRET_SCAN_ENABLED
  std::string pii_mode = "mask";          ///< MEMORY_PII_REDACT_MODE: mask | deny | off
  double weight_vector = 0.25;            ///< MEMORY_WEIGHT_VECTOR
  double weight_fts = 0.50;               ///< MEMORY_WEIGHT_FTS
  double weight_recency = 0.10;           ///< MEMORY_WEIGHT_RECENCY
  long long rrf_k = 60;                   ///< MEMORY_RRF_K
  long long search_limit = 8;             ///< MEMORY_SEARCH_LIMIT
  std::string embed_provider = "local";   ///< MEMORY_EMBED_PROVIDER: local | openai | ollama
  long long embed_dims = 384;             ///< MEMORY_EMBED_DIMS (local)
  std::string embed_base_url;             ///< MEMORY_EMBED_BASE_URL
  std::string embed_model;                ///< MEMORY_EMBED_MODEL
  std::string ollama_base_url;            ///< OLLAMA_BASE_URL
  std::string ollama_embed_model;         ///< OLLAMA_EMBED_MODEL
  long long embed_timeout_seconds = 30;   ///< MEMORY_EMBED_TIMEOUT_SECONDS
  long long embed_batch = 64;             ///< MEMORY_EMBED_BATCH
  std::string index_dir;                  ///< MEMORY_INDEX_DIR, resolved (never empty)
  long long index_sync_seconds = 5;       ///< MEMORY_INDEX_SYNC_SECONDS

  /// Reads every key; `index_dir` falls back to "<directory of APP_DB>/memory".
  static MemorySettings from(const PluginConfig& config);
};

}  // namespace jarvis::memory
