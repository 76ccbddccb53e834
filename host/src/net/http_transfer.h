// host/src/net/http_transfer.h — private to host/src/net/: the parts of CurlHttpClient that its
// files share. http_transfer.cpp runs one curl transfer (one hop) through a multi handle with
// cancellation polling, and owns the response sinks (PartFile, the body/header/socket callbacks);
// http_request_body.cpp checks the request and builds the request bodies (body_file, multipart);
// http_client.cpp owns the send loop with redirects and the SSRF guard (Guard).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/http_client.h"

namespace jarvis::host::outbound {

/// Cap on the total size of response headers of one response.
inline constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
/// How often a cancellation token is polled while waiting (predicate tokens have no callback).
inline constexpr std::chrono::milliseconds kCancelPoll{100};

// ---------------------------------------------------------------------------------------------
// The guard (http_client.cpp).

struct ParsedUrl;

struct GuardVerdict {
  std::string error_class;  ///< "" = allowed
  std::string message;
  std::vector<std::string> pinned;  ///< checked addresses for CURLOPT_RESOLVE (host names only)
};

class Guard {
 public:
  Guard(const UrlGuard& g, const std::vector<std::string>& exemptions)
      : g_(g), exemptions_(exemptions.begin(), exemptions.end()) {}

  /// Why `address` may not be contacted, or nullopt.
  std::optional<std::string> address_refusal(const std::string& address) const;

  GuardVerdict check(const ParsedUrl& u, std::chrono::milliseconds resolve_timeout,
                     const CancelToken& cancel) const;

 private:
  const UrlGuard& g_;
  std::set<std::string> exemptions_;
};

// ---------------------------------------------------------------------------------------------
// Request checks and request bodies (http_request_body.cpp).

/// Throws std::invalid_argument for a request that cannot be sent as given (see http_client.h).
void validate_request(const OutboundRequest& r);

/// A request body streamed through CURLOPT_READFUNCTION: a sequence of in-memory byte ranges and
/// local files (body_file, multipart). Sizes are taken up front, so Content-Length is exact.
class UploadBody {
 public:
  /// The body of `body_file`.
  static UploadBody from_file(const std::string& path);

  /// A multipart/form-data body (RFC 7578) of `parts` with a fresh random boundary.
  static UploadBody multipart(const std::vector<MultipartPart>& parts);

  std::uint64_t size() const { return size_; }
  const std::string& boundary() const { return boundary_; }

  /// Reading state of one transfer (each redirect hop starts from the beginning).
  class Reader {
   public:
    explicit Reader(const UploadBody& body) : body_(body) {}
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader() { close_file(); }

    /// Copies up to `len` bytes; returns the count (0 at the end) or sets error() and returns 0.
    std::size_t read(char* out, std::size_t len);
    int error() const { return errno_; }
    const std::string& error_path() const { return error_path_; }

   private:
    std::size_t fail(int err, const std::string& path) {
      errno_ = err;
      error_path_ = path;
      return 0;
    }
    void close_file();

    const UploadBody& body_;
    std::size_t segment_ = 0;
    std::uint64_t offset_ = 0;
    int fd_ = -1;
    int errno_ = 0;
    std::string error_path_;
  };

 private:
  struct Segment {
    std::string bytes;  ///< when path is empty
    std::string path;
    std::uint64_t size = 0;
  };

  void add_bytes(std::string bytes);
  void add_file(const std::string& path);

  std::vector<Segment> segments_;
  std::uint64_t size_ = 0;
  std::string boundary_;
};

/// CURLOPT_READFUNCTION over an UploadBody::Reader (`user`).
size_t on_upload_read(char* buffer, size_t size, size_t nitems, void* user);

// ---------------------------------------------------------------------------------------------
// One transfer (one hop) (http_transfer.cpp).

/// A temporary file next to the requested output file; renamed into place on success.
class PartFile {
 public:
  explicit PartFile(const std::string& target);
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;
  ~PartFile() { discard(); }

  /// Appends bytes; returns errno on failure, 0 on success.
  int write(const char* data, std::size_t len);
  /// fsync, close and rename onto the target.
  void commit();
  void discard();

 private:
  std::string target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

struct Transfer {
  CURL* easy = nullptr;
  std::size_t max_bytes = 0;
  PartFile* file = nullptr;  ///< 2xx bodies go here when set
  const Guard* guard = nullptr;
  const CancelToken* cancel = nullptr;
  const std::function<bool(std::string_view)>* on_chunk = nullptr;  ///< 2xx bodies go here

  /// No byte moved for this long fails the transfer (OutboundRequest::idle_timeout_ms); 0 = off.
  std::chrono::milliseconds idle_timeout{0};
  /// When a byte last moved (headers or body received, request body sent); set by perform().
  std::chrono::steady_clock::time_point last_activity{};
  bool idle_timed_out = false;  ///< idle_timeout passed without traffic

  bool cancelled = false;             ///< the token fired during the transfer
  bool stopped_by_callback = false;   ///< on_chunk returned false
  std::exception_ptr callback_error;  ///< on_chunk threw

  std::size_t received = 0;
  std::size_t header_bytes = 0;
  bool too_large = false;
  int file_errno = 0;
  std::string blocked;  ///< set when the socket callback refused an address
  std::string body;
  Headers headers;
};

/// CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION and CURLOPT_OPENSOCKETFUNCTION over a Transfer
/// (`user`).
size_t on_body(char* data, size_t size, size_t nmemb, void* user);
size_t on_header(char* data, size_t size, size_t nmemb, void* user);
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address);

/// Lets a CancelToken's on_cancel callback (any thread, possibly after send() returned) wake the
/// multi handle currently waiting, so that cancellation does not wait for the next poll.
struct Waker {
  std::mutex mu;
  CURLM* multi = nullptr;  ///< guarded by mu; null while no transfer waits

  void wake() {
    std::lock_guard lock(mu);
    if (multi) curl_multi_wakeup(multi);
  }
  void set(CURLM* m) {
    std::lock_guard lock(mu);
    multi = m;
  }
};

/// Runs one easy transfer to completion on the calling thread through a private multi handle,
/// waiting at most kCancelPoll between checks of the cancellation token (and of the idle
/// timeout). Returns the transfer's CURLcode, or CURLE_ABORTED_BY_CALLBACK with `t.cancelled`
/// set when the token fired, or with `t.idle_timed_out` set when no byte moved for
/// `t.idle_timeout`.
CURLcode perform(CURL* easy, Transfer& t, Waker& waker);

}  // namespace jarvis::host::outbound
