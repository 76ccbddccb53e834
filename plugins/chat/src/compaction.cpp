// chat/src/compaction.cpp — thread compaction (the chat.compact_thread task, /compact, and the
// step's budget-triggered compaction): see step.h.
#include <algorithm>

#include "agent/prompt.h"
#include "step.h"
#include "store.h"

namespace chat {
namespace {

constexpr long long kCompactionMaxMessages = 2000;  // one batch
constexpr int kCompactionMaxBatches = 50;           // per run: 100 000 messages

}  // namespace

jarvis::Json StepRunner::compact(jarvis::TaskContext& ctx) {
  const std::string thread_id = ctx.payload.value("thread_id", "");
  if (thread_id.empty()) throw jarvis::bad_request("payload needs thread_id", "invalid_payload");
  return compact_thread(thread_id, ctx.payload.value("trace_id", ctx.trace_id),
                        ctx.payload.value("force", false),
                        jarvis::CancelToken::when(ctx.should_stop));
}

jarvis::Json StepRunner::compact_thread(const std::string& thread_id, const std::string& trace_id,
                                        bool force, const jarvis::CancelToken& cancel) {
  std::string owner_id;
  {
    auto sql = host_.db().session();
    const jarvis::Json t = ChatStore::thread(*sql, thread_id);
    if (t.is_null()) return {{"compacted", false}};
    owner_id = t.value("owner_id", "");
  }
  std::vector<std::string> order = router_.order();
  const long budget = config_.budget_for(order.empty() ? "" : order.front());
  const long summary_max = std::max(256L, budget * kSummarySharePercent / 100);

  // Oldest first, in batches: a thread with more unsummarised messages than one batch (or than
  // the step's window of kHistoryLimit) is summarised batch after batch, so no message is ever
  // skipped — each batch's summary feeds the next.
  std::string method = "extractive";
  long long covers_seq = 0, summarised = 0;
  int batches = 0;
  for (;;) {
    jarvis::Json summary, rows;
    long long total = 0;
    {
      auto sql = host_.db().session();
      summary = ChatStore::summary(*sql, thread_id);
      const long long covers = summary.is_null() ? 0 : summary.value("covers_seq", 0LL);
      total = ChatStore::count_messages_after(*sql, thread_id, covers);
      rows = ChatStore::oldest_messages_after(*sql, thread_id, covers, kCompactionMaxMessages);
    }
    // The conversation (slash commands and their replies left out) and each message's seq.
    std::vector<Message> messages;
    std::vector<long long> seqs;
    for (const auto& row : rows) {
      for (auto& m : to_messages(jarvis::Json::array({row}))) {
        messages.push_back(std::move(m));
        seqs.push_back(row.value("seq", 0LL));
      }
    }
    const bool more = total > static_cast<long long>(rows.size());
    if (batches == 0 && !force && total <= kHistoryLimit &&
        !needs_compaction(messages, budget, config_.compaction_every_n).needed) {
      return {{"compacted", false}, {"reason", "not_due"}};
    }
    std::size_t cut = 0;
    long long batch_covers = 0;
    if (more) {
      cut = messages.size();  // the whole batch: newer messages follow it
      batch_covers = rows.empty() ? 0 : rows.back().value("seq", 0LL);
    } else {
      cut = compaction_cut(messages);
      batch_covers = cut == 0 ? 0 : seqs[cut - 1];
    }
    if (batch_covers == 0) break;
    const std::vector<Message> part(messages.begin(), messages.begin() + static_cast<long>(cut));
    BatchSummary b = summarise_batch(summary.is_null() ? "" : summary.value("summary", ""), part,
                                     budget, summary_max, thread_id, trace_id, cancel);
    {
      auto tx = host_.db().transaction();
      ChatStore::put_summary(tx->session(), thread_id, b.text, batch_covers, b.method, b.provider,
                             b.model);
      if (b.input_tokens + b.output_tokens > 0) {
        ChatStore::add_purpose_usage(tx->session(), utc_day(), owner_id, "chat.compact",
                                     b.input_tokens, b.output_tokens);
      }
      host_.events().emit({.type = "thread.compacted",
                           .payload = {{"covers_seq", batch_covers},
                                       {"messages", static_cast<long long>(cut)},
                                       {"method", b.method},
                                       {"batch", batches + 1}},
                           .thread_id = thread_id,
                           .trace_id = trace_id,
                           .actor_type = "agent",
                           .actor_id = "agent:main"},
                          *tx);
      tx->commit();
    }
    method = b.method;
    covers_seq = batch_covers;
    summarised += static_cast<long long>(cut);
    ++batches;
    if (!more || batches >= kCompactionMaxBatches || cancel.cancelled()) break;
  }
  if (batches == 0) return {{"compacted", false}, {"reason", "nothing_to_compact"}};
  return {{"compacted", true},
          {"method", method},
          {"covers_seq", covers_seq},
          {"messages", summarised},
          {"batches", batches}};
}

StepRunner::BatchSummary StepRunner::summarise_batch(const std::string& previous,
                                                     const std::vector<Message>& part, long budget,
                                                     long summary_max, const std::string& thread_id,
                                                     const std::string& trace_id,
                                                     const jarvis::CancelToken& cancel) {
  BatchSummary b;
  if (router_.configured() && !part.empty()) {
    try {
      SummaryPlan plan = plan_summary_chunks(part, budget, summary_max);
      std::string running = previous;
      for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
        ModelRequest req;
        req.messages = summary_request(running, part, plan, i);
        req.cancel = cancel;
        req.trace_id = trace_id;
        req.thread_id = thread_id;
        req.max_output_tokens = static_cast<int>(summary_max);
        req.purpose = "chat.compact";
        ModelResult res = router_.generate(req, {}, nullptr);
        b.input_tokens += res.input_tokens;
        b.output_tokens += res.output_tokens;
        running = clamp_summary(res.text, summary_max);
        b.provider = res.provider;
        b.model = res.model;
      }
      if (!running.empty()) {
        b.text = running;
        b.method = "model";
      }
    } catch (const std::exception& e) {
      host_.log()->warn("chat: model compaction of {} failed, using the extractive summary: {}",
                        thread_id, e.what());
    }
  }
  if (b.text.empty()) {
    b.text = part.empty() ? previous : extractive_summary(previous, part, summary_max);
    b.method = "extractive";
    b.provider.clear();
    b.model.clear();
  }
  return b;
}

}  // namespace chat
