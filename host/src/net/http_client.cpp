// CurlHttpClient: one libcurl easy handle per request, driven through a multi handle so that a
// cancellation token is honoured within 100 ms; manual redirects re-checked by the SSRF guard; the
// guard resolves host names itself and pins curl to the checked addresses (CURLOPT_RESOLVE), and
// re-checks the address of every socket curl opens. Request bodies come from memory, a file or
// multipart parts (streamed through a read callback); response bodies go to memory, a file or the
// caller's on_chunk callback.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "jarvis/crypto.h"
#include "net/address_policy.h"

namespace jarvis::host {
namespace {

using Clock = std::chrono::steady_clock;

/// Cap on the total size of response headers of one response.
constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
/// How often a cancellation token is polled while waiting (predicate tokens have no callback).
constexpr std::chrono::milliseconds kCancelPoll{100};

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_tchar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

/// A multipart name or filename goes inside a quoted-string of a part header.
void validate_part_label(const std::string& what, const std::string& value) {
  if (value.find_first_of(std::string_view("\r\n\0\"", 4)) != std::string::npos) {
    throw std::invalid_argument("outbound request: multipart " + what +
                                " contains a line break, NUL or quote");
  }
}

void validate_request(const OutboundRequest& r) {
  int bodies = !r.body.empty() + !r.body_file.empty() + !r.multipart.empty();
  if (bodies > 1) {
    throw std::invalid_argument(
        "outbound request: set at most one of body, body_file and multipart");
  }
  if (r.on_chunk && !r.output_file.empty()) {
    throw std::invalid_argument("outbound request: on_chunk and output_file are exclusive");
  }
  for (const auto& part : r.multipart) {
    if (part.name.empty())
      throw std::invalid_argument("outbound request: multipart part without a name");
    validate_part_label("name '" + part.name + "'", part.name);
    validate_part_label("filename", part.filename);
    if (has_control_char(part.content_type)) {
      throw std::invalid_argument("outbound request: multipart content_type of '" + part.name +
                                  "' contains control characters");
    }
    if (!part.file.empty() && !part.data.empty()) {
      throw std::invalid_argument("outbound request: multipart part '" + part.name +
                                  "' sets both data and file");
    }
  }
  if (r.method.empty() || !std::all_of(r.method.begin(), r.method.end(), is_tchar)) {
    throw std::invalid_argument("outbound request: invalid HTTP method '" + r.method + "'");
  }
  for (const auto& [name, value] : r.headers.all()) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
      throw std::invalid_argument("outbound request: invalid header name '" + name + "'");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      throw std::invalid_argument("outbound request: header '" + name +
                                  "' contains a line break or NUL");
    }
  }
}

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
  p.scheme = lower(url_part(p.handle.get(), CURLUPART_SCHEME));
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
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  for (std::string entry : allowed) {
    entry = lower(entry);
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
  std::optional<std::string> address_refusal(const std::string& address) const {
    if (g_.allow_private_addresses || exemptions_.count(address)) return std::nullopt;
    return non_public_reason(address);
  }

  GuardVerdict check(const ParsedUrl& u, std::chrono::milliseconds resolve_timeout,
                     const CancelToken& cancel) const {
    GuardVerdict v;
    auto block = [&](std::string why) {
      v.error_class = "blocked_url";
      v.message = "URL refused: " + why;
      return v;
    };
    bool scheme_ok = std::any_of(g_.allowed_schemes.begin(), g_.allowed_schemes.end(),
                                 [&](const std::string& s) { return lower(s) == u.scheme; });
    if (!scheme_ok) {
      return block("scheme '" + u.scheme +
                   "' is not allowed (allowed: " + join(g_.allowed_schemes) + ")");
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

 private:
  const UrlGuard& g_;
  std::set<std::string> exemptions_;
};

// ---------------------------------------------------------------------------------------------
// One transfer (one hop).

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

/// A temporary file next to the requested output file; renamed into place on success.
class PartFile {
 public:
  explicit PartFile(const std::string& target) : target_(target) {
    std::filesystem::path t(target);
    std::string dir = t.has_parent_path() ? t.parent_path().string() : ".";
    path_ = dir + "/." + t.filename().string() + ".part-XXXXXX";
    fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
    if (fd_ < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "cannot create a temporary file for '" + target + "'");
    }
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;
  ~PartFile() { discard(); }

  /// Appends bytes; returns errno on failure, 0 on success.
  int write(const char* data, std::size_t len) {
    while (len > 0) {
      ssize_t n = ::write(fd_, data, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      data += n;
      len -= static_cast<std::size_t>(n);
    }
    return 0;
  }
  /// fsync, close and rename onto the target.
  void commit() {
    if (::fsync(fd_) != 0) {
      throw std::system_error(errno, std::generic_category(), "cannot flush '" + path_ + "'");
    }
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), target_.c_str()) != 0) {
      int err = errno;
      ::unlink(path_.c_str());
      committed_ = true;
      throw std::system_error(err, std::generic_category(),
                              "cannot move the download into '" + target_ + "'");
    }
    committed_ = true;
  }
  void discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!committed_) ::unlink(path_.c_str());
    committed_ = true;
  }

 private:
  std::string target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// A request body streamed through CURLOPT_READFUNCTION: a sequence of in-memory byte ranges and
/// local files (body_file, multipart). Sizes are taken up front, so Content-Length is exact.
class UploadBody {
 public:
  /// The body of `body_file`.
  static UploadBody from_file(const std::string& path) {
    UploadBody b;
    b.add_file(path);
    return b;
  }

  /// A multipart/form-data body (RFC 7578) of `parts` with a fresh random boundary.
  static UploadBody multipart(const std::vector<MultipartPart>& parts) {
    UploadBody b;
    // 128 random bits: a boundary that occurs inside a file part by chance is not a concern;
    // in-memory parts are still checked, and get a new boundary in the (absurd) case of a match.
    for (;;) {
      b.boundary_ = "jarvis-" + jarvis::to_hex(jarvis::random_bytes(16));
      if (std::none_of(parts.begin(), parts.end(), [&](const MultipartPart& p) {
            return p.data.find(b.boundary_) != std::string::npos;
          })) {
        break;
      }
    }
    for (const auto& p : parts) {
      std::string filename = p.filename;
      if (filename.empty() && !p.file.empty()) {
        filename = std::filesystem::path(p.file).filename().string();
        validate_part_label("filename", filename);
      }
      std::string head =
          "--" + b.boundary_ + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
      if (!filename.empty()) head += "; filename=\"" + filename + "\"";
      head += "\r\n";
      std::string type = p.content_type;
      if (type.empty() && !filename.empty()) type = "application/octet-stream";
      if (!type.empty()) head += "Content-Type: " + type + "\r\n";
      head += "\r\n";
      b.add_bytes(std::move(head));
      if (!p.file.empty()) {
        b.add_file(p.file);
      } else {
        b.add_bytes(p.data);
      }
      b.add_bytes("\r\n");
    }
    b.add_bytes("--" + b.boundary_ + "--\r\n");
    return b;
  }

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
    std::size_t read(char* out, std::size_t len) {
      while (segment_ < body_.segments_.size()) {
        const Segment& seg = body_.segments_[segment_];
        std::uint64_t left = seg.size - offset_;
        if (left == 0) {
          close_file();
          ++segment_;
          offset_ = 0;
          continue;
        }
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, len));
        if (seg.path.empty()) {
          std::memcpy(out, seg.bytes.data() + offset_, want);
          offset_ += want;
          return want;
        }
        if (fd_ < 0) {
          fd_ = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
          if (fd_ < 0) return fail(errno, seg.path);
        }
        ssize_t n;
        do {
          n = ::read(fd_, out, want);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return fail(errno, seg.path);
        if (n == 0) return fail(EIO, seg.path + " (file shrank during the upload)");
        offset_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
      }
      return 0;
    }
    int error() const { return errno_; }
    const std::string& error_path() const { return error_path_; }

   private:
    std::size_t fail(int err, const std::string& path) {
      errno_ = err;
      error_path_ = path;
      return 0;
    }
    void close_file() {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
    }

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

  void add_bytes(std::string bytes) {
    if (bytes.empty()) return;
    size_ += bytes.size();
    segments_.push_back({std::move(bytes), "", 0});
    segments_.back().size = segments_.back().bytes.size();
  }
  void add_file(const std::string& path) {
    struct stat st {};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      int err = fd < 0 ? errno : (S_ISREG(st.st_mode) ? errno : EINVAL);
      if (fd >= 0) ::close(fd);
      throw std::system_error(err, std::generic_category(),
                              "cannot read the request body file '" + path + "'");
    }
    ::close(fd);
    size_ += static_cast<std::uint64_t>(st.st_size);
    segments_.push_back({"", path, static_cast<std::uint64_t>(st.st_size)});
  }

  std::vector<Segment> segments_;
  std::uint64_t size_ = 0;
  std::string boundary_;
};

size_t on_upload_read(char* buffer, size_t size, size_t nitems, void* user) {
  auto* reader = static_cast<UploadBody::Reader*>(user);
  std::size_t n = reader->read(buffer, size * nitems);
  if (reader->error() != 0) return CURL_READFUNC_ABORT;
  return n;
}

struct Transfer {
  CURL* easy = nullptr;
  std::size_t max_bytes = 0;
  PartFile* file = nullptr;  ///< 2xx bodies go here when set
  const Guard* guard = nullptr;
  const CancelToken* cancel = nullptr;
  const std::function<bool(std::string_view)>* on_chunk = nullptr;  ///< 2xx bodies go here

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

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

size_t on_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * nmemb;
  if (t->cancel->cancelled()) {
    t->cancelled = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (t->received + len > t->max_bytes) {
    t->too_large = true;
    return 0;
  }
  t->received += len;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  if (t->file && success) {
    if (int err = t->file->write(data, len)) {
      t->file_errno = err;
      return 0;
    }
  } else if (t->on_chunk && *t->on_chunk && success) {
    // Exceptions must not unwind through libcurl's C frames: keep it and rethrow after cleanup.
    try {
      if (!(*t->on_chunk)(std::string_view(data, len))) {
        t->stopped_by_callback = true;
        return 0;
      }
    } catch (...) {
      t->callback_error = std::current_exception();
      return 0;
    }
  } else {
    t->body.append(data, len);
  }
  return len;
}

size_t on_header(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * nmemb;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->too_large = true;
    return 0;
  }
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->headers = Headers();  // a new response (after a 1xx interim one)
    t->header_bytes = len;
    return len;
  }
  if (line.empty()) return len;
  auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return len;  // obsolete folding etc.: ignored
  std::string value = line.substr(colon + 1);
  auto start = value.find_first_not_of(" \t");
  value = start == std::string::npos ? "" : value.substr(start);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  t->headers.add(line.substr(0, colon), std::move(value));
  return len;
}

curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && t->guard) {
    std::string addr = address_to_string(&address->addr);
    if (auto why = t->guard->address_refusal(addr)) {
      t->blocked = "connection to " + addr + " refused: " + *why;
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct CurlMultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};

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
/// waiting at most kCancelPoll between checks of the cancellation token. Returns the transfer's
/// CURLcode, or CURLE_ABORTED_BY_CALLBACK with `t.cancelled` set when the token fired.
CURLcode perform(CURL* easy, Transfer& t, Waker& waker) {
  std::unique_ptr<CURLM, CurlMultiDeleter> multi(curl_multi_init());
  if (!multi) throw std::bad_alloc();
  CURLM* m = multi.get();
  if (curl_multi_add_handle(m, easy) != CURLM_OK) throw std::bad_alloc();
  waker.set(m);
  CURLcode result = CURLE_ABORTED_BY_CALLBACK;
  bool done = false;
  while (!done) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(m, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        result = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (mc != CURLM_OK) {
      result = CURLE_RECV_ERROR;
      break;
    }
    if (t.cancel->cancelled()) {
      t.cancelled = true;
      break;
    }
    if (running == 0) break;  // cannot happen without a CURLMSG_DONE; be safe
    curl_multi_poll(m, nullptr, 0, static_cast<int>(kCancelPoll.count()), nullptr);
  }
  waker.set(nullptr);
  // Removing an unfinished transfer closes its connection at once (nothing is reused).
  curl_multi_remove_handle(m, easy);
  return result;
}

long to_long_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(std::max<long long>(1, ms.count()));
}

/// Origin of a URL for the "credentials follow only the same origin" redirect rule.
std::string origin(const ParsedUrl& u) { return u.scheme + "://" + lower(u.host) + ":" + u.port; }

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
      if (lower(kv.first) != "content-type") kept.add(kv.first, kv.second);
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
    std::optional<UploadBody::Reader> reader;
    if (upload) reader.emplace(*upload);
    char errbuf[CURL_ERROR_SIZE] = {};

    SlistPtr header_list;
    bool has_expect = false, has_agent = false;
    for (const auto& [name, value] : headers.all()) {
      if (lower(name) == "expect") has_expect = true;
      if (lower(name) == "user-agent") has_agent = true;
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
            std::string n = lower(kv.first);
            if (n != "content-length" && n != "content-type") kept.add(kv.first, kv.second);
          }
          headers = std::move(kept);
        }
        // Credentials never follow a redirect to another origin.
        std::string next_error;
        if (auto next = parse_url(url, next_error); next && origin(*next) != first_origin) {
          Headers kept;
          for (const auto& kv : headers.all()) {
            std::string n = lower(kv.first);
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
