// chat/src/live.h — how a running agent step reaches its watchers: server-sent events on
// POST /threads/{id}/messages and GET /threads/{id}/stream, and live pushes to /ws.
//
// The step publishes every event once, as a live push on its thread (Host::threads().publish):
//   {"type":"message.delta", "step_id", "seq", "event":"delta", "data":{"text":"Hel"}}
// /ws subscribers of the thread (the owner, admins) receive it as it is; an SSE relay listening
// on the thread (Host::threads().listen) turns the pushes of its step into `event: delta`,
// `id: <seq>` frames. Because pushes travel between hosts on PostgreSQL, the stream works
// whichever host runs the step. The host running a step also keeps the step's events in a
// local journal, so a reconnect (GET /stream with Last-Event-ID) to that host replays what it
// missed; on another host it continues from the next event (the final `message` event carries
// the whole stored reply either way).
//
//   auto relay = hub.open_relay(thread_id, step_id, /*after_seq=*/0);   // listen first …
//   tx->commit();                                                      // … then let it run
//   return jarvis::Response::sse([relay](auto s) { relay->attach(std::move(s)); });
//
//   StepPublisher pub(hub, thread_id, step_id, trace_id, attempt);     // in the step
//   pub.send("delta", {{"text", chunk}});
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace chat {

/// The /ws `type` of an SSE event name (delta → message.delta, done → agent.done, …).
std::string ws_type_of(const std::string& sse_event);

class LiveHub;

/// Follows one step for one SSE client: listens on the thread before the step can start,
/// buffers until attach(), writes the step's events with `id: <seq>` and ends the response
/// after `done`. Thread-safe.
class SseRelay : public std::enable_shared_from_this<SseRelay> {
 public:
  SseRelay(LiveHub& hub, std::string thread_id, std::string step_id, long long after_seq);
  ~SseRelay();
  /// Hands over the response stream (from Response::sse's start callback): writes what was
  /// buffered, then follows the step.
  void attach(std::shared_ptr<jarvis::ResponseStream> stream);
  /// Writes `events` (journal entries of a local step) before the buffered live ones.
  void prime(const std::vector<jarvis::Json>& events);
  /// Writes a `done` at once and ends (no step runs).
  void finish_now(const jarvis::Json& done_data);
  /// Ends the response (plugin stop).
  void close();
  /// Called for every live push on the thread.
  void on_push(const jarvis::LivePush& push);
  /// Starts listening (called by LiveHub::open_relay).
  void listen(jarvis::ThreadRegistry& threads);

 private:
  void write_locked(const jarvis::Json& event);
  void end_locked();

  LiveHub& hub_;
  std::string thread_id_;
  std::string step_id_;
  // Recursive: ending the stream runs its on_close callback on this thread, which locks again.
  std::recursive_mutex mu_;
  std::shared_ptr<jarvis::ResponseStream> stream_;
  std::vector<jarvis::Json> pending_;
  long long last_seq_ = 0;
  bool finished_ = false;
  std::unique_ptr<jarvis::LiveSubscription> sub_;
};

/// Per-process state of live steps: the journals of the steps this host runs, the cancel
/// sources of its running steps, and the open SSE relays (ended at plugin stop). Thread-safe.
class LiveHub {
 public:
  explicit LiveHub(jarvis::Host& host) : host_(host) {}

  /// Opens a relay for `step_id` on `thread_id` that skips events with seq ≤ after_seq. It
  /// listens at once; attach the stream later.
  std::shared_ptr<SseRelay> open_relay(const std::string& thread_id, const std::string& step_id,
                                       long long after_seq);
  /// The journal of a step running on this host (events with seq > after_seq), or nullopt.
  std::optional<std::vector<jarvis::Json>> journal(const std::string& step_id, long long after_seq);

  /// Publishes one step event (journal + live push, shrunk to the push limit).
  void publish(const std::string& thread_id, const jarvis::Json& event);
  /// Starts / ends the journal of a step run on this host.
  void begin_step(const std::string& step_id);
  void end_step(const std::string& step_id);

  /// Registers the cancel callback of a step running here; cancel_local() runs it.
  void register_cancel(const std::string& step_id, std::function<void()> cancel);
  void unregister_cancel(const std::string& step_id);
  /// Runs the cancel callback of `step_id` if it runs on this host; true when it did.
  bool cancel_local(const std::string& step_id);

  /// Ends every open SSE relay (plugin stop).
  void close_all();
  void forget(SseRelay* relay);
  jarvis::Host& host() { return host_; }

 private:
  jarvis::Host& host_;
  std::mutex mu_;
  std::map<std::string, std::vector<jarvis::Json>> journals_;
  std::map<std::string, std::size_t> journal_bytes_;
  std::map<std::string, std::function<void()>> cancels_;
  std::map<SseRelay*, std::weak_ptr<SseRelay>> relays_;
};

/// Numbers and publishes the events of one step run (seq continues across attempts:
/// attempt N starts at (N-1)·1 000 000, so ids only grow).
class StepPublisher {
 public:
  StepPublisher(LiveHub& hub, std::string thread_id, std::string step_id, std::string trace_id,
                int attempt);
  /// Publishes SSE event `event` with `data` (deltas longer than a push are split).
  void send(const std::string& event, const jarvis::Json& data);
  /// Publishes a /ws-only push (no SSE event), e.g. agent.thinking.
  void notify(const std::string& ws_type, const jarvis::Json& data);
  const std::string& step_id() const { return step_id_; }

 private:
  LiveHub& hub_;
  std::string thread_id_;
  std::string step_id_;
  std::string trace_id_;
  long long seq_;
};

}  // namespace chat
