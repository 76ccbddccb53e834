// tests/ops/secret_scan_key_test.cpp — the install's fingerprint key (decision 0095): published
// without hard links (renameat2 RENAME_NOREPLACE, then O_EXCL on the final name with readers
// retrying a short file), concurrent first uses agreeing on one key, a key of another user
// refused, the per-run key when no key file can be made (HOME unset, HOME not a folder), and the
// CLI's scans outside a work tree keeping the runner's home untouched.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "ops/secret_scan_key.h"
#include "ops/secret_fixture.h"
#include "support/support.h"

namespace secret_scan_key_test {

using jarvis::host::ops::load_or_create_scan_key;
using jarvis::host::ops::scan_key_for;
using jarvis::host::ops::ScanKeyFileOps;
using jarvis::host::ops::ScanKeyUnavailable;
using jarvis::test::read_file;
using jarvis::test::TempDir;
using jarvis::test::write_file;

int refuse_eperm(const char*, const char*) {
  errno = EPERM;  // vfat's answer to link(2)
  return -1;
}
int refuse_einval(const char*, const char*) {
  errno = EINVAL;  // a filesystem without RENAME_NOREPLACE
  return -1;
}

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(SecretScanKeyFile, WithoutHardLinksTheKeyIsRenamedIntoPlaceWithoutClobbering) {
  TempDir dir;
  const std::string path = dir.file("state/jarvis/secret-scan.key");
  int links = 0, renames = 0;
  ScanKeyFileOps ops;
  ops.link = [&](const char* a, const char* b) {
    ++links;
    return refuse_eperm(a, b);
  };
  ops.rename_noreplace = [&](const char* a, const char* b) {
    ++renames;
    return ::renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE);
  };
  const std::string key = load_or_create_scan_key(path, ops);
  EXPECT_EQ(links, 1);
  EXPECT_EQ(renames, 1);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(trimmed(read_file(path)), key);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir.file("state/jarvis")), 0700u);
  // Nothing left behind but the key, and a second use reads it (no second publication).
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("state/jarvis"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(load_or_create_scan_key(path, ops), key);
  EXPECT_EQ(renames, 1);
}

TEST(SecretScanKeyFile, ConcurrentFirstUsesAgreeOnOneKeyOnEveryPublicationPath) {
  enum class Path { Link, Rename, Exclusive };
  for (Path p : {Path::Link, Path::Rename, Path::Exclusive}) {
    TempDir dir;
    const std::string path = dir.file("k/secret-scan.key");
    ScanKeyFileOps ops;
    if (p != Path::Link) ops.link = refuse_eperm;
    if (p == Path::Exclusive) ops.rename_noreplace = refuse_einval;
    std::atomic<bool> go{false};
    std::vector<std::string> keys(8);
    std::vector<std::string> errors(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        try {
          keys[i] = load_or_create_scan_key(path, ops);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    std::set<std::string> distinct;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(errors[i], "") << static_cast<int>(p);
      distinct.insert(keys[i]);
    }
    EXPECT_EQ(distinct.size(), 1u) << static_cast<int>(p);
    EXPECT_EQ(trimmed(read_file(path)), *distinct.begin());
    EXPECT_EQ(mode_of(path), 0600u);
  }
}

TEST(SecretScanKeyFile, AReaderRetriesAKeyStillBeingWrittenAndRefusesAStuckOne) {
  TempDir dir;
  const std::string path = dir.file("secret-scan.key");
  const std::string key = secret_fixture::random_body(64, 7, "0123456789abcdef");
  write_file(path, key.substr(0, 20));  // an O_EXCL writer between its open and its last write
  ::chmod(path.c_str(), 0600);
  std::vector<int> attempts;
  ScanKeyFileOps ops;
  ops.on_short_read = [&](int attempt) {
    attempts.push_back(attempt);
    if (attempt == 2) write_file(path, key + "\n");  // the writer finishes
  };
  EXPECT_EQ(load_or_create_scan_key(path, ops), key);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2}));
  // A writer that died after its open leaves an empty file for good: refused, not replaced.
  const std::string stuck = dir.file("stuck.key");
  write_file(stuck, "");
  ::chmod(stuck.c_str(), 0600);
  int seen = 0;
  ops.on_short_read = [&](int) { ++seen; };
  try {
    load_or_create_scan_key(stuck, ops);
    ADD_FAILURE() << "an empty key file was accepted";
  } catch (const ScanKeyUnavailable&) {
    ADD_FAILURE() << "an empty key file is a bad key, not a missing one";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("malformed"), std::string::npos) << e.what();
  }
  EXPECT_GT(seen, 1);
  EXPECT_EQ(read_file(stuck), "");
  // Not hex at all: refused at once, no retries.
  write_file(stuck, "zz");
  seen = 0;
  EXPECT_THROW(load_or_create_scan_key(stuck, ops), std::runtime_error);
  EXPECT_EQ(seen, 0);
}

TEST(SecretScanKeyFile, AKeyFileOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another uid";
  TempDir dir;
  const std::string path = dir.file("planted.key");
  write_file(path, std::string(64, 'b') + "\n");
  ::chmod(path.c_str(), 0600);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  try {
    load_or_create_scan_key(path);
    ADD_FAILURE() << "someone else's key was used";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not to this user"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(std::string(64, 'b')), std::string::npos);
  }
}

TEST(SecretScanKeyFile, NoCreatableKeyFileGivesAPerRunKeyButABadOneIsStillRefused) {
  TempDir dir;
  write_file(dir.file("not-a-folder"), "x");
  // HOME names a file: its .local/state cannot be made (what a read-only HOME does, even as root).
  const std::string path = dir.file("not-a-folder/.local/state/jarvis/secret-scan.key");
  EXPECT_THROW(load_or_create_scan_key(path), ScanKeyUnavailable);
  auto a = scan_key_for(path);
  auto b = scan_key_for(path);
  EXPECT_EQ(a.key.size(), 64u);
  EXPECT_NE(a.key, b.key);  // per run
  EXPECT_EQ(a.path, "");
  EXPECT_NE(a.warning.find("for this run only"), std::string::npos) << a.warning;
  EXPECT_EQ(a.warning.find(a.key), std::string::npos);
  // A file that is there but exposed is refused as before, never silently replaced.
  const std::string exposed = dir.file("exposed.key");
  write_file(exposed, std::string(64, 'c') + "\n");
  ::chmod(exposed.c_str(), 0644);
  EXPECT_THROW(scan_key_for(exposed), std::runtime_error);
  EXPECT_EQ(trimmed(read_file(exposed)), std::string(64, 'c'));
}

// The CLI outside a work tree: the key goes where XDG_STATE_HOME says (the tests of this folder
// set it, so they never write the runner's ~/.local/state), and with HOME unusable the scan still
// runs, with the per-run key's warning and its usual exit code.
class SecretScanKeyCli : public ::testing::Test {
 protected:
  jarvis::test::RunResult scan(std::map<std::string, std::string> env) {
    env.emplace("LOG_LEVEL", "warn");
    return jarvis::test::run_jarvis({"secrets", "scan", "tree"}, dir_.path(), env);
  }
  TempDir dir_;
};

TEST_F(SecretScanKeyCli, OutsideAWorkTreeTheKeyFollowsXdgStateHomeAndHomeIsLeftAlone) {
  const std::string pw =
      secret_fixture::random_body(7, 40) + "%" + secret_fixture::random_body(5, 41);
  write_file(dir_.file("tree/app.env"), "DB_PASSWORD=" + pw + "9\n");
  std::filesystem::create_directories(dir_.file("home"));
  auto r = scan({{"HOME", dir_.file("home")}, {"XDG_STATE_HOME", dir_.file("state")}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_.file("state/jarvis/secret-scan.key"))) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.file("home")));
  EXPECT_EQ(r.err.find("for this run only"), std::string::npos) << r.err;

  write_file(dir_.file("home-file"), "x");
  auto ro = scan({{"HOME", dir_.file("home-file")}, {"XDG_STATE_HOME", ""}});
  EXPECT_EQ(ro.exit_code, 1) << ro.out << ro.err;  // the finding, not a key error (2)
  EXPECT_NE(ro.out.find("tree/app.env:1:password_assignment"), std::string::npos) << ro.out;
  EXPECT_NE(ro.err.find("for this run only"), std::string::npos) << ro.err;
  EXPECT_EQ(ro.out.find(pw), std::string::npos);
  EXPECT_EQ(ro.err.find(pw), std::string::npos);
}

}  // namespace secret_scan_key_test
