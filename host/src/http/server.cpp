// host/src/http/server.cpp — the Beast/Asio HTTP/1.1 server's lifecycle: listen, the I/O threads
// and handler pools, stats, the upgrade seam's registration and graceful shutdown. The
// connections themselves (accept loop, sessions, limits, timeouts) are in session.cpp; what both
// share is in server_core.h. Only these files (with the WebSocket engine) include Asio/Beast.
#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include "http/server.h"

#include <future>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "config/host_settings.h"
#include "http/server_core.h"

namespace jarvis::host {

namespace {

using tcp = http_server::tcp;
namespace net = http_server::net;

// The system routes' own pool (/readyz, /metrics): probes come one at a time, so two threads and a
// short queue suffice; beyond it they get 503 overloaded like any request.
constexpr std::size_t kSystemPoolThreads = 2;
constexpr std::size_t kSystemPoolQueue = 64;

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

struct HttpServer::Impl : http_server::ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(ServerOptions options, Dispatcher& dispatcher)
    : impl_(std::make_unique<Impl>(std::move(options), dispatcher)) {}

HttpServer::~HttpServer() { shutdown(std::chrono::milliseconds(0)); }

void HttpServer::set_upgrade_handler(std::string path, UpgradeHandler handler) {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->started) throw std::logic_error("set_upgrade_handler must be called before start()");
  impl_->upgrade_path = std::move(path);
  impl_->upgrade = std::move(handler);
}

void http_server::ServerCore::listen() {
  const auto& o = options;
  std::string where = o.host + ":" + std::to_string(o.port);
  try {
    http_server::error_code ec;
    auto address = net::ip::make_address(o.host, ec);
    tcp::endpoint endpoint;
    if (!ec) {
      endpoint = tcp::endpoint(address, o.port);
    } else {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(o.host, std::to_string(o.port));
      if (results.empty()) throw std::runtime_error("host not found");
      endpoint = results.begin()->endpoint();
    }
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
    bound_port = acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    http_server::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + where + ": " + lower_first(e.code().message()));
  } catch (const std::exception& e) {
    http_server::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + where + ": " + lower_first(e.what()));
  }
  limiter = std::make_shared<ConnectionLimiter>(
      resolve_caps(o.max_connections, o.max_connections_per_ip, current_fd_limit().soft));
  listening = true;
}

void HttpServer::listen() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->listening) return;
  if (impl_->finished) throw std::logic_error("HttpServer::listen after shutdown");
  impl_->listen();
}

void HttpServer::start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->started) throw std::logic_error("HttpServer::start called twice");
  if (!impl_->listening) impl_->listen();
  const auto& o = impl_->options;
  int n = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  impl_->thread_count = n;
  std::size_t handlers = o.handler_threads;
  if (handlers == 0) handlers = default_handler_threads();
  impl_->pool = std::make_unique<HandlerPool>(handlers, o.handler_queue);
  impl_->stream_limits = StreamLimits{.max_buffer_bytes = o.stream_max_buffer_bytes,
                                      .sse_keepalive = o.sse_keepalive,
                                      .max_duration = o.stream_max_duration,
                                      .write_timeout = o.idle_timeout};
  impl_->system_pool = std::make_unique<HandlerPool>(kSystemPoolThreads, kSystemPoolQueue);
  impl_->started = true;
  impl_->accepting = true;
  impl_->work.emplace(impl_->ioc.get_executor());
  net::post(impl_->acceptor.get_executor(), [core = impl_.get()] { core->do_accept(); });
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([core = impl_.get()] {
      for (;;) {
        try {
          core->ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("HTTP worker: unexpected exception: {}", e.what());
        } catch (...) {
          spdlog::error("HTTP worker: unexpected non-standard exception");
        }
      }
    });
  }
}

ServerStats HttpServer::stats() const {
  ServerStats st;
  if (auto& l = impl_->limiter) {
    st.connections = l->count();
    st.max_connections = l->caps().max_total;
    st.max_connections_per_ip = l->caps().max_per_ip;
    st.connections_shed = l->shed_total();
    st.connections_refused = l->refused_total();
  }
  if (auto& p = impl_->pool) {
    st.handler_threads = p->threads();
    st.handler_busy = p->busy();
    st.handler_queued = p->queued();
    st.handler_queue_limit = p->queue_limit();
  }
  st.streams_active = impl_->streams.active();
  st.streams_dropped = impl_->streams.dropped();
  return st;
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

std::size_t HttpServer::in_flight() const { return impl_->in_flight.load(); }

void HttpServer::post_to_io(std::function<void()> fn) { net::post(impl_->ioc, std::move(fn)); }

void HttpServer::stop_accepting() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (!impl_->accepting) {
    if (impl_->listening && !impl_->started) {  // listen() without start(): just close
      http_server::error_code ec;
      impl_->acceptor.close(ec);
    }
    return;
  }
  impl_->accepting = false;
  // The acceptor belongs to its strand: close it there and wait until it is closed.
  std::promise<void> closed;
  net::post(impl_->acceptor.get_executor(), [core = impl_.get(), &closed] {
    http_server::error_code ec;
    core->accept_retry.cancel();
    core->acceptor.close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  stop_accepting();
  std::lock_guard lock(impl_->lifecycle_mu);
  if (!impl_->started || impl_->finished) return;
  impl_->finished = true;
  impl_->stopping = true;

  impl_->close_idle_sessions();
  // Open streams end cleanly now (their handlers are told); new ones end as they start.
  impl_->streams.close_all();
  auto deadline = std::chrono::steady_clock::now() + grace;
  {
    std::unique_lock s(impl_->sessions_mu);
    bool drained =
        impl_->sessions_cv.wait_until(s, deadline, [&] { return impl_->sessions.empty(); });
    if (!drained) {
      spdlog::warn("HTTP shutdown: {} connection(s) still open after {} ms; closing them",
                   impl_->sessions.size(), grace.count());
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (!impl_->streams.wait_empty(std::max(left, std::chrono::milliseconds(0)))) {
    spdlog::warn("HTTP shutdown: {} stream(s) still open after {} ms; closing them",
                 impl_->streams.active(), grace.count());
  }
  // Handlers still running finish (their responses are written while the I/O threads run).
  if (impl_->pool) impl_->pool->shutdown();
  if (impl_->system_pool) impl_->system_pool->shutdown();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  // Producers may still hold streams: cut them off from the stopped io_context.
  impl_->streams.detach_all();
  // The callbacks of streams closed on the I/O threads have run when shutdown returns (the
  // plugins that registered them are stopped next); later closes run them on their own thread.
  impl_->stream_callbacks->stop();
}

}  // namespace jarvis::host
