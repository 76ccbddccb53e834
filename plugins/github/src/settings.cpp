// github/src/settings.cpp — reading the plugin's config and the list/glob/name rules.
#include "settings.h"

#include <cctype>

namespace github {

namespace {

int int_key(const jarvis::PluginConfig& c, const char* key) {
  return static_cast<int>(c.get_int(key));
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

}  // namespace

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative wildcard match with one backtrack point (linear in practice, no recursion).
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || (p[pi] != '*' && same(p[pi], t[ti])))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool valid_repo_name(std::string_view full) {
  auto slash = full.find('/');
  if (slash == std::string_view::npos || full.find('/', slash + 1) != std::string_view::npos)
    return false;
  for (std::string_view part : {full.substr(0, slash), full.substr(slash + 1)}) {
    if (part.empty() || part.size() > 100 || part == "." || part == "..") return false;
    for (char c : part)
      if (!name_char(c)) return false;
  }
  return true;
}

bool valid_login(std::string_view login) {
  if (login.ends_with("[bot]")) login.remove_suffix(5);
  if (login.empty() || login.size() > 39) return false;
  for (char c : login)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

Settings Settings::load(const jarvis::PluginConfig& c) {
  Settings s;
  s.webhook_secret = c.get_secret("webhook_secret");
  s.replay_window_minutes = int_key(c, "replay_window_minutes");
  s.repo_allowlist = split_list(c.get_string("repo_allowlist"));
  s.api_base_url = c.get_string("api_base_url");
  while (!s.api_base_url.empty() && s.api_base_url.back() == '/') s.api_base_url.pop_back();
  s.token = c.get_secret("token");
  s.api_version = c.get_string("api_version");
  s.api_timeout_seconds = int_key(c, "api_timeout_seconds");
  s.rate_limit_max_defer_seconds = int_key(c, "rate_limit_max_defer_seconds");
  s.bot_login = c.get_string("bot_login");
  s.pr_summary_enabled = c.get_bool("pr_summary_enabled");
  s.pr_summary_bases = split_list(c.get_string("pr_summary_bases"));
  s.pr_max_files = int_key(c, "pr_max_files");
  s.largest_files = int_key(c, "largest_files");
  s.diff_budget_bytes = int_key(c, "diff_budget_bytes");
  s.model_max_tokens = int_key(c, "model_max_tokens");
  s.pr_chat_enabled = c.get_bool("pr_chat_enabled");
  s.chat_allowed_users = split_list(c.get_string("chat_allowed_users"));
  s.permission_cache_seconds = int_key(c, "permission_cache_seconds");
  s.issue_sync_enabled = c.get_bool("issue_sync_enabled");
  s.issue_sync_repo = c.get_string("issue_sync_repo");
  s.issue_labels_bug = split_list(c.get_string("issue_labels_bug"));
  s.issue_labels_feature = split_list(c.get_string("issue_labels_feature"));
  s.issue_sync_max_attempts = int_key(c, "issue_sync_max_attempts");
  return s;
}

bool Settings::repo_allowed(std::string_view full_name) const {
  if (repo_allowlist.empty()) return true;
  for (const auto& g : repo_allowlist)
    if (glob_match(g, full_name)) return true;
  return false;
}

bool Settings::base_selected(std::string_view base) const {
  if (pr_summary_bases.empty()) return true;
  for (const auto& b : pr_summary_bases)
    if (b == base) return true;
  return false;
}

bool Settings::chat_user_listed(std::string_view login) const {
  for (const auto& u : chat_allowed_users)
    if (iequals(u, login)) return true;
  return false;
}

bool Settings::is_bot(std::string_view login) const {
  return !bot_login.empty() && iequals(bot_login, login);
}

}  // namespace github
