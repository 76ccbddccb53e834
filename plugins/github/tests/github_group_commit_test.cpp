// github/tests/github_group_commit_test.cpp — the webhook's group commit (decision 0068) when one
// delivery of a batch fails its insert: the plugin's real route on the host's real router,
// dispatcher and HTTP server (127.0.0.1), its Store on a real SQLite or PostgreSQL database,
// signed @octokit/webhooks-examples bodies. The test holds the database (SQLite: the host's write
// gate; PostgreSQL: a table lock) while one delivery commits, so the next three wait and are
// committed together; a trigger refuses the middle one's row. The other two are answered 202
// with their rows and tasks committed, the bad one gets its own 500 and leaves neither a row nor
// a task (its redelivery is accepted, not a duplicate), and exactly one batch took the fallback
// (the SDK's jarvis::GroupCommit counts it; its hook increments the plugin's metric).
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "config/config.h"
#include "context.h"
#include "db/migrations.h"
#include "db/transaction.h"
#include "github_samples.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "jarvis/sql.h"
#include "observability/metrics.h"
#include "plugins/plugin_config.h"
#include "plugins/plugin_host.h"
#include "registry/event_bus.h"
#include "tasks/task_service.h"
#include "tasks/task_test_env.h"
#include "webhook.h"

namespace github_group_commit_test {

using github_test::json;
using github_test::kSecret;
using jarvis::host::testing::Db;

class GitHubGroupCommit : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = jarvis::host::testing::open_db(GetParam(), dir_, 8);
    ASSERT_TRUE(db_);
    jarvis::host::MigrationRunner(*db_).apply(
        {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"},
         {"github", std::string(JARVIS_SOURCE_DIR) + "/plugins/github/migrations"}});
    // A hang guard, not a threshold: the first delivery's commit waits for the test's lock.
    db_->set_session_timeout(std::chrono::minutes(5));
    events_ = std::make_unique<jarvis::host::EventBusImpl>(db_.get(), &metrics_);
    tasks_ = std::make_unique<jarvis::host::TaskService>(*db_, events_.get(), &metrics_);
    jarvis::host::HostServices services;
    services.config = &config_;
    services.db = db_.get();
    services.routes = &routes_;
    services.tasks = tasks_.get();
    services.events = events_.get();
    services.metrics = &metrics_;
    host_ = std::make_unique<jarvis::host::PluginHost>(jarvis::host::Owner{"github", {}}, services,
                                                       plugin_config_, nullptr);
    github::Settings settings;
    settings.webhook_secret = jarvis::Secret(kSecret);
    settings.bot_login = "jarvis-bot";
    ctx_ = std::make_unique<github::Context>(*host_, std::move(settings));
    // The task the chat deliveries enqueue; no worker runs, so the rows stay queued.
    host_->tasks().add({.name = github::kChatTask,
                        .handler = [](jarvis::TaskContext&) { return json::object(); }});
    github::register_webhook(*host_, *ctx_);
    dispatcher_ = std::make_unique<jarvis::host::Dispatcher>(routes_, metrics_);
    jarvis::host::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.handler_threads = 6;  // the four deliveries wait on handler threads at once
    server_ = std::make_unique<jarvis::host::HttpServer>(o, *dispatcher_);
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::seconds(5));
  }

  jarvis::test::HttpResult deliver(const std::string& event, const std::string& body,
                                   const std::string& id) const {
    return jarvis::test::http(
        "POST", "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/v1/webhooks/github",
        body,
        {"Content-Type: application/json", "User-Agent: GitHub-Hookshot/test",
         "X-Hub-Signature-256: sha256=" + jarvis::hmac_sha256_hex(kSecret, body),
         "X-GitHub-Event: " + event, "X-GitHub-Delivery: " + id});
  }
  std::future<jarvis::test::HttpResult> deliver_async(const std::string& event,
                                                      const std::string& body,
                                                      const std::string& id) const {
    return std::async(std::launch::async, [=, this] { return deliver(event, body, id); });
  }

  // Polls the store's group-commit state until `done` (every 10 ms; 60 s hang guard).
  bool wait_state(const std::function<bool(const github::Store::GroupCommitState&)>& done) {
    return jarvis::host::testing::wait_until(
        [&] { return done(ctx_->store.group_commit_state()); });
  }

  // A trigger that refuses the row of delivery `id` — a failing insert in the middle of a batch.
  void refuse_delivery(const std::string& id) {
    auto s = db_->session();
    if (GetParam() == Db::Sqlite) {
      *s << "CREATE TRIGGER test_refuse_delivery BEFORE INSERT ON github_deliveries WHEN "
            "NEW.delivery_id = '" +
                id + "' BEGIN SELECT RAISE(ABORT, 'test trigger refuses " + id + "'); END";
    } else {
      *s << "CREATE FUNCTION test_refuse_delivery() RETURNS trigger AS $$ BEGIN IF "
            "NEW.delivery_id = '" +
                id + "' THEN RAISE EXCEPTION 'test trigger refuses " + id +
                "'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql";
      *s << "CREATE TRIGGER test_refuse_delivery BEFORE INSERT ON github_deliveries FOR EACH ROW "
            "EXECUTE FUNCTION test_refuse_delivery()";
    }
  }
  void allow_every_delivery() {
    auto s = db_->session();
    if (GetParam() == Db::Sqlite) {
      *s << "DROP TRIGGER test_refuse_delivery";
    } else {
      *s << "DROP TRIGGER test_refuse_delivery ON github_deliveries";
    }
  }

  std::set<std::string> delivery_ids() {
    auto s = db_->session();
    std::set<std::string> out;
    for (const auto& r : jarvis::sql::all_rows(*s, "SELECT delivery_id FROM github_deliveries"))
      out.insert(r["delivery_id"].get<std::string>());
    return out;
  }
  // The comment ids of the queued github.pr_chat tasks.
  std::multiset<long long> chat_task_comments() {
    auto s = db_->session();
    std::multiset<long long> out;
    for (const auto& r : jarvis::sql::all_rows(*s, "SELECT payload FROM tasks WHERE name = :n",
                                               {std::string(github::kChatTask)})) {
      json p = json::parse(r["payload"].get<std::string>(), nullptr, false);
      out.insert(p.is_object() ? p.value("comment_id", 0LL) : 0LL);
    }
    return out;
  }

  jarvis::test::TempDir dir_;
  std::unique_ptr<jarvis::host::SqlDatabase> db_;
  jarvis::host::MetricsRegistry metrics_;
  jarvis::host::ConfigStore config_;
  jarvis::host::Router routes_;
  std::unique_ptr<jarvis::host::EventBusImpl> events_;
  std::unique_ptr<jarvis::host::TaskService> tasks_;
  jarvis::host::PluginConfigImpl plugin_config_{"github", {}, nullptr};
  std::unique_ptr<jarvis::host::PluginHost> host_;
  std::unique_ptr<github::Context> ctx_;
  std::unique_ptr<jarvis::host::Dispatcher> dispatcher_;
  std::unique_ptr<jarvis::host::HttpServer> server_;
};

TEST_P(GitHubGroupCommit, OneBadDeliveryInABatchFailsAloneAndLeavesNothingHalfWritten) {
  namespace samples = github_test::samples;
  const std::string ping = github_test::example("ping").dump();
  const std::string good1 = samples::issue_comment_on_pr("/jarvis review", 9101).dump();
  const std::string bad = samples::issue_comment_on_pr("/jarvis review", 9102).dump();
  const std::string good2 = samples::issue_comment_on_pr("/jarvis review", 9103).dump();
  refuse_delivery("d-bad");

  std::future<jarvis::test::HttpResult> first, a, b, c;
  {
    jarvis::host::HostTransaction gate(*db_, std::chrono::seconds(30));
    if (GetParam() == Db::Postgresql)
      gate.session() << "LOCK TABLE github_deliveries IN EXCLUSIVE MODE";
    // The first delivery becomes the committer of a batch of its own and waits for the lock...
    first = deliver_async("ping", ping, "d-first");
    ASSERT_TRUE(wait_state([](const auto& st) { return st.committing && st.queued == 0; }));
    // ...while the next three queue for the following batch.
    a = deliver_async("issue_comment", good1, "d-good-1");
    b = deliver_async("issue_comment", bad, "d-bad");
    c = deliver_async("issue_comment", good2, "d-good-2");
    ASSERT_TRUE(wait_state([](const auto& st) { return st.queued == 3; }));
    gate.rollback();
  }
  const auto r_first = first.get(), r_a = a.get(), r_b = b.get(), r_c = c.get();
  EXPECT_EQ(r_first.status, 200) << r_first.body;
  for (const auto* r : {&r_a, &r_c}) {
    EXPECT_EQ(r->status, 202) << r->body;
    json j = json::parse(r->body, nullptr, false);
    EXPECT_EQ(j.value("accepted", false), true) << r->body;
  }
  // The bad delivery gets its own error: the server's 500 (GitHub redelivers it), not the
  // batch's, and nobody else's.
  EXPECT_EQ(r_b.status, 500) << r_b.body;
  EXPECT_EQ(jarvis::test::api::error_code(r_b), "internal_error") << r_b.body;
  EXPECT_EQ(ctx_->store.group_commit_state().fallbacks, 1u);
  // The SDK's fallback hook counted it in the plugin's metric.
  EXPECT_EQ(metrics_.value("jarvis_plugin_github_webhook_group_commit_fallbacks_total"), 1.0);

  // Committed: the good deliveries' rows and tasks. Of the bad one: neither.
  EXPECT_EQ(delivery_ids(), (std::set<std::string>{"d-first", "d-good-1", "d-good-2"}));
  EXPECT_EQ(chat_task_comments(), (std::multiset<long long>{9101, 9103}));

  // Nothing of it was kept, so its redelivery is new (not 409); the good ones are duplicates.
  allow_every_delivery();
  auto again = deliver("issue_comment", bad, "d-bad");
  EXPECT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(chat_task_comments(), (std::multiset<long long>{9101, 9102, 9103}));
  auto twice = deliver("issue_comment", good1, "d-good-1");
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(jarvis::test::api::error_code(twice), "duplicate_delivery");
  EXPECT_EQ(ctx_->store.group_commit_state().fallbacks, 1u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, GitHubGroupCommit, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         jarvis::host::testing::db_name);

}  // namespace github_group_commit_test
