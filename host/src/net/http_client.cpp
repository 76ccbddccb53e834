// CurlHttpClient: one libcurl easy handle per request, driven through a multi handle so that a
// cancellation token is honoured within 100 ms; manual redirects re-checked by the SSRF guard; the
// guard resolves host names itself and pins curl to the checked addresses (CURLOPT_RESOLVE), and
// re-checks the address of every socket curl opens. Request bodies come from memory, a file or
// multipart parts (streamed through a read callback); response bodies go to memory, a file or the
// caller's on_chunk callback.
//
// This file owns the send loop and the guard; one transfer and the response sinks are in
// http_transfer.cpp, the request checks and request bodies in http_request_body.cpp
// (http_transfer.h is what they share).
#include "net/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "jarvis/strings.h"
#include "net/address_policy.h"
#include "net/http_transfer.h"

namespace jarvis::host {
namespace outbound {

// ---------------------------------------------------------------------------------------------
// URL parsing (curl's URL API, so that our view of the URL is exactly curl's).

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct ParsedUrl {
  CurlUrlPtr handle;
  std::string url;     ///< normalised full URL
  std::string scheme;  ///< lower case
  std::string host;    ///< as in the URL, IPv6 without brackets, IDN as punycode
  std::string port;    ///< numeric, default port filled in
  bool has_userinfo = false;
  bool host_is_ip = false;
};

}  // namespace outbound

using namespace outbound;  // NOLINT: this file's own internals, shared through http_transfer.h

namespace {

using Clock = std::chrono::steady_clock;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, flags) != CURLUE_OK || out == nullptr) return "";
  std::string s(out);
  curl_free(out);
  return s;
}

/// Parses `url`; on failure returns nullopt and sets `error`.
std::optional<ParsedUrl> parse_url(const std::string& url, std::string& error) {
  ParsedUrl p;
  p.handle.reset(curl_url());
  if (!p.handle) {
    error = "out of memory";
    return std::nullopt;
  }
  CURLUcode rc = curl_url_set(p.handle.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    error = std::string("cannot parse URL: ") + curl_url_strerror(rc);
    return std::nullopt;
  }
  p.scheme = jarvis::ascii_lower(url_part(p.handle.get(), CURLUPART_SCHEME));
  if (p.scheme != "http" && p.scheme != "https") {
    error = "unsupported URL scheme '" + p.scheme + "' (only http and https)";
    return std::nullopt;
  }
  p.host = url_part(p.handle.get(), CURLUPART_HOST, CURLU_PUNYCODE);
  if (p.host.empty()) {
    error = "URL has no host";
    return std::nullopt;
  }
  if (p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
    p.host_is_ip = true;
  } else {
    in_addr v4{};
    p.host_is_ip = ::inet_pton(AF_INET, p.host.c_str(), &v4) == 1;
  }
  p.port = url_part(p.handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  char* user = nullptr;
  char* password = nullptr;
  if (curl_url_get(p.handle.get(), CURLUPART_USER, &user, 0) == CURLUE_OK) p.has_userinfo = true;
  if (curl_url_get(p.handle.get(), CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
    p.has_userinfo = true;
  }
  curl_free(user);
  curl_free(password);
  p.url = url_part(p.handle.get(), CURLUPART_URL);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Name resolution with a deadline (getaddrinfo itself has none).

struct Resolution {
  std::vector<std::string> addresses;  ///< numeric, de-duplicated, in resolver order
  std::string error;                   ///< non-empty on failure
  bool cancelled = false;              ///< the request was cancelled while waiting
};

Resolution resolve_host(const std::string& host, const std::string& port,
                        std::chrono::milliseconds timeout, const CancelToken& cancel) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Resolution result;
  };
  auto state = std::make_shared<State>();
  auto work = [state, host, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    Resolution out;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
      out.error = std::string("cannot resolve host '") + host + "': " + ::gai_strerror(rc);
    } else {
      for (addrinfo* a = res; a; a = a->ai_next) {
        std::string s = address_to_string(a->ai_addr);
        if (!s.empty() &&
            std::find(out.addresses.begin(), out.addresses.end(), s) == out.addresses.end()) {
          out.addresses.push_back(s);
        }
      }
      ::freeaddrinfo(res);
      if (out.addresses.empty()) out.error = "host '" + host + "' has no IPv4/IPv6 address";
    }
    std::lock_guard lock(state->mu);
    state->result = std::move(out);
    state->done = true;
    state->cv.notify_all();
  };
  // The lookup runs on its own thread so that a dead resolver cannot outlast the deadline; the
  // thread finishes on its own and the shared state keeps its result alive until then.
  std::thread(work).detach();
  const auto until = Clock::now() + timeout;
  std::unique_lock lock(state->mu);
  while (!state->done) {
    if (cancel.cancelled()) {
      Resolution stopped;
      stopped.cancelled = true;
      stopped.error = "request cancelled while resolving host '" + host + "'";
      return stopped;
    }
    auto now = Clock::now();
    if (now >= until) {
      Resolution timed_out;
      timed_out.error = "resolving host '" + host + "' timed out";
      return timed_out;
    }
    state->cv.wait_for(lock, std::min<Clock::duration>(until - now, kCancelPoll));
  }
  return state->result;
}

// ---------------------------------------------------------------------------------------------
// The guard.

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  std::string h = jarvis::ascii_lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  for (std::string entry : allowed) {
    entry = jarvis::ascii_lower(entry);
    if (entry.rfind("*.", 0) == 0) entry.erase(0, 2);
    while (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    while (!entry.empty() && entry.back() == '.') entry.pop_back();
    if (entry.empty()) continue;
    if (h == entry) return true;
    if (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
        h[h.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

namespace outbound {

std::optional<std::string> Guard::address_refusal(const std::string& address) const {
  if (g_.allow_private_addresses || exemptions_.count(address)) return std::nullopt;
  return non_public_reason(address);
}

GuardVerdict Guard::check(const ParsedUrl& u, std::chrono::milliseconds resolve_timeout,
                          const CancelToken& cancel) const {
  GuardVerdict v;
  auto block = [&](std::string why) {
    v.error_class = "blocked_url";
    v.message = "URL refused: " + why;
    return v;
  };
  bool scheme_ok =
      std::any_of(g_.allowed_schemes.begin(), g_.allowed_schemes.end(),
                  [&](const std::string& s) { return jarvis::ascii_lower(s) == u.scheme; });
  if (!scheme_ok) {
    return block("scheme '" + u.scheme + "' is not allowed (allowed: " + join(g_.allowed_schemes) +
                 ")");
  }
  if (u.has_userinfo) return block("credentials in the URL are not allowed");
  if (!g_.allowed_hosts.empty() && !host_allowed(u.host, g_.allowed_hosts)) {
    return block("host '" + u.host + "' is not in the allowed hosts (" + join(g_.allowed_hosts) +
                 ")");
  }
  if (u.host_is_ip) {
    if (auto why = address_refusal(u.host)) return block("address " + u.host + " is " + *why);
    return v;
  }
  Resolution r = resolve_host(u.host, u.port, resolve_timeout, cancel);
  if (!r.error.empty()) {
    v.error_class = r.cancelled ? "cancelled" : "dns_resolution";
    v.message = r.error;
    return v;
  }
  // Every address must pass: a name that also points inside the network is refused outright.
  for (const auto& a : r.addresses) {
    if (auto why = address_refusal(a)) {
      return block("host '" + u.host + "' resolves to " + a + ", which is " + *why);
    }
  }
  v.pinned = r.addresses;
  return v;
}

}  // namespace outbound

namespace {

// ---------------------------------------------------------------------------------------------
// One transfer (one hop): setting up the easy handle (it runs in http_transfer.cpp).

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void slist_append(SlistPtr& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (!next) throw std::bad_alloc();
  list.release();
  list.reset(next);
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

long to_long_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(std::max<long long>(1, ms.count()));
}

/// Origin of a URL for the "credentials follow only the same origin" redirect rule.
std::string origin(const ParsedUrl& u) {
  return u.scheme + "://" + jarvis::ascii_lower(u.host) + ":" + u.port;
}

}  // namespace

std::string outage_class_for_curl_error(int curl_code, long os_errno) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return "";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "dns_resolution";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH) return "network_unreachable";
      if (os_errno == ETIMEDOUT) return "timeout";
      return "provider_unavailable";  // ECONNREFUSED and the rest
    case CURLE_FILESIZE_EXCEEDED:
      return "too_large";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "invalid_url";
    default:
      return "provider_unavailable";
  }
}

std::string url_for_log(const std::string& url) {
  CurlUrlPtr u(curl_url());
  if (!u ||
      curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return "<unparseable URL>";
  }
  curl_url_set(u.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_OPTIONS, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_QUERY, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0);
  return url_part(u.get(), CURLUPART_URL);
}

CurlHttpClient::CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {
  init_curl_once();
}

CurlHttpClient::~CurlHttpClient() = default;

OutboundResponse CurlHttpClient::send(const OutboundRequest& request) {
  validate_request(request);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::milliseconds(std::max(1L, request.timeout_ms));
  const Guard guard(request.guard, options_.guard_address_exemptions);

  // Request bodies streamed from disk or built from parts; local file errors throw here, before
  // any network traffic.
  std::optional<UploadBody> upload;
  Headers headers = request.headers;
  auto set_content_type = [&](const std::string& value, bool replace) {
    if (!replace && headers.get("Content-Type")) return;
    Headers kept;
    for (const auto& kv : headers.all()) {
      if (jarvis::ascii_lower(kv.first) != "content-type") kept.add(kv.first, kv.second);
    }
    kept.add("Content-Type", value);
    headers = std::move(kept);
  };
  if (!request.body_file.empty()) {
    upload = UploadBody::from_file(request.body_file);
    set_content_type("application/octet-stream", false);
  } else if (!request.multipart.empty()) {
    upload = UploadBody::multipart(request.multipart);
    set_content_type("multipart/form-data; boundary=" + upload->boundary(), true);
  }

  std::optional<PartFile> file;
  if (!request.output_file.empty()) file.emplace(request.output_file);

  // Cancellation through the token's source wakes the waiting transfer at once; predicate tokens
  // are polled every kCancelPoll.
  auto waker = std::make_shared<Waker>();
  if (request.cancel.can_cancel()) {
    request.cancel.on_cancel([weak = std::weak_ptr<Waker>(waker)] {
      if (auto w = weak.lock()) w->wake();
    });
  }

  OutboundResponse res;
  std::string method = request.method;
  std::string body = request.body;
  std::string url = request.url;
  std::string first_origin;

  auto fail = [&](std::string cls, std::string message) {
    res.error_class = std::move(cls);
    res.error_message = std::move(message);
  };
  auto log_result = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    spdlog::debug("outbound {} {} -> {} {} ({} ms)", request.method, url_for_log(request.url),
                  res.status, res.error_class.empty() ? "ok" : res.error_class, ms.count());
  };

  for (int hop = 0;; ++hop) {
    res = OutboundResponse();
    if (request.cancel.cancelled()) {
      fail("cancelled", "request cancelled");
      if (file) file->discard();
      log_result();
      return res;
    }
    std::string parse_error;
    std::optional<ParsedUrl> parsed = parse_url(url, parse_error);
    if (!parsed) {
      fail("invalid_url", parse_error);
      log_result();
      return res;
    }
    res.final_url = parsed->url;
    std::string this_origin = origin(*parsed);
    if (hop == 0) first_origin = this_origin;

    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      fail("timeout", "request timed out after " + std::to_string(request.timeout_ms) + " ms");
      log_result();
      return res;
    }
    auto connect_budget =
        std::min(remaining, std::chrono::milliseconds(std::max(1L, request.connect_timeout_ms)));

    GuardVerdict verdict;
    if (request.guard.enabled) {
      verdict = guard.check(*parsed, connect_budget, request.cancel);
      if (!verdict.error_class.empty()) {
        fail(verdict.error_class, verdict.message);
        if (file) file->discard();
        log_result();
        return res;
      }
    }

    std::unique_ptr<CURL, CurlDeleter> easy(curl_easy_init());
    if (!easy) throw std::bad_alloc();
    CURL* c = easy.get();
    Transfer t;
    t.easy = c;
    t.max_bytes = request.max_response_bytes;
    t.file = file ? &*file : nullptr;
    t.guard = request.guard.enabled ? &guard : nullptr;
    t.cancel = &request.cancel;
    t.on_chunk = request.on_chunk ? &request.on_chunk : nullptr;
    t.idle_timeout = std::chrono::milliseconds(std::max(0L, request.idle_timeout_ms));
    std::optional<UploadBody::Reader> reader;
    if (upload) reader.emplace(*upload);
    char errbuf[CURL_ERROR_SIZE] = {};

    SlistPtr header_list;
    bool has_expect = false, has_agent = false;
    for (const auto& [name, value] : headers.all()) {
      if (jarvis::ascii_lower(name) == "expect") has_expect = true;
      if (jarvis::ascii_lower(name) == "user-agent") has_agent = true;
      slist_append(header_list, value.empty() ? name + ";" : name + ": " + value);
    }
    if (!has_expect) slist_append(header_list, "Expect:");  // no 100-continue round trip
    SlistPtr resolve_list;
    if (!verdict.pinned.empty()) {
      std::string addrs;
      for (const auto& a : verdict.pinned) {
        addrs +=
            (addrs.empty() ? "" : ",") + (a.find(':') != std::string::npos ? "[" + a + "]" : a);
      }
      slist_append(resolve_list, parsed->host + ":" + parsed->port + ":" + addrs);
    }

    curl_easy_setopt(c, CURLOPT_CURLU, parsed->handle.get());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_long_ms(connect_budget));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_long_ms(remaining));
    if (method != "HEAD") {  // refuses an announced Content-Length above the cap up front
      curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(std::min<std::size_t>(
                           request.max_response_bytes,
                           static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max()))));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
    if (!has_agent) curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    if (request.guard.enabled) {
      curl_easy_setopt(c, CURLOPT_PROXY, "");  // a proxy would resolve names behind our back
      curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
      curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
      if (resolve_list) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_list.get());
    }
    if (reader) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload->size()));
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &*reader);
    } else if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && body.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      }
    }

    CURLcode rc = perform(c, t, *waker);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    res.status = static_cast<int>(status);
    res.headers = std::move(t.headers);

    if (t.callback_error) {
      if (file) file->discard();
      std::rethrow_exception(t.callback_error);
    }
    if (t.file_errno != 0) {
      file->discard();
      throw std::system_error(t.file_errno, std::generic_category(),
                              "cannot write the download for '" + request.output_file + "'");
    }
    if (reader && reader->error() != 0) {
      throw std::system_error(reader->error(), std::generic_category(),
                              "cannot read the request body file '" + reader->error_path() + "'");
    }
    if (!t.blocked.empty()) {
      fail("blocked_url", "URL refused: " + t.blocked);
    } else if (t.cancelled) {
      fail("cancelled", "request cancelled");
    } else if (t.idle_timed_out) {
      fail("timeout", "no data received or sent for " + std::to_string(request.idle_timeout_ms) +
                          " ms (idle timeout)");
    } else if (t.stopped_by_callback) {
      fail("cancelled", "transfer stopped by on_chunk");
    } else if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      fail("too_large",
           t.header_bytes > kMaxHeaderBytes
               ? "response headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes"
               : "response body exceeds " + std::to_string(request.max_response_bytes) + " bytes");
    } else if (rc != CURLE_OK) {
      long os_errno = 0;
      curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
      std::string cls = outage_class_for_curl_error(rc, os_errno);
      curl_off_t lookup_us = 0;
      curl_easy_getinfo(c, CURLINFO_NAMELOOKUP_TIME_T, &lookup_us);
      // curl's own resolver ran out of time: that is a DNS failure, not a slow provider.
      if (rc == CURLE_OPERATION_TIMEDOUT && lookup_us == 0 && !parsed->host_is_ip &&
          verdict.pinned.empty()) {
        cls = "dns_resolution";
      }
      fail(cls, errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc));
    }
    if (!res.error_class.empty()) {
      if (file) file->discard();
      log_result();
      return res;
    }

    if (is_redirect(status) && hop < request.max_redirects) {
      char* location = nullptr;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
      if (location && *location) {
        url = location;
        if (status == 303 && method != "HEAD") {
          method = "GET";
          body.clear();
          upload.reset();
        } else if ((status == 301 || status == 302) && method == "POST") {
          method = "GET";
          body.clear();
          upload.reset();
        }
        if (body.empty() && !upload) {  // no body (any more): nor the headers describing it
          Headers kept;
          for (const auto& kv : headers.all()) {
            std::string n = jarvis::ascii_lower(kv.first);
            if (n != "content-length" && n != "content-type") kept.add(kv.first, kv.second);
          }
          headers = std::move(kept);
        }
        // Credentials never follow a redirect to another origin.
        std::string next_error;
        if (auto next = parse_url(url, next_error); next && origin(*next) != first_origin) {
          Headers kept;
          for (const auto& kv : headers.all()) {
            std::string n = jarvis::ascii_lower(kv.first);
            if (n != "authorization" && n != "cookie" && n != "proxy-authorization") {
              kept.add(kv.first, kv.second);
            }
          }
          headers = std::move(kept);
        }
        continue;
      }
    }

    res.body = std::move(t.body);
    if (status == 502 || status == 503 || status == 504) {
      res.error_class = "provider_unavailable";
      res.error_message = "HTTP " + std::to_string(status) + " from " + url_for_log(res.final_url);
    }
    if (file) {
      if (res.error_class.empty() && status >= 200 && status < 300) {
        file->commit();
      } else {
        file->discard();
      }
    }
    log_result();
    return res;
  }
}

}  // namespace jarvis::host
