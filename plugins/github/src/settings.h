// github/src/settings.h — the plugin's typed settings, read once from its validated config, and
// the small text rules they need (comma lists, owner/repo globs, logins).
//
//   github::Settings s = github::Settings::load(host.config());
//   if (!s.repo_allowed("octo/hello")) return ignored("repository_not_allowed");
//   bool trusted = s.chat_user_listed("Octocat");          // case-insensitive
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jarvis/config.h"
#include "jarvis/secret.h"

namespace github {

/// Everything the plugin reads from its configuration (plugin.yaml has the keys and their env
/// names). Secrets stay jarvis::Secret and are revealed only where they leave the process.
struct Settings {
  jarvis::Secret webhook_secret;
  int replay_window_minutes = 60;
  std::vector<std::string> repo_allowlist;  ///< owner/repo globs; empty = all

  std::string api_base_url;  ///< without a trailing slash
  jarvis::Secret token;
  std::string api_version;
  int api_timeout_seconds = 30;
  int rate_limit_max_defer_seconds = 3600;
  std::string bot_login;

  bool pr_summary_enabled = false;
  std::vector<std::string> pr_summary_bases;  ///< empty = every base
  int pr_max_files = 3000;
  int largest_files = 10;
  int diff_budget_bytes = 60000;
  int model_max_tokens = 700;

  bool pr_chat_enabled = true;
  std::vector<std::string> chat_allowed_users;
  int permission_cache_seconds = 300;

  bool issue_sync_enabled = false;
  std::string issue_sync_repo;
  std::vector<std::string> issue_labels_bug;
  std::vector<std::string> issue_labels_feature;
  int issue_sync_max_attempts = 5;

  /// Reads every key (the host validated types and bounds before the plugin's code ran).
  static Settings load(const jarvis::PluginConfig& config);

  /// True when `full_name` ("owner/repo") matches the allowlist (or the allowlist is empty).
  /// Compared case-insensitively, as GitHub treats names.
  bool repo_allowed(std::string_view full_name) const;
  /// True when the PR summary covers pull requests into `base`.
  bool base_selected(std::string_view base) const;
  /// True when `login` is listed in GITHUB_CHAT_ALLOWED_USERS (case-insensitive).
  bool chat_user_listed(std::string_view login) const;
  /// True when `login` is the bot's own login (case-insensitive).
  bool is_bot(std::string_view login) const;
};

/// Splits a comma/whitespace-separated list, dropping empty items.
std::vector<std::string> split_list(std::string_view text);
/// Glob match with `*` (any run, including '/') and `?` (one character), case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text);
/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
/// True for a GitHub "owner/repo" name: both parts 1-100 characters of [A-Za-z0-9_.-], not "."
/// or "..". Every API path the plugin builds passes this first, so a payload cannot steer a
/// request elsewhere.
bool valid_repo_name(std::string_view full_name);
/// True for a GitHub login: 1-39 characters of [A-Za-z0-9-], plus a "[bot]" suffix for apps.
bool valid_login(std::string_view login);

}  // namespace github
