// host/src/db/serve_lock.h — "a process has this SQLite database open": every command that opens
// it (Application::init, before SqlDatabase::open) holds a shared flock on
// `<real path of the database>.serving` for as long as it runs; `jarvis db restore` and
// deploy/restore_db.sh take the exclusive lock without waiting and refuse when they cannot. The
// kernel drops a lock when its holder dies (kill -9 included), so a stale file never blocks a
// restore, and a command that starts while a restore holds the lock is refused before it opens
// the file. The path is the realpath, so a symlinked alias meets the same lock.
//
//   std::string path = serve_lock_path(settings.database_url);   // "" for PostgreSQL
//   auto lock = ServeLock::acquire_shared(path, "pid 4242 port 8000");    // serve
//   if (auto holder = ServeLock::acquire_exclusive(path, &lock)) { ...refuse: *holder... }
//
// Decision: docs/decisions/0057-restore-refusal-and-serve-lock.md.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace jarvis::host {

/// The SQLite file a database URL names (the forms SqlDatabase::open accepts: a path,
/// sqlite://relative, sqlite:///absolute), made absolute against the working directory with
/// symlinks resolved (std::filesystem::weakly_canonical); nullopt
/// for PostgreSQL URLs and ":memory:".
std::optional<std::string> sqlite_file_of(const std::string& database_url);

/// `<sqlite file>.serving`, or "" when the URL is not a SQLite file.
std::string serve_lock_path(const std::string& database_url);

/// One held flock on a lock file; released (not deleted) by the destructor.
class ServeLock {
 public:
  ~ServeLock();
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

  /// Serve: a shared lock (several hosts may serve one file). Writes `who` into the file for the
  /// refusal message. Throws std::runtime_error when a restore holds the exclusive lock or the
  /// file cannot be opened.
  static std::unique_ptr<ServeLock> acquire_shared(const std::string& path, const std::string& who);
  /// Restore: the exclusive lock without waiting. On success sets `*out` and returns nullopt; when
  /// a host holds the lock returns what the file says about it ("pid 4242 port 8000").
  static std::optional<std::string> acquire_exclusive(const std::string& path,
                                                      std::unique_ptr<ServeLock>* out);

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace jarvis::host
