// tests/support/fakes/fake_llm_server.h — fake OpenAI-compatible, Gemini and Anthropic servers on
// 127.0.0.1 that speak the vendors' wire formats (JSON and server-sent-event streams, tool calls,
// reasoning, usage, error bodies), scripted per test. tests/node checks each dialect with the
// vendor's official client library, so the fakes cannot drift from the real protocols;
// README.md beside this file lists what each dialect covers and what it does not.
//
//   using namespace jarvis::test::fakes;
//   FakeLlmServer fake(FakeLlmServer::Dialect::openai);
//   fake.push(ScriptedReply::tool_call_reply({{"call_1", "memory_search", {{"q", "cats"}}}}));
//   fake.push(ScriptedReply::text_reply("Cats sleep 16 hours a day.", /*chunks=*/4));
//   fake.push(ScriptedReply::http_error_reply(429, /*retry_after=*/"2"));
//   fake.push(ScriptedReply::stall_reply(/*after_chunks=*/2));     // hangs until the client goes
//   provider.base_url = fake.base_url();   // "http://127.0.0.1:PORT/v1" (dialect-specific, below)
//   … run the code under test …
//   auto sent = fake.requests();           // method, path, headers, parsed JSON body
//   EXPECT_EQ(sent[0].json["tools"][0]["function"]["name"], "memory_search");
//   EXPECT_EQ(sent[0].header("authorization"), "Bearer sk-test");
//   EXPECT_TRUE(fake.wait_client_closed(std::chrono::seconds(10)));  // a cancel closed the stream
//
// Each model request (the dialect's generate endpoint below) consumes the next ScriptedReply in
// FIFO order; with none left the fake answers with the default reply: the text "echo: <last user
// message text>". Streaming or not follows the request ("stream": true, or Gemini's
// :streamGenerateContent), as the real APIs do. Requests refused before a reply is taken (wrong API
// key, missing model, unparsable JSON, unknown path) do not consume one.
//
// Endpoints and base URLs — base_url() returns what the vendor's client library takes as its base
// URL, so "{base_url}{path}" below is what a client requests:
//   openai    base_url() = http://127.0.0.1:PORT/v1  POST /chat/completions, GET /models
//             key: "Authorization: Bearer KEY"
//   gemini    base_url() = http://127.0.0.1:PORT     POST /v1beta/models/{model}:generateContent,
//             POST /v1beta/models/{model}:streamGenerateContent?alt=sse ("/v1/" also accepted)
//             key: "x-goog-api-key: KEY" header or "?key=KEY"
//   anthropic base_url() = http://127.0.0.1:PORT     POST /v1/messages
//             key: "x-api-key: KEY" or "Authorization: Bearer KEY" (the SDK's 2026-10-21 API
//             version sends that); "anthropic-version" required, as the real API requires it
// Control endpoints (any dialect; not recorded, never consume a reply), used by the
// jarvis-fake-llm executable's clients (tests/node, bench/chat.sh):
//   POST /_fake/script    body: one ScriptedReply as JSON (see to_json) or an array of them
//   GET  /_fake/requests  the recorded requests as a JSON array of RecordedRequest::to_json()
//   GET  /_fake/state     {"pending": replies left, "requests": n, "client_closes": n}
//   POST /_fake/reset     forgets the script, the recorded requests stay
//
// Thread-safety: every member may be called from any thread while clients are connected.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fakes/loopback_server.h"

namespace jarvis::test::fakes {

/// A tool call the fake model makes. `arguments` is the JSON object it passes; the dialects
/// encode it their way (OpenAI: a JSON string streamed in fragments; Anthropic: input_json_delta
/// fragments; Gemini: functionCall.args, whole).
struct FakeToolCall {
  std::string id;    ///< OpenAI's "call_…" / Anthropic's "toolu_…"; "" = a generated one.
                     ///< Gemini sends no id, like the real Gemini API.
  std::string name;  ///< the function name the model calls
  nlohmann::json arguments = nlohmann::json::object();
};

/// One scripted answer to one model request.
struct ScriptedReply {
  enum class Kind {
    text,        ///< `text` (after optional `reasoning`) in `chunks` deltas
    tool_calls,  ///< optional `text`, then `tool_calls`, arguments streamed in `chunks` fragments
    http_error,  ///< `status` with the vendor's error body, optional Retry-After
    stall,       ///< the first `stall_after_chunks` stream events, then nothing until the client
                 ///< closes (non-stream: the response head, then nothing)
    malformed,   ///< non-stream: 200 with an unparsable JSON body; stream: one valid event, then
                 ///< an event whose data is not JSON, then the stream ends normally
    drop,        ///< the first `stall_after_chunks` stream events, then the connection is closed
                 ///< without ending the stream (non-stream: half of the body, then closed)
  };
  Kind kind = Kind::text;
  std::string text;       ///< answer text; kind text with "" = the default echo text
  std::string reasoning;  ///< reasoning/thinking text, streamed before the answer ("" = none)
  std::vector<FakeToolCall> tool_calls;
  int status = 200;            ///< http_error: the status (429, 500, 503, 529, 400, 401, …)
  std::string retry_after;     ///< http_error: the Retry-After header value ("" = none)
  std::string error_message;   ///< http_error: message in the vendor's body ("" = its usual)
  std::string raw_body;        ///< http_error / malformed: exact body to send instead
  int chunks = 3;              ///< how many deltas the text (and each arguments JSON) is cut in
  int stall_after_chunks = 1;  ///< stall / drop: stream events sent before stalling/closing
  int input_tokens = 10;       ///< usage reported for the request
  int output_tokens = 5;       ///< usage reported for the answer
  std::chrono::milliseconds first_byte_delay{0};  ///< wait before the response head
  std::chrono::milliseconds chunk_delay{0};       ///< wait between stream events

  /// A text answer in `chunks` deltas.
  static ScriptedReply text_reply(std::string text, int chunks = 3, std::string reasoning = "");
  /// Tool calls (and optional text before them).
  static ScriptedReply tool_call_reply(std::vector<FakeToolCall> calls, std::string text = "");
  /// An HTTP error with the vendor's body.
  static ScriptedReply http_error_reply(int status, std::string retry_after = "");
  /// A stream that stops after `after_chunks` events and hangs until the client closes.
  static ScriptedReply stall_reply(int after_chunks = 1);
  /// An unparsable answer.
  static ScriptedReply malformed_reply();
  /// A connection closed after `after_chunks` events.
  static ScriptedReply drop_reply(int after_chunks = 1);

  /// The control endpoint's JSON form: {"kind":"text","text":…,"reasoning":…,"tool_calls":[{"id",
  /// "name","arguments"}],"status","retry_after","error_message","raw_body","chunks",
  /// "stall_after_chunks","input_tokens","output_tokens","first_byte_delay_ms","chunk_delay_ms"}.
  nlohmann::json to_json() const;
  /// Parses to_json()'s form; absent fields keep their defaults. Throws std::invalid_argument on
  /// an unknown kind or a wrongly typed field.
  static ScriptedReply from_json(const nlohmann::json& j);
};

/// One request the fake received.
struct RecordedRequest {
  std::string method;
  std::string target;                          ///< path and query: "/v1/chat/completions"
  std::string path;                            ///< without the query
  std::string query;                           ///< after '?' ("" when none)
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;                            ///< raw body
  nlohmann::json json;                         ///< parsed body; null when absent or not JSON

  /// The header's value ("" when absent); `name` in any case.
  std::string header(const std::string& name) const;
  /// {"method","target","path","query","headers","body","json"}.
  nlohmann::json to_json() const;
};

/// A fake LLM API server of one dialect on 127.0.0.1 (see the top of this file).
class FakeLlmServer {
 public:
  /// The wire format served.
  enum class Dialect { openai, gemini, anthropic };

  /// Listens on 127.0.0.1:`port` (0 = a free port). Throws std::runtime_error if it cannot.
  explicit FakeLlmServer(Dialect dialect, int port = 0);
  ~FakeLlmServer();
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  /// The base URL the vendor's client takes (openai: ".../v1"; gemini, anthropic: no suffix).
  std::string base_url() const;
  /// The bound port.
  int port() const;
  /// The dialect served.
  Dialect dialect() const { return dialect_; }

  /// Appends a reply to the script (FIFO, one per model request).
  void push(ScriptedReply reply);
  /// Replies not yet consumed.
  std::size_t pending() const;
  /// Forgets the replies not yet consumed.
  void clear_script();

  /// Requires this API key on model requests ("" = any key or none is accepted, the default).
  /// A wrong or missing key gets the vendor's 401/400/403 answer.
  void set_api_key(std::string key);
  /// The model ids GET /v1/models lists (openai); default {"fake-model"}.
  void set_models(std::vector<std::string> models);

  /// Every request received (control endpoints excepted), in arrival order.
  std::vector<RecordedRequest> requests() const;
  /// Only the model requests (the generate endpoints), in arrival order.
  std::vector<RecordedRequest> model_requests() const;
  /// How many times a client closed a connection while the fake was still answering on it
  /// (mid-stream, during a stall or a first-byte delay).
  int client_closes() const;
  /// Waits until a client closed a connection mid-answer (client_closes() > 0); false if not
  /// within `timeout`.
  bool wait_client_closed(std::chrono::milliseconds timeout) const;
  /// Waits until client_closes() >= `count`.
  bool wait_client_closes(int count, std::chrono::milliseconds timeout) const;

  /// "openai" / "gemini" / "anthropic".
  static std::string dialect_name(Dialect d);
  /// Parses dialect_name()'s form; throws std::invalid_argument on anything else.
  static Dialect parse_dialect(const std::string& name);

 private:
  struct Impl;
  void handle(const HttpRequest& req, Responder& out);

  Dialect dialect_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<LoopbackServer> server_;  ///< last: stopped first, while impl_ still lives
};

}  // namespace jarvis::test::fakes
