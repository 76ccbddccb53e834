// hello/src/outbox.cpp — the outbox, a durable subscriber and live pushes (see outbox.h).
#include "outbox.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace hello {
namespace {

// Listeners of the threads this plugin created, and how many live pushes they heard. Held by the
// registered closures; the host drops those before the library is unloaded.
struct LiveState {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<jarvis::LiveSubscription>> listeners;
  std::atomic<long long> heard{0};
};

// One transaction: the note row and its event; commit makes both durable (and queues the durable
// subscribers' tasks with them). Slow work never goes in here.
std::string add_note(jarvis::Host& host, const std::string& text) {
  if (text.empty() || text.size() > 1000) {
    throw jarvis::bad_request("'text' must be 1..1000 characters", "invalid_body");
  }
  std::string id = jarvis::new_id("note");
  std::string now = jarvis::now_iso();
  auto tx = host.db().transaction();
  tx->session() << "INSERT INTO hello_notes(id, text, created_at) VALUES(:i, :t, :c)",
      soci::use(id), soci::use(text), soci::use(now);
  host.events().emit({.type = "hello.noted", .payload = {{"note_id", id}}}, *tx);
  if (text == "fail-after-emit") {
    // Leaving without commit() rolls back the row *and* the event (and its subscribers' tasks).
    throw jarvis::bad_request("refused after the event was emitted: nothing is kept",
                              "note_refused");
  }
  tx->commit();
  return id;
}

// The durable subscriber: at least once per event, so it is idempotent on the event id.
jarvis::Json record_receipt(jarvis::Host& host, const std::string& hold_file,
                            jarvis::TaskContext& t) {
  std::string event_id = t.payload.value("id", "");
  std::string note_id = t.payload.value("payload", jarvis::Json::object()).value("note_id", "");
  if (event_id.empty()) throw jarvis::bad_request("payload.id is required", "invalid_payload");
  {
    const std::string at = jarvis::now_iso();  // soci::use binds by reference, so not a temporary
    auto tx = host.db().transaction();
    tx->session() << "INSERT INTO hello_receipts(event_id, note_id, deliveries, received_at) "
                     "VALUES(:e, :n, 1, :t) ON CONFLICT(event_id) DO UPDATE SET deliveries = "
                     "hello_receipts.deliveries + 1",
        soci::use(event_id), soci::use(note_id), soci::use(at);
    tx->commit();
  }
  while (!hold_file.empty() && std::filesystem::exists(hold_file) && !t.should_stop()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return jarvis::Json{{"event_id", event_id}};
}

jarvis::Json stats(jarvis::Host& host, const LiveState& live) {
  auto sql = host.db().session();
  long long notes = 0, receipts = 0, deliveries = 0;
  soci::indicator ind = soci::i_ok;
  *sql << "SELECT COUNT(*) FROM hello_notes", soci::into(notes);
  *sql << "SELECT COUNT(*), SUM(deliveries) FROM hello_receipts", soci::into(receipts),
      soci::into(deliveries, ind);
  if (ind == soci::i_null) deliveries = 0;
  return jarvis::Json{{"notes", notes},
                      {"receipts", receipts},
                      {"deliveries", deliveries},
                      {"live_heard", live.heard.load()}};
}

}  // namespace

void register_outbox(jarvis::Host& host) {
  jarvis::Host* h = &host;
  auto live = std::make_shared<LiveState>();
  std::string hold_file = host.config().get_string("receipt_hold_file");

  host.tasks().add({.name = "hello.note_receipt",
                    .description = "Records a hello.noted event once (durable subscriber)",
                    .handler = [h, hold_file](jarvis::TaskContext& t) {
                      return record_receipt(*h, hold_file, t);
                    }});
  // Exactly hello.noted (EventMatch::Exact, the default of this form); a prefix such as
  // "hello." would need .match = jarvis::EventMatch::Prefix and queue a task for every type
  // under it.
  host.events().subscribe_durable({.type = "hello.noted", .task = "hello.note_receipt"});

  host.routes().add({.method = "POST",
                     .path = "/api/v1/hello/notes",
                     .auth = jarvis::Auth::User,
                     .summary = "Stores a note and emits hello.noted in one transaction",
                     .handler = [h](jarvis::Request& req) {
                       jarvis::Json body = req.json_body();
                       if (!body.contains("text") || !body["text"].is_string()) {
                         throw jarvis::bad_request("'text' (string) is required", "invalid_body");
                       }
                       return jarvis::Response::json(201, {{"id", add_note(*h, body["text"])}});
                     }});

  host.routes().add({.method = "POST",
                     .path = "/api/v1/hello/threads",
                     .auth = jarvis::Auth::User,
                     .summary = "Creates a thread owned by the caller (for live pushes)",
                     .handler = [h, live](jarvis::Request& req) {
                       std::string id = jarvis::new_id("thr");
                       h->threads().claim(id, req.principal.user_id);
                       auto sub = h->threads().listen(
                           id, [live](const jarvis::LivePush&) { ++live->heard; });
                       std::lock_guard lock(live->mu);
                       live->listeners.emplace(id, std::move(sub));
                       return jarvis::Response::json(201, {{"thread_id", id}});
                     }});

  host.routes().add({.method = "POST",
                     .path = "/api/v1/hello/threads/{id}/live",
                     .auth = jarvis::Auth::User,
                     .summary = "Pushes {text} to the thread's /ws subscribers (not stored)",
                     .handler = [h](jarvis::Request& req) {
                       const std::string& id = req.path_param("id");
                       h->threads().require_access(req.principal, id);
                       jarvis::Json body = req.json_body();
                       if (!body.contains("text") || !body["text"].is_string()) {
                         throw jarvis::bad_request("'text' (string) is required", "invalid_body");
                       }
                       h->threads().publish(id, {{"text", body["text"]}});
                       return jarvis::Response::json(202, {{"pushed", true}});
                     }});

  host.commands().add({.group = "hello",
                       .name = "note",
                       .summary = "Stores a note (and its hello.noted event) in one transaction",
                       .usage = "jarvis hello note TEXT",
                       .handler = [h](jarvis::CommandContext& c) {
                         auto a = jarvis::Args::parse(c.args, {}, {});
                         c.out << add_note(*h, a.positional(0, "TEXT")) << "\n";
                         return 0;
                       }});
  host.commands().add({.group = "hello",
                       .name = "notes",
                       .summary = "Counts notes, their receipts and deliveries",
                       .usage = "jarvis hello notes [--json]",
                       .handler = [h, live](jarvis::CommandContext& c) {
                         auto a = jarvis::Args::parse(c.args, {"--json"}, {});
                         jarvis::Json s = stats(*h, *live);
                         if (a.flag("--json")) {
                           c.out << s.dump() << "\n";
                         } else {
                           c.out << s["notes"] << " notes, " << s["receipts"] << " receipts, "
                                 << s["deliveries"] << " deliveries\n";
                         }
                         return 0;
                       }});
}

}  // namespace hello
