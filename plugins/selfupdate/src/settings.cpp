// selfupdate/src/settings.cpp — Settings::from.
#include "settings.h"

#include <stdexcept>

#include "diff_check.h"
#include "sandbox.h"

namespace selfupdate {

Settings Settings::from(const jarvis::PluginConfig& c) {
  Settings s;
  s.repo_dir = c.get_string("repo_dir");
  s.patch_dir = c.get_string("patch_dir");
  s.install_dir = c.get_string("install_dir");
  for (const std::string& rule : c.get_list("critical_paths")) {
    try {
      s.critical_paths.push_back(normalise_rule(rule));
    } catch (const DiffRefusal& e) {
      throw std::invalid_argument(std::string("config error: ") + e.what());
    }
  }
  s.allow_deploy = c.get_bool("allow_deploy");
  s.build_commands = c.get_list("build_command");
  s.test_commands = c.get_list("test_command");
  s.install_commands = c.get_list("install_command");
  s.build_timeout = c.get_duration("build_timeout");
  s.test_timeout = c.get_duration("test_timeout");
  s.git_timeout = c.get_duration("git_timeout");
  s.approval_ttl_minutes = static_cast<int>(c.get_int("approval_ttl_minutes"));
  s.readyz_url = c.get_string("readyz_url");
  s.readyz_attempts = static_cast<int>(c.get_int("readyz_attempts"));
  s.readyz_interval = c.get_duration("readyz_interval");
  s.max_patch_bytes = c.get_int("max_patch_bytes");
  s.max_files = static_cast<int>(c.get_int("max_files"));
  s.max_rationale_bytes = c.get_int("max_rationale_bytes");
  s.log_tail_bytes = c.get_int("log_tail_bytes");
  s.sandbox = c.get_string("sandbox");
  parse_sandbox_mode(s.sandbox);  // std::invalid_argument: a config error
  for (const std::string& p : c.get_list("sandbox_hide")) {
    if (p.empty() || p[0] != '/') {
      throw std::invalid_argument(
          "config error: SELFUPDATE_SANDBOX_HIDE needs absolute paths, not '" + p + "'");
    }
    s.sandbox_hide.push_back(p);
  }
  for (const std::string& p : c.get_list("sandbox_read")) {
    if (p.empty() || p[0] != '/' || p == "/") {
      throw std::invalid_argument(
          "config error: SELFUPDATE_SANDBOX_READ needs absolute paths other than /, not '" + p +
          "'");
    }
    s.sandbox_read.push_back(p);
  }
  s.sandbox_deps.clear();
  for (const std::string& d : c.get_list("sandbox_deps")) {
    if (d.empty() || d[0] == '/' || d == ".." || d.rfind("../", 0) == 0 ||
        d.find("/../") != std::string::npos || d == "." || d == ".git" ||
        d.rfind(".git/", 0) == 0) {
      throw std::invalid_argument(
          "config error: SELFUPDATE_SANDBOX_DEPS needs folders inside the repository, not '" + d +
          "'");
    }
    s.sandbox_deps.push_back(d);
  }
  s.keep_releases = static_cast<int>(c.get_int("keep_releases"));
  s.require_current_executable = c.get_bool("require_current_executable");
  s.lease = c.get_duration("lease");
  return s;
}

}  // namespace selfupdate
