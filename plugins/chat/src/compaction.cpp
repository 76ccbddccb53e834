// chat/src/compaction.cpp — thread compaction (the chat.compact_thread task, /compact, and the
// step's budget-triggered compaction): see step.h.
#include <algorithm>

#include "agent/prompt.h"
#include "step.h"
#include "store.h"

namespace chat {
namespace {

constexpr long long kCompactionMaxMessages = 2000;

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
  jarvis::Json summary;
  jarvis::Json rows;
  {
    auto sql = host_.db().session();
    if (ChatStore::thread(*sql, thread_id).is_null()) return {{"compacted", false}};
    summary = ChatStore::summary(*sql, thread_id);
    long long covers = summary.is_null() ? 0 : summary.value("covers_seq", 0LL);
    rows = ChatStore::recent_messages(*sql, thread_id, covers, kCompactionMaxMessages);
  }
  std::vector<Message> messages = to_messages(rows);
  std::vector<std::string> order = router_.order();
  const long budget = config_.budget_for(order.empty() ? "" : order.front());
  if (!force && !needs_compaction(messages, budget, config_.compaction_every_n).needed) {
    return {{"compacted", false}, {"reason", "not_due"}};
  }
  std::size_t cut = compaction_cut(messages);
  if (cut == 0) return {{"compacted", false}, {"reason", "nothing_to_compact"}};
  std::vector<Message> part(messages.begin(), messages.begin() + static_cast<long>(cut));
  const long long covers_seq = rows[cut - 1].value("seq", 0LL);
  const std::string previous = summary.is_null() ? "" : summary.value("summary", "");
  const long summary_max = std::max(256L, budget * kSummarySharePercent / 100);

  std::string text, method = "extractive", provider, model;
  if (router_.configured()) {
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
        ModelResult res = router_.generate(req, {}, nullptr);
        running = clamp_summary(res.text, summary_max);
        provider = res.provider;
        model = res.model;
      }
      if (!running.empty()) {
        text = running;
        method = "model";
      }
    } catch (const std::exception& e) {
      host_.log()->warn("chat: model compaction of {} failed, using the extractive summary: {}",
                        thread_id, e.what());
    }
  }
  if (text.empty()) {
    text = extractive_summary(previous, part, summary_max);
    provider.clear();
    model.clear();
  }
  {
    auto tx = host_.db().transaction();
    ChatStore::put_summary(tx->session(), thread_id, text, covers_seq, method, provider, model);
    host_.events().emit({.type = "thread.compacted",
                         .payload = {{"covers_seq", covers_seq},
                                     {"messages", static_cast<long long>(cut)},
                                     {"method", method}},
                         .thread_id = thread_id,
                         .trace_id = trace_id,
                         .actor_type = "agent",
                         .actor_id = "agent:main"},
                        *tx);
    tx->commit();
  }
  return {{"compacted", true},
          {"method", method},
          {"covers_seq", covers_seq},
          {"messages", static_cast<long long>(cut)}};
}

}  // namespace chat
