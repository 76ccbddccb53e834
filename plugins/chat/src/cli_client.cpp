// chat/src/cli_client.cpp — the CLI's side of the host's chat API (see cli.h): target and token,
// JSON calls, picking the thread, and following one reply's server-sent events to `done`.
#include <chrono>
#include <set>
#include <thread>

#include "cli.h"

namespace chat {
namespace {

using Clock = std::chrono::steady_clock;

const std::set<std::string> kOutageClasses{"dns_resolution", "timeout", "network_unreachable",
                                           "provider_unavailable"};

constexpr std::size_t kMaxTitleBytes = 80;
constexpr int kReuseMaxPages = 10;  // 2 000 open threads looked at before a new one is made

// `s` cut to at most `max` bytes at a UTF-8 character boundary, first line only.
std::string title_from(const std::string& s, std::size_t max) {
  std::string t = s.substr(0, s.find('\n'));
  t = std::string(jarvis::trimmed(t));
  if (t.size() <= max) return t;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
  return t.substr(0, cut) + "…";
}

std::string header_or(const jarvis::Headers& h, const std::string& name) {
  auto v = h.get(name);
  return v ? *v : "";
}

long remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<long>(left.count());
}

// The failure an answer that is not 2xx (or a transfer that broke) stands for.
CliFailure failure_of(const jarvis::OutboundResponse& res, const std::string& base_url) {
  if (res.status == 0) {
    return CliFailure(res.error_class.empty() ? "network_unreachable" : res.error_class,
                      "cannot reach the jarvis host at " + base_url + ": " + res.error_message +
                          " (is `jarvis serve` running there? set JARVIS_URL, or BIND_HOST and "
                          "BIND_PORT, to its address)",
                      0, res.error_class);
  }
  if (!res.error_class.empty() && res.status >= 200 && res.status < 300) {
    return CliFailure(res.error_class, "the host's answer broke off: " + res.error_message,
                      res.status, res.error_class);
  }
  std::string code = "http_" + std::to_string(res.status);
  std::string message = "the host answered HTTP " + std::to_string(res.status);
  if (auto j = jarvis::try_parse_json(res.body);
      j && j->is_object() && j->contains("error") && (*j)["error"].is_object()) {
    code = (*j)["error"].value("code", code);
    message = (*j)["error"].value("message", message);
  }
  if (res.status == 401) {
    message +=
        " — JARVIS_TOKEN is not a valid API token (create one with `jarvis tokens create "
        "--user NAME`)";
  }
  return CliFailure(code, message, res.status);
}

// The message of `thread_id` matching `pred`, newest first among the last 200 (null if none).
jarvis::Json find_message(HostApi& api, const std::string& thread_id,
                          const std::function<bool(const jarvis::Json&)>& pred) {
  jarvis::Json page =
      api.call("GET", "/api/v1/threads/" + thread_id + "/messages?order=desc&limit=200");
  if (page.is_object() && page["items"].is_array()) {
    for (const auto& m : page["items"]) {
      if (m.is_object() && pred(m)) return m;
    }
  }
  return nullptr;
}

}  // namespace

// --- target, failures, calls ----------------------------------------------------------------

CliTarget CliTarget::from(const jarvis::PluginConfig& config) {
  CliTarget t;
  if (config.is_set("cli_url") && !config.get_string("cli_url").empty()) {
    t.base_url = config.get_string("cli_url");
  } else {
    // The same address `jarvis plugins list` asks: this configuration's BIND_HOST:BIND_PORT.
    std::string host = config.get_string("cli_bind_host");
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    t.base_url = "http://" + host + ":" + std::to_string(config.get_int("cli_bind_port"));
  }
  while (!t.base_url.empty() && t.base_url.back() == '/') t.base_url.pop_back();
  t.token = config.get_secret("cli_token");
  return t;
}

CliFailure::CliFailure(std::string code, const std::string& message, int status,
                       std::string outage_class)
    : std::runtime_error(message),
      code_(std::move(code)),
      status_(status),
      outage_class_(std::move(outage_class)) {}

HostApi::HostApi(jarvis::HttpClient& http, CliTarget target)
    : http_(http), target_(std::move(target)) {}

jarvis::OutboundRequest HostApi::request(const std::string& method, const std::string& path,
                                         const jarvis::Json& body, long timeout_ms) {
  if (target_.token.empty()) {
    throw CliFailure("no_token",
                     "no API token: set JARVIS_TOKEN to a token of your user (create one with "
                     "`jarvis tokens create --user NAME`)");
  }
  jarvis::OutboundRequest r{.method = method, .url = target_.base_url + path};
  r.headers.set("Authorization", "Bearer " + target_.token.reveal());
  r.headers.set("Accept", "application/json");
  if (!body.is_null()) {
    r.headers.set("Content-Type", "application/json");
    r.body = body.dump();
  }
  r.connect_timeout_ms = std::min(5000L, std::max(1L, timeout_ms));
  r.timeout_ms = std::max(1L, timeout_ms);
  r.max_response_bytes = 64u << 20;
  return r;  // guard off: the operator configured this URL
}

jarvis::Json HostApi::call(const std::string& method, const std::string& path,
                           const jarvis::Json& body, long timeout_ms) {
  jarvis::OutboundResponse res = http_.send(request(method, path, body, timeout_ms));
  if (!res.ok()) throw failure_of(res, target_.base_url);
  if (res.status == 204 || jarvis::trimmed(res.body).empty()) return nullptr;
  auto j = jarvis::try_parse_json(res.body);
  if (!j) throw CliFailure("bad_response", "the host's answer to " + path + " is not JSON");
  return *j;
}

jarvis::OutboundResponse HostApi::stream(const std::string& method, const std::string& path,
                                         const jarvis::Json& body, jarvis::Headers headers,
                                         long timeout_ms,
                                         std::function<bool(std::string_view)> on_chunk) {
  jarvis::OutboundRequest r = request(method, path, body, timeout_ms);
  for (const auto& [name, value] : headers.all()) r.headers.set(name, value);
  r.on_chunk = std::move(on_chunk);
  jarvis::OutboundResponse res = http_.send(r);
  // A stream that started (2xx) and broke is the caller's to resume; anything else is an answer.
  bool started = res.status >= 200 && res.status < 300;
  if (!started) throw failure_of(res, target_.base_url);
  return res;
}

// --- threads ----------------------------------------------------------------------------------

std::string resolve_thread(HostApi& api, ThreadChoice choice, const std::string& id,
                           const std::string& first_message) {
  if (choice == ThreadChoice::Given) return id;
  if (choice == ThreadChoice::Reuse) {
    // Newest first (the list is ordered by updated_at); only the caller's own threads (an
    // admin's list without ?all=true is theirs too).
    for (int page = 0; page < kReuseMaxPages; ++page) {
      jarvis::Json p = api.call("GET", "/api/v1/threads?status=open&channel=cli&limit=200&offset=" +
                                           std::to_string(page * 200));
      if (!p.is_object() || !p["items"].is_array()) break;
      for (const auto& t : p["items"]) {
        if (t.is_object() && t.value("channel", "") == "cli" && t.value("status", "") == "open" &&
            t["id"].is_string()) {
          return t["id"];
        }
      }
      if (!p.value("has_more", false)) break;
    }
  }
  jarvis::Json body = {{"channel", "cli"}};
  if (std::string title = title_from(first_message, kMaxTitleBytes); !title.empty()) {
    body["title"] = title;
  }
  jarvis::Json t = api.call("POST", "/api/v1/threads", body);
  if (!t.is_object() || !t["id"].is_string()) {
    throw CliFailure("bad_response", "the host created a thread without an id");
  }
  return t["id"];
}

// --- one reply --------------------------------------------------------------------------------

AskOutcome ask(HostApi& api, const AskRequest& r,
               const std::function<void(std::string_view)>& on_delta) {
  AskOutcome o;
  const auto deadline = Clock::now() + std::chrono::seconds(r.timeout_s);
  const std::string base = "/api/v1/threads/" + r.thread_id;
  jarvis::SseParser sse;
  bool done = false;
  bool resumed_other_step = false;
  jarvis::Json done_data;

  auto handle = [&](const jarvis::SseEvent& ev) {
    auto data = jarvis::try_parse_json(ev.data);
    if (!data || !data->is_object()) return;
    if (ev.type == "delta") {
      if ((*data)["text"].is_string()) {
        o.streamed_text = true;
        if (on_delta) on_delta((*data)["text"].get<std::string>());
      }
    } else if (ev.type == "message") {
      if (data->value("role", "assistant") == "assistant") o.assistant = *data;
    } else if (ev.type == "error") {
      o.error_code = data->value("code", "error");
      o.error_message = data->value("message", "the step failed");
      o.outage_class = data->value("outage_class", "");
      if (o.outage_class.empty() && kOutageClasses.count(o.error_code)) {
        o.outage_class = o.error_code;
      }
    } else if (ev.type == "done") {
      done = true;
      done_data = *data;
    }
    if (r.on_event && ev.type != "delta") r.on_event(ev.type, *data);
  };
  auto on_chunk = [&](std::string_view bytes) {
    for (const auto& ev : sse.feed(bytes)) {
      handle(ev);
      if (done) return false;
    }
    return true;
  };

  auto fail = [&](const std::string& code, const std::string& message,
                  const std::string& outage = "") {
    o.ok = false;
    o.error_code = code;
    o.error_message = message;
    o.outage_class = outage;
    return o;
  };

  // 1. The post: stores the user message and its step, then streams the step's events.
  jarvis::Json body = {{"content", r.content}};
  if (!r.agent_id.empty()) body["agent_id"] = r.agent_id;
  jarvis::OutboundResponse res;
  try {
    jarvis::Headers h;
    h.set("Accept", "text/event-stream");
    res = api.stream("POST", base + "/messages", body, h, remaining_ms(deadline), on_chunk);
  } catch (const CliFailure& e) {
    return fail(e.code(), e.what(), e.outage_class());
  }
  o.user_message_id = header_or(res.headers, "X-Message-Id");
  o.step_id = header_or(res.headers, "X-Step-Id");
  o.trace_id = header_or(res.headers, "X-Trace-Id");

  // 2. A stream that broke before `done` (a restarting host, a proxy): resume on /stream.
  int attempt = 0;
  while (!done) {
    long left = remaining_ms(deadline);
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::min<long>(left, std::min(1000, 100 * (1 << std::min(attempt, 4))))));
    ++attempt;
    if (remaining_ms(deadline) <= 0) break;
    sse.reset();
    jarvis::Headers h;
    h.set("Accept", "text/event-stream");
    if (!sse.last_event_id().empty()) h.set("Last-Event-ID", sse.last_event_id());
    try {
      res = api.stream("GET", base + "/stream", nullptr, h, remaining_ms(deadline), on_chunk);
      if (done && !o.step_id.empty() && header_or(res.headers, "X-Step-Id") != o.step_id) {
        resumed_other_step = true;  // our step ended meanwhile; another one is running
      }
    } catch (const CliFailure& e) {
      // Down or restarting (no answer, 5xx): try again until the deadline; other answers stand.
      if (e.status() != 0 && e.status() < 500) return fail(e.code(), e.what(), e.outage_class());
    }
  }
  if (!done) {
    return fail("timeout",
                "no reply within " + std::to_string(r.timeout_s) +
                    " s; the step keeps running on the host (see it later with `jarvis threads "
                    "show " +
                    r.thread_id + "`)",
                "timeout");
  }

  // 3. The reply: from the stream, or (when the step ended while we were away) from the thread.
  if (!resumed_other_step) {
    if (done_data["trace_id"].is_string()) o.trace_id = done_data["trace_id"];
    o.degraded = done_data.value("degraded", false);
  }
  const bool have_reply =
      o.assistant.is_object() && o.assistant.contains("content") &&
      (o.step_id.empty() || o.assistant.value("step_id", o.step_id) == o.step_id);
  if (!have_reply) {
    o.assistant = nullptr;
    std::string want_id = !resumed_other_step && done_data["message_id"].is_string()
                              ? done_data["message_id"].get<std::string>()
                              : "";
    if (!want_id.empty() || !o.step_id.empty()) {
      try {
        o.assistant = find_message(api, r.thread_id, [&](const jarvis::Json& m) {
          if (!want_id.empty()) return m.value("id", "") == want_id;
          return m.value("role", "") == "assistant" && m.value("step_id", "") == o.step_id;
        });
      } catch (const CliFailure&) {
        // Reported below as a missing reply.
      }
    }
    if (o.assistant.is_object()) {
      o.degraded = o.assistant["meta"].is_object() && o.assistant["meta"].value("degraded", false);
    }
  }
  if (!o.error_code.empty()) {
    o.ok = false;
    if (o.error_message.empty()) o.error_message = "the step failed";
    return o;
  }
  if (!o.assistant.is_object()) {
    if (done_data.value("cancelled", false)) return fail("cancelled", "the step was cancelled");
    return fail("no_reply", "the step ended without a reply (trace " + o.trace_id + ")");
  }
  o.ok = true;
  return o;
}

jarvis::Json outcome_json(const std::string& thread_id, const AskOutcome& o) {
  auto str_or_null = [](const std::string& s) {
    return s.empty() ? jarvis::Json(nullptr) : jarvis::Json(s);
  };
  jarvis::Json j = {
      {"ok", o.ok},
      {"thread_id", thread_id},
      {"user_message_id", str_or_null(o.user_message_id)},
      {"assistant_message_id", o.assistant.is_object()
                                   ? o.assistant.value("id", jarvis::Json(nullptr))
                                   : jarvis::Json(nullptr)},
      {"assistant", o.assistant.is_object() ? o.assistant.value("content", jarvis::Json(nullptr))
                                            : jarvis::Json(nullptr)},
      {"trace_id", str_or_null(o.trace_id)},
      {"degraded", o.degraded}};
  if (o.assistant.is_object()) {
    j["provider"] = o.assistant.value("provider", jarvis::Json(nullptr));
    j["model"] = o.assistant.value("model", jarvis::Json(nullptr));
  }
  if (!o.ok) {
    jarvis::Json err = {{"code", o.error_code}, {"message", o.error_message}};
    if (!o.outage_class.empty()) err["outage_class"] = o.outage_class;
    j["error"] = err;
  }
  return j;
}

}  // namespace chat
