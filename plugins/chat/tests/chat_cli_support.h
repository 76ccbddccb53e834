// chat/tests/chat_cli_support.h — running the chat CLI (`jarvis ask`, `jarvis chat`,
// `jarvis threads …`, the built binary) against a ChatHost (chat_support.h), as a user would.
//
//   ChatHost h(Backend::Sqlite);
//   auto r = run_cli(h, {"ask", "--json", "hello"}, h.alice);
//   json j = last_json_line(r.out);          // {"ok":true,"thread_id":…,"assistant":"echo: hello"}
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "chat_support.h"

namespace chat_test {

/// Runs `jarvis <args…>` in the host's folder with the host's configuration, JARVIS_URL set to
/// the running server and JARVIS_TOKEN to `token` (unset when empty); `extra` overrides the
/// environment (an empty value removes the variable).
inline jarvis::test::RunResult run_cli(const ChatHost& h, const std::vector<std::string>& args,
                                       const std::string& token, const std::string& stdin_data = "",
                                       const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> env = h.env;
  env["JARVIS_URL"] = h.server->url("");
  if (!token.empty()) env["JARVIS_TOKEN"] = token;
  for (const auto& [k, v] : extra) {
    if (v.empty()) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  return jarvis::test::run_jarvis(args, h.dir.path(), env, stdin_data);
}

/// The last non-empty line of `out` parsed as JSON (discarded when it is not JSON).
inline json last_json_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return json::parse(last, nullptr, false);
}

/// Every line of `out` parsed as JSON (NDJSON).
inline std::vector<json> ndjson_lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(json::parse(line, nullptr, false));
  }
  return lines;
}

/// The text of the last user message of a recorded OpenAI request ("" if none).
inline std::string last_user_text(const jarvis::test::fakes::RecordedRequest& r) {
  std::string text;
  if (r.json.is_object() && r.json["messages"].is_array()) {
    for (const auto& m : r.json["messages"]) {
      if (m.value("role", "") == "user" && m["content"].is_string()) text = m["content"];
    }
  }
  return text;
}

}  // namespace chat_test
