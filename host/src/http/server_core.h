// host/src/http/server_core.h — private to the HTTP server (server.cpp: lifecycle; session.cpp:
// the accept loop and the connections). What the sessions share with the server object. Not for
// other host files: it includes Asio and Beast, and Beast/Asio stay inside host/src/http/.
//
//   ServerCore core(options, dispatcher);  // HttpServer::Impl is one
//   core.listen(); core.do_accept();        // on the acceptor's strand
//   core.close_idle_sessions();             // shutdown: idle keep-alive connections close
#pragma once

#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>

#include "events/delivery_thread.h"
#include "http/connection_limits.h"
#include "http/dispatcher.h"
#include "http/handler_pool.h"
#include "http/response_stream.h"
#include "http/server.h"
#include "http/stream_session.h"
#include "http/upgrade.h"

namespace jarvis::host::http_server {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::beast::error_code;

/// One client connection (session.cpp).
class Session;

// Everything the sessions share. Member order matters: the bookkeeping is declared before the
// io_context so it outlives the handlers (and sessions) the io_context destroys.
struct ServerCore {
  ServerCore(ServerOptions opts, Dispatcher& d) : options(std::move(opts)), dispatcher(d) {}

  ServerOptions options;
  Dispatcher& dispatcher;

  mutable std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  std::string upgrade_path;
  UpgradeHandler upgrade;

  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  StreamTracker streams;
  StreamLimits stream_limits;
  // Runs the on_close / on_cancel callbacks of streams closed on an I/O thread (never there).
  std::shared_ptr<DeliveryThread> stream_callbacks =
      std::make_shared<DeliveryThread>("stream callbacks");

  std::shared_ptr<ConnectionLimiter> limiter;  // set by listen()
  std::unique_ptr<HandlerPool> pool;           // set by start()
  std::unique_ptr<HandlerPool> system_pool;    // /readyz, /metrics: set by start()

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::vector<std::thread> threads;

  std::mutex lifecycle_mu;
  int thread_count = 1;
  uint16_t bound_port = 0;
  bool listening = false;
  bool started = false;
  bool accepting = false;
  bool finished = false;

  /// Accepts the next connection (session.cpp); on_accept makes its Session.
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  /// Binds and listens (server.cpp).
  void listen();
  /// Shutdown, from any thread: every connection waiting for its next request closes; busy ones
  /// close after their response (session.cpp).
  void close_idle_sessions();
};

}  // namespace jarvis::host::http_server
