// chat/tests/agent_slash_test.cpp — every slash command: its normal answer, a non-admin refused
// where it is admin-only, bad arguments, and unknown commands. /restart, /unlock and /lockdown run
// against the host's real safety state (SystemState on a migrated SQLite database, its events
// recorded); the restart's final exec is the host's own test seam, so the test process is not
// replaced. The rest of SlashEnv (threads, settings, status, traces) is a recording stand-in for
// what the chat store provides.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "agent/slash.h"
#include "db/migrations.h"
#include "db/sql_database.h"
#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "support/support.h"
#include "system/system_state.h"

using chat::execute_slash;
using chat::parse_slash;
using chat::SlashContext;
using chat::SlashReply;
using jarvis::host::SystemState;

namespace {

const jarvis::Principal kAlice{"usr_alice", "alice", jarvis::Role::User, true};
const jarvis::Principal kBob{"usr_bob", "bob", jarvis::Role::User, true};
const jarvis::Principal kRoot{"usr_root", "root", jarvis::Role::Admin, true};

/// The plugin's side of the commands, recorded.
class TestEnv : public chat::SlashEnv {
 public:
  explicit TestEnv(SystemState& state) : state_(state) {}
  jarvis::SystemControl& system() override { return state_; }
  std::string new_thread(const SlashContext& ctx) override {
    calls.push_back("new_thread " + ctx.thread_id);
    return "thr_new1";
  }
  void set_verbose(const SlashContext& ctx, bool on) override {
    calls.push_back("set_verbose " + ctx.thread_id + (on ? " on" : " off"));
  }
  void enqueue_compaction(const SlashContext& ctx) override {
    if (fail_with_status)
      throw jarvis::Error(fail_with_status, "not_available", "no task queue here");
    if (fail_internal) throw std::runtime_error("database is locked at /srv/secret/path");
    calls.push_back("compact " + ctx.thread_id);
  }
  jarvis::Json status(const SlashContext& ctx) override {
    calls.push_back("status " + ctx.principal.username);
    jarvis::Json failure = {{"at", "2026-12-01T00:00:00.000Z"},
                            {"error", {{"kind", "auth"}, {"status", 401}, {"message", "no key"}}}};
    jarvis::Json openai = {
        {"name", "openai"},
        {"model", "gpt-x"},
        {"configured", true},
        {"in_order", true},
        {"last_success", nullptr},
        {"last_failure", failure},
        {"cooldowns",
         jarvis::Json::array({{{"model", "gpt-x"}, {"until", "2026-12-01T00:01:00Z"}}})}};
    jarvis::Json gemini = {
        {"name", "gemini"}, {"model", "gemini-2.5-flash"}, {"configured", false}};
    return {{"providers",
             {{"primary", "openai"},
              {"order", {"openai"}},
              {"providers", jarvis::Json::array({openai, gemini})}}},
            {"queues", {{"queued", 2}, {"running", 1}}},
            {"scheduler", {{"backlog", 0}, {"due", 0}}},
            {"agents", {"main", "researcher"}},
            {"lockdown", "the env must not override the host's flag"}};
  }
  void set_lockdown(const SlashContext& ctx, bool on, const std::string& reason) override {
    calls.push_back(std::string("set_lockdown ") + (on ? "on" : "off") + " [" + reason + "]");
    state_.set_lockdown(on, reason.empty() ? "manual" : reason, ctx.actor(), ctx.trace_id);
  }
  std::optional<jarvis::Json> trace_events(const SlashContext& ctx,
                                           const std::string& trace_id) override {
    auto it = traces.find(trace_id);
    if (it == traces.end() || !ctx.principal.may_access(it->second.first)) return std::nullopt;
    return it->second.second;
  }

  std::vector<std::string> calls;
  /// trace id → (owner user id, events)
  std::map<std::string, std::pair<std::string, jarvis::Json>> traces;
  int fail_with_status = 0;
  bool fail_internal = false;

 private:
  SystemState& state_;
};

class Slash : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = jarvis::host::SqlDatabase::open("sqlite://" + tmp_.file("t.db"), 2);
    jarvis::host::MigrationRunner(*db_).apply(
        {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
    bus_ = std::make_unique<jarvis::host::EventBusImpl>(db_.get(), nullptr);
    bus_->subscribe(jarvis::host::Owner{"recorder", nullptr}, "", [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
    jarvis::host::SystemOptions o;
    o.unlock_code_path = tmp_.file("var/unlock_code");
    o.task_drain_timeout = std::chrono::milliseconds(0);
    o.http_drain_timeout = std::chrono::milliseconds(0);
    state_ = std::make_unique<SystemState>(*db_, bus_.get(), o);
    jarvis::host::RestartHooks hooks;
    hooks.exec = [this](const std::vector<std::string>&) {
      ++execs_;
      return std::string();  // as if the new image took over
    };
    hooks.exit_process = [](int) {};
    state_->set_restart_hooks(hooks);
    state_->start(nullptr);
    env_ = std::make_unique<TestEnv>(*state_);
  }
  void TearDown() override { state_->stop(); }

  SlashReply run(const std::string& text, const jarvis::Principal& who = kAlice) {
    auto cmd = parse_slash(text);
    EXPECT_TRUE(cmd.has_value()) << text;
    if (!cmd) return {};
    SlashContext ctx{who, "thr_1", "trc_1", "web"};
    return execute_slash(*cmd, ctx, *env_);
  }
  std::vector<jarvis::Event> events(const std::string& type) {
    std::lock_guard lock(mu_);
    std::vector<jarvis::Event> out;
    for (const auto& e : events_) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }
  std::string code_file() {
    std::string c = jarvis::test::read_file(tmp_.file("var/unlock_code"));
    while (!c.empty() && c.back() == '\n') c.pop_back();
    return c;
  }

  jarvis::test::TempDir tmp_;
  std::unique_ptr<jarvis::host::SqlDatabase> db_;
  std::unique_ptr<jarvis::host::EventBusImpl> bus_;
  std::unique_ptr<SystemState> state_;
  std::unique_ptr<TestEnv> env_;
  std::atomic<int> execs_{0};
  std::mutex mu_;
  std::vector<jarvis::Event> events_;
};

}  // namespace

// --- parsing -----------------------------------------------------------------------------------

TEST(SlashParser, FirstTokenLowerCasedAndArguments) {
  auto c = parse_slash("  /VERBOSE   On  ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "verbose");
  EXPECT_EQ(c->args, (std::vector<std::string>{"On"}));
  EXPECT_EQ(c->rest, "On");
  auto l = parse_slash("/lockdown on  server\tmoved ");
  EXPECT_EQ(l->name, "lockdown");
  EXPECT_EQ(l->args, (std::vector<std::string>{"on", "server", "moved"}));
  EXPECT_EQ(l->rest, "on  server\tmoved");
  EXPECT_EQ(parse_slash("/")->name, "");
  EXPECT_EQ(parse_slash("/help\nmore")->args, (std::vector<std::string>{"more"}));
  EXPECT_FALSE(parse_slash("hello /help"));
  EXPECT_FALSE(parse_slash(""));
  EXPECT_FALSE(parse_slash("   "));
  EXPECT_TRUE(chat::is_slash_command("\n /x"));
  EXPECT_FALSE(chat::is_slash_command("x/"));
}

// --- unknown -----------------------------------------------------------------------------------

TEST_F(Slash, UnknownCommandsNeverReachAModel) {
  SlashReply r = run("/frobnicate the thing");
  EXPECT_EQ(r.outcome, "unknown_command");
  EXPECT_EQ(r.command, "frobnicate");
  EXPECT_EQ(r.text, "unknown command: /frobnicate (type /help for the list)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(run("/").text, "unknown command: / (type /help for the list)");
  SlashReply odd = run("/\xFF\xFE" + std::string(60, 'z'));
  EXPECT_EQ(odd.outcome, "unknown_command");
  EXPECT_EQ(odd.command, "??" + std::string(38, 'z') + "...");
  EXPECT_NO_THROW(odd.to_json().dump());  // printable: safe to serialise
  EXPECT_TRUE(env_->calls.empty());
}

// --- everyone's commands -----------------------------------------------------------------------

TEST_F(Slash, Help) {
  SlashReply r = run("/help");
  EXPECT_TRUE(r.ok());
  for (const auto& c : chat::slash_commands()) EXPECT_NE(r.text.find(c.usage), std::string::npos);
  EXPECT_EQ(chat::slash_commands().size(), 9u);
  EXPECT_NE(r.text.find("/restart"), std::string::npos);
  EXPECT_NE(r.text.find("(admin only)"), std::string::npos);
  SlashReply admin = run("/HELP", kRoot);
  EXPECT_NE(admin.text.find("(admin)"), std::string::npos);
  EXPECT_EQ(admin.text.find("(admin only)"), std::string::npos);
}

TEST_F(Slash, Status) {
  SlashReply r = run("/status");
  ASSERT_TRUE(r.ok()) << r.text;
  EXPECT_EQ(r.data["lockdown"], false);  // the host's flag, not the env's value
  EXPECT_EQ(r.data["restarting"], false);
  EXPECT_EQ(r.data["queues"]["queued"], 2);
  EXPECT_EQ(r.data["scheduler"]["backlog"], 0);
  EXPECT_EQ(r.text,
            "status\n"
            "agents: main, researcher\n"
            "lockdown: off\n"
            "providers: primary openai, order openai\n"
            "  - openai gpt-x: configured; last success -; last failure 2026-12-01T00:00:00.000Z "
            "auth (HTTP 401); cooling down: gpt-x until 2026-12-01T00:01:00Z\n"
            "  - gemini gemini-2.5-flash: not configured\n"
            "queues:\n"
            "  queued: 2\n"
            "  running: 1\n"
            "restart: none\n"
            "scheduler:\n"
            "  backlog: 0\n"
            "  due: 0\n");
  EXPECT_EQ(env_->calls, (std::vector<std::string>{"status alice"}));
  EXPECT_EQ(run("/status now").outcome, "invalid_arguments");
  state_->set_lockdown(true, "manual", "test");
  EXPECT_EQ(run("/status").data["lockdown"], true);
}

TEST_F(Slash, NewCompactVerbose) {
  SlashReply n = run("/new");
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(n.text, "new thread created: thr_new1");
  EXPECT_EQ(n.data["thread_id"], "thr_new1");
  EXPECT_EQ(run("/compact").text, "compaction enqueued");
  SlashReply on = run("/verbose ON");
  EXPECT_TRUE(on.ok());
  EXPECT_EQ(on.data["verbose"], true);
  EXPECT_EQ(run("/verbose off").text, "verbose off");
  EXPECT_EQ(env_->calls,
            (std::vector<std::string>{"new_thread thr_1", "compact thr_1", "set_verbose thr_1 on",
                                      "set_verbose thr_1 off"}));
  // Bad arguments change nothing.
  for (const char* bad :
       {"/new thread", "/compact now", "/verbose", "/verbose maybe", "/verbose on off"}) {
    SlashReply r = run(bad);
    EXPECT_EQ(r.outcome, "invalid_arguments") << bad;
    EXPECT_EQ(r.text.rfind("usage: /", 0), 0u) << r.text;
  }
  EXPECT_EQ(env_->calls.size(), 4u);
}

TEST_F(Slash, LogsTraceIsOwnerScoped) {
  jarvis::Json events = jarvis::Json::array();
  events.push_back({{"type", "agent.step.start"},
                    {"component", "chat"},
                    {"created_at", "2026-12-01T16:45:00Z"},
                    {"payload", {{"secret_note", "never shown"}}}});
  events.push_back(
      {{"type", "model.run.end"}, {"component", "chat"}, {"created_at", "2026-12-01T16:45:01Z"}});
  env_->traces["trc_alice"] = {"usr_alice", events};

  SlashReply mine = run("/logs trace trc_alice");
  ASSERT_TRUE(mine.ok()) << mine.text;
  EXPECT_EQ(mine.text,
            "trace trc_alice: 2 events\n"
            "  2026-12-01T16:45:00Z  agent.step.start  (chat)\n"
            "  2026-12-01T16:45:01Z  model.run.end  (chat)\n");
  EXPECT_EQ(mine.data["trace_id"], "trc_alice");
  ASSERT_EQ(mine.data["events"].size(), 2u);
  EXPECT_FALSE(mine.data["events"][0].contains("payload"));  // never payloads
  EXPECT_EQ(mine.data.dump().find("never shown"), std::string::npos);

  // Another user's trace reads exactly like a trace that does not exist.
  SlashReply other = run("/logs trace trc_alice", kBob);
  SlashReply none = run("/logs trace trc_nope", kBob);
  EXPECT_EQ(other.outcome, "not_found");
  EXPECT_EQ(other.text, "trace trc_alice not found");
  EXPECT_EQ(none.text, "trace trc_nope not found");
  // Admins see every trace.
  EXPECT_TRUE(run("/logs trace trc_alice", kRoot).ok());

  for (const char* bad : {"/logs", "/logs trace", "/logs search tea", "/logs trace a b"})
    EXPECT_EQ(run(bad).outcome, "invalid_arguments") << bad;
  SlashReply badid = run("/logs trace trc$1");
  EXPECT_EQ(badid.outcome, "invalid_arguments");
  EXPECT_EQ(badid.text.rfind("not a trace id: trc$1", 0), 0u);

  jarvis::Json many = jarvis::Json::array();
  for (int i = 0; i < 60; ++i) {
    std::string type = "e";
    type += std::to_string(i);
    many.push_back({{"type", type}, {"component", ""}, {"created_at", "t"}});
  }
  env_->traces["trc_many"] = {"usr_alice", many};
  SlashReply big = run("/logs trace trc_many");
  EXPECT_EQ(big.data["events"].size(), 60u);
  EXPECT_NE(big.text.find("  t  e49\n  … 10 more\n"), std::string::npos) << big.text;
}

// --- admin commands ----------------------------------------------------------------------------

TEST_F(Slash, RestartIsAdminOnlyAndUsesTheHostsControlledRestart) {
  SlashReply refused = run("/restart");
  EXPECT_EQ(refused.outcome, "forbidden");
  EXPECT_EQ(refused.text, "/restart is for administrators only");
  EXPECT_FALSE(state_->restarting());
  EXPECT_EQ(run("/restart now", kRoot).outcome, "invalid_arguments");
  EXPECT_FALSE(state_->restarting());

  SlashReply ok = run("/restart", kRoot);
  ASSERT_TRUE(ok.ok()) << ok.text;
  EXPECT_EQ(ok.data["trace_id"], "trc_1");
  state_->wait_restart();
  EXPECT_EQ(execs_.load(), 1);
  auto started = events("system.restart.start");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].trace_id, "trc_1");
  EXPECT_NE(started[0].payload.dump().find("user:usr_root"), std::string::npos)
      << started[0].payload.dump();
  // The flag stays set until the new process clears it: a second request is refused.
  EXPECT_TRUE(state_->restarting());
  SlashReply again = run("/restart", kRoot);
  EXPECT_EQ(again.outcome, "refused");
  EXPECT_EQ(again.text, "a restart is already in progress");
}

TEST_F(Slash, UnlockIsAdminOnlyAndClearsWithTheCurrentCode) {
  SlashReply not_locked = run("/unlock 123456", kRoot);
  EXPECT_EQ(not_locked.outcome, "refused");
  EXPECT_EQ(not_locked.text, "the system is not in lockdown");

  state_->set_lockdown(true, "manual", "test");
  const std::string code = code_file();
  ASSERT_EQ(code.size(), 6u);

  SlashReply user = run("/unlock " + code);  // the right code, the wrong role
  EXPECT_EQ(user.outcome, "forbidden");
  EXPECT_TRUE(state_->lockdown());
  EXPECT_TRUE(user.redact_input);

  for (const char* bad : {"/unlock", "/unlock abc", "/unlock 12 34"}) {
    SlashReply r = run(bad, kRoot);
    EXPECT_EQ(r.outcome, "invalid_arguments") << bad;
    EXPECT_TRUE(r.redact_input);
  }
  const std::string wrong = code == "000000" ? "111111" : "000000";
  SlashReply w = run("/unlock " + wrong, kRoot);
  EXPECT_EQ(w.outcome, "refused");
  EXPECT_EQ(w.text.rfind("unlock refused: ", 0), 0u) << w.text;
  EXPECT_TRUE(state_->lockdown());

  SlashReply ok = run("/unlock " + code, kRoot);
  ASSERT_TRUE(ok.ok()) << ok.text;
  EXPECT_EQ(ok.text, "lockdown cleared");
  EXPECT_FALSE(state_->lockdown());
  EXPECT_TRUE(ok.redact_input);
  EXPECT_EQ(ok.stored_input, "/unlock ******");
  EXPECT_EQ(ok.to_json().dump().find(code), std::string::npos);
  auto cleared = events("lockdown.cleared");
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_NE(cleared[0].payload.dump().find("user:usr_root"), std::string::npos);
}

TEST_F(Slash, LockdownOnAndOffIsAdminOnly) {
  EXPECT_EQ(run("/lockdown on").outcome, "forbidden");
  EXPECT_FALSE(state_->lockdown());
  for (const char* bad : {"/lockdown", "/lockdown maybe", "/lockdown 1"})
    EXPECT_EQ(run(bad, kRoot).outcome, "invalid_arguments") << bad;

  SlashReply on = run("/lockdown ON  server\tmoved  ", kRoot);
  ASSERT_TRUE(on.ok()) << on.text;
  EXPECT_EQ(on.text,
            "lockdown on: protected tools are refused until it is cleared (reason: server moved)");
  EXPECT_TRUE(state_->lockdown());
  EXPECT_EQ(state_->snapshot().lockdown_reason, "server moved");
  EXPECT_EQ(state_->snapshot().lockdown_by, "user:usr_root");
  EXPECT_EQ(run("/lockdown on", kRoot).text, "the system is already in lockdown");
  EXPECT_EQ(run("/lockdown off").outcome, "forbidden");
  EXPECT_TRUE(state_->lockdown());

  SlashReply off = run("/lockdown off", kRoot);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(state_->lockdown());
  EXPECT_EQ(run("/lockdown off", kRoot).text, "the system is not in lockdown");
  EXPECT_EQ(env_->calls,
            (std::vector<std::string>{"set_lockdown on [server moved]", "set_lockdown off []"}));
  // A reason is cut to 200 bytes and loses control characters.
  SlashReply long_reason = run("/lockdown on " + std::string(300, 'r') + "\x01x", kRoot);
  EXPECT_EQ(long_reason.data["reason"], std::string(200, 'r'));
}

TEST_F(Slash, AnonymousCallersAreNotAdmins) {
  jarvis::Principal anon;
  anon.role = jarvis::Role::Admin;  // a role without authentication counts for nothing
  EXPECT_EQ(run("/restart", anon).outcome, "forbidden");
  EXPECT_FALSE(state_->restarting());
}

// --- env failures ------------------------------------------------------------------------------

TEST_F(Slash, EnvFailuresBecomeReplies) {
  env_->fail_with_status = 501;
  SlashReply u = run("/compact");
  EXPECT_EQ(u.outcome, "unavailable");
  EXPECT_EQ(u.text, "/compact is unavailable: no task queue here");
  env_->fail_with_status = 409;
  EXPECT_EQ(run("/compact").outcome, "failed");
  env_->fail_with_status = 0;
  env_->fail_internal = true;
  SlashReply f = run("/compact");
  EXPECT_EQ(f.outcome, "failed");
  EXPECT_EQ(f.text, "/compact failed (internal error)");
  EXPECT_NE(f.detail.find("database is locked"), std::string::npos);
  EXPECT_EQ(f.to_json().dump().find("/srv/secret"), std::string::npos);  // detail is log-only
  jarvis::Json j = run("/help").to_json();
  EXPECT_EQ(j["command"], "help");
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_FALSE(j.contains("data"));
}
