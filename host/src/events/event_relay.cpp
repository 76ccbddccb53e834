// host/src/events/event_relay.cpp — LISTEN jarvis_events on a dedicated libpq connection; read
// other hosts' events by id and deliver them (see event_relay.h).
#include "events/event_relay.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "db/sql_access.h"

namespace jarvis::host {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kIdsPerQuery = 500;

void quiet_notice(void*, const char* message) {
  spdlog::debug("postgresql (relay): {}", message ? message : "");
}

// Event ids are "<prefix>_<hex>"; anything else in a notification is ignored.
bool plausible_id(const std::string& id) {
  if (id.empty() || id.size() > 80) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

}  // namespace

struct EventRelay::Impl {
  SqlDatabase& db;
  std::function<void(const jarvis::Event&)> deliver;
  std::function<void(const std::string&)> live;  // jarvis_live payloads (set before start)
  std::thread thread;
  std::mutex mu;  // start/stop
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listening{false};
  std::atomic<long long> relayed{0};

  Impl(SqlDatabase& d, std::function<void(const jarvis::Event&)> f)
      : db(d), deliver(std::move(f)) {}

  // Waits up to `d` or until stop(); false when stopping.
  bool pause(milliseconds d) {
    pollfd p{wake_fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(d.count()));
    return !stopping.load();
  }

  void fetch_and_deliver(const std::vector<std::string>& ids) {
    for (std::size_t from = 0; from < ids.size(); from += kIdsPerQuery) {
      std::size_t to = std::min(ids.size(), from + kIdsPerQuery);
      Binds b;
      for (std::size_t i = from; i < to; ++i) b.text(ids[i]);
      std::vector<jarvis::Event> events;
      try {
        auto sql = db.session();
        query_sql(*sql,
                  "SELECT id, created_at, trace_id, type, component, actor_type, actor_id, "
                  "thread_id, payload FROM events WHERE id IN (" +
                      rows_sql(to - from, "?", db.dialect()) + ") ORDER BY seq",
                  b, [&](const soci::row& r) {
                    jarvis::Event e;
                    e.id = column_text(r, 0).value_or("");
                    e.created_at = column_text(r, 1).value_or("");
                    e.trace_id = column_text(r, 2).value_or("");
                    e.type = column_text(r, 3).value_or("");
                    e.component = column_text(r, 4).value_or("");
                    e.actor_type = column_text(r, 5).value_or("");
                    e.actor_id = column_text(r, 6).value_or("");
                    e.thread_id = column_text(r, 7).value_or("");
                    e.payload = jarvis::try_parse_json(column_text(r, 8).value_or("{}"))
                                    .value_or(jarvis::Json::object());
                    events.push_back(std::move(e));
                  });
      } catch (const std::exception& e) {
        spdlog::warn("event relay: could not read {} event(s) from other hosts: {}", to - from,
                     e.what());
        continue;
      }
      for (const auto& e : events) {
        try {
          deliver(e);
          ++relayed;
        } catch (const std::exception& ex) {
          spdlog::error("event relay: delivering {} failed: {}", e.type, ex.what());
        }
      }
    }
  }

  // One connection's life: LISTEN, then wait for notifications until it drops or stop().
  void listen_once(PGconn* conn, milliseconds& backoff) {
    PQsetNoticeProcessor(conn, quiet_notice, nullptr);
    // The origin setting only names this connection in pg_stat_activity; it never writes events.
    std::string setup = "SET jarvis.origin = '" + db.origin() + "-listen'; LISTEN jarvis_events";
    if (live) setup += "; LISTEN jarvis_live";
    PGresult* res = PQexec(conn, setup.c_str());
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) spdlog::warn("event relay: LISTEN failed: {}", PQerrorMessage(conn));
    PQclear(res);
    if (!ok) return;
    listening = true;
    backoff = milliseconds(500);
    spdlog::info("event relay: listening for other hosts' events");
    const std::string own = db.origin();
    int sock = PQsocket(conn);
    while (!stopping.load()) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, 1000);
      if (n < 0 && errno != EINTR) {
        spdlog::warn("event relay: poll failed: {}", std::strerror(errno));
        break;
      }
      if (stopping.load()) break;
      if (n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
        if (!PQconsumeInput(conn)) {
          spdlog::warn("event relay: connection lost: {}", PQerrorMessage(conn));
          break;
        }
      }
      std::vector<std::string> ids;
      while (PGnotify* note = PQnotifies(conn)) {
        std::string extra = note->extra ? note->extra : "";
        bool is_live = note->relname && std::strcmp(note->relname, "jarvis_live") == 0;
        PQfreemem(note);
        if (is_live) {
          if (live) {
            try {
              live(extra);
            } catch (const std::exception& e) {
              spdlog::error("event relay: delivering a live push failed: {}", e.what());
            }
          }
          continue;
        }
        auto space = extra.find(' ');
        std::string id = extra.substr(0, space);
        std::string origin = space == std::string::npos ? "" : extra.substr(space + 1);
        if (origin != own && plausible_id(id)) ids.push_back(std::move(id));
      }
      if (!ids.empty()) fetch_and_deliver(ids);
      if (PQstatus(conn) != CONNECTION_OK) {
        spdlog::warn("event relay: connection lost");
        break;
      }
    }
    listening = false;
  }

  void run() {
    milliseconds backoff(500);
    while (!stopping.load()) {
      PGconn* conn = PQconnectdb(db.connect_string().c_str());
      if (PQstatus(conn) == CONNECTION_OK) {
        listen_once(conn, backoff);
      } else {
        // libpq's message names host and port, never the password.
        std::string msg = PQerrorMessage(conn);
        std::replace(msg.begin(), msg.end(), '\n', ' ');
        spdlog::warn("event relay: cannot connect to {} (retrying in {} ms): {}", db.display_url(),
                     backoff.count(), msg);
      }
      PQfinish(conn);
      if (stopping.load()) break;
      if (!pause(backoff)) break;
      backoff = std::min(backoff * 2, milliseconds(10000));
    }
  }
};

EventRelay::EventRelay(SqlDatabase& db, std::function<void(const jarvis::Event&)> deliver)
    : impl_(std::make_unique<Impl>(db, std::move(deliver))) {
  if (db.dialect() != jarvis::Dialect::Postgresql) {
    throw std::runtime_error("the event relay needs PostgreSQL");
  }
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->wake_fd < 0) throw std::runtime_error("eventfd failed");
}

EventRelay::~EventRelay() {
  stop();
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

void EventRelay::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->thread.joinable() || impl_->stopping.load()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void EventRelay::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopping = true;
  std::uint64_t one = 1;
  if (::write(impl_->wake_fd, &one, sizeof one) < 0) {
    // The poll timeout (1 s) ends the wait anyway.
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

void EventRelay::set_live_handler(std::function<void(const std::string& payload)> handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->thread.joinable()) throw std::logic_error("set_live_handler after start()");
  impl_->live = std::move(handler);
}

bool EventRelay::listening() const { return impl_->listening.load(); }

long long EventRelay::relayed() const { return impl_->relayed.load(); }

}  // namespace jarvis::host
