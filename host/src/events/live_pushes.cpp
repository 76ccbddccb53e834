// host/src/events/live_pushes.cpp — transient thread pushes: local fan-out, NOTIFY to other
// hosts, listeners with cancel-safe handles (see live_pushes.h).
#include "events/live_pushes.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "db/sql_database.h"
#include "events/io_thread.h"
#include "jarvis/error.h"

namespace jarvis::host {
namespace {

constexpr std::size_t kMaxQueue = 10000;

struct Listener {
  Owner owner;  // first: the handler (plugin code) is destroyed before the library is released
  std::string thread_id;
  jarvis::LiveHandler handler;
  std::recursive_mutex run_mu;  // held while the handler runs; cancel() waits for it
  bool cancelled = false;
};

void check_thread_id(const std::string& thread_id) {
  if (thread_id.empty() || thread_id.size() > 128) {
    throw jarvis::Error(400, "invalid_field", "field 'thread_id': 1 to 128 characters");
  }
}

}  // namespace

struct LivePushes::Core {
  mutable std::mutex mu;
  std::uint64_t next_id = 1;
  std::multimap<std::string, std::uint64_t> by_thread;
  std::map<std::uint64_t, std::shared_ptr<Listener>> listeners;
  std::function<void(const jarvis::LivePush&)> ws_sink;
  std::atomic<long long> failures{0};

  std::shared_ptr<Listener> take(std::uint64_t id) {
    std::lock_guard lock(mu);
    auto it = listeners.find(id);
    if (it == listeners.end()) return nullptr;
    auto l = it->second;
    listeners.erase(it);
    auto range = by_thread.equal_range(l->thread_id);
    for (auto b = range.first; b != range.second; ++b) {
      if (b->second == id) {
        by_thread.erase(b);
        break;
      }
    }
    return l;
  }

  static void cancel(const std::shared_ptr<Listener>& l) {
    if (!l) return;
    std::lock_guard run(l->run_mu);  // waits for a running handler (not for this thread's own)
    l->cancelled = true;
  }
};

namespace {

class Handle final : public jarvis::LiveSubscription {
 public:
  Handle(std::weak_ptr<LivePushes::Core> core, std::uint64_t id)
      : core_(std::move(core)), id_(id) {}
  ~Handle() override { cancel(); }
  void cancel() override {
    auto core = core_.lock();
    if (!core) return;
    LivePushes::Core::cancel(core->take(id_));
    core_.reset();
  }

 private:
  std::weak_ptr<LivePushes::Core> core_;
  std::uint64_t id_;
};

}  // namespace

LivePushes::LivePushes(jarvis::Database* db) : db_(db), core_(std::make_shared<Core>()) {
  auto* sql = dynamic_cast<SqlDatabase*>(db);
  origin_ = sql ? sql->origin() : SqlDatabase::process_origin();
}

LivePushes::~LivePushes() {
  {
    std::lock_guard lock(q_mu_);
    q_stop_ = true;
  }
  q_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void LivePushes::publish(const Owner& publisher, const std::string& thread_id,
                         const jarvis::Json& message) {
  check_thread_id(thread_id);
  jarvis::require_json_depth(message, "live push");
  std::string text = message.dump(-1, ' ', false, jarvis::Json::error_handler_t::replace);
  if (text.size() > jarvis::kMaxLivePushBytes) {
    throw jarvis::Error(413, "push_too_large",
                        "live push of " + std::to_string(text.size()) + " bytes exceeds " +
                            std::to_string(jarvis::kMaxLivePushBytes) +
                            " bytes (PostgreSQL NOTIFY carries at most 8000); store the content "
                            "and push a reference to it");
  }
  jarvis::LivePush push{thread_id, publisher.name, message};
  std::string envelope;
  bool cross_host = db_ && db_->dialect() == jarvis::Dialect::Postgresql;
  if (cross_host) {
    envelope =
        jarvis::Json{{"o", origin_}, {"c", push.component}, {"t", thread_id}, {"m", message}}.dump(
            -1, ' ', false, jarvis::Json::error_handler_t::replace);
    if (envelope.size() > kMaxEnvelopeBytes) {
      throw jarvis::Error(413, "push_too_large",
                          "live push with its envelope is " + std::to_string(envelope.size()) +
                              " bytes, over the " + std::to_string(kMaxEnvelopeBytes) +
                              "-byte NOTIFY limit");
    }
  }
  ++published_;
  if (on_io_thread()) {
    enqueue(std::move(push));  // never run listeners on an I/O thread
  } else {
    deliver_local(push);
  }
  if (cross_host) {
    auto sql = db_->session();
    *sql << "SELECT pg_notify('jarvis_live', :p)", soci::use(envelope);
  }
}

void LivePushes::deliver_remote(jarvis::LivePush push) {
  ++received_remote_;
  enqueue(std::move(push));
}

void LivePushes::enqueue(jarvis::LivePush push) {
  {
    std::lock_guard lock(q_mu_);
    if (q_stop_) return;
    if (queue_.size() >= kMaxQueue) {
      spdlog::warn("live pushes: delivery queue full; a push to {} was dropped", push.thread_id);
      return;
    }
    queue_.push_back(std::move(push));
    if (!worker_.joinable()) worker_ = std::thread([this] { delivery_loop(); });
  }
  q_cv_.notify_one();
}

void LivePushes::delivery_loop() {
  std::unique_lock lock(q_mu_);
  for (;;) {
    q_cv_.wait(lock, [&] { return q_stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    jarvis::LivePush p = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    deliver_local(p);
    lock.lock();
  }
}

void LivePushes::deliver_local(const jarvis::LivePush& push) {
  std::function<void(const jarvis::LivePush&)> sink;
  std::vector<std::shared_ptr<Listener>> targets;
  {
    std::lock_guard lock(core_->mu);
    sink = core_->ws_sink;
    auto range = core_->by_thread.equal_range(push.thread_id);
    for (auto it = range.first; it != range.second; ++it) {
      auto l = core_->listeners.find(it->second);
      if (l != core_->listeners.end()) targets.push_back(l->second);
    }
  }
  if (sink) {
    try {
      sink(push);
    } catch (const std::exception& e) {
      spdlog::error("live pushes: /ws forwarding failed: {}", e.what());
    }
  }
  for (const auto& l : targets) {
    std::lock_guard run(l->run_mu);
    if (l->cancelled) continue;
    try {
      l->handler(push);
    } catch (const std::exception& e) {
      ++core_->failures;
      spdlog::error("live-push listener of '{}' failed on thread {}: {}", l->owner.name,
                    push.thread_id, e.what());
    } catch (...) {
      ++core_->failures;
      spdlog::error("live-push listener of '{}' failed on thread {}", l->owner.name,
                    push.thread_id);
    }
  }
}

std::optional<jarvis::LivePush> LivePushes::parse_notification(const std::string& payload,
                                                               const std::string& own_origin) {
  auto j = jarvis::try_parse_json(payload);
  if (!j || !j->is_object()) return std::nullopt;
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = j->find(k);
    if (it == j->end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto origin = str("o"), component = str("c"), thread = str("t");
  if (!origin || !component || !thread || !j->contains("m")) return std::nullopt;
  if (*origin == own_origin || thread->empty() || thread->size() > 128) return std::nullopt;
  return jarvis::LivePush{*thread, *component, (*j)["m"]};
}

std::unique_ptr<jarvis::LiveSubscription> LivePushes::listen(Owner owner,
                                                             const std::string& thread_id,
                                                             jarvis::LiveHandler handler) {
  check_thread_id(thread_id);
  if (!handler) throw jarvis::Error(400, "invalid_subscription", "a listener needs a handler");
  auto l = std::make_shared<Listener>();
  l->owner = std::move(owner);
  l->thread_id = thread_id;
  l->handler = std::move(handler);
  std::uint64_t id;
  {
    std::lock_guard lock(core_->mu);
    id = core_->next_id++;
    core_->listeners.emplace(id, l);
    core_->by_thread.emplace(thread_id, id);
  }
  return std::make_unique<Handle>(core_, id);
}

void LivePushes::remove_owner(const std::string& owner_name) {
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard lock(core_->mu);
    for (const auto& [id, l] : core_->listeners) {
      if (l->owner.name == owner_name) ids.push_back(id);
    }
  }
  for (auto id : ids) Core::cancel(core_->take(id));
}

void LivePushes::set_ws_sink(std::function<void(const jarvis::LivePush&)> sink) {
  std::lock_guard lock(core_->mu);
  core_->ws_sink = std::move(sink);
}

long long LivePushes::listener_failures() const { return core_->failures.load(); }

std::size_t LivePushes::listener_count() const {
  std::lock_guard lock(core_->mu);
  return core_->listeners.size();
}

}  // namespace jarvis::host
