// chat/src/cli.h — the chat plugin's CLI: `jarvis ask`, `jarvis chat`, `jarvis threads …`. The
// commands are clients of a RUNNING host: they talk to its HTTP API (so `jarvis ask "/restart"`
// restarts that host), with the API token in JARVIS_TOKEN, at JARVIS_URL or else the address the
// host's own CLI asks (`jarvis plugins list`: http://BIND_HOST:BIND_PORT). Decision 0024.
//
//   register_cli(host);                                      // from ChatPlugin::setup
//
//   // The pieces, as the commands use them (and tests may):
//   HostApi api(host.http(), CliTarget::from(host.config()));
//   std::string thread = resolve_thread(api, ThreadChoice::Reuse, "", "hello");
//   AskOutcome r = ask(api, {.thread_id = thread, .content = "hello", .timeout_s = 60},
//                      [](std::string_view text) { std::cout << text << std::flush; });
//   if (!r.ok) std::cerr << r.error_code << ": " << r.error_message << "\n";
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "jarvis/jarvis.h"

namespace chat {

/// Registers `jarvis ask`, `jarvis chat` and `jarvis threads list|show|export` (nameless
/// commands `ask` and `chat`: the whole group is the command).
void register_cli(jarvis::Host& host);

/// Where the CLI finds the running host and the token it sends.
struct CliTarget {
  /// Base URL without a trailing slash, e.g. "http://127.0.0.1:8000".
  std::string base_url;
  /// The API token (JARVIS_TOKEN); empty when unset.
  jarvis::Secret token;
  /// From the plugin's config: `cli_url` (JARVIS_URL) when set, else http://BIND_HOST:BIND_PORT
  /// (0.0.0.0 and :: mean the loopback address), as `jarvis plugins list` finds the server.
  static CliTarget from(const jarvis::PluginConfig& config);
};

/// A request to the host that failed: the host's error envelope, or a transport failure.
class CliFailure : public std::runtime_error {
 public:
  /// `code`: the envelope's code, or the transport's outage class (timeout, network_unreachable,
  /// …); `status`: the HTTP status (0 when none arrived).
  CliFailure(std::string code, const std::string& message, int status = 0,
             std::string outage_class = "");
  const std::string& code() const { return code_; }
  int status() const { return status_; }
  /// Set for transport failures (the outbound client's error_class).
  const std::string& outage_class() const { return outage_class_; }

 private:
  std::string code_;
  int status_;
  std::string outage_class_;
};

/// JSON calls to the host's API with the CLI's token. Not thread-safe.
class HostApi {
 public:
  /// Throws CliFailure("no_token") at the first call when the target has no token.
  HostApi(jarvis::HttpClient& http, CliTarget target);

  /// `method path` with an optional JSON body; the parsed JSON answer (null for 204). Throws
  /// CliFailure for a non-2xx answer or a transport failure.
  jarvis::Json call(const std::string& method, const std::string& path,
                    const jarvis::Json& body = nullptr, long timeout_ms = 30000);
  /// `method path` whose 2xx body is streamed to `on_chunk` (returns false to stop). Returns
  /// the response (status and headers; the body is empty). A non-2xx answer throws CliFailure;
  /// a transport failure does not (see OutboundResponse::error_class) so a caller can resume.
  jarvis::OutboundResponse stream(const std::string& method, const std::string& path,
                                  const jarvis::Json& body, jarvis::Headers headers,
                                  long timeout_ms, std::function<bool(std::string_view)> on_chunk);
  const CliTarget& target() const { return target_; }

 private:
  jarvis::OutboundRequest request(const std::string& method, const std::string& path,
                                  const jarvis::Json& body, long timeout_ms);
  jarvis::HttpClient& http_;
  CliTarget target_;
};

/// How `ask` picks its thread.
enum class ThreadChoice {
  Given,  ///< --thread-id ID
  New,    ///< --new-thread
  Reuse,  ///< neither: the caller's most recently updated open `cli` thread, else a new one
};

/// The thread `ask` posts to: `id` for Given (not checked here: the post answers
/// thread_not_found), a new `cli` thread titled after `first_message` for New, and for Reuse the
/// caller's most recently updated open thread of channel `cli` (or a new one).
std::string resolve_thread(HostApi& api, ThreadChoice choice, const std::string& id,
                           const std::string& first_message);

/// One message to send.
struct AskRequest {
  std::string thread_id;
  std::string content;
  std::string agent_id;  ///< "" = the thread's agent
  long timeout_s = 300;  ///< the whole wait for `done`; the step keeps running after it
  /// Called for every event but `delta` (tool_call, tool_result, message, error, done) with its
  /// parsed data; may be empty.
  std::function<void(const std::string& event, const jarvis::Json& data)> on_event;
};

/// What came back for one message.
struct AskOutcome {
  bool ok = false;              ///< a reply arrived without an `error` event
  std::string user_message_id;  ///< X-Message-Id of the post
  std::string step_id;          ///< X-Step-Id of the post
  jarvis::Json assistant;       ///< the stored assistant message (null when none)
  std::string trace_id;
  bool degraded = false;
  bool streamed_text = false;  ///< at least one delta was passed to on_delta
  std::string error_code;      ///< set when !ok
  std::string error_message;
  std::string outage_class;  ///< set when the failure had one
};

/// Posts `r.content` to `r.thread_id` with `Accept: text/event-stream`, passes each `delta`'s
/// text to `on_delta` as it arrives, and follows the stream to `done` — resuming with
/// GET /threads/{id}/stream and Last-Event-ID when the connection drops (a restarting host) —
/// until `r.timeout_s`. Errors of the post itself (unknown thread, no token, quota) and the
/// timeout come back as !ok with error_code set; nothing throws for them.
AskOutcome ask(HostApi& api, const AskRequest& r,
               const std::function<void(std::string_view)>& on_delta);

/// `--json` form of an outcome: {ok, thread_id, user_message_id, assistant_message_id,
/// assistant, trace_id, degraded}, or {ok:false, thread_id, error:{code, message,
/// outage_class?}, …} on failure.
jarvis::Json outcome_json(const std::string& thread_id, const AskOutcome& o);

}  // namespace chat
