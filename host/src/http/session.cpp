// host/src/http/session.cpp — the HTTP/1.1 connections of the Beast/Asio server: the accept loop
// (connection caps, shedding), per-connection sessions (keep-alive, pipelining, limits, timeouts,
// 100-continue, framing checks), conversion to and from jarvis::Request/Response and the upgrade
// seam. server.cpp owns the server's lifecycle; server_core.h is what both share.
#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <array>
#include <limits>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "http/framing.h"
#include "http/server_core.h"
#include "http/url.h"

namespace jarvis::host::http_server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// The read buffer holds at most one request header, one chunk-size line or one trailer (bodies
// go straight into the message): its bound is what bounds chunk lines and trailers. Larger than
// kHeaderLimit so that an oversized header is reported as such.
constexpr std::size_t kReadBufferLimit = kHeaderLimit + 8 * 1024;
constexpr std::size_t kChunkExtensionLimit = 1024;
constexpr std::chrono::milliseconds kLingerTimeout{2000};

// Beast 1.74 uses boost::string_view.
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

constexpr auto iequals = iequals_ascii;

bool is_http_parse_error(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

// The facts framing.h's rules need, taken from Beast's parsed header.
HeaderProblem framing_problem(const http::request<http::string_body>& req) {
  FramingFacts facts;
  facts.version = req.version();
  facts.host_fields = req.count(http::field::host);
  facts.content_length_fields = req.count(http::field::content_length);
  for (const auto& field : req) {
    if (field.name() == http::field::transfer_encoding)
      facts.transfer_encodings.push_back(sv(field.value()));
  }
  return check_framing(facts);
}

}  // namespace

// One client connection. All its members are touched only on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore& core, tcp::socket&& socket, std::string remote)
      : core_(core),
        executor_(socket.get_executor()),
        stream_(std::move(socket)),
        buffer_(kReadBufferLimit),
        remote_(std::move(remote)) {}

  // Takes the connection's place under the caps (before start()).
  void set_slot(ConnectionSlot slot) { slot_ = std::move(slot); }

  // From any thread: the limiter freed this connection's place to make room; close it if it
  // still has not sent a complete request header.
  void post_shed() {
    net::post(executor_, [self = shared_from_this()] {
      if (!self->header_done_ && !self->upgraded_) self->close();
    });
  }

  ~Session() {
    end_request();
    std::lock_guard lock(core_.sessions_mu);
    core_.sessions.erase(this);
    core_.sessions_cv.notify_all();
  }

  // Starts serving; called once after the session was registered.
  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->wait_for_request(); });
  }

  // Shutdown, from any thread: closes the connection on its strand if it is waiting for a next
  // request; a busy connection closes after its response (it sees `stopping`).
  void post_close_if_idle() {
    net::post(executor_, [self = shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

 private:
  // Waits for the first bytes of the next request (idle keep-alive time), then reads the header.
  void wait_for_request() {
    if (core_.stopping) return close();
    header_done_ = false;
    if (!slot_.set_idle(true)) return close();     // never: a busy connection is not shed
    if (buffer_.size() > 0) return read_header();  // pipelined request already buffered
    idle_ = true;
    stream_.expires_after(first_ ? core_.options.header_timeout : core_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) return self->close();  // timeout, EOF, reset, shutdown
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    first_ = false;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // No body limit while reading the header: Beast would refuse a large Content-Length there,
    // before the route (and so its own limit) is known. The real limit is set in on_header.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // Chunk extensions carry nothing the host uses: bound them (Beast has no limit of its own).
    parser_->on_chunk_header(chunk_header_cb_);
    obs_fold_ = false;
    stream_.expires_after(core_.options.header_timeout);
    parse_header();
  }

  // Feeds buffered bytes to the parser (which consumes nothing until the whole header is there),
  // reading more as needed. Done by hand instead of http::async_read_header so that the raw header
  // bytes can be checked for obs-fold before they are consumed.
  void parse_header() {
    if (buffer_.size() > 0) {
      beast::error_code ec;
      std::size_t used = parser_->put(buffer_.data(), ec);
      if (ec != http::error::need_more) {
        if (!ec && parser_->is_header_done()) {
          auto data = buffer_.data();
          obs_fold_ = has_obs_fold(std::string_view(static_cast<const char*>(data.data()), used));
        }
        buffer_.consume(used);
        return on_header(ec);
      }
      buffer_.consume(used);
    }
    std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return on_header(http::error::header_limit);
    stream_.async_read_some(buffer_.prepare(std::min<std::size_t>(room, 4096)),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec == net::error::eof) {
                                if (!self->parser_->got_some())
                                  return self->on_header(http::error::end_of_stream);
                                return self->on_header(http::error::partial_message);
                              }
                              if (ec) return self->on_header(ec);
                              self->buffer_.commit(n);
                              self->parse_header();
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return send_error(431, "request_header_too_large",
                        "request header exceeds " + std::to_string(kHeaderLimit) + " bytes");
    }
    if (ec && ec != http::error::end_of_stream && ec != http::error::partial_message &&
        is_http_parse_error(ec)) {
      return send_error(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
    if (ec) return close();  // EOF, timeout (socket already closed), reset

    header_done_ = true;
    // Shed between the header's arrival and here: the place was given away and the posted close
    // would skip a connection whose header is done — close now, never serve it uncounted.
    if (!slot_.set_idle(false)) return close();
    if (obs_fold_) return send_error(400, "bad_request", "obsolete line folding in a header");
    auto& req = parser_->get();
    if (auto problem = framing_problem(req); problem.status != 0) {
      return send_error(problem.status, problem.code, problem.message);
    }
    begin_request();
    if (core_.upgrade && parser_->upgrade() &&
        iequals(sv(req[http::field::upgrade]), "websocket")) {
      std::string_view path, query;
      split_target(sv(req.target()), path, query);
      if (path == core_.upgrade_path) return hand_over();
    }

    if (parser_->is_done()) return handle();  // no body: no limit to look up

    std::size_t limit =
        core_.dispatcher.body_limit(std::string(req.method_string()), std::string(req.target()));
    if (limit == 0) limit = core_.options.max_body_bytes;
    if (auto length = parser_->content_length(); length && *length > limit) {
      return send_error(413, "payload_too_large",
                        "request body of " + std::to_string(*length) +
                            " bytes exceeds the limit of " + std::to_string(limit) + " bytes");
    }
    parser_->body_limit(limit);
    limit_ = limit;

    if (iequals(sv(req[http::field::expect]), "100-continue")) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(core_.options.idle_timeout);
      return net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->close();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(core_.options.idle_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::buffer_overflow || ec == http::error::header_limit) {
      return send_error(
          431, "request_header_too_large",
          "chunk header or trailer exceeds " + std::to_string(kHeaderLimit) + " bytes");
    }
    if (ec == http::error::body_limit) {
      return send_error(413, "payload_too_large",
                        "request body exceeds the limit of " + std::to_string(limit_) + " bytes");
    }
    if (ec && ec != http::error::partial_message && is_http_parse_error(ec)) {
      return send_error(400, "bad_request", "malformed HTTP request body: " + ec.message());
    }
    if (ec) return close();
    handle();
  }

  // Converts the parsed request and dispatches it: inline for the system routes, else on the
  // handler pool, whose job posts the response back to this connection's strand.
  void handle() {
    auto& req = parser_->get();
    auto jr = std::make_shared<jarvis::Request>();
    jr->method = std::string(req.method_string());
    jr->target = std::string(req.target());
    for (const auto& field : req)
      jr->headers.add(std::string(field.name_string()), std::string(field.value()));
    jr->body = std::move(req.body());
    jr->remote_address = remote_;
    unsigned version = req.version();
    bool keep = req.keep_alive();
    bool head = req.method() == http::verb::head;
    RouteExecution where = core_.pool ? core_.dispatcher.execution_of(jr->method, jr->target)
                                      : RouteExecution::IoThread;
    if (where == RouteExecution::IoThread) {
      jarvis::Response jres = core_.dispatcher.dispatch(*jr);
      return respond(std::move(jres), version, keep && !core_.stopping, head);
    }
    HandlerPool& pool = where == RouteExecution::System ? *core_.system_pool : *core_.pool;
    bool posted = pool.try_post([self = shared_from_this(), jr, version, keep, head] {
      // HEAD gets the headers of a streamed route without running its stream (no `info`).
      auto info = std::make_shared<DispatchInfo>();
      auto jres = std::make_shared<jarvis::Response>(
          self->core_.dispatcher.dispatch(*jr, head ? nullptr : info.get()));
      if (jres->is_stream()) return self->run_stream(jr, jres, info, version);
      net::post(self->executor_, [self, jres, version, keep, head] {
        self->respond(std::move(*jres), version, keep && !self->core_.stopping, head);
      });
    });
    if (!posted) {
      jarvis::Response busy = core_.dispatcher.reject(
          *jr, 503, "overloaded", "every request handler is busy; retry shortly");
      busy.headers.set("Retry-After", "1");
      respond(std::move(busy), version, keep && !core_.stopping, head);
    }
  }

  // On the pool thread: hands the connection to a stream session (on the strand), then runs the
  // plugin's start callback here. The callback may keep the stream and write from anywhere later.
  void run_stream(std::shared_ptr<jarvis::Request> jr, std::shared_ptr<jarvis::Response> jres,
                  std::shared_ptr<DispatchInfo> info, unsigned version) {
    jarvis::StreamStart start = std::exchange(jres->stream_start, nullptr);
    auto channel = std::make_shared<StreamChannel>(core_.stream_limits.max_buffer_bytes,
                                                   core_.stream_callbacks, info->route);
    net::post(executor_, [self = shared_from_this(), jr, jres, info, channel, version] {
      self->hand_over_stream(jr, *jres, *info, channel, version);
    });
    // The plugin's closure dies in there, while `info` still holds its route entry (library).
    run_stream_start(std::move(start), channel, core_.dispatcher, *jr, *info);
  }

  // On the strand: the connection now belongs to the stream session.
  void hand_over_stream(const std::shared_ptr<jarvis::Request>& jr, jarvis::Response& jres,
                        const DispatchInfo& info, const std::shared_ptr<StreamChannel>& channel,
                        unsigned version) {
    end_request();
    upgraded_ = true;  // never shed or closed as idle from here on
    stream_.expires_never();
    start_stream_session(StreamHandoff{.stream = std::move(stream_),
                                       .slot = std::move(slot_),
                                       .channel = channel,
                                       .request = jr,
                                       .info = info,
                                       .status = jres.status,
                                       .headers = std::move(jres.headers),
                                       .version = version},
                         core_.dispatcher, core_.streams, core_.stream_limits, core_.in_flight);
  }

  void hand_over() {
    auto& req = parser_->get();
    jarvis::Request jr;
    jr.method = std::string(req.method_string());
    jr.target = std::string(req.target());
    std::string_view path, query;
    split_target(jr.target, path, query);
    jr.path = percent_decode(path).value_or(std::string(path));
    if (auto q = parse_query(query)) jr.query = std::move(*q);
    bool nul_in_query = false;
    for (const auto& [name, value] : jr.query)
      nul_in_query = nul_in_query || has_nul_byte(name) || has_nul_byte(value);
    if (has_control_byte(jr.path) || nul_in_query) {
      return send_error(400, "invalid_request", "request target contains a control character");
    }
    for (const auto& field : req)
      jr.headers.add(std::string(field.name_string()), std::string(field.value()));
    jr.remote_address = remote_;
    jr.request_id = random_hex_id();
    end_request();
    stream_.expires_never();
    upgraded_ = true;
    auto conn = std::unique_ptr<UpgradeConnection>(
        new UpgradeConnection{std::move(stream_), std::move(buffer_), parser_->release(),
                              std::move(jr), std::move(slot_)});
    try {
      core_.upgrade(std::move(conn));
    } catch (const std::exception& e) {
      spdlog::error("upgrade handler for {} threw: {}", core_.upgrade_path, e.what());
    } catch (...) {
      spdlog::error("upgrade handler for {} threw a non-standard exception", core_.upgrade_path);
    }
  }

  // Answers a request the server refuses before dispatch, then closes the connection.
  void send_error(int status, const char* code, const std::string& message) {
    begin_request();
    jarvis::Request jr;
    unsigned version = 11;
    if (parser_ && parser_->is_header_done()) {
      auto& req = parser_->get();
      jr.method = std::string(req.method_string());
      jr.target = std::string(req.target());
      for (const auto& field : req)
        jr.headers.add(std::string(field.name_string()), std::string(field.value()));
      version = req.version();
    } else {
      jr.method = "-";
      jr.target = "-";
    }
    jr.remote_address = remote_;
    // The rest of the request may still be arriving: linger so the client reads the error.
    respond(core_.dispatcher.reject(jr, status, code, message), version, false, false, true);
  }

  // Writes the response; afterwards reads the next request, or closes (`linger`: after draining
  // what the client still sends, for requests that were not read completely).
  void respond(jarvis::Response&& jres, unsigned version, bool keep_alive, bool head,
               bool linger = false) {
    res_ = {};
    res_.version(version);
    res_.result(static_cast<unsigned>(jres.status));
    bool has_date = false;
    for (const auto& [name, value] : jres.headers.all()) {
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
          iequals(name, "Connection")) {
        continue;
      }
      if (iequals(name, "Date")) has_date = true;
      res_.insert(name, value);
    }
    if (!has_date) {
      auto date = http_date();
      res_.set(http::field::date, beast::string_view(date.data(), date.size()));
    }
    int s = jres.status;
    if (s < 200 || s == 204 || s == 304) {
      // No body and no Content-Length for these statuses (RFC 9110 §8.6).
    } else if (head) {
      res_.content_length(jres.body.size());
    } else {
      res_.body() = std::move(jres.body);
      res_.prepare_payload();
    }
    res_.keep_alive(keep_alive);
    stream_.expires_after(core_.options.idle_timeout);
    http::async_write(
        stream_, res_,
        [self = shared_from_this(), keep_alive, linger](beast::error_code ec, std::size_t) {
          self->end_request();
          if (ec) return self->close();
          if (!keep_alive && linger) return self->linger_close();
          if (!keep_alive) return self->graceful_close();
          self->wait_for_request();
        });
  }

  // Half-closes, then discards what the client still sends (an unread body) for a short while,
  // so closing does not reset the connection before the client has read the response.
  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  // Sends FIN after the response, then closes (the request was read completely).
  void graceful_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    close();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

  void begin_request() {
    if (!counted_) {
      counted_ = true;
      core_.in_flight.fetch_add(1);
    }
  }

  void end_request() {
    if (counted_) {
      counted_ = false;
      core_.in_flight.fetch_sub(1);
    }
  }

  ServerCore& core_;
  net::any_io_executor executor_;  // the connection's strand (stream_ is moved out on upgrade)
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string remote_;
  ConnectionSlot slot_;       // this connection's place under the caps (moved out on upgrade)
  bool header_done_ = false;  // the current request's header is complete (not sheddable)
  bool upgraded_ = false;
  bool obs_fold_ = false;  // the current header has an obs-fold line
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)> chunk_header_cb_ =
      [](std::uint64_t, beast::string_view extensions, beast::error_code& ec) {
        if (extensions.size() > kChunkExtensionLimit) ec = http::error::bad_chunk_extension;
      };
  bool first_ = true;      // no request read yet on this connection
  bool idle_ = false;      // waiting for the next request's first bytes
  bool counted_ = false;   // counted in in_flight
  std::size_t limit_ = 0;  // body limit of the current request
  std::array<char, 4096> drain_{};
};

void ServerCore::do_accept() {
  // With one pool thread every handler is already serialized: strands would only cost time.
  net::any_io_executor executor = thread_count > 1 ? net::any_io_executor(net::make_strand(ioc))
                                                   : net::any_io_executor(ioc.get_executor());
  acceptor.async_accept(executor, [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void ServerCore::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Typically EMFILE/ENFILE: back off instead of spinning, keep serving open connections.
    spdlog::warn("accept failed: {}; retrying", ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) do_accept();
    });
    return;
  }
  beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  std::string remote;
  if (auto ep = socket.remote_endpoint(opt_ec); !opt_ec) remote = ep.address().to_string();
  std::vector<std::function<void()>> to_shed;
  auto holder = std::make_shared<std::weak_ptr<Session>>();
  ConnectionSlot slot = limiter->admit(
      remote,
      [holder] {
        if (auto s = holder->lock()) s->post_shed();
      },
      to_shed);
  for (auto& shed : to_shed) shed();
  if (!slot) {
    // Refused at a cap with no idle connection to shed: answer at once and close, without
    // creating a session (the socket's send buffer is empty, so this write does not block).
    socket.non_blocking(true, opt_ec);
    socket.write_some(net::buffer(connection_refused_response()), opt_ec);
    socket.shutdown(tcp::socket::shutdown_both, opt_ec);
    socket.close(opt_ec);
    return do_accept();
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), std::move(remote));
  *holder = session;
  session->set_slot(std::move(slot));
  {
    std::lock_guard lock(sessions_mu);
    sessions.emplace(session.get(), session);
  }
  session->start();
  do_accept();
}

void ServerCore::close_idle_sessions() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu);
    for (auto& [ptr, weak] : sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->post_close_if_idle();
}

}  // namespace jarvis::host::http_server
