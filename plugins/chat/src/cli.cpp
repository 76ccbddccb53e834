// chat/src/cli.cpp — the chat commands (see cli.h): `jarvis ask`, `jarvis chat`,
// `jarvis threads list|show|export`. Every command is an HTTP client of the running host.
#include <unistd.h>

#include <iomanip>
#include <istream>
#include <iterator>
#include <sstream>

#include "cli.h"

namespace chat {
namespace {

constexpr const char* kAskUsage =
    "jarvis ask MESSAGE… [--thread-id ID | --new-thread] [--agent ID] [--json] [--timeout-s N]";
constexpr const char* kChatUsage =
    "jarvis chat [--thread-id ID | --new-thread] [--agent ID] [--timeout-s N]";

long timeout_option(const jarvis::Args& a) {
  std::string v = a.option("--timeout-s", "300");
  long n = 0;
  try {
    std::size_t used = 0;
    n = std::stol(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw jarvis::UsageError("--timeout-s must be a whole number of seconds");
  }
  if (n < 1 || n > 86400) throw jarvis::UsageError("--timeout-s must be 1..86400");
  return n;
}

long long int_option(const jarvis::Args& a, const std::string& name, long long fallback,
                     long long min, long long max) {
  if (!a.has_option(name)) return fallback;
  std::string v = a.option(name);
  long long n = 0;
  try {
    std::size_t used = 0;
    n = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw jarvis::UsageError(name + " must be a number");
  }
  if (n < min || n > max) {
    throw jarvis::UsageError(name + " must be " + std::to_string(min) + ".." + std::to_string(max));
  }
  return n;
}

// Which thread from --thread-id / --new-thread.
ThreadChoice thread_choice(const jarvis::Args& a) {
  if (a.has_option("--thread-id") && a.flag("--new-thread")) {
    throw jarvis::UsageError("--thread-id and --new-thread exclude each other");
  }
  if (a.has_option("--thread-id")) {
    if (a.option("--thread-id").empty()) throw jarvis::UsageError("--thread-id needs an id");
    return ThreadChoice::Given;
  }
  return a.flag("--new-thread") ? ThreadChoice::New : ThreadChoice::Reuse;
}

std::string text_of(const jarvis::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Prints one reply as it streams: the deltas, then whatever the stored reply adds to them (a
// slash command's answer comes without deltas; verbose replies end with a footer).
class ReplyPrinter {
 public:
  explicit ReplyPrinter(std::ostream& out) : out_(out) {}
  void delta(std::string_view text) {
    streamed_.append(text);
    out_ << text << std::flush;
  }
  void finish(const jarvis::Json& assistant) {
    std::string content =
        assistant.is_object() ? text_of(assistant.value("content", jarvis::Json())) : "";
    if (content.rfind(streamed_, 0) == 0) {
      out_ << content.substr(streamed_.size());
    } else if (!content.empty()) {
      out_ << (streamed_.empty() ? "" : "\n") << content;  // deltas were lost on a reconnect
    }
    const std::string& shown = content.empty() ? streamed_ : content;
    if (!shown.empty() && shown.back() != '\n') out_ << "\n";
    out_ << std::flush;
  }

 private:
  std::ostream& out_;
  std::string streamed_;
};

// Tool activity on stderr, so stdout carries only the reply.
void print_tool_event(std::ostream& err, const std::string& event, const jarvis::Json& data) {
  if (event == "tool_call") {
    err << "[tool " << data.value("name", "?") << "]\n" << std::flush;
  } else if (event == "tool_result") {
    err << "[tool " << data.value("name", "?") << ": " << (data.value("ok", false) ? "ok" : "error")
        << "]\n"
        << std::flush;
  }
}

void print_failure(std::ostream& err, const std::string& command, const std::string& code,
                   const std::string& message) {
  err << "jarvis " << command << ": " << message << " (" << code << ")\n";
}

// --- jarvis ask --------------------------------------------------------------------------------

int cmd_ask(jarvis::Host& host, jarvis::CommandContext& c) {
  auto a = jarvis::Args::parse(c.args, {"--json", "--new-thread"},
                               {"--thread-id", "--agent", "--timeout-s"});
  const bool json = a.flag("--json");
  const ThreadChoice choice = thread_choice(a);
  const long timeout_s = timeout_option(a);
  std::string content;
  if (a.positionals().size() == 1 && a.positionals()[0] == "-") {
    content.assign(std::istreambuf_iterator<char>(c.in), std::istreambuf_iterator<char>());
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
      content.pop_back();
    }
  } else {
    for (const auto& p : a.positionals()) content += (content.empty() ? "" : " ") + p;
  }
  if (jarvis::trimmed(content).empty()) throw jarvis::UsageError("MESSAGE is required");

  HostApi api(host.http(), CliTarget::from(host.config()));
  std::string thread_id = a.option("--thread-id");
  try {
    thread_id = resolve_thread(api, choice, thread_id, content);
  } catch (const CliFailure& e) {
    if (json) {
      jarvis::Json err = {{"code", e.code()}, {"message", e.what()}};
      if (!e.outage_class().empty()) err["outage_class"] = e.outage_class();
      c.out << jarvis::Json{{"ok", false},
                            {"thread_id",
                             thread_id.empty() ? jarvis::Json(nullptr) : jarvis::Json(thread_id)},
                            {"error", err}}
                   .dump()
            << "\n";
    } else {
      print_failure(c.err, "ask", e.code(), e.what());
    }
    return 1;
  }

  ReplyPrinter printer(c.out);
  AskRequest req{.thread_id = thread_id,
                 .content = content,
                 .agent_id = a.option("--agent"),
                 .timeout_s = timeout_s};
  if (!json) {
    req.on_event = [&c](const std::string& ev, const jarvis::Json& d) {
      print_tool_event(c.err, ev, d);
    };
  }
  AskOutcome o = ask(api, req, [&](std::string_view text) {
    if (!json) printer.delta(text);
  });
  if (json) {
    c.out << outcome_json(thread_id, o).dump() << "\n";
  } else {
    printer.finish(o.assistant);
    if (!o.ok) print_failure(c.err, "ask", o.error_code, o.error_message);
  }
  return o.ok ? 0 : 1;
}

// --- jarvis chat -------------------------------------------------------------------------------

int cmd_chat(jarvis::Host& host, jarvis::CommandContext& c) {
  auto a = jarvis::Args::parse(c.args, {"--new-thread"}, {"--thread-id", "--agent", "--timeout-s"});
  if (!a.positionals().empty()) {
    throw jarvis::UsageError("unexpected argument '" + a.positionals()[0] + "'");
  }
  const ThreadChoice choice = thread_choice(a);
  const long timeout_s = timeout_option(a);
  const bool interactive = ::isatty(STDIN_FILENO) == 1;

  HostApi api(host.http(), CliTarget::from(host.config()));
  std::string thread_id;
  // The thread is picked lazily (a new thread gets the first message as its title).
  auto ensure_thread = [&](const std::string& first) {
    if (thread_id.empty()) {
      thread_id = resolve_thread(api, choice, a.option("--thread-id"), first);
      c.err << "thread " << thread_id << " — /quit to leave\n" << std::flush;
    }
  };
  int failures = 0;
  std::string line;
  for (;;) {
    if (interactive) c.out << "> " << std::flush;
    if (!std::getline(c.in, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string text = jarvis::trimmed(line);
    if (text.empty()) continue;
    if (text == "/quit" || text == "/exit") break;
    try {
      ensure_thread(text);
    } catch (const CliFailure& e) {
      print_failure(c.err, "chat", e.code(), e.what());
      return 1;  // no thread to talk to: nothing else will work either
    }
    ReplyPrinter printer(c.out);
    AskRequest req{.thread_id = thread_id,
                   .content = text,
                   .agent_id = a.option("--agent"),
                   .timeout_s = timeout_s};
    req.on_event = [&c](const std::string& ev, const jarvis::Json& d) {
      print_tool_event(c.err, ev, d);
    };
    AskOutcome o = ask(api, req, [&](std::string_view t) { printer.delta(t); });
    printer.finish(o.assistant);
    if (!o.ok) {
      ++failures;
      print_failure(c.err, "chat", o.error_code, o.error_message);
      if (o.error_code == "no_token" || o.error_code == "unauthorized") return 1;
      continue;
    }
    // `/new` closed this thread and opened another cli thread: follow it.
    const jarvis::Json meta = o.assistant.value("meta", jarvis::Json::object());
    // (contains() first: operator[] on a const json with a missing key is undefined behaviour.)
    if (meta.is_object() && meta.contains("command") && meta["command"].is_object() &&
        meta["command"].value("name", "") == "new" &&
        meta["command"].value("outcome", "") == "ok") {
      try {
        thread_id = resolve_thread(api, ThreadChoice::Reuse, "", "");
        c.err << "thread " << thread_id << "\n" << std::flush;
      } catch (const CliFailure& e) {
        print_failure(c.err, "chat", e.code(), e.what());
        return 1;
      }
    }
  }
  if (interactive) c.out << "\n";
  return failures == 0 ? 0 : 1;
}

// --- jarvis threads ----------------------------------------------------------------------------

// Runs `body`, turning a CliFailure into an error line and exit 1.
int guarded(jarvis::CommandContext& c, const std::string& command,
            const std::function<int()>& body) {
  try {
    return body();
  } catch (const CliFailure& e) {
    print_failure(c.err, command, e.code(), e.what());
    return 1;
  }
}

int cmd_threads_list(jarvis::Host& host, jarvis::CommandContext& c) {
  auto a = jarvis::Args::parse(c.args, {"--json", "--all"}, {"--status", "--limit", "--offset"});
  std::string status = a.option("--status");
  if (!status.empty() && status != "open" && status != "closed" && status != "archived") {
    throw jarvis::UsageError("--status must be open, closed or archived");
  }
  long long limit = int_option(a, "--limit", 50, 1, 200);
  long long offset = int_option(a, "--offset", 0, 0, 1000000000);
  return guarded(c, "threads list", [&] {
    HostApi api(host.http(), CliTarget::from(host.config()));
    std::string q = "?limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
    if (!status.empty()) q += "&status=" + status;
    if (a.flag("--all")) q += "&all=true";
    jarvis::Json page = api.call("GET", "/api/v1/threads" + q);
    if (a.flag("--json")) {
      c.out << page.dump(2) << "\n";
      return 0;
    }
    for (const auto& t : page.value("items", jarvis::Json::array())) {
      c.out << std::left << std::setw(38) << text_of(t.value("id", jarvis::Json())) << std::setw(10)
            << text_of(t.value("channel", jarvis::Json())) << std::setw(10)
            << text_of(t.value("status", jarvis::Json())) << std::setw(26)
            << text_of(t.value("updated_at", jarvis::Json()))
            << text_of(t.value("title", jarvis::Json())) << "\n";
    }
    c.out << text_of(page.value("total", jarvis::Json(0))) << " thread(s)";
    if (page.value("has_more", false)) c.out << " (more: --offset " << offset + limit << ")";
    c.out << "\n";
    return 0;
  });
}

int cmd_threads_show(jarvis::Host& host, jarvis::CommandContext& c) {
  auto a = jarvis::Args::parse(c.args, {"--json"}, {"--limit"});
  const std::string id = a.positional(0, "ID");
  long long limit = int_option(a, "--limit", 50, 1, 200);
  return guarded(c, "threads show", [&] {
    HostApi api(host.http(), CliTarget::from(host.config()));
    jarvis::Json t = api.call("GET", "/api/v1/threads/" + id);
    // The newest `limit` messages, shown oldest first.
    jarvis::Json page = api.call(
        "GET", "/api/v1/threads/" + id + "/messages?order=desc&limit=" + std::to_string(limit));
    jarvis::Json msgs = jarvis::Json::array();
    for (const auto& m : page.value("items", jarvis::Json::array())) msgs.push_back(m);
    std::reverse(msgs.begin(), msgs.end());
    if (a.flag("--json")) {
      c.out << jarvis::Json{{"thread", t},
                            {"messages", msgs},
                            {"total_messages", page.value("total", jarvis::Json(nullptr))}}
                   .dump(2)
            << "\n";
      return 0;
    }
    for (const char* k :
         {"id", "title", "channel", "status", "owner_id", "created_at", "updated_at"}) {
      c.out << std::left << std::setw(12) << (std::string(k) + ":")
            << text_of(t.value(k, jarvis::Json())) << "\n";
    }
    long long total = page.value("total", 0LL);
    c.out << "messages:   " << total;
    if (total > static_cast<long long>(msgs.size())) c.out << " (the last " << msgs.size() << ")";
    c.out << "\n\n";
    for (const auto& m : msgs) {
      std::string who = text_of(m.value("role", jarvis::Json()));
      if (m["provider"].is_string() && !m["provider"].get<std::string>().empty()) {
        who += " (" + m["provider"].get<std::string>() + "/" +
               text_of(m.value("model", jarvis::Json())) + ")";
      }
      c.out << "[" << text_of(m.value("created_at", jarvis::Json())) << "] " << who << ":\n"
            << text_of(m.value("content", jarvis::Json())) << "\n\n";
    }
    return 0;
  });
}

int cmd_threads_export(jarvis::Host& host, jarvis::CommandContext& c) {
  auto a = jarvis::Args::parse(c.args, {}, {});
  const std::string id = a.positional(0, "ID");
  return guarded(c, "threads export", [&] {
    HostApi api(host.http(), CliTarget::from(host.config()));
    jarvis::Headers h;
    h.set("Accept", "application/x-ndjson");
    std::size_t bytes = 0;
    jarvis::OutboundResponse res =
        api.stream("GET", "/api/v1/threads/" + id + "/export", nullptr, h, 600000,
                   [&](std::string_view chunk) {
                     c.out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                     bytes += chunk.size();
                     return static_cast<bool>(c.out);
                   });
    c.out.flush();
    if (!res.error_class.empty()) {
      throw CliFailure(
          res.error_class,
          "the export broke off after " + std::to_string(bytes) + " bytes: " + res.error_message,
          res.status, res.error_class);
    }
    return 0;
  });
}

}  // namespace

void register_cli(jarvis::Host& host) {
  jarvis::Host* h = &host;
  host.commands().add({.group = "ask",
                       .name = "",
                       .summary = "Ask the running host's assistant (MESSAGE \"-\" reads stdin); "
                                  "the reply streams as it arrives",
                       .usage = kAskUsage,
                       .handler = [h](jarvis::CommandContext& c) { return cmd_ask(*h, c); }});
  host.commands().add({.group = "chat",
                       .name = "",
                       .summary = "Talk to the running host's assistant, a message per line of "
                                  "stdin; /quit leaves",
                       .usage = kChatUsage,
                       .handler = [h](jarvis::CommandContext& c) { return cmd_chat(*h, c); }});
  host.commands().add(
      {.group = "threads",
       .name = "list",
       .summary = "Your chat threads on the running host (admins: --all)",
       .usage = "jarvis threads list [--status open|closed|archived] [--all] [--limit N] "
                "[--offset N] [--json]",
       .handler = [h](jarvis::CommandContext& c) { return cmd_threads_list(*h, c); }});
  host.commands().add(
      {.group = "threads",
       .name = "show",
       .summary = "One thread and its latest messages",
       .usage = "jarvis threads show ID [--limit N] [--json]",
       .handler = [h](jarvis::CommandContext& c) { return cmd_threads_show(*h, c); }});
  host.commands().add(
      {.group = "threads",
       .name = "export",
       .summary = "A thread, its messages and summary as NDJSON on stdout",
       .usage = "jarvis threads export ID",
       .handler = [h](jarvis::CommandContext& c) { return cmd_threads_export(*h, c); }});
}

}  // namespace chat
