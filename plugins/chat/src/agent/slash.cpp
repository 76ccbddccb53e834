// chat/src/agent/slash.cpp — the slash-command parser and executor.
#include "agent/slash.h"

#include <algorithm>

#include "agent/text_budget.h"
#include "jarvis/error.h"
#include "jarvis/strings.h"

namespace chat {
namespace {

/// Most events listed in /logs' text (the data carries them all).
constexpr std::size_t kMaxLogLines = 50;
/// Longest lockdown reason kept.
constexpr std::size_t kMaxReasonBytes = 200;

/// `s` with every byte that is not printable ASCII replaced by '?', at most `max` bytes (for
/// echoing user input back safely).
std::string printable(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

bool valid_trace_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

SlashReply reply(const SlashCommand& cmd, std::string outcome, std::string text,
                 jarvis::Json data = nullptr) {
  SlashReply r;
  r.command = cmd.name;
  r.outcome = std::move(outcome);
  r.text = std::move(text);
  r.data = std::move(data);
  return r;
}

SlashReply usage(const SlashCommand& cmd, const std::string& usage_text) {
  return reply(cmd, "invalid_arguments", "usage: " + usage_text);
}

std::optional<bool> on_off(std::string_view word) {
  std::string w = jarvis::ascii_lower(word);
  if (w == "on") return true;
  if (w == "off") return false;
  return std::nullopt;
}

/// A free-text reason: control characters become spaces, cut to kMaxReasonBytes on a character
/// boundary, blanks trimmed; "" when not valid UTF-8.
std::string clean_reason(std::string_view text) {
  if (!valid_utf8(text)) return {};
  std::string out;
  for (char c : utf8_prefix(text, kMaxReasonBytes)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? ' ' : c);
  }
  return jarvis::trimmed(out);
}

std::string scalar_text(const jarvis::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

/// One line of k=v pairs for an object's scalar members (nested values as compact JSON).
std::string inline_object(const jarvis::Json& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key() + "=" + scalar_text(it.value());
  }
  return out;
}

// --- the commands ---------------------------------------------------------------------------

SlashReply cmd_help(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv&) {
  std::string text = "Commands (answered without the model):\n";
  for (const auto& c : slash_commands()) {
    text += "  " + c.usage;
    text.append(c.usage.size() < 26 ? 26 - c.usage.size() : 1, ' ');
    text += c.summary;
    if (c.admin) text += ctx.principal.is_admin() ? " (admin)" : " (admin only)";
    text += "\n";
  }
  return reply(cmd, "ok", std::move(text));
}

SlashReply cmd_status(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  if (!cmd.args.empty()) return usage(cmd, "/status");
  jarvis::Json snap = env.status(ctx);
  if (!snap.is_object()) snap = jarvis::Json::object();
  jarvis::Json data = {{"lockdown", env.system().lockdown()},
                       {"restarting", env.system().restarting()}};
  for (auto it = snap.begin(); it != snap.end(); ++it) {
    if (!data.contains(it.key())) data[it.key()] = it.value();
  }
  return reply(cmd, "ok", render_status(data), data);
}

SlashReply cmd_new(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  if (!cmd.args.empty()) return usage(cmd, "/new");
  std::string id = env.new_thread(ctx);
  return reply(cmd, "ok", "new thread created: " + id, {{"thread_id", id}});
}

SlashReply cmd_compact(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  if (!cmd.args.empty()) return usage(cmd, "/compact");
  env.enqueue_compaction(ctx);
  return reply(cmd, "ok", "compaction enqueued");
}

SlashReply cmd_verbose(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  std::optional<bool> on = cmd.args.size() == 1 ? on_off(cmd.args[0]) : std::nullopt;
  if (!on) return usage(cmd, "/verbose on|off");
  env.set_verbose(ctx, *on);
  return reply(
      cmd, "ok",
      *on ? "verbose on: replies show the tools called and the model that answered" : "verbose off",
      {{"verbose", *on}});
}

SlashReply cmd_restart(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  if (!cmd.args.empty()) return usage(cmd, "/restart");
  if (env.system().restarting()) return reply(cmd, "refused", "a restart is already in progress");
  env.system().request_restart(ctx.actor(), ctx.trace_id);
  return reply(cmd, "ok",
               "restart requested: the host finishes in-flight work, then restarts; this "
               "conversation continues afterwards",
               {{"trace_id", ctx.trace_id}});
}

SlashReply cmd_unlock(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  SlashReply r;
  const bool digits = cmd.args.size() == 1 && !cmd.args[0].empty() && cmd.args[0].size() <= 32 &&
                      std::all_of(cmd.args[0].begin(), cmd.args[0].end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    r = usage(cmd, "/unlock <code> (the current unlock code, digits only)");
  } else if (!env.system().lockdown()) {
    r = reply(cmd, "refused", "the system is not in lockdown");
  } else {
    std::string why;
    if (env.system().unlock(cmd.args[0], ctx.actor(), &why)) {
      r = reply(cmd, "ok", "lockdown cleared");
    } else {
      r = reply(cmd, "refused",
                "unlock refused: " + (why.empty() ? std::string("invalid code") : why));
    }
  }
  return r;
}

SlashReply cmd_lockdown(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  std::optional<bool> on = cmd.args.empty() ? std::nullopt : on_off(cmd.args[0]);
  if (!on) return usage(cmd, "/lockdown on|off [reason]");
  std::string_view rest = jarvis::trim(cmd.rest);
  std::string reason =
      clean_reason(jarvis::trim(rest.substr(std::min(rest.size(), cmd.args[0].size()))));
  const bool locked = env.system().lockdown();
  if (*on && locked) return reply(cmd, "refused", "the system is already in lockdown");
  if (!*on && !locked) return reply(cmd, "refused", "the system is not in lockdown");
  env.set_lockdown(ctx, *on, reason);
  std::string text =
      *on ? "lockdown on: protected tools are refused until it is cleared" : "lockdown off";
  if (*on && !reason.empty()) text += " (reason: " + reason + ")";
  return reply(cmd, "ok", std::move(text), {{"lockdown", *on}, {"reason", reason}});
}

SlashReply cmd_logs(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  if (cmd.args.size() != 2 || jarvis::ascii_lower(cmd.args[0]) != "trace")
    return usage(cmd, "/logs trace <trace id>");
  const std::string& id = cmd.args[1];
  if (!valid_trace_id(id))
    return reply(cmd, "invalid_arguments",
                 "not a trace id: " + printable(id) + " (letters, digits, '_', '-', '.', ':')");
  std::optional<jarvis::Json> events = env.trace_events(ctx, id);
  if (!events || !events->is_array() || events->empty())
    return reply(cmd, "not_found", "trace " + id + " not found");
  // Only what /logs shows: never payloads, whatever the env returned.
  jarvis::Json listed = jarvis::Json::array();
  for (const auto& e : *events) {
    if (!e.is_object()) continue;
    listed.push_back({{"type", e.value("type", "")},
                      {"component", e.value("component", "")},
                      {"created_at", e.value("created_at", "")}});
  }
  std::string text = "trace " + id + ": " + std::to_string(listed.size()) +
                     (listed.size() == 1 ? " event\n" : " events\n");
  for (std::size_t i = 0; i < listed.size() && i < kMaxLogLines; ++i) {
    const auto& e = listed[i];
    text += "  " + e["created_at"].get<std::string>() + "  " + e["type"].get<std::string>();
    if (!e["component"].get<std::string>().empty())
      text += "  (" + e["component"].get<std::string>() + ")";
    text += "\n";
  }
  if (listed.size() > kMaxLogLines)
    text += "  … " + std::to_string(listed.size() - kMaxLogLines) + " more\n";
  return reply(cmd, "ok", std::move(text), {{"trace_id", id}, {"events", std::move(listed)}});
}

using Handler = SlashReply (*)(const SlashCommand&, const SlashContext&, SlashEnv&);

struct Entry {
  SlashCommandInfo info;
  Handler handler;
};

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries{
      {{"help", "/help", "this list", false}, cmd_help},
      {{"status", "/status", "providers, queues, scheduler backlog, lockdown", false}, cmd_status},
      {{"new", "/new", "start a new thread (this one is closed)", false}, cmd_new},
      {{"compact", "/compact", "summarise this thread now", false}, cmd_compact},
      {{"verbose", "/verbose on|off", "show tool calls and model details in replies", false},
       cmd_verbose},
      {{"logs", "/logs trace <id>", "the events of one of your traces", false}, cmd_logs},
      {{"restart", "/restart", "controlled restart of the host", true}, cmd_restart},
      {{"unlock", "/unlock <code>", "clear the lockdown with the unlock code", true}, cmd_unlock},
      {{"lockdown", "/lockdown on|off [reason]", "set or clear the lockdown", true}, cmd_lockdown},
  };
  return entries;
}

}  // namespace

bool is_slash_command(std::string_view text) {
  std::string_view t = jarvis::trim(text);
  return !t.empty() && t.front() == '/';
}

std::string storable_command_text(const std::string& text, std::string* secret) {
  if (secret) secret->clear();
  auto cmd = parse_slash(text);
  if (!cmd || cmd->name != "unlock" || cmd->rest.empty()) return text;
  if (secret) *secret = cmd->rest;
  return "/unlock ******";
}

std::optional<SlashCommand> parse_slash(std::string_view text) {
  std::string_view t = jarvis::trim(text);
  if (t.empty() || t.front() != '/') return std::nullopt;
  SlashCommand cmd;
  std::size_t end = 1;
  while (end < t.size() && !jarvis::is_ascii_space(t[end])) ++end;
  cmd.name = jarvis::ascii_lower(t.substr(1, end - 1));
  cmd.rest = jarvis::trimmed(t.substr(end));
  std::string_view rest = cmd.rest;
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && jarvis::is_ascii_space(rest[i])) ++i;
    std::size_t j = i;
    while (j < rest.size() && !jarvis::is_ascii_space(rest[j])) ++j;
    if (j > i) cmd.args.emplace_back(rest.substr(i, j - i));
    i = j;
  }
  return cmd;
}

jarvis::Json SlashReply::to_json() const {
  jarvis::Json j = {{"command", command}, {"outcome", outcome}, {"text", text}};
  if (!data.is_null()) j["data"] = data;
  return j;
}

const std::vector<SlashCommandInfo>& slash_commands() {
  static const std::vector<SlashCommandInfo> infos = [] {
    std::vector<SlashCommandInfo> out;
    for (const auto& e : table()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

SlashReply execute_slash(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env) {
  const Entry* entry = nullptr;
  for (const auto& e : table()) {
    if (e.info.name == cmd.name) entry = &e;
  }
  SlashReply r;
  if (!entry) {
    r = reply(cmd, "unknown_command",
              "unknown command: /" + printable(cmd.name) + " (type /help for the list)");
    r.command = printable(cmd.name);
  } else if (entry->info.admin && !ctx.principal.is_admin()) {
    r = reply(cmd, "forbidden", "/" + cmd.name + " is for administrators only");
  } else {
    try {
      r = entry->handler(cmd, ctx, env);
    } catch (const jarvis::Error& e) {
      const bool unavailable = e.status() == 501 || e.status() == 503;
      r = reply(cmd, unavailable ? "unavailable" : "failed",
                "/" + cmd.name + (unavailable ? " is unavailable: " : " failed: ") + e.what());
      r.detail = e.code();
    } catch (const std::exception& e) {
      r = reply(cmd, "failed", "/" + cmd.name + " failed (internal error)");
      r.detail = e.what();
    }
  }
  if (cmd.name == "unlock") {
    r.redact_input = true;
    r.stored_input = "/unlock ******";
  }
  return r;
}

namespace {

// One line per provider: "openai fake-1: configured, in the order; last success …; last failure
// … auth (HTTP 401)" — the health document is for machines, this is for a person in a chat.
std::string render_providers(const jarvis::Json& health) {
  std::string text = "providers:";
  if (health.contains("primary") && health["primary"].is_string()) {
    text += " primary " + health["primary"].get<std::string>();
  }
  if (health.contains("order") && health["order"].is_array() && !health["order"].empty()) {
    text += ", order";
    for (const auto& o : health["order"]) text += " " + scalar_text(o);
  }
  text += "\n";
  if (!health.contains("providers") || !health["providers"].is_array()) return text;
  for (const auto& p : health["providers"]) {
    if (!p.is_object()) continue;
    text += "  - " + p.value("name", std::string("?"));
    if (p.contains("model") && p["model"].is_string() && !p["model"].get<std::string>().empty()) {
      text += " " + p["model"].get<std::string>();
    }
    if (!p.value("configured", false)) {
      text += ": not configured\n";
      continue;
    }
    text += ": configured";
    if (!p.value("in_order", true)) text += " (not in PRIMARY_PROVIDER/FALLBACK_PROVIDERS)";
    const jarvis::Json& ok = p.contains("last_success") ? p["last_success"] : jarvis::Json();
    text += "; last success " + (ok.is_object() ? ok.value("at", std::string("?"))
                                                : (ok.is_string() ? ok.get<std::string>() : "-"));
    const jarvis::Json& bad = p.contains("last_failure") ? p["last_failure"] : jarvis::Json();
    if (bad.is_object()) {
      text += "; last failure " + bad.value("at", std::string("?"));
      if (bad.contains("error") && bad["error"].is_object()) {
        const jarvis::Json& e = bad["error"];
        text += " " + e.value("kind", std::string("error"));
        if (e.contains("status") && e["status"].is_number() && e["status"].get<int>() > 0) {
          text += " (HTTP " + std::to_string(e["status"].get<int>()) + ")";
        }
      }
    }
    if (p.contains("cooldowns") && p["cooldowns"].is_array() && !p["cooldowns"].empty()) {
      text += "; cooling down:";
      for (const auto& c : p["cooldowns"]) {
        if (c.is_object()) {
          text += " " + c.value("model", std::string("?")) + " until " +
                  c.value("until", std::string("?"));
        }
      }
    }
    text += "\n";
  }
  if (health.contains("unknown") && health["unknown"].is_array() && !health["unknown"].empty()) {
    text += "  unknown names in the order:";
    for (const auto& u : health["unknown"]) text += " " + scalar_text(u);
    text += "\n";
  }
  return text;
}

}  // namespace

std::string render_status(const jarvis::Json& snapshot) {
  std::string text = "status\n";
  if (!snapshot.is_object()) return text;
  for (auto it = snapshot.begin(); it != snapshot.end(); ++it) {
    const std::string& key = it.key();
    const jarvis::Json& v = it.value();
    if (key == "providers" && v.is_object()) {
      text += render_providers(v);
    } else if (key == "lockdown") {
      text += std::string("lockdown: ") + (v == true ? "on" : "off") + "\n";
    } else if (key == "restarting") {
      text += std::string("restart: ") + (v == true ? "in progress" : "none") + "\n";
    } else if (v.is_object()) {
      text += key + ":\n";
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        const jarvis::Json& w = jt.value();
        if (w.is_array()) {
          text += "  " + jt.key() + ":\n";
          for (const auto& item : w)
            text += "    - " + (item.is_object() ? inline_object(item) : scalar_text(item)) + "\n";
        } else {
          text +=
              "  " + jt.key() + ": " + (w.is_object() ? inline_object(w) : scalar_text(w)) + "\n";
        }
      }
    } else if (v.is_array()) {
      text += key + ":";
      bool scalars = std::all_of(v.begin(), v.end(), [](const jarvis::Json& x) {
        return !x.is_object() && !x.is_array();
      });
      if (scalars) {
        for (std::size_t i = 0; i < v.size(); ++i) text += (i ? ", " : " ") + scalar_text(v[i]);
        text += "\n";
      } else {
        text += "\n";
        for (const auto& item : v)
          text += "  - " + (item.is_object() ? inline_object(item) : scalar_text(item)) + "\n";
      }
    } else {
      text += key + ": " + scalar_text(v) + "\n";
    }
  }
  return text;
}

}  // namespace chat
