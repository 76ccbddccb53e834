// tests/system/lockdown_test.cpp — lockdown set/clear, unlock codes (rotation, file mode, expiry,
// wrong codes and back-off, reuse), automatic triggers (readiness watchdog, rollback bursts,
// LOCKDOWN_DEFAULT) and the admin route, on SQLite and PostgreSQL.
#include <sys/stat.h>

#include "http/dispatcher.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "system_fixture.h"

namespace jarvis::host::systest {
namespace {

using namespace std::chrono_literals;

TEST_P(SystemTest, LockdownSetAndClearEmitEventsOnChange) {
  auto s = make_state();
  EXPECT_FALSE(s->lockdown());
  EXPECT_TRUE(s->set_lockdown(true, "maintenance window", "user:usr_1", "trace-1"));
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "maintenance window");
  EXPECT_FALSE(s->snapshot().lockdown_since.empty());
  EXPECT_FALSE(s->set_lockdown(true, "again", "user:usr_1"));  // no change, no event
  EXPECT_EQ(s->snapshot().lockdown_reason, "maintenance window");
  auto triggered = events("lockdown.triggered");
  ASSERT_EQ(triggered.size(), 1u);
  EXPECT_EQ(triggered[0].payload["reason"], "maintenance window");
  EXPECT_EQ(triggered[0].payload["source"], "admin");
  EXPECT_EQ(triggered[0].actor_type, "user");
  EXPECT_EQ(triggered[0].actor_id, "usr_1");
  EXPECT_EQ(triggered[0].trace_id, "trace-1");
  EXPECT_TRUE(triggered[0].thread_id.empty());

  // Persisted: another instance on the same database sees it.
  auto other = make_state();
  EXPECT_TRUE(other->lockdown());

  EXPECT_TRUE(s->set_lockdown(false, "", "user:usr_2"));
  EXPECT_FALSE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "");
  EXPECT_EQ(s->snapshot().lockdown_since, "");
  auto cleared = events("lockdown.cleared");
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].payload["previous_reason"], "maintenance window");
  EXPECT_EQ(cleared[0].payload["via"], "admin");
  EXPECT_FALSE(s->set_lockdown(false, "", "user:usr_2"));
  EXPECT_EQ(events("lockdown.cleared").size(), 1u);

  other->refresh();
  EXPECT_FALSE(other->lockdown());
  auto status = s->status_json();
  EXPECT_EQ(status["lockdown"], false);
  EXPECT_EQ(status["restarting"], false);
}

TEST_P(SystemTest, UnlockCodeIsWrittenPrivatelyAndStoredHashed) {
  auto s = make_state();
  s->rotate_unlock_code();
  std::string code = code_file();
  ASSERT_EQ(code.size(), 6u);
  for (char c : code) EXPECT_TRUE(c >= '0' && c <= '9');
  struct stat st {};
  ASSERT_EQ(::stat(options_.unlock_code_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string hash = text("SELECT unlock_code_hash FROM system_state WHERE id = 1");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(hash.find(code), std::string::npos);
  auto rotated = events("lockdown.code_rotated");
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(rotated[0].payload.dump().find(code), std::string::npos);
  EXPECT_FALSE(rotated[0].payload["expires_at"].get<std::string>().empty());
  EXPECT_FALSE(s->status_json()["unlock_code_expires_at"].is_null());
}

// The periodic job does not replace a code start() wrote a moment before its first slot; it does
// replace a code past half its lifetime, a used one, or one whose file is gone.
TEST_P(SystemTest, PeriodicRotationSkipsAFreshCodeOnly) {
  auto s = make_state();
  EXPECT_TRUE(s->rotate_unlock_code_if_stale());  // no code yet
  std::string first = code_file();
  EXPECT_FALSE(s->rotate_unlock_code_if_stale());
  EXPECT_EQ(code_file(), first);
  EXPECT_EQ(events("lockdown.code_rotated").size(), 1u);

  exec("UPDATE system_state SET unlock_code_created_at = '" + jarvis::iso_from_now(-3600000) +
       "' WHERE id = 1");
  EXPECT_TRUE(s->rotate_unlock_code_if_stale());  // older than half its 10-minute lifetime
  EXPECT_FALSE(s->rotate_unlock_code_if_stale());
  ::unlink(options_.unlock_code_path.c_str());
  EXPECT_TRUE(s->rotate_unlock_code_if_stale());  // the operator's file is gone
  exec("UPDATE system_state SET unlock_code_used_at = '" + jarvis::now_iso() + "' WHERE id = 1");
  EXPECT_TRUE(s->rotate_unlock_code_if_stale());  // used
  EXPECT_EQ(events("lockdown.code_rotated").size(), 4u);
}

TEST_P(SystemTest, UnlockClearsLockdownAndTheCodeCannotBeReused) {
  auto s = make_state();
  s->rotate_unlock_code();
  std::string code = code_file();
  std::string why;
  EXPECT_FALSE(s->unlock(code, "user:usr_admin", &why));
  EXPECT_EQ(why, "the system is not in lockdown");

  ASSERT_TRUE(s->set_lockdown(true, "manual", "user:usr_admin"));
  EXPECT_TRUE(s->unlock(code, "user:usr_admin", &why)) << why;
  EXPECT_FALSE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "");
  auto cleared = events("lockdown.cleared");
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].payload["via"], "unlock_code");
  EXPECT_EQ(cleared[0].payload["previous_reason"], "manual");
  EXPECT_FALSE(std::filesystem::exists(options_.unlock_code_path));  // consumed

  ASSERT_TRUE(s->set_lockdown(true, "manual", "user:usr_admin"));
  EXPECT_FALSE(s->unlock(code, "user:usr_admin", &why));
  EXPECT_EQ(why, "code already used");
  EXPECT_TRUE(s->lockdown());
}

TEST_P(SystemTest, RotationInvalidatesTheOldCode) {
  auto s = make_state();
  s->rotate_unlock_code();
  std::string old_code = code_file();
  s->rotate_unlock_code();
  std::string new_code = code_file();
  ASSERT_TRUE(s->set_lockdown(true, "", "user:a"));
  std::string why;
  if (old_code != new_code) {  // one chance in a million that they coincide
    EXPECT_FALSE(s->unlock(old_code, "user:a", &why));
    EXPECT_EQ(why, "wrong code");
  }
  EXPECT_TRUE(s->unlock(new_code, "user:a", &why)) << why;
}

TEST_P(SystemTest, ExpiredCodeIsRefused) {
  auto s = make_state();
  s->rotate_unlock_code();
  std::string code = code_file();
  ASSERT_TRUE(s->set_lockdown(true, "", "user:a"));
  exec("UPDATE system_state SET unlock_code_expires_at = '2000-01-01T00:00:00.000Z'");
  std::string why;
  EXPECT_FALSE(s->unlock(code, "user:a", &why));
  EXPECT_EQ(why, "code expired");
  EXPECT_TRUE(s->lockdown());
}

TEST_P(SystemTest, WrongCodesBackOffEvenForTheRightCode) {
  options_.unlock_free_attempts = 3;
  auto s = make_state();
  s->rotate_unlock_code();
  std::string code = code_file();
  std::string wrong = code == "000000" ? "111111" : "000000";
  ASSERT_TRUE(s->set_lockdown(true, "", "user:a"));
  std::string why;
  EXPECT_FALSE(s->unlock(wrong, "user:a", &why));
  EXPECT_EQ(why, "wrong code");
  EXPECT_FALSE(s->unlock("12ab56", "user:a", &why));  // malformed counts as wrong
  EXPECT_EQ(why, "wrong code");
  EXPECT_FALSE(s->unlock(wrong, "user:a", &why));
  EXPECT_EQ(why.rfind("wrong code; further attempts blocked until ", 0), 0u) << why;
  std::string first_block = text("SELECT unlock_blocked_until FROM system_state WHERE id = 1");
  EXPECT_FALSE(first_block.empty());

  EXPECT_FALSE(s->unlock(code, "user:a", &why));  // blocked: the right code does not help
  EXPECT_EQ(why.rfind("too many wrong codes", 0), 0u) << why;
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(integer("SELECT unlock_failures FROM system_state WHERE id = 1"), 3);

  // The block passes; one more wrong code blocks for longer (doubling).
  exec("UPDATE system_state SET unlock_blocked_until = '2000-01-01T00:00:00.000Z'");
  EXPECT_FALSE(s->unlock(wrong, "user:a", &why));
  std::string second_block = text("SELECT unlock_blocked_until FROM system_state WHERE id = 1");
  EXPECT_GT(second_block, first_block);

  exec("UPDATE system_state SET unlock_blocked_until = '2000-01-01T00:00:00.000Z'");
  EXPECT_TRUE(s->unlock(code, "user:a", &why)) << why;
  EXPECT_EQ(integer("SELECT unlock_failures FROM system_state WHERE id = 1"), 0);
  EXPECT_EQ(events("lockdown.unlock_refused").size(), 4u);
}

TEST_P(SystemTest, TriggersNeverClearOrOverwriteAManualLockdown) {
  options_.readyz_fail_threshold = 2;
  options_.rollback_threshold = 2;
  auto s = make_state();
  ASSERT_TRUE(s->set_lockdown(true, "manual-investigation", "user:a"));
  for (int i = 0; i < 5; ++i) s->record_readiness(false);
  s->record_readiness(true);
  s->record_readiness(false);  // below the threshold again
  s->report_rollback("patch 1 rolled back");
  s->report_rollback("patch 2 rolled back");
  s->report_rollback("patch 3 rolled back");
  s->refresh();
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "manual-investigation");
  EXPECT_EQ(events("lockdown.cleared").size(), 0u);
  EXPECT_EQ(events("lockdown.triggered").size(), 1u);  // only the manual one
}

TEST_P(SystemTest, ReadinessWatchdogLocksAfterThresholdConsecutiveFailures) {
  options_.readyz_fail_threshold = 3;
  auto s = make_state();
  s->record_readiness(false);
  s->record_readiness(false);
  s->record_readiness(true);  // resets the streak
  s->record_readiness(false);
  s->record_readiness(false);
  EXPECT_FALSE(s->lockdown());
  EXPECT_EQ(s->readiness_fail_streak(), 2);
  s->record_readiness(false);
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "readyz_failures");
  auto t = events("lockdown.triggered");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].payload["source"], "trigger");
  EXPECT_EQ(t[0].payload["detail"]["consecutive_failures"], 3);
}

TEST_P(SystemTest, WatchdogThreadChecksReadinessInProcess) {
  options_.readyz_fail_threshold = 3;
  options_.readiness_interval = 20ms;
  auto s = make_state();
  std::atomic<int> checks{0};
  s->start([&] {
    ++checks;
    return false;
  });
  EXPECT_TRUE(eventually([&] { return s->lockdown(); }));
  EXPECT_GE(checks.load(), 3);
  s->stop();
  EXPECT_EQ(s->snapshot().lockdown_reason, "readyz_failures");
}

TEST_P(SystemTest, RollbackBurstWithinTheWindowLocks) {
  options_.rollback_threshold = 2;
  options_.rollback_window = 30min;
  auto s = make_state();
  // One rollback long ago does not count.
  exec(
      "INSERT INTO system_rollbacks (id, created_at, detail) VALUES ('old', "
      "'2000-01-01T00:00:00.000Z', 'x')");
  s->report_rollback("first");
  EXPECT_FALSE(s->lockdown());
  s->report_rollback("second");
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "rollback_burst");
  auto t = events("lockdown.triggered");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].payload["detail"]["rollbacks"], 2);
}

TEST_P(SystemTest, LockdownDefaultStartsLockedAndWritesACode) {
  options_.lockdown_default = true;
  auto s = make_state();
  s->start(nullptr);
  EXPECT_TRUE(s->lockdown());
  EXPECT_EQ(s->snapshot().lockdown_reason, "lockdown_default");
  EXPECT_EQ(code_file().size(), 6u);
  std::string why;
  EXPECT_TRUE(s->unlock(code_file(), "user:a", &why)) << why;
  // A second start with a still-valid code keeps it (no rotation on every start).
  s->set_lockdown(false, "", "user:a");
  s->rotate_unlock_code();
  std::string code = code_file();
  auto again = make_state();
  again->start(nullptr);
  EXPECT_EQ(code_file(), code);
}

TEST_P(SystemTest, LockdownRouteValidatesItsBody) {
  auto s = make_state();
  Router router;
  MetricsRegistry metrics;
  add_system_state_routes(router, *s);
  Dispatcher dispatcher(router, metrics);
  auto post = [&](const std::string& body) {
    jarvis::Request req;
    req.method = "POST";
    req.target = "/api/v1/system/lockdown";
    req.headers.set("Content-Type", "application/json");
    req.body = body;
    req.principal = jarvis::Principal{"usr_admin", "root", jarvis::Role::Admin, true};
    return dispatcher.dispatch(req);
  };
  auto bad = post(R"({"lockdown":"yes"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("'lockdown'"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("invalid_field"), std::string::npos);
  auto bad_reason = post(R"({"lockdown":true,"reason":5})");
  EXPECT_EQ(bad_reason.status, 400);
  EXPECT_NE(bad_reason.body.find("'reason'"), std::string::npos);
  EXPECT_EQ(post("not json").status, 400);
  EXPECT_FALSE(s->lockdown());

  auto ok = post(R"({"lockdown":true,"reason":"incident 42"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = jarvis::Json::parse(ok.body);
  EXPECT_EQ(j["lockdown"], true);
  EXPECT_EQ(j["lockdown_reason"], "incident 42");
  EXPECT_EQ(j["changed"], true);
  auto t = events("lockdown.triggered");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].actor_id, "usr_admin");
  auto off = post(R"({"lockdown":false})");
  ASSERT_EQ(off.status, 200);
  EXPECT_FALSE(s->lockdown());
  EXPECT_EQ(events("lockdown.cleared").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Db, SystemTest, testing::Values(Backend::Sqlite, Backend::Postgresql),
                         backend_name);

}  // namespace
}  // namespace jarvis::host::systest
