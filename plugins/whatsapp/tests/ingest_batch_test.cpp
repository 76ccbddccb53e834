// whatsapp/tests/ingest_batch_test.cpp — the group-committed webhook ingest (decision 0065)
// under concurrent requests over real HTTP: every message is stored exactly once and answered
// only once committed, each chat's channel.inbound events leave in its sequence order, and
// concurrent duplicates of one key.id (which fail their shared batch and run again alone) are
// stored once.
#include <atomic>
#include <thread>

#include "wa_support.h"

namespace wa_test {
namespace ingest_batch {

class WhatsappIngestBatch : public ::testing::TestWithParam<Backend> {};

std::string jid_of(int chat) {
  return "55119888800" + std::to_string(10 + chat) + "@s.whatsapp.net";
}

TEST_P(WhatsappIngestBatch, ConcurrentWebhooksAreStoredOnceInOrderPerChat) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  constexpr int kThreads = 8, kPerThread = 15, kChats = 4;
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "BT" + std::to_string(t) + "_" + std::to_string(i);
        auto r = h.post_webhook(WaHost::envelope(
            FakeEvolution::text_record(jid_of((t + i) % kChats), key, "m " + key)));
        (r.status == 200 && body(r)["counts"]["stored"] == 1 ? ok : bad)++;
      }
    });
  }
  // Duplicates racing each other: one key posted by 6 threads at once.
  for (int d = 0; d < 6; ++d) {
    threads.emplace_back([&] {
      auto r = h.post_webhook(
          WaHost::envelope(FakeEvolution::text_record(jid_of(0), "DUPKEY", "same message")));
      EXPECT_EQ(r.status, 200) << r.body;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(bad.load(), 0);
  const std::size_t expected = kThreads * kPerThread + 1;
  json all = h.wait_events("channel.inbound", expected);
  ASSERT_EQ(all.size(), expected);
  std::map<std::string, int> per_key;
  for (const auto& e : all) per_key[e["payload"]["key_id"].get<std::string>()]++;
  EXPECT_EQ(per_key.size(), expected);  // no message twice
  EXPECT_EQ(per_key["DUPKEY"], 1);
  // Within a chat, each thread's messages keep their order (a thread posts one at a time).
  for (int t = 0; t < kThreads; ++t) {
    std::map<std::string, int> last;
    for (const auto& e : all) {
      const std::string key = e["payload"]["key_id"];
      const std::string prefix = "BT" + std::to_string(t) + "_";
      if (key.rfind(prefix, 0) != 0) continue;
      const int i = std::stoi(key.substr(prefix.size()));
      const std::string chat = e["payload"]["external_thread"];
      if (last.count(chat)) {
        EXPECT_GT(i, last[chat]) << key;
      }
      last[chat] = i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappIngestBatch,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace ingest_batch
}  // namespace wa_test
