// selfupdate/tests/pipeline_test.cpp — the pipeline in process on a real git fixture repository,
// real subprocesses (git, sh) and a migrated SQLite or PostgreSQL database: the whole way from
// proposal to verified, the test failure, approval expiry, a readiness failure that rolls back
// and reports it, three rollbacks that lock the host down, crashes mid-apply (before and after
// the switch) recovered by a new instance, the lockdown and busy refusals.
#include <gtest/gtest.h>

#include "installs.h"
#include "jarvis/error.h"
#include "selfupdate_support.h"

namespace pipeline_test {

using namespace selfupdate_test;
using jarvis::Json;

class Pipeline : public ::testing::TestWithParam<Backend> {};

TEST_P(Pipeline, ProposeValidateTestApproveApplyVerify) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string head = rig.repo.head();
  Json r = p->propose({.diff = FixtureRepo::diff_version(1, 2),
                       .rationale = "bump the version\n\nbecause",
                       .actor = "user:usr_root",
                       .source = "api"});
  const std::string id = r["trace_id"];
  EXPECT_EQ(r["state"], "proposed");
  EXPECT_EQ(r["baseline"], head);
  EXPECT_EQ(rig.queued(), std::vector<std::string>{"selfupdate.validate"});
  rig.drain(*p);
  EXPECT_EQ(rig.state_of(*p, id), "tested") << p->show(id).dump(2);

  Json approved = p->approve(id, "user:usr_root");
  EXPECT_EQ(approved["state"], "approved");
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "applied") << shown.dump(2);
  EXPECT_EQ(rig.system->restart_count(), 1u);
  EXPECT_EQ(rig.repo.current(), "releases/" + id);
  EXPECT_EQ(jarvis::test::read_file(rig.repo.install + "/releases/" + id + "/app.txt"),
            "version 2\n");
  EXPECT_TRUE(fs::exists(rig.repo.install + "/releases/initial/app.txt"));  // previous kept
  EXPECT_EQ(shown["previous_release"], "initial");

  // The live tree was never touched: same HEAD, clean status; the commit is on the branch.
  EXPECT_EQ(rig.repo.head(), head);
  EXPECT_EQ(rig.repo.status(), "");
  std::string log = sh("git log --format=%s selfupdate/" + id + " -1", rig.repo.repo);
  EXPECT_EQ(log, "selfupdate " + id + ": bump the version\n");
  std::string changed = sh("git diff --name-only " + head + " selfupdate/" + id, rig.repo.repo);
  EXPECT_EQ(changed, "app.txt\n");

  // The restarted process verifies.
  auto p2 = rig.pipeline();
  p2->on_start();
  EXPECT_EQ(rig.queued(), std::vector<std::string>{"selfupdate.verify"});
  rig.drain(*p2);
  shown = p2->show(id);
  EXPECT_EQ(shown["state"], "verified") << shown.dump(2);

  // Every transition with its time, in the database and in state.json.
  std::vector<std::string> path;
  for (const auto& t : shown["transitions"]) path.push_back(t["to"]);
  EXPECT_EQ(path,
            (std::vector<std::string>{"proposed", "validating", "validated", "testing", "tested",
                                      "approved", "applying", "applied", "verifying", "verified"}));
  const std::string dir = rig.repo.patches + "/" + id;
  Json state = jarvis::parse_json(jarvis::test::read_file(dir + "/state.json"));
  EXPECT_EQ(state["state"], "verified");
  ASSERT_EQ(state["transitions"].size(), path.size());
  for (const auto& t : state["transitions"]) EXPECT_EQ(t["at"].get<std::string>().size(), 24u);
  Json context = jarvis::parse_json(jarvis::test::read_file(dir + "/context.json"));
  EXPECT_EQ(context["baseline_ref"], head);
  Json artifact = jarvis::parse_json(jarvis::test::read_file(dir + "/artifact.json"));
  EXPECT_EQ(artifact["tests"]["result"], "passed");
  EXPECT_EQ(artifact["verification"]["status"], "ready");
  EXPECT_EQ(artifact["apply"]["commit"], shown["commit_sha"]);
  EXPECT_EQ(jarvis::test::read_file(dir + "/proposal.diff"), FixtureRepo::diff_version(1, 2));
  EXPECT_NE(jarvis::test::read_file(dir + "/test.log").find("sh test.sh"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/applied.txt"));
  EXPECT_TRUE(fs::exists(dir + "/verified.txt"));
  EXPECT_FALSE(fs::exists(dir + "/worktree"));  // cleaned up after the end

  // The next proposal is made against the running release's commit, not the live HEAD.
  Json next = PipelineRig::propose(*p2, FixtureRepo::diff_version(2, 3), "again");
  EXPECT_EQ(next["baseline"], shown["commit_sha"]);
  rig.drain(*p2);
  EXPECT_EQ(rig.state_of(*p2, next["trace_id"]), "tested");
}

TEST_P(Pipeline, AFailingTestStopsThePatchAndShowsTheLog) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  std::string diff =
      "diff --git a/app.txt b/app.txt\n--- a/app.txt\n+++ b/app.txt\n@@ -1 +1 @@\n"
      "-version 1\n+version BROKEN\n";
  std::string id = rig.propose_and_test(*p, diff);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "test_failed") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "tests_failed");
  EXPECT_NE(shown["test_log_tail"].get<std::string>().find("# exit 1"), std::string::npos);
  EXPECT_EQ(shown["artifact"]["tests"]["result"], "failed");
  EXPECT_EQ(error_code_of([&] { p->approve(id, "user:usr_root"); }), "409 invalid_state");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  // The lock is free again: a new proposal is accepted.
  EXPECT_EQ(rig.state_of(*p, rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2))), "tested");
}

TEST_P(Pipeline, AnExpiredApprovalAppliesNothing) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  p->approve(id, "user:usr_root");
  rig.skew_ms += 31 * 60 * 1000;  // the apply task runs after APPROVAL_TTL_MINUTES
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "approval_expired") << shown.dump(2);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);
  EXPECT_FALSE(fs::exists(rig.repo.install + "/releases/" + id));
  // A fresh approval applies it.
  p->approve(id, "user:usr_root");
  rig.drain(*p);
  EXPECT_EQ(rig.state_of(*p, id), "applied");
  EXPECT_EQ(rig.repo.current(), "releases/" + id);
}

TEST_P(Pipeline, AReadinessFailureRollsBackAndReportsIt) {
  PipelineRig rig(GetParam(), 5);
  auto p = rig.pipeline();
  std::string id = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  ASSERT_EQ(rig.repo.current(), "releases/" + id);
  rig.ready = false;
  auto p2 = rig.restart();
  Json shown = p2->show(id);
  EXPECT_EQ(shown["state"], "rolled_back") << shown.dump(2);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  ASSERT_EQ(rig.system->rollbacks.size(), 1u);
  EXPECT_NE(rig.system->rollbacks[0].find(id), std::string::npos);
  EXPECT_EQ(rig.system->restart_count(), 2u);  // after the apply and after the rollback
  auto sql = rig.db->session();
  EXPECT_EQ(jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM system_rollbacks"), 1);
  const std::string dir = rig.repo.patches + "/" + id;
  EXPECT_NE(jarvis::test::read_file(dir + "/rollback.txt").find("releases/initial"),
            std::string::npos);
  Json artifact = jarvis::parse_json(jarvis::test::read_file(dir + "/artifact.json"));
  EXPECT_EQ(artifact["verification"]["status"], "not_ready");
  EXPECT_EQ(artifact["rollback"]["recovery"], "release_switched");
  EXPECT_FALSE(rig.state->lockdown());
}

TEST_P(Pipeline, ThreeRollbacksTriggerTheHostsLockdown) {
  PipelineRig rig(GetParam(), 3);  // LOCKDOWN_ROLLBACK_THRESHOLD=3
  rig.ready = false;
  for (int i = 1; i <= 3; ++i) {
    auto p = rig.pipeline();
    std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
    ASSERT_EQ(rig.state_of(*p, id), "tested") << p->show(id).dump(2);
    p->approve(id, "user:usr_root");
    rig.drain(*p);
    auto restarted = rig.restart();
    EXPECT_EQ(rig.state_of(*restarted, id), "rolled_back");
    EXPECT_EQ(rig.state->lockdown(), i == 3) << "after rollback " << i;
  }
  EXPECT_EQ(rig.state->snapshot().lockdown_reason, "rollback_burst");
  auto p = rig.pipeline();
  EXPECT_EQ(error_code_of([&] { PipelineRig::propose(*p, FixtureRepo::diff_version(1, 2)); }),
            "409 lockdown");
}

TEST_P(Pipeline, LockdownRefusesProposalsApprovalsAndApplies) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  rig.state->set_lockdown(true, "manual", "user:usr_root", "");
  EXPECT_EQ(error_code_of([&] { PipelineRig::propose(*p, FixtureRepo::diff_version(1, 2)); }),
            "409 lockdown");
  EXPECT_EQ(error_code_of([&] { p->approve(id, "user:usr_root"); }), "409 lockdown");
  // Approved before the lockdown, applied after it: refused, nothing switched.
  rig.state->set_lockdown(false, "", "user:usr_root", "");
  p->approve(id, "user:usr_root");
  rig.state->set_lockdown(true, "manual", "user:usr_root", "");
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "tested") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "lockdown");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);
}

// A lockdown or the approval's expiry that arrives during the build/install still stops the
// patch before the switch.
TEST_P(Pipeline, LockdownAndExpiryAreCheckedAgainRightBeforeTheSwitch) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  p->approve(id, "user:usr_root");
  rig.at_step = [&](const std::string& step) {
    if (step == "install") rig.state->set_lockdown(true, "manual", "user:usr_root", "");
  };
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "tested") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "lockdown");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);

  rig.state->set_lockdown(false, "", "user:usr_root", "");
  p->approve(id, "user:usr_root");
  rig.at_step = [&](const std::string& step) {
    if (step == "install") rig.skew_ms += 31 * 60 * 1000;
  };
  rig.drain(*p);
  shown = p->show(id);
  EXPECT_EQ(shown["state"], "approval_expired") << shown.dump(2);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->restart_count(), 0u);
}

TEST_P(Pipeline, AnotherRunningUpdateRefusesProposalsAndApprovals) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  std::string tested = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  // A second proposal holds the lock while it waits for validation.
  std::string busy = PipelineRig::propose(*p, FixtureRepo::diff_version(1, 3))["trace_id"];
  EXPECT_EQ(
      error_code_of([&] { PipelineRig::propose(*p, FixtureRepo::diff_version(1, 4), "third"); }),
      "409 update_in_progress");
  EXPECT_EQ(error_code_of([&] { p->approve(tested, "user:usr_root"); }), "409 update_in_progress");
  rig.drain(*p);
  EXPECT_EQ(rig.state_of(*p, busy), "tested");
  EXPECT_EQ(p->approve(tested, "user:usr_root")["state"], "approved");
}

TEST_P(Pipeline, ACrashMidInstallLeavesTheOldReleaseAndResumes) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string id = rig.crash_apply_at(*p, "install");
  EXPECT_EQ(rig.state_of(*p, id), "applying");
  EXPECT_EQ(rig.repo.current(), "releases/initial");

  // A new process: the stage is marked interrupted and explained; nothing is half-switched.
  auto p2 = rig.pipeline();
  p2->on_start();
  Json shown = p2->show(id);
  EXPECT_EQ(shown["state"], "interrupted") << shown.dump(2);
  EXPECT_EQ(shown["interrupted_stage"], "apply");
  EXPECT_EQ(shown["step"], "install");
  std::string why = shown["explanation"];
  EXPECT_NE(why.find("not switched in"), std::string::npos) << why;
  EXPECT_NE(why.find("selfupdate resume " + id), std::string::npos) << why;
  EXPECT_EQ(shown["install"]["current"], "initial");
  // Still the running update: others wait.
  EXPECT_EQ(error_code_of([&] { PipelineRig::propose(*p2, FixtureRepo::diff_version(1, 3)); }),
            "409 update_in_progress");

  EXPECT_EQ(p2->resume(id, "user:usr_root")["state"], "approved");
  rig.drain(*p2);
  EXPECT_EQ(rig.state_of(*p2, id), "applied");
  EXPECT_EQ(rig.repo.current(), "releases/" + id);
  // One commit on the branch although the stage ran twice.
  EXPECT_EQ(sh("git rev-list --count " + rig.repo.head() + "..selfupdate/" + id, rig.repo.repo),
            "1\n");
}

TEST_P(Pipeline, ACrashRightAfterTheSwitchIsRecordedOrRolledBack) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string id = rig.crash_apply_at(*p, "switched");
  EXPECT_EQ(rig.repo.current(), "releases/" + id);  // the switch is the commit point

  auto p2 = rig.pipeline();
  p2->on_start();
  Json shown = p2->show(id);
  EXPECT_EQ(shown["state"], "interrupted");
  EXPECT_TRUE(shown["install"]["is_current"].get<bool>());
  EXPECT_NE(shown["explanation"].get<std::string>().find("runs this patch"), std::string::npos);
  // Abandoning a switched patch rolls the install back instead of leaving it.
  EXPECT_EQ(p2->abandon(id, "user:usr_root")["state"], "rollback_requested");
  rig.drain(*p2);
  EXPECT_EQ(rig.state_of(*p2, id), "rolled_back");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(rig.system->rollbacks.size(), 1u);
}

// A ready host that reports no commit proves nothing (the default restart re-executes the same
// binary): the patch ends applied_unverified, not verified.
TEST_P(Pipeline, ReadyWithoutACommitIsNotVerified) {
  PipelineRig rig(GetParam(), 5);
  rig.report_commit = false;
  auto p = rig.pipeline();
  std::string id = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  p = rig.restart();
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "applied_unverified") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "no_version_evidence");
  EXPECT_FALSE(fs::exists(rig.repo.patches + "/" + id + "/verified.txt"));
  // It can still be rolled back, and it holds no lock.
  EXPECT_EQ(p->rollback(id, "user:usr_root")["state"], "rollback_requested");
  rig.drain(*p);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
}

// A host that still serves the old commit after the restart is rolled back.
TEST_P(Pipeline, TheOldCommitStillRunningRollsBack) {
  PipelineRig rig(GetParam(), 5);
  rig.fixed_commit = rig.repo.head();  // the baseline: the old code
  auto p = rig.pipeline();
  std::string id = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  p = rig.restart();
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "rolled_back") << shown.dump(2);
  EXPECT_NE(shown["detail"].get<std::string>().find("reports commit"), std::string::npos);
  EXPECT_EQ(rig.repo.current(), "releases/initial");
}

TEST_P(Pipeline, AnAdminRollsBackAVerifiedPatch) {
  PipelineRig rig(GetParam(), 5);
  auto p = rig.pipeline();
  std::string id = rig.apply(*p, FixtureRepo::diff_version(1, 2));
  p = rig.restart();
  ASSERT_EQ(rig.state_of(*p, id), "verified");
  EXPECT_EQ(p->rollback(id, "user:usr_root")["state"], "rollback_requested");
  rig.drain(*p);
  EXPECT_EQ(rig.state_of(*p, id), "rolled_back");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(error_code_of([&] { p->rollback(id, "user:usr_root"); }), "409 invalid_state");
}

TEST_P(Pipeline, RequestInputIsBounded) {
  PipelineRig rig(GetParam());
  rig.settings.max_patch_bytes = 200;
  auto p = rig.pipeline();
  auto propose = [&](const std::string& diff, const std::string& rationale) {
    return error_code_of(
        [&] { p->propose({.diff = diff, .rationale = rationale, .actor = "t", .source = "api"}); });
  };
  EXPECT_EQ(propose(std::string(201, 'x'), "r"), "413 patch_too_large");
  EXPECT_EQ(propose("", "r"), "400 empty_diff");
  EXPECT_EQ(propose(FixtureRepo::diff_version(1, 2), ""), "400 invalid_field");
  EXPECT_EQ(propose(std::string("diff\0x", 6), "r"), "422 binary_patch");
  EXPECT_EQ(error_code_of([&] { p->show("../../etc"); }), "404 patch_not_found");
  EXPECT_EQ(error_code_of([&] { p->approve("trc_00000000000000000000000000000000", "a"); }),
            "404 patch_not_found");
  EXPECT_FALSE(fs::exists(rig.repo.patches) && !fs::is_empty(rig.repo.patches));
}

// The proposed build script stages a protected file: the test stage sees the index change and
// stops; nothing is committed or installed.
TEST_P(Pipeline, ABuildThatStagesAnExtraFileIsRefused) {
  PipelineRig rig(GetParam());
  // The check behind the sandbox (whose read-only .git already stops the git add, sandbox_test):
  // unconfined, the build's git add works, and the index check still refuses the patch.
  rig.settings.sandbox = "none";
  auto p = rig.pipeline();
  const std::string diff =
      "diff --git a/build.sh b/build.sh\n--- a/build.sh\n+++ b/build.sh\n@@ -1 +1,2 @@\n"
      " mkdir -p out && cp app.txt out/app.txt\n"
      "+mkdir -p migrations && echo evil > migrations/999_evil.sql && git add "
      "migrations/999_evil.sql\n";
  std::string id = rig.propose_and_test(*p, diff);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "test_failed") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "index_changed");
  EXPECT_EQ(error_code_of([&] { p->approve(id, "user:usr_root"); }), "409 invalid_state");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(sh("git branch --list selfupdate/" + id, rig.repo.repo), "");
}

// Whatever the test stage left in its worktree, apply commits exactly the validated files of a
// fresh worktree.
TEST_P(Pipeline, ApplyCommitsOnlyTheValidatedFilesOfAFreshWorktree) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string head = rig.repo.head();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  ASSERT_EQ(rig.state_of(*p, id), "tested");
  const std::string wt = rig.repo.patches + "/" + id + "/worktree";
  fs::create_directories(wt + "/migrations");
  jarvis::test::write_file(wt + "/migrations/999_evil.sql", "evil\n");
  sh("git add migrations/999_evil.sql", wt);
  p->approve(id, "user:usr_root");
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "applied") << shown.dump(2);
  EXPECT_EQ(sh("git diff --name-only " + head + " selfupdate/" + id, rig.repo.repo), "app.txt\n");
}

// proposal.diff lives next to the worktree: a rewritten file no longer matches the recorded
// sha256 and apply refuses it.
TEST_P(Pipeline, ARewrittenProposalDiffIsRefusedAtApply) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  const std::string head = rig.repo.head();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  ASSERT_EQ(rig.state_of(*p, id), "tested");
  jarvis::test::write_file(rig.repo.patches + "/" + id + "/proposal.diff",
                           FixtureRepo::diff_new_file("migrations/999_evil.sql"));
  p->approve(id, "user:usr_root");
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "apply_failed") << shown.dump(2);
  EXPECT_EQ(shown["reason_code"], "diff_mismatch");
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  EXPECT_EQ(sh("git branch --list selfupdate/" + id, rig.repo.repo), "");
  EXPECT_EQ(rig.repo.head(), head);
}

// An agent's patch (source "tool") runs no build until an admin allows it: its build would
// run the proposed code as the host user.
TEST_P(Pipeline, AnAgentsPatchWaitsForAnAdminBeforeTheTest) {
  PipelineRig rig(GetParam());
  auto p = rig.pipeline();
  // The build would say so in test.log if it ran.
  const std::string test_log = rig.repo.patches + "/";
  const std::string diff =
      "diff --git a/build.sh b/build.sh\n--- a/build.sh\n+++ b/build.sh\n@@ -1 +1,2 @@\n"
      " mkdir -p out && cp app.txt out/app.txt\n+echo THE_BUILD_RAN\n";
  std::string id = p->propose({.diff = diff,
                               .rationale = "agent change",
                               .actor = "agent:a1 for user:usr_root",
                               .source = "tool"})["trace_id"];
  rig.drain(*p);
  Json shown = p->show(id);
  EXPECT_EQ(shown["state"], "awaiting_test_approval") << shown.dump(2);
  EXPECT_FALSE(fs::exists(test_log + id + "/test.log"));
  EXPECT_EQ(error_code_of([&] { p->approve(id, "user:usr_root"); }), "409 invalid_state");
  // Waiting holds no lock: an admin's own proposal goes ahead meanwhile, and allow-test waits
  // for it.
  std::string other = rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2));
  EXPECT_EQ(rig.state_of(*p, other), "tested");
  p->reject(other, "user:usr_root", "not now");
  Json allowed = p->allow_test(id, "user:usr_root");
  EXPECT_EQ(allowed["state"], "validated");
  rig.drain(*p);
  EXPECT_EQ(rig.state_of(*p, id), "tested") << p->show(id).dump(2);
  EXPECT_NE(jarvis::test::read_file(test_log + id + "/test.log").find("\nTHE_BUILD_RAN\n"),
            std::string::npos);
  EXPECT_EQ(error_code_of([&] { p->allow_test(id, "user:usr_root"); }), "409 invalid_state");
}

INSTANTIATE_TEST_SUITE_P(Backends, Pipeline,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace pipeline_test
