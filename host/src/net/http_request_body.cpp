// Request checks and request bodies of CurlHttpClient: validate_request() refuses methods, header
// names and values, and multipart names, filenames and content types that could inject a line
// into the request; UploadBody streams `body_file` or a multipart/form-data body (RFC 7578) from
// memory and local files through curl's read callback.
#include "net/http_transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "jarvis/crypto.h"

namespace jarvis::host::outbound {
namespace {

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

}  // namespace

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

UploadBody UploadBody::from_file(const std::string& path) {
  UploadBody b;
  b.add_file(path);
  return b;
}

UploadBody UploadBody::multipart(const std::vector<MultipartPart>& parts) {
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

std::size_t UploadBody::Reader::read(char* out, std::size_t len) {
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

void UploadBody::Reader::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void UploadBody::add_bytes(std::string bytes) {
  if (bytes.empty()) return;
  size_ += bytes.size();
  segments_.push_back({std::move(bytes), "", 0});
  segments_.back().size = segments_.back().bytes.size();
}

void UploadBody::add_file(const std::string& path) {
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

size_t on_upload_read(char* buffer, size_t size, size_t nitems, void* user) {
  auto* reader = static_cast<UploadBody::Reader*>(user);
  std::size_t n = reader->read(buffer, size * nitems);
  if (reader->error() != 0) return CURL_READFUNC_ABORT;
  return n;
}

}  // namespace jarvis::host::outbound
