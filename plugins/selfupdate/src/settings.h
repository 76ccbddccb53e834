// selfupdate/src/settings.h — the plugin's typed settings (plugin.yaml), read once in setup().
//
//   selfupdate::Settings s = selfupdate::Settings::from(host.config());
//   run_commands(s.build_commands, s.build_timeout);
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "jarvis/config.h"

namespace selfupdate {

/// Every setting of plugin.yaml, typed. Paths are kept as configured (relative to the host's
/// working directory).
struct Settings {
  std::string repo_dir = ".";                        ///< SELFUPDATE_REPO_DIR
  std::string patch_dir = "./var/patches";           ///< SELFUPDATE_PATCH_DIR
  std::string install_dir = "./var/install";         ///< SELFUPDATE_INSTALL_DIR
  std::vector<std::string> critical_paths;           ///< SELFUPDATE_CRITICAL_PATHS
  bool allow_deploy = false;                         ///< SELFUPDATE_ALLOW_DEPLOY
  std::vector<std::string> build_commands;           ///< SELFUPDATE_BUILD_COMMAND
  std::vector<std::string> test_commands;            ///< SELFUPDATE_TEST_COMMAND
  std::vector<std::string> install_commands;         ///< SELFUPDATE_INSTALL_COMMAND ({prefix})
  std::chrono::milliseconds build_timeout{3600000};  ///< SELFUPDATE_BUILD_TIMEOUT
  std::chrono::milliseconds test_timeout{3600000};   ///< SELFUPDATE_TEST_TIMEOUT
  std::chrono::milliseconds git_timeout{120000};     ///< SELFUPDATE_GIT_TIMEOUT
  int approval_ttl_minutes = 30;                     ///< APPROVAL_TTL_MINUTES
  std::string readyz_url = "http://127.0.0.1:8000/readyz";  ///< SELFUPDATE_READYZ_URL
  int readyz_attempts = 10;                                 ///< SELFUPDATE_READYZ_ATTEMPTS
  std::chrono::milliseconds readyz_interval{1000};          ///< SELFUPDATE_READYZ_INTERVAL
  long long max_patch_bytes = 1 << 20;                      ///< SELFUPDATE_MAX_PATCH_BYTES
  int max_files = 60;                                       ///< SELFUPDATE_MAX_FILES
  long long max_rationale_bytes = 4000;                     ///< SELFUPDATE_MAX_RATIONALE_BYTES
  long long log_tail_bytes = 8192;                          ///< SELFUPDATE_LOG_TAIL_BYTES
  std::string sandbox = "bwrap";                            ///< SELFUPDATE_SANDBOX (bwrap|none)
  std::vector<std::string> sandbox_hide;                    ///< SELFUPDATE_SANDBOX_HIDE
  std::vector<std::string> sandbox_read;                    ///< SELFUPDATE_SANDBOX_READ
  std::vector<std::string> sandbox_deps{"node_modules"};    ///< SELFUPDATE_SANDBOX_DEPS
  std::string sandbox_program = "bwrap";    ///< the bubblewrap program (not a setting: tests)
  int keep_releases = 3;                    ///< SELFUPDATE_KEEP_RELEASES
  bool require_current_executable = true;   ///< SELFUPDATE_REQUIRE_CURRENT_EXECUTABLE
  std::chrono::milliseconds lease{120000};  ///< SELFUPDATE_LEASE

  /// Reads every key of the manifest (validated by the host before the plugin runs).
  static Settings from(const jarvis::PluginConfig& config);
};

}  // namespace selfupdate
