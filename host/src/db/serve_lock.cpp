// host/src/db/serve_lock.cpp — the serving lock of a SQLite database (see the header).
#include "db/serve_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace jarvis::host {

std::optional<std::string> sqlite_file_of(const std::string& database_url) {
  std::string path = database_url;
  auto scheme_end = database_url.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = database_url.substr(0, scheme_end);
    if (scheme != "sqlite") return std::nullopt;  // postgresql:// and postgres://
    path = database_url.substr(scheme_end + 3);
  }
  if (path.empty() || path == ":memory:") return std::nullopt;
  std::error_code ec;
  // The real path (symlinks resolved): `serve` through a symlinked alias and `restore` through
  // the real path must take the same lock file and swap the same file.
  auto real = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? std::filesystem::absolute(path).lexically_normal().string() : real.string();
}

std::string serve_lock_path(const std::string& database_url) {
  auto file = sqlite_file_of(database_url);
  return file ? *file + ".serving" : std::string();
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

namespace {

int open_serve_lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot open the serving lock " + path + ": " + std::strerror(errno));
  }
  return fd;
}

std::string read_serve_lock_holder(int fd) {
  char buf[256];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string who = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
  return who.empty() ? "another process" : who;
}

}  // namespace

std::unique_ptr<ServeLock> ServeLock::acquire_shared(const std::string& path,
                                                     const std::string& who) {
  int fd = open_serve_lock_file(path);
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    int saved = errno;
    ::close(fd);
    if (saved == EWOULDBLOCK) {
      throw std::runtime_error("the database is being restored (" + path +
                               " is locked by jarvis db restore); start the host after it");
    }
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(saved));
  }
  // Informational only (the lock is what counts); the last host to start wins the text.
  std::string text = who + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, text.data(), text.size(), 0);
  }
  return std::unique_ptr<ServeLock>(new ServeLock(fd));
}

std::optional<std::string> ServeLock::acquire_exclusive(const std::string& path,
                                                        std::unique_ptr<ServeLock>* out) {
  int fd = open_serve_lock_file(path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    std::string who = read_serve_lock_holder(fd);
    ::close(fd);
    if (saved == EWOULDBLOCK) return who;
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(saved));
  }
  out->reset(new ServeLock(fd));
  return std::nullopt;
}

}  // namespace jarvis::host
