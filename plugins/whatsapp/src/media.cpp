// whatsapp/src/media.cpp — see media.h.
#include "media.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util.h"

namespace whatsapp {
namespace fs = std::filesystem;
namespace {

MediaOutcome refuse(std::string reason, std::string detail) {
  MediaOutcome o;
  o.reason = std::move(reason);
  o.detail = std::move(detail);
  if (o.detail.size() > 300) o.detail.resize(300);
  return o;
}

// The media root as an absolute, symlink-free directory; "" when it cannot be made one.
std::string prepare_root(const std::string& dir, std::string* why) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *why = "cannot create the media directory: " + ec.message();
    return "";
  }
  fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) {
    *why = "the media directory is not a directory";
    return "";
  }
  return root.string();
}

// Creates `path` (which must not exist; symlinks are not followed) for writing.
int create_exclusive(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

// True when `path`'s parent is exactly `root` (no traversal out of the media root).
bool inside(const std::string& root, const std::string& path) {
  return fs::path(path).parent_path() == fs::path(root);
}

// A file name part that can never leave the directory: [A-Za-z0-9_-], at most 80 characters.
std::string safe_stem(const std::string& id) {
  std::string out;
  for (char c : id) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') out += c;
    if (out.size() >= 80) break;
  }
  return out.empty() ? "media" : out;
}

bool mime_allowed(const std::string& mime, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (!p.empty() && mime.compare(0, p.size(), jarvis::ascii_lower(p)) == 0) return true;
  }
  return false;
}

struct ParsedUrl {
  std::string scheme, host;
  bool userinfo = false;
};

std::optional<ParsedUrl> parse_url(const std::string& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos || colon == 0 || url.size() > 4096) return std::nullopt;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return std::nullopt;
  }
  ParsedUrl u;
  u.scheme = jarvis::ascii_lower(url.substr(0, colon));
  std::string rest = url.substr(colon + 3);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    u.userinfo = true;
    authority = authority.substr(at + 1);
  }
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
  } else {
    u.host = authority.substr(0, authority.find(':'));
  }
  u.host = jarvis::ascii_lower(u.host);
  if (u.host.empty()) return std::nullopt;
  return u;
}

bool host_listed(const std::string& host, const std::vector<std::string>& hosts) {
  for (std::string e : hosts) {
    e = jarvis::ascii_lower(e);
    if (e.rfind("*.", 0) == 0) e.erase(0, 2);
    if (e.empty()) continue;
    if (host == e) return true;
    if (host.size() > e.size() && host.compare(host.size() - e.size(), e.size(), e) == 0 &&
        host[host.size() - e.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace

MediaPolicy MediaPolicy::from(const Settings& s) {
  MediaPolicy p;
  p.dir = s.media_dir;
  p.max_bytes = s.media_max_bytes;
  for (const auto& m : s.media_mime_prefixes) p.mime_prefixes.push_back(jarvis::ascii_lower(m));
  p.hosts = s.media_hosts;
  p.timeout_ms = static_cast<long>(std::min<long long>(s.voice_timeout_seconds, 600) * 1000);
  return p;
}

MediaOutcome MediaFetcher::fetch(const MediaRequest& r) const {
  if (p_.max_bytes <= 0) return refuse("media_size_exceeded", "WHATSAPP_MEDIA_MAX_BYTES is 0");
  std::string why;
  const std::string root = prepare_root(p_.dir, &why);
  if (root.empty()) return refuse("media_path_unsafe", why);
  if (!r.inline_base64.empty()) {
    if (base64_decoded_size(r.inline_base64) > static_cast<std::size_t>(p_.max_bytes) + 3) {
      return refuse("media_size_exceeded", "inline media is larger than WHATSAPP_MEDIA_MAX_BYTES");
    }
    auto bytes = base64_decode(r.inline_base64);
    if (!bytes) return refuse("media_download_failed", "message.base64 is not base64");
    MediaOutcome o = from_bytes(*bytes, r, root);
    o.source = "inline";
    return o;
  }
  if (!r.ref.media_url.empty()) return from_url(r, root);
  // Evolution's base64 endpoint: the JSON answer is about 4/3 of the file plus a little.
  const std::size_t cap = static_cast<std::size_t>(p_.max_bytes) / 3 * 4 + 64 * 1024;
  EvoResult res = evo_.media_base64(r.key_id, cap, r.cancel);
  if (res.error == "too_large") {
    return refuse("media_size_exceeded", "Evolution's media answer exceeds the size limit");
  }
  if (!res.ok()) {
    MediaOutcome o = refuse("media_download_failed", "Evolution media fetch: " + res.error);
    o.retryable = res.retryable();  // 429, 5xx, no answer: the task tries again (decision 0064)
    return o;
  }
  const std::string b64 = res.body.is_object() ? res.body.value("base64", "") : "";
  if (b64.empty()) return refuse("media_download_failed", "Evolution returned no base64");
  if (base64_decoded_size(b64) > static_cast<std::size_t>(p_.max_bytes) + 3) {
    auto bytes = base64_decode(b64);
    if (!bytes || static_cast<long long>(bytes->size()) > p_.max_bytes) {
      return refuse("media_size_exceeded", "media is larger than WHATSAPP_MEDIA_MAX_BYTES");
    }
  }
  auto bytes = base64_decode(b64);
  if (!bytes) return refuse("media_download_failed", "Evolution's base64 does not decode");
  MediaOutcome o = from_bytes(*bytes, r, root);
  o.source = "evolution";
  return o;
}

MediaOutcome MediaFetcher::from_url(const MediaRequest& r, const std::string& root) const {
  const std::string& url = r.ref.media_url;
  auto u = parse_url(url);
  bool scheme_ok =
      u && std::find(p_.schemes.begin(), p_.schemes.end(), u->scheme) != p_.schemes.end();
  if (!u || !scheme_ok || u->userinfo) {
    return refuse("media_url_invalid", "mediaUrl must be an https URL with a host");
  }
  if (p_.hosts.empty() || !host_listed(u->host, p_.hosts)) {
    return refuse("media_host_denied",
                  "host '" + u->host + "' is not in WHATSAPP_MEDIA_ALLOWED_HOSTS");
  }
  const std::string part = root + "/" + safe_stem(r.media_id) + ".part";
  if (!inside(root, part)) return refuse("media_path_unsafe", "generated path left the root");
  int fd = create_exclusive(part);
  if (fd < 0) return refuse("media_path_unsafe", "cannot create the media file exclusively");
  ::close(fd);
  jarvis::OutboundRequest req{.method = "GET", .url = url};
  req.max_response_bytes = static_cast<std::size_t>(p_.max_bytes);
  req.timeout_ms = p_.timeout_ms;
  req.max_redirects = p_.max_redirects;
  req.guard = {.enabled = true, .allowed_schemes = p_.schemes, .allowed_hosts = p_.hosts};
  req.output_file = part;
  req.cancel = r.cancel;
  jarvis::OutboundResponse res = http_.send(req);
  if (!res.ok()) {
    std::error_code ec;
    fs::remove(part, ec);
    if (res.error_class == "too_large") {
      return refuse("media_size_exceeded", "the download exceeded WHATSAPP_MEDIA_MAX_BYTES");
    }
    if (res.error_class == "blocked_url") {
      const bool scheme = res.error_message.find("scheme") != std::string::npos;
      return refuse(scheme ? "media_url_invalid" : "media_host_denied", res.error_message);
    }
    return refuse("media_download_failed", res.error_class.empty()
                                               ? "HTTP " + std::to_string(res.status)
                                               : res.error_class + ": " + res.error_message);
  }
  MediaOutcome o;
  o.source = "url";
  return finish(part, r, root, o);
}

MediaOutcome MediaFetcher::from_bytes(const std::string& bytes, const MediaRequest& r,
                                      const std::string& root) const {
  if (static_cast<long long>(bytes.size()) > p_.max_bytes) {
    return refuse("media_size_exceeded", "media is larger than WHATSAPP_MEDIA_MAX_BYTES");
  }
  const std::string part = root + "/" + safe_stem(r.media_id) + ".part";
  if (!inside(root, part)) return refuse("media_path_unsafe", "generated path left the root");
  int fd = create_exclusive(part);
  if (fd < 0) return refuse("media_path_unsafe", "cannot create the media file exclusively");
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      ::close(fd);
      std::error_code ec;
      fs::remove(part, ec);
      return refuse("media_download_failed", "writing the media file failed");
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return finish(part, r, root, MediaOutcome{});
}

MediaOutcome MediaFetcher::finish(const std::string& part, const MediaRequest& r,
                                  const std::string& root, MediaOutcome o) const {
  std::error_code ec;
  std::string head(64, '\0');
  {
    std::ifstream in(part, std::ios::binary);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
  }
  o.size = static_cast<long long>(fs::file_size(part, ec));
  if (o.size > p_.max_bytes) {
    fs::remove(part, ec);
    return refuse("media_size_exceeded", "media is larger than WHATSAPP_MEDIA_MAX_BYTES");
  }
  o.mime = sniff_mime(head);
  if (!mime_allowed(o.mime, p_.mime_prefixes)) {
    fs::remove(part, ec);
    MediaOutcome bad =
        refuse("media_mime_denied",
               "the bytes are " + o.mime + ", not in WHATSAPP_MEDIA_ALLOWED_MIME_PREFIXES");
    bad.mime = o.mime;
    return bad;
  }
  const std::string final_path = root + "/" + safe_stem(r.media_id) + "." + extension_for(o.mime);
  if (!inside(root, final_path) || fs::is_symlink(fs::symlink_status(final_path, ec))) {
    fs::remove(part, ec);
    return refuse("media_path_unsafe", "generated path is not a plain file inside the root");
  }
  fs::rename(part, final_path, ec);
  if (ec) {
    fs::remove(part, ec);
    return refuse("media_path_unsafe", "cannot move the media file into place");
  }
  o.path = final_path;
  o.sha256 = jarvis::sha256_file_hex(final_path);
  return o;
}

}  // namespace whatsapp
