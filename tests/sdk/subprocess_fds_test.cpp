// tests/sdk/subprocess_fds_test.cpp — run_process gives the child only stdin, stdout and stderr:
// a descriptor the host opened without O_CLOEXEC (a listening socket, a database file) must not
// leak into a child that may outlive the host and keep its port bound.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "jarvis/subprocess.h"

TEST(SubprocessFds, TheChildInheritsNoDescriptorBeyondStdio) {
  int opened = ::open("/dev/null", O_RDONLY);
  int fd = ::fcntl(opened, F_DUPFD, 50);  // deliberately without O_CLOEXEC
  ::close(opened);
  ASSERT_GE(fd, 50);
  jarvis::ProcessResult r =
      jarvis::run_process({.argv = {"sh", "-c", "ls /proc/self/fd"}, .timeout_ms = 10000});
  ::close(fd);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  // ls itself opens one descriptor for the directory it lists; stdio plus that one, nothing of
  // ours.
  EXPECT_EQ(r.stdout_text.find("\n" + std::to_string(fd) + "\n"), std::string::npos)
      << r.stdout_text;
  int count = 0;
  for (char c : r.stdout_text) count += c == '\n';
  EXPECT_LE(count, 4) << r.stdout_text;
}
