// One curl transfer (one hop) of CurlHttpClient: the response sinks — a PartFile for output_file,
// the caller's on_chunk, or memory — with their size caps, the header parser, the socket callback
// that re-checks every address curl connects to, and perform(), which drives the easy handle
// through a private multi handle so that a cancellation token is honoured within kCancelPoll.
#include "net/http_transfer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>

#include "net/address_policy.h"

namespace jarvis::host::outbound {

// ---------------------------------------------------------------------------------------------
// One transfer (one hop).

PartFile::PartFile(const std::string& target) : target_(target) {
  std::filesystem::path t(target);
  std::string dir = t.has_parent_path() ? t.parent_path().string() : ".";
  path_ = dir + "/." + t.filename().string() + ".part-XXXXXX";
  fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot create a temporary file for '" + target + "'");
  }
}

int PartFile::write(const char* data, std::size_t len) {
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

void PartFile::commit() {
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

void PartFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_) ::unlink(path_.c_str());
  committed_ = true;
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
  t->last_activity = std::chrono::steady_clock::now();
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
  t->last_activity = std::chrono::steady_clock::now();
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

namespace {

struct CurlMultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};

}  // namespace

CURLcode perform(CURL* easy, Transfer& t, Waker& waker) {
  std::unique_ptr<CURLM, CurlMultiDeleter> multi(curl_multi_init());
  if (!multi) throw std::bad_alloc();
  CURLM* m = multi.get();
  if (curl_multi_add_handle(m, easy) != CURLM_OK) throw std::bad_alloc();
  waker.set(m);
  CURLcode result = CURLE_ABORTED_BY_CALLBACK;
  bool done = false;
  const bool idle_limit = t.idle_timeout.count() > 0;
  t.last_activity = std::chrono::steady_clock::now();
  curl_off_t uploaded = 0;
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
    auto wait = kCancelPoll;
    if (idle_limit) {
      // Request body bytes count as traffic too (a slow upload is not a stalled answer).
      curl_off_t sent = 0;
      if (curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent != uploaded) {
        uploaded = sent;
        t.last_activity = std::chrono::steady_clock::now();
      }
      auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t.last_activity);
      if (idle >= t.idle_timeout) {
        t.idle_timed_out = true;
        break;
      }
      wait = std::min(wait, t.idle_timeout - idle);
    }
    curl_multi_poll(m, nullptr, 0, static_cast<int>(std::max<long long>(1, wait.count())), nullptr);
  }
  waker.set(nullptr);
  // Removing an unfinished transfer closes its connection at once (nothing is reused).
  curl_multi_remove_handle(m, easy);
  return result;
}

}  // namespace jarvis::host::outbound
