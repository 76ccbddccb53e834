// tests/events/event_query_test.cpp — GET /api/v1/events, /events/{id} and /traces/{trace_id}:
// filters, ordering, ownership scoping (own threads only; system events admin-only) and the
// admin-only raw view, on SQLite and PostgreSQL.
#include "auth/auth_fixture.h"

namespace jarvis::host::authtest {
namespace {

class EventsApiTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    start();
    alice_ = token_for("alice", jarvis::Role::User);
    bob_ = token_for("bob", jarvis::Role::User);
    admin_ = token_for("root", jarvis::Role::Admin);
    ThreadOwners owners(*db_);
    owners.claim("thr_alice", auth_->store().find_by_name("alice")->id, "chat");
    owners.claim("thr_bob", auth_->store().find_by_name("bob")->id, "chat");
    emit("chat.message", "thr_alice", "trc_1", {{"text", "hi"}, {"password", "hunter2"}});
    emit("chat.reply", "thr_alice", "trc_1", {{"n", 2}});
    emit("tool.call.start", "thr_alice", "trc_1", {{"n", 3}});
    emit("chat.message", "thr_bob", "trc_2", {{"text", "bob's"}});
    emit("lockdown.triggered", "", "trc_1",
         {{"reason", "test"}});  // a system event in alice's trace
    emit("chat.message", "thr_nobody", "", {{"text", "unclaimed"}});
  }
  void emit(const std::string& type, const std::string& thread, const std::string& trace,
            jarvis::Json payload) {
    events_->emit(
        Owner{"chat"},
        jarvis::Event{
            .type = type, .payload = std::move(payload), .thread_id = thread, .trace_id = trace});
  }
  jarvis::Json get(const std::string& target, const std::string& token, int expect = 200) {
    auto r = call({.target = target, .headers = {bearer(token)}});
    EXPECT_EQ(r.status, expect) << target << " " << r.body;
    return body(r);
  }
  static std::vector<std::string> types(const jarvis::Json& items) {
    std::vector<std::string> out;
    for (const auto& e : items) out.push_back(e["type"]);
    return out;
  }
  std::string alice_, bob_, admin_;
};

TEST_P(EventsApiTest, UsersSeeOnlyTheirOwnThreads) {
  auto mine = get("/api/v1/events", alice_);
  // Newest first; no system events, nothing of bob's, nothing unclaimed. (Audit events of user
  // creation are system events too.)
  EXPECT_EQ(types(mine["items"]),
            (std::vector<std::string>{"tool.call.start", "chat.reply", "chat.message"}));
  for (const auto& e : mine["items"]) EXPECT_EQ(e["thread_id"], "thr_alice");
  EXPECT_EQ(mine["has_more"], false);
  auto bobs = get("/api/v1/events", bob_);
  ASSERT_EQ(bobs["items"].size(), 1u);
  EXPECT_EQ(bobs["items"][0]["payload"]["text"], "bob's");
  // Admins see everything, system events included.
  auto all = get("/api/v1/events?limit=200", admin_);
  auto t = types(all["items"]);
  EXPECT_NE(std::find(t.begin(), t.end(), "lockdown.triggered"), t.end());
  EXPECT_NE(std::find(t.begin(), t.end(), "user.created"), t.end());
  EXPECT_EQ(std::count(t.begin(), t.end(), "chat.message"), 3);
  // Anonymous: 401.
  EXPECT_EQ(call({.target = "/api/v1/events"}).status, 401);
}

TEST_P(EventsApiTest, PayloadsAreRedacted) {
  auto mine = get("/api/v1/events?type=chat.message", alice_);
  ASSERT_EQ(mine["items"].size(), 1u);
  EXPECT_EQ(mine["items"][0]["payload"]["password"], "[REDACTED]");
  EXPECT_EQ(mine["items"][0]["payload"]["text"], "hi");
  EXPECT_EQ(mine["items"][0]["component"], "chat");
}

TEST_P(EventsApiTest, FiltersAndPaging) {
  EXPECT_EQ(get("/api/v1/events?type=chat.", alice_)["items"].size(), 2u);  // prefix
  EXPECT_EQ(get("/api/v1/events?type=chat.re", alice_)["items"].size(), 1u);
  EXPECT_EQ(get("/api/v1/events?type=CHAT.", alice_)["items"].size(), 0u);    // case-sensitive
  EXPECT_EQ(get("/api/v1/events?type=chat%25", admin_)["items"].size(), 0u);  // no LIKE wildcards
  EXPECT_EQ(get("/api/v1/events?component=chat&limit=200", admin_)["items"].size(), 6u);
  EXPECT_EQ(get("/api/v1/events?component=auth", alice_)["items"].size(), 0u);
  EXPECT_EQ(get("/api/v1/events?trace_id=trc_1", alice_)["items"].size(), 3u);
  EXPECT_EQ(get("/api/v1/events?trace_id=trc_1", admin_)["items"].size(), 4u);
  EXPECT_EQ(get("/api/v1/events?thread_id=thr_alice", alice_)["items"].size(), 3u);
  // Someone else's thread as a filter: a clear 403, not an empty page.
  auto r = call({.target = "/api/v1/events?thread_id=thr_bob", .headers = {bearer(alice_)}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "thread_forbidden");
  EXPECT_EQ(get("/api/v1/events?thread_id=thr_bob", admin_)["items"].size(), 1u);
  // Paging.
  auto p1 = get("/api/v1/events?limit=2", alice_);
  EXPECT_EQ(types(p1["items"]), (std::vector<std::string>{"tool.call.start", "chat.reply"}));
  EXPECT_EQ(p1["has_more"], true);
  auto p2 = get("/api/v1/events?limit=2&offset=2", alice_);
  EXPECT_EQ(types(p2["items"]), (std::vector<std::string>{"chat.message"}));
  EXPECT_EQ(p2["has_more"], false);
  // Bad query values.
  for (const char* bad : {"/api/v1/events?limit=0", "/api/v1/events?limit=201",
                          "/api/v1/events?limit=x", "/api/v1/events?offset=-1"}) {
    auto b = call({.target = bad, .headers = {bearer(alice_)}});
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_EQ(code(b), "invalid_query") << bad;
  }
  EXPECT_EQ(
      call({.target = "/api/v1/events?type=" + std::string(201, 'a'), .headers = {bearer(alice_)}})
          .status,
      400);
}

TEST_P(EventsApiTest, SingleEventIsScoped) {
  auto all = get("/api/v1/events?limit=200", admin_);
  std::string alice_event, bob_event, system_event;
  for (const auto& e : all["items"]) {
    if (e["thread_id"] == "thr_alice") alice_event = e["id"];
    if (e["thread_id"] == "thr_bob") bob_event = e["id"];
    if (e["type"] == "lockdown.triggered") system_event = e["id"];
  }
  EXPECT_EQ(get("/api/v1/events/" + alice_event, alice_)["id"], alice_event);
  // Another user's event and a system event look like a missing one (no existence oracle).
  EXPECT_EQ(get("/api/v1/events/" + bob_event, alice_, 404)["error"]["code"], "event_not_found");
  EXPECT_EQ(get("/api/v1/events/" + system_event, alice_, 404)["error"]["code"], "event_not_found");
  EXPECT_EQ(get("/api/v1/events/" + system_event, admin_)["type"], "lockdown.triggered");
  EXPECT_EQ(get("/api/v1/events/evt_missing", admin_, 404)["error"]["code"], "event_not_found");
}

TEST_P(EventsApiTest, TracesInOrderScopedAndRawIsAdminOnly) {
  // Many events in the same millisecond keep their emission order.
  for (int i = 0; i < 30; ++i)
    emit("step." + std::to_string(i), "thr_alice", "trc_order", {{"i", i}});
  auto tr = get("/api/v1/traces/trc_order", alice_);
  ASSERT_EQ(tr["items"].size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(tr["items"][i]["payload"]["i"], i);
  EXPECT_EQ(tr["view"], "redacted");
  EXPECT_EQ(tr["truncated"], false);
  auto limited = get("/api/v1/traces/trc_order?limit=10", alice_);
  EXPECT_EQ(limited["items"].size(), 10u);
  EXPECT_EQ(limited["truncated"], true);

  // Alice's view of trc_1 has no system event; the admin's has it.
  EXPECT_EQ(types(get("/api/v1/traces/trc_1", alice_)["items"]),
            (std::vector<std::string>{"chat.message", "chat.reply", "tool.call.start"}));
  EXPECT_EQ(get("/api/v1/traces/trc_1", admin_)["items"].size(), 4u);
  // Bob sees nothing of it.
  EXPECT_EQ(get("/api/v1/traces/trc_1", bob_, 404)["error"]["code"], "trace_not_found");
  // Raw view: 403 for users (even on their own trace); admins get the same, redacted, data.
  EXPECT_EQ(get("/api/v1/traces/trc_1?view=raw", alice_, 403)["error"]["code"],
            "raw_view_forbidden");
  auto raw = get("/api/v1/traces/trc_1?view=raw", admin_);
  EXPECT_EQ(raw["view"], "raw");
  EXPECT_EQ(raw["items"][0]["payload"]["password"], "[REDACTED]");
  EXPECT_EQ(get("/api/v1/traces/trc_1?view=other", admin_, 400)["error"]["code"], "invalid_query");
}

TEST_P(EventsApiTest, ThreadOwnership) {
  ThreadOwners owners(*db_);
  auto alice_id = auth_->store().find_by_name("alice")->id;
  auto bob_id = auth_->store().find_by_name("bob")->id;
  EXPECT_NO_THROW(owners.claim("thr_alice", alice_id, "chat"));  // idempotent
  try {
    owners.claim("thr_alice", bob_id, "chat");
    FAIL() << "claimed someone else's thread";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "thread_owned");
  }
  EXPECT_THROW(owners.claim("", alice_id, "chat"), jarvis::Error);
  EXPECT_EQ(owners.owner_of("thr_alice").value_or(""), alice_id);
  EXPECT_FALSE(owners.owner_of("thr_nobody"));
  jarvis::Principal alice{alice_id, "alice", jarvis::Role::User, true};
  jarvis::Principal bob{bob_id, "bob", jarvis::Role::User, true};
  EXPECT_TRUE(owners.may_access(alice, "thr_alice"));
  EXPECT_FALSE(owners.may_access(bob, "thr_alice"));
  EXPECT_FALSE(owners.may_access(alice, "thr_nobody"));
  EXPECT_TRUE(owners.may_access(jarvis::Principal::system(), "thr_nobody"));
  EXPECT_FALSE(owners.may_access(jarvis::Principal{}, "thr_alice"));
  // Claiming the unclaimed thread makes its events visible to the new owner.
  owners.claim("thr_nobody", bob_id, "chat");
  EXPECT_EQ(get("/api/v1/events", bob_)["items"].size(), 2u);
  EXPECT_TRUE(owners.release("thr_nobody"));
  EXPECT_FALSE(owners.release("thr_nobody"));
  EXPECT_EQ(get("/api/v1/events", bob_)["items"].size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventsApiTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest
