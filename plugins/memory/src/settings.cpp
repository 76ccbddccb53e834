// memory/src/settings.cpp — MemorySettings::from: the manifest keys as typed values.
#include "settings.h"

#include <filesystem>

namespace jarvis::memory {

MemorySettings MemorySettings::from(const PluginConfig& c) {
  MemorySettings s;
  s.writes_enabled = c.get_bool("writes_enabled");
  s.learn_enabled = c.get_bool("learn_enabled");
  s.tiers_enabled = c.get_bool("tiers_enabled");
  s.importance_enabled = c.get_bool("importance_enabled");
  s.working_hours = c.get_int("working_hours");
  s.promote_access_count = c.get_int("promote_access_count");
  s.archive_after_days = c.get_int("archive_after_days");
  s.jobs_cron = c.get_string("jobs_cron");
  s.purge_after_hours = c.get_int("purge_after_hours");
  s.max_item_bytes = c.get_int("max_item_bytes");
  s.min_learn_chars = c.get_int("min_learn_chars");
  s.secret_scan_enabled = c.get_bool("secret_scan_enabled");
  s.pii_mode = c.get_string("pii_redact_mode");
  s.weight_vector = c.get_double("weight_vector");
  s.weight_fts = c.get_double("weight_fts");
  s.weight_recency = c.get_double("weight_recency");
  s.rrf_k = c.get_int("rrf_k");
  s.search_limit = c.get_int("search_limit");
  s.embed_provider = c.get_string("embed_provider");
  s.embed_dims = c.get_int("embed_dims");
  s.embed_base_url = c.get_string("embed_base_url");
  s.embed_model = c.get_string("embed_model");
  s.ollama_base_url = c.get_string("ollama_base_url");
  s.ollama_embed_model = c.get_string("ollama_embed_model");
  s.embed_timeout_seconds = c.get_int("embed_timeout");
  s.embed_batch = c.get_int("embed_batch");
  s.index_sync_seconds = c.get_int("index_sync_seconds");
  s.index_dir = c.get_string("index_dir");
  if (s.index_dir.empty()) {
    std::filesystem::path db(c.get_string("app_db"));
    std::filesystem::path parent = db.parent_path();
    s.index_dir = ((parent.empty() ? std::filesystem::path(".") : parent) / "memory").string();
  }
  return s;
}

}  // namespace jarvis::memory
