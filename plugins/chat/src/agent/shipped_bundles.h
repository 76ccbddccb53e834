// chat/src/agent/shipped_bundles.h — the agent bundles compiled into the plugin (agents/**.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace chat {

/// (path relative to agents/, file content), e.g. ("main/identity.md", "---\nagent_id: main…").
const std::vector<std::pair<std::string, std::string>>& shipped_bundle_files();

}  // namespace chat
