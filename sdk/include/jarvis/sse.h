// jarvis/sse.h — split a server-sent-events byte stream (text/event-stream) into events, as the
// bytes arrive. Shared by every plugin that reads an LLM provider's streamed answer.
//
//   jarvis::SseParser sse;
//   jarvis::OutboundRequest req{.method = "POST", .url = provider + "/v1/chat/completions",
//                               .body = request_json, .cancel =
//                               jarvis::CancelToken::when(ctx.should_stop)};
//   req.on_chunk = [&](std::string_view bytes) {
//     for (const jarvis::SseEvent& ev : sse.feed(bytes)) {
//       if (ev.data == "[DONE]") break;              // OpenAI's end marker; the server closes
//       on_token(jarvis::parse_json(ev.data));
//     }
//     return true;
//   };
//   jarvis::OutboundResponse res = host.http().send(req);
//
// Follows the WHATWG HTML "event stream interpretation": lines end with LF, CRLF or CR (a CRLF
// split across two chunks counts once); a leading UTF-8 BOM is skipped; `:` starts a comment;
// `data` lines of one event are joined with "\n"; `event` sets the type (default "message");
// `id` sets the last event id (kept for later events; ignored when it contains NUL); `retry`
// with only ASCII digits sets the reconnection time; unknown fields are ignored; an event without
// data is not dispatched; an event the stream ends in the middle of is dropped. Chunk boundaries
// may fall anywhere, including inside a UTF-8 sequence.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/version.h"

namespace jarvis {

/// One dispatched server-sent event.
struct SseEvent {
  /// The `event` field, or "message" when the event had none.
  std::string type = "message";
  /// The `data` lines joined with "\n" (no trailing newline).
  std::string data;
  /// The last event id seen so far in the stream (may come from an earlier event), "" if none.
  std::string id;
};

/// Incremental server-sent-events parser. Not thread-safe: feed one stream from one thread.
class JARVIS_API SseParser {
 public:
  /// `max_event_bytes` bounds the memory of one pending line plus one event's data; a stream that
  /// exceeds it makes feed() throw jarvis::Error(502, "sse_event_too_large", …).
  explicit SseParser(std::size_t max_event_bytes = 1 << 20);

  /// Consumes the next bytes of the stream and returns the events they completed, in order.
  std::vector<SseEvent> feed(std::string_view bytes);

  /// Last event id of the stream ("" if none) — send it as `Last-Event-ID` when reconnecting.
  const std::string& last_event_id() const { return last_id_; }
  /// Reconnection time the server asked for with `retry:`, in milliseconds.
  std::optional<long long> retry_ms() const { return retry_ms_; }
  /// Forgets the pending partial line and event (e.g. before reusing the parser for a new
  /// connection); keeps last_event_id() and retry_ms() as the specification says.
  void reset();

 private:
  void process_line(std::vector<SseEvent>& out);

  std::size_t max_event_bytes_;
  std::string line_;             // bytes of the current, unfinished line
  std::string data_;             // data of the pending event, each line followed by '\n'
  std::string type_;             // event type of the pending event
  bool has_data_ = false;        // a data field was seen for the pending event
  bool skip_lf_ = false;         // the previous chunk ended with CR: a leading LF belongs to it
  std::size_t bom_matched_ = 0;  // bytes of a leading BOM seen (3 = done with the check)
  std::string last_id_;
  std::optional<long long> retry_ms_;
};

}  // namespace jarvis
