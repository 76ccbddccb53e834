// selfupdate/tests/release_care_test.cpp — what happens around the switch: the host's restart
// runs the switched release (the re-exec follows the path it was started as; an apply refuses a
// host not started from `current`, decision 0078), old releases are pruned when a patch ends
// (never current nor its rollback target, 0079), and a patch whose process died mid-stage is
// recoverable through its lease even when nothing can tell that process is gone (0079).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "jarvis/sql.h"
#include "selfupdate_support.h"
#include "system/system_state.h"

namespace release_care_test {

using namespace selfupdate_test;
using jarvis::Json;

TEST(RestartImage, TheReexecRunsThePathTheHostWasStartedAs) {
  jarvis::test::TempDir tmp;
  fs::create_directories(tmp.file("releases/a/bin"));
  jarvis::test::write_file(tmp.file("releases/a/bin/jarvis"), "#!/bin/sh\n");
  ::chmod(tmp.file("releases/a/bin/jarvis").c_str(), 0755);
  fs::create_directory_symlink("releases/a", tmp.file("current"));
  using jarvis::host::restart_image;
  // Through the symlink, not resolved: after a switch of `current` it is the new release.
  EXPECT_EQ(restart_image({tmp.file("current/bin/jarvis"), "serve"}, "/"),
            tmp.file("current/bin/jarvis"));
  EXPECT_EQ(restart_image({"current/bin/jarvis", "serve"}, tmp.path()),
            tmp.path() + "/current/bin/jarvis");
  // Found through PATH, gone, or not an executable file: the running image.
  EXPECT_EQ(restart_image({"jarvis", "serve"}, tmp.path()), "/proc/self/exe");
  EXPECT_EQ(restart_image({tmp.file("gone/bin/jarvis")}, "/"), "/proc/self/exe");
  EXPECT_EQ(restart_image({tmp.file("releases/a/bin")}, "/"), "/proc/self/exe");
  EXPECT_EQ(restart_image({}, "/"), "/proc/self/exe");
}

class ReleaseCare : public ::testing::TestWithParam<Backend> {};

// A host started from a build folder would re-execute the old binary after the switch: the apply
// refuses before it builds anything.
TEST_P(ReleaseCare, AnApplyRefusesAHostNotStartedFromCurrent) {
  PipelineRig rig(GetParam());
  rig.invoked = "/usr/local/bin/jarvis";
  auto p = rig.pipeline();
  std::string id = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "apply_failed") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "restart_not_current");
  EXPECT_NE(shown["detail"].get<std::string>().find(rig.repo.install + "/current/bin/jarvis"),
            std::string::npos);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);
  EXPECT_FALSE(fs::exists(rig.repo.install + "/releases/" + id));
  EXPECT_EQ(sh("git branch --list selfupdate/" + id, rig.repo.repo), "");

  // The operator's explicit choice (a RESTART_COMMAND that starts the new release otherwise).
  rig.settings.require_current_executable = false;
  auto q = rig.pipeline();
  EXPECT_EQ(rig.state_of(*q, rig.apply(*q, FixtureRepo::diff_version(1, 2))), "applied");
}

std::set<std::string> releases_of(const FixtureRepo& repo) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(repo.install + "/releases")) {
    out.insert(e.path().filename().string());
  }
  return out;
}

// SELFUPDATE_KEEP_RELEASES=1: after each patch ends only the newest release stays — plus the
// current one and its rollback target, whatever their age; a .partial folder is not touched.
TEST_P(ReleaseCare, OldReleasesArePrunedButNeverCurrentOrItsRollbackTarget) {
  PipelineRig rig(GetParam());
  rig.settings.keep_releases = 1;
  fs::create_directories(rig.repo.install + "/releases/stray.partial");
  auto p = rig.pipeline();
  std::string a = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  p = rig.restart();
  ASSERT_EQ(rig.state_of(*p, a), "verified");
  // a is current, initial its rollback target: both stay.
  EXPECT_EQ(releases_of(rig.repo), (std::set<std::string>{"initial", a, "stray.partial"}));

  std::string b = rig.apply(*p, FixtureRepo::diff_version(2, 3));
  p = rig.restart();
  ASSERT_EQ(rig.state_of(*p, b), "verified") << p->show(b).dump(2);
  EXPECT_EQ(releases_of(rig.repo), (std::set<std::string>{a, b, "stray.partial"}));

  std::string c = rig.apply(*p, FixtureRepo::diff_version(3, 4));
  p = rig.restart();
  ASSERT_EQ(rig.state_of(*p, c), "verified");
  EXPECT_EQ(releases_of(rig.repo), (std::set<std::string>{b, c, "stray.partial"}));
  // The rollback target is still there to roll back to.
  EXPECT_EQ(p->rollback(c, "user:usr_root")["state"], "rollback_requested");
  rig.drain(*p);
  EXPECT_EQ(rig.repo.current(), "releases/" + b);
  EXPECT_TRUE(fs::exists(rig.repo.install + "/releases/" + c));  // c's end keeps b and c
}

// kill -9 of a stage whose runner id nothing can judge (another machine's, or a reused pid):
// before the lease, the patch stayed `applying` with the update lock for ever — no start-up
// recovery, no resume, no abandon. Once its lease has run out, the re-claimed task, a proposal
// that finds the lock held, resume and abandon all see it interrupted.
TEST_P(ReleaseCare, AStageWhoseProcessDiedIsRecoveredThroughItsLease) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string id = rig.crash_apply_at(*p, "install");
  rig.hand_to_another_machine(id);
  auto p2 = rig.pipeline();
  p2->on_start();  // another machine's runner: not this process's to judge
  EXPECT_EQ(rig.state_of(*p2, id), "applying");
  EXPECT_EQ(error_code_of([&] { p2->abandon(id, "user:usr_root"); }), "409 invalid_state");
  // The stage's durable task, re-claimed before the lease ran out, leaves it alone.
  EXPECT_EQ(p2->run("selfupdate.apply", id, jarvis::CancelToken())["skipped"], "applying");

  rig.skew_ms += 3 * 60 * 1000;  // past SELFUPDATE_LEASE (2m) without a renewal
  EXPECT_EQ(error_code_of([&] { PipelineRig::propose(*p2, FixtureRepo::diff_version(1, 3)); }),
            "409 update_in_progress");
  Json shown = p2->show(id);
  EXPECT_EQ(shown["state"], "interrupted") << shown.dump(2);
  EXPECT_EQ(shown["interrupted_stage"], "apply");
  EXPECT_NE(shown["detail"].get<std::string>().find("lease"), std::string::npos);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(p2->abandon(id, "user:usr_root")["state"], "abandoned");
  // The lock is free again.
  EXPECT_EQ(rig.state_of(*p2, rig.propose_and_test(*p2, FixtureRepo::diff_version(1, 2))),
            "tested");
}

// The same through the re-claimed task, and resume; then a stage that another process took
// over while it ran does not switch the install.
TEST_P(ReleaseCare, TheReclaimedTaskInterruptsAndALostStageNeverSwitches) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string id = rig.crash_apply_at(*p, "install");
  rig.hand_to_another_machine(id);
  rig.skew_ms += 3 * 60 * 1000;
  auto p2 = rig.pipeline();
  Json r = p2->run("selfupdate.apply", id, jarvis::CancelToken());
  EXPECT_EQ(r["skipped"], "interrupted") << r.dump();
  EXPECT_EQ(p2->resume(id, "user:usr_root")["state"], "approved");

  // While the resumed stage installs, another process declares it dead (as after a lease lost
  // to a stalled host): the stage must not switch.
  rig.at_step = [&](const std::string& step) {
    if (step != "install") return;
    auto sql = rig.db->session();
    jarvis::sql::exec(*sql,
                      "UPDATE selfupdate_patches SET state = 'interrupted', interrupted_stage = "
                      "'apply' WHERE trace_id = :i",
                      {id});
  };
  rig.drain(*p2);
  EXPECT_EQ(rig.state_of(*p2, id), "interrupted");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReleaseCare,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace release_care_test
