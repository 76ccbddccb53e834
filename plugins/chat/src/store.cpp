// chat/src/store.cpp — SQL of the chat plugin, portable across SQLite and PostgreSQL.
#include "store.h"

#include <ctime>

#include "sql_rows.h"

namespace chat {
namespace {

const char* kThreadColumns =
    "id, owner_id, channel, external_ref, title, status, is_verbose, active_agent_ids, "
    "model_override, created_at, updated_at";

const char* kMessageColumns =
    "id, thread_id, seq, role, content, tool_calls, tool_call_id, tool_name, agent_id, provider, "
    "model, input_tokens, output_tokens, latency_ms, step_id, trace_id, sender, meta, created_at";

jarvis::Json parse_or(const jarvis::Json& text, jarvis::Json fallback) {
  if (!text.is_string()) return fallback;
  auto v = jarvis::try_parse_json(text.get<std::string>());
  return v ? *v : fallback;
}

jarvis::Json thread_json(jarvis::Json row) {
  if (row.is_null()) return row;
  jarvis::Json settings = {
      {"verbose", row["is_verbose"].is_number() && row["is_verbose"].get<long long>() != 0},
      {"active_agent_ids", parse_or(row["active_agent_ids"], jarvis::Json::array({"main"}))},
      {"model_override", row["model_override"]}};
  row.erase("is_verbose");
  row.erase("active_agent_ids");
  row.erase("model_override");
  row["settings"] = std::move(settings);
  return row;
}

jarvis::Json message_json(jarvis::Json row) {
  if (row.is_null()) return row;
  row["tool_calls"] = parse_or(row["tool_calls"], nullptr);
  row["meta"] = parse_or(row["meta"], jarvis::Json::object());
  return row;
}

std::string opt(const std::string& s) { return s; }

}  // namespace

std::string utc_day() { return jarvis::now_iso().substr(0, 10); }

jarvis::Json ChatStore::create_thread(soci::session& sql, const std::string& id,
                                      const std::string& owner_id, const std::string& channel,
                                      const std::string& external_ref, const std::string& title) {
  const std::string now = jarvis::now_iso();
  if (external_ref.empty()) {
    exec(sql,
         "INSERT INTO chat_threads(id, owner_id, channel, title, status, created_at, updated_at) "
         "VALUES(:i, :o, :c, :t, 'open', :n, :u)",
         {id, owner_id, channel, title, now, now});
  } else {
    exec(sql,
         "INSERT INTO chat_threads(id, owner_id, channel, external_ref, title, status, "
         "created_at, updated_at) VALUES(:i, :o, :c, :e, :t, 'open', :n, :u)",
         {id, owner_id, channel, external_ref, title, now, now});
  }
  return thread(sql, id);
}

jarvis::Json ChatStore::thread(soci::session& sql, const std::string& id) {
  return thread_json(one_row(
      sql, std::string("SELECT ") + kThreadColumns + " FROM chat_threads WHERE id = :i", {id}));
}

jarvis::Json ChatStore::thread_by_external(soci::session& sql, const std::string& channel,
                                           const std::string& external_ref,
                                           const std::string& owner_id) {
  return thread_json(one_row(sql,
                             std::string("SELECT ") + kThreadColumns +
                                 " FROM chat_threads WHERE channel = :c AND external_ref = :e "
                                 "AND owner_id = :o AND status = 'open' "
                                 "ORDER BY created_at DESC LIMIT 1",
                             {channel, external_ref, owner_id}));
}

std::pair<jarvis::Json, long long> ChatStore::list_threads(soci::session& sql,
                                                           const ThreadQuery& q) {
  std::string where = " WHERE 1 = 1";
  Binds binds;
  if (!q.owner_id.empty()) {
    where += " AND owner_id = :o";
    binds.emplace_back(q.owner_id);
  }
  if (!q.status.empty()) {
    where += " AND status = :s";
    binds.emplace_back(q.status);
  }
  if (!q.channel.empty()) {
    where += " AND channel = :ch";
    binds.emplace_back(q.channel);
  }
  long long total = scalar_int(sql, "SELECT COUNT(*) FROM chat_threads" + where, binds);
  Binds page = binds;
  page.emplace_back(q.limit);
  page.emplace_back(q.offset);
  jarvis::Json items = jarvis::Json::array();
  for_each_row(sql,
               std::string("SELECT ") + kThreadColumns + " FROM chat_threads" + where +
                   " ORDER BY updated_at DESC, id LIMIT :l OFFSET :f",
               page, [&](const soci::row& r) { items.push_back(thread_json(row_json(r))); });
  return {items, total};
}

bool ChatStore::update_thread(soci::session& sql, const std::string& id,
                              const jarvis::Json& patch) {
  if (thread(sql, id).is_null()) return false;
  const std::string now = jarvis::now_iso();
  if (patch.contains("title")) {
    exec(sql, "UPDATE chat_threads SET title = :t WHERE id = :i",
         {patch["title"].get<std::string>(), id});
  }
  if (patch.contains("status")) {
    exec(sql, "UPDATE chat_threads SET status = :s WHERE id = :i",
         {patch["status"].get<std::string>(), id});
  }
  if (patch.contains("verbose")) {
    exec(sql, "UPDATE chat_threads SET is_verbose = :v WHERE id = :i",
         {patch["verbose"].get<bool>() ? 1 : 0, id});
  }
  if (patch.contains("active_agent_ids")) {
    exec(sql, "UPDATE chat_threads SET active_agent_ids = :a WHERE id = :i",
         {patch["active_agent_ids"].dump(), id});
  }
  if (patch.contains("model_override")) {
    if (patch["model_override"].is_null()) {
      exec(sql, "UPDATE chat_threads SET model_override = NULL WHERE id = :i", {id});
    } else {
      exec(sql, "UPDATE chat_threads SET model_override = :m WHERE id = :i",
           {patch["model_override"].get<std::string>(), id});
    }
  }
  exec(sql, "UPDATE chat_threads SET updated_at = :u WHERE id = :i", {now, id});
  return true;
}

void ChatStore::delete_thread(soci::session& sql, const std::string& id) {
  exec(sql, "DELETE FROM chat_messages WHERE thread_id = :i", {id});
  exec(sql, "DELETE FROM chat_summaries WHERE thread_id = :i", {id});
  exec(sql, "DELETE FROM chat_steps WHERE thread_id = :i", {id});
  exec(sql, "DELETE FROM chat_channel_keys WHERE thread_id = :i", {id});
  exec(sql, "DELETE FROM chat_threads WHERE id = :i", {id});
}

std::vector<StoredMessage> ChatStore::insert_messages(soci::session& sql,
                                                      const std::string& thread_id,
                                                      const std::vector<NewMessage>& messages) {
  std::vector<StoredMessage> out;
  if (messages.empty()) return out;
  const std::string now = jarvis::now_iso();
  // The UPDATE locks the thread row on PostgreSQL (SQLite has one writer), so the range
  // (next_seq - n, next_seq] belongs to this transaction alone.
  long long n = static_cast<long long>(messages.size());
  if (exec(sql, "UPDATE chat_threads SET next_seq = next_seq + :n, updated_at = :u WHERE id = :i",
           {n, now, thread_id}) == 0) {
    throw jarvis::Error(404, "thread_not_found", "thread " + thread_id + " does not exist");
  }
  long long last = scalar_int(sql, "SELECT next_seq FROM chat_threads WHERE id = :i", {thread_id});
  long long seq = last - n;
  for (const NewMessage& m : messages) {
    StoredMessage s{jarvis::new_id("msg"), ++seq, now};
    Binds b{s.id,
            thread_id,
            s.seq,
            m.role,
            m.content,
            m.tool_calls.is_null() ? std::string() : m.tool_calls.dump(),
            opt(m.tool_call_id),
            opt(m.tool_name),
            opt(m.agent_id),
            opt(m.provider),
            opt(m.model),
            m.input_tokens,
            m.output_tokens,
            m.latency_ms,
            opt(m.step_id),
            opt(m.trace_id),
            opt(m.sender),
            m.meta.dump(),
            now};
    // Empty texts are stored as NULL (NULLIF) so the optional columns read back as null.
    std::string q =
        "INSERT INTO chat_messages(id, thread_id, seq, role, content, tool_calls, tool_call_id, "
        "tool_name, agent_id, provider, model, input_tokens, output_tokens, latency_ms, step_id, "
        "trace_id, sender, meta, created_at, source_event_id) VALUES(:id, :th, :sq, :ro, :co, "
        "NULLIF(:tc, ''), NULLIF(:ti, ''), NULLIF(:tn, ''), NULLIF(:ag, ''), NULLIF(:pr, ''), "
        "NULLIF(:mo, ''), :it, :ot, :la, NULLIF(:st, ''), NULLIF(:tr, ''), NULLIF(:se, ''), :me, "
        ":cr, ";
    if (m.source_event_id.empty()) {
      q += "NULL)";
    } else {
      q += ":ev)";
      b.emplace_back(m.source_event_id);
    }
    exec(sql, q, std::move(b));
    out.push_back(s);
  }
  return out;
}

void ChatStore::update_message_content(soci::session& sql, const std::string& id,
                                       const std::string& content) {
  exec(sql, "UPDATE chat_messages SET content = :c WHERE id = :i", {content, id});
}

jarvis::Json ChatStore::message(soci::session& sql, const std::string& id) {
  return message_json(one_row(
      sql, std::string("SELECT ") + kMessageColumns + " FROM chat_messages WHERE id = :i", {id}));
}

std::optional<long long> ChatStore::message_seq(soci::session& sql, const std::string& thread_id,
                                                const std::string& id) {
  jarvis::Json r = one_row(sql, "SELECT seq FROM chat_messages WHERE id = :i AND thread_id = :t",
                           {id, thread_id});
  if (r.is_null()) return std::nullopt;
  return r["seq"].is_number() ? r["seq"].get<long long>() : std::stoll(r["seq"].get<std::string>());
}

std::pair<jarvis::Json, long long> ChatStore::list_messages(soci::session& sql,
                                                            const std::string& thread_id,
                                                            const MessageQuery& q) {
  std::string where = " WHERE thread_id = :t";
  Binds binds{thread_id};
  if (q.before_seq > 0) {
    where += " AND seq < :b";
    binds.emplace_back(q.before_seq);
  }
  long long total = scalar_int(sql, "SELECT COUNT(*) FROM chat_messages" + where, binds);
  binds.emplace_back(q.limit);
  binds.emplace_back(q.offset);
  jarvis::Json items = jarvis::Json::array();
  for_each_row(sql,
               std::string("SELECT ") + kMessageColumns + " FROM chat_messages" + where +
                   " ORDER BY seq " + (q.newest_first ? "DESC" : "ASC") + " LIMIT :l OFFSET :o",
               binds, [&](const soci::row& r) { items.push_back(message_json(row_json(r))); });
  return {items, total};
}

jarvis::Json ChatStore::recent_messages(soci::session& sql, const std::string& thread_id,
                                        long long after_seq, long long limit) {
  jarvis::Json newest_first =
      all_rows(sql,
               std::string("SELECT ") + kMessageColumns +
                   " FROM chat_messages WHERE thread_id = :t AND seq > :a ORDER BY seq DESC "
                   "LIMIT :l",
               {thread_id, after_seq, limit});
  jarvis::Json out = jarvis::Json::array();
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
    out.push_back(message_json(*it));
  }
  return out;
}

jarvis::Json ChatStore::oldest_messages_after(soci::session& sql, const std::string& thread_id,
                                              long long after_seq, long long limit) {
  jarvis::Json rows = all_rows(
      sql,
      std::string("SELECT ") + kMessageColumns +
          " FROM chat_messages WHERE thread_id = :t AND seq > :a ORDER BY seq ASC LIMIT :l",
      {thread_id, after_seq, limit});
  for (auto& r : rows) r = message_json(r);
  return rows;
}

jarvis::Json ChatStore::messages_between(soci::session& sql, const std::string& thread_id,
                                         long long after_seq, long long up_to_seq) {
  jarvis::Json rows = all_rows(sql,
                               std::string("SELECT ") + kMessageColumns +
                                   " FROM chat_messages WHERE thread_id = :t AND seq > :a AND "
                                   "seq <= :u ORDER BY seq ASC",
                               {thread_id, after_seq, up_to_seq});
  for (auto& r : rows) r = message_json(r);
  return rows;
}

long long ChatStore::count_messages_after(soci::session& sql, const std::string& thread_id,
                                          long long after_seq) {
  return scalar_int(sql, "SELECT COUNT(*) FROM chat_messages WHERE thread_id = :t AND seq > :a",
                    {thread_id, after_seq});
}

bool ChatStore::has_source_event(soci::session& sql, const std::string& event_id) {
  return scalar_int(sql, "SELECT COUNT(*) FROM chat_messages WHERE source_event_id = :e",
                    {event_id}) > 0;
}

jarvis::Json ChatStore::summary(soci::session& sql, const std::string& thread_id) {
  return one_row(sql,
                 "SELECT summary, covers_seq, method, provider, model, updated_at FROM "
                 "chat_summaries WHERE thread_id = :t",
                 {thread_id});
}

void ChatStore::put_summary(soci::session& sql, const std::string& thread_id,
                            const std::string& text, long long covers_seq,
                            const std::string& method, const std::string& provider,
                            const std::string& model) {
  exec(sql, "DELETE FROM chat_summaries WHERE thread_id = :t", {thread_id});
  exec(sql,
       "INSERT INTO chat_summaries(thread_id, summary, covers_seq, method, provider, model, "
       "updated_at) VALUES(:t, :s, :c, :m, NULLIF(:p, ''), NULLIF(:o, ''), :u)",
       {thread_id, text, covers_seq, method, provider, model, jarvis::now_iso()});
}

void ChatStore::create_step(soci::session& sql, const std::string& id, const std::string& thread_id,
                            const std::string& user_id, const std::string& message_id,
                            const std::string& trace_id) {
  exec(sql,
       "INSERT INTO chat_steps(id, thread_id, user_id, message_id, status, trace_id, created_at) "
       "VALUES(:i, :t, :u, :m, 'queued', :r, :c)",
       {id, thread_id, user_id, message_id, trace_id, jarvis::now_iso()});
}

jarvis::Json ChatStore::step(soci::session& sql, const std::string& id) {
  return one_row(sql, "SELECT * FROM chat_steps WHERE id = :i", {id});
}

jarvis::Json ChatStore::active_step(soci::session& sql, const std::string& thread_id) {
  return one_row(sql,
                 "SELECT * FROM chat_steps WHERE thread_id = :t AND status IN ('queued', "
                 "'running') ORDER BY created_at ASC, id LIMIT 1",
                 {thread_id});
}

long long ChatStore::active_steps_of_user(soci::session& sql, const std::string& user_id,
                                          const std::string& since) {
  return scalar_int(sql,
                    "SELECT COUNT(*) FROM chat_steps WHERE user_id = :u AND status IN ('queued', "
                    "'running') AND created_at > :s",
                    {user_id, since});
}

std::string ChatStore::start_step(soci::session& sql, const std::string& id,
                                  const std::string& thread_id, const std::string& stale_before) {
  const std::string now = jarvis::now_iso();
  long long taken = exec(
      sql,
      // One step per thread at a time, in the order of the messages: not while another step of
      // the thread runs (a live heartbeat), nor while an older one still waits to start (created
      // within the stale window and not cancelled, so a step whose task is lost holds nobody
      // for longer than that window). "Older" is the message's seq in the thread — exact, where
      // created_at (milliseconds) ties — and created_at only for a step without a message.
      "UPDATE chat_steps SET status = 'running', started_at = :n, heartbeat_at = :h WHERE id = "
      ":i AND status IN ('queued', 'running') AND cancel_requested = 0 AND NOT EXISTS (SELECT 1 "
      "FROM chat_steps o WHERE o.thread_id = :t AND o.id <> :j AND ((o.status = 'running' AND "
      "o.heartbeat_at > :s) OR (o.status = 'queued' AND o.cancel_requested = 0 AND "
      "o.created_at > :s2 AND (SELECT COALESCE(om.seq < mm.seq, o.created_at < m.created_at) "
      "FROM chat_steps m LEFT JOIN chat_messages mm ON mm.id = m.message_id LEFT JOIN "
      "chat_messages om ON om.id = o.message_id WHERE m.id = :k))))",
      {now, now, id, thread_id, id, stale_before, stale_before, id});
  if (taken > 0) return "running";
  jarvis::Json row =
      one_row(sql, "SELECT status, cancel_requested FROM chat_steps WHERE id = :i", {id});
  if (row.is_null()) return "missing";
  std::string status = row["status"];
  if (status == "queued" || status == "running") {
    bool cancel = row["cancel_requested"].is_number() && row["cancel_requested"].get<long long>();
    return cancel ? "cancel_requested" : "busy";
  }
  return status;
}

bool ChatStore::heartbeat_step(soci::session& sql, const std::string& id) {
  exec(sql, "UPDATE chat_steps SET heartbeat_at = :h WHERE id = :i", {jarvis::now_iso(), id});
  return scalar_int(sql, "SELECT cancel_requested FROM chat_steps WHERE id = :i", {id}) != 0;
}

void ChatStore::finish_step(soci::session& sql, const std::string& id, const std::string& status,
                            const std::string& reply_message_id, bool degraded,
                            const std::string& error) {
  exec(sql,
       "UPDATE chat_steps SET status = :s, reply_message_id = NULLIF(:r, ''), degraded = :d, "
       "error = NULLIF(:e, ''), finished_at = :f WHERE id = :i",
       {status, reply_message_id, degraded ? 1 : 0, error, jarvis::now_iso(), id});
}

std::vector<std::string> ChatStore::request_cancel(soci::session& sql,
                                                   const std::string& thread_id) {
  std::vector<std::string> ids;
  for (const auto& r : all_rows(sql,
                                "SELECT id FROM chat_steps WHERE thread_id = :t AND status IN "
                                "('queued', 'running')",
                                {thread_id})) {
    ids.push_back(r["id"]);
  }
  exec(sql,
       "UPDATE chat_steps SET cancel_requested = 1 WHERE thread_id = :t AND status IN ('queued', "
       "'running')",
       {thread_id});
  return ids;
}

void ChatStore::add_usage(soci::session& sql, const std::string& user_id, const std::string& day,
                          long long input_tokens, long long output_tokens, long long steps) {
  exec(sql,
       "INSERT INTO chat_usage(user_id, day, input_tokens, output_tokens, steps) VALUES(:u, :d, "
       ":i, :o, :s) ON CONFLICT(user_id, day) DO UPDATE SET input_tokens = "
       "chat_usage.input_tokens + excluded.input_tokens, output_tokens = "
       "chat_usage.output_tokens + excluded.output_tokens, steps = chat_usage.steps + "
       "excluded.steps",
       {user_id, day, input_tokens, output_tokens, steps});
}

void ChatStore::add_purpose_usage(soci::session& sql, const std::string& day,
                                  const std::string& user_id, const std::string& purpose,
                                  long long input_tokens, long long output_tokens) {
  exec(sql,
       "INSERT INTO chat_purpose_usage(day, user_id, purpose, input_tokens, output_tokens, calls) "
       "VALUES(:d, :u, :p, :i, :o, 1) ON CONFLICT(day, user_id, purpose) DO UPDATE SET "
       "input_tokens = chat_purpose_usage.input_tokens + excluded.input_tokens, output_tokens = "
       "chat_purpose_usage.output_tokens + excluded.output_tokens, calls = "
       "chat_purpose_usage.calls + 1",
       {day, user_id, purpose, input_tokens, output_tokens});
}

jarvis::Json ChatStore::purpose_usage(soci::session& sql, const std::string& day) {
  return all_rows(sql,
                  "SELECT purpose, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS "
                  "output_tokens, SUM(calls) AS calls FROM chat_purpose_usage WHERE day = :d "
                  "GROUP BY purpose ORDER BY purpose",
                  {day});
}

std::pair<std::string, bool> ChatStore::channel_thread(soci::session& sql,
                                                       const std::string& channel,
                                                       const std::string& external_ref,
                                                       const std::string& owner_id,
                                                       const std::string& candidate_id) {
  // A conversation from before the key table (or one /new moved on) has an open thread: the key
  // then points at it rather than at a new one.
  const jarvis::Json open = thread_by_external(sql, channel, external_ref, owner_id);
  const std::string want = open.is_null() ? candidate_id : open["id"].get<std::string>();
  const std::string now = jarvis::now_iso();
  const char* kKey =
      "SELECT thread_id FROM chat_channel_keys WHERE channel = :c AND "
      "external_ref = :e AND owner_id = :o";
  auto create_if_new = [&](const std::string& id) -> std::pair<std::string, bool> {
    if (id == candidate_id && open.is_null()) {
      create_thread(sql, candidate_id, owner_id, channel, external_ref, "");
      return {candidate_id, true};
    }
    return {id, false};
  };
  // On PostgreSQL a second transaction inserting the same key waits here until the first
  // commits, then inserts nothing; the next statement sees the first one's row.
  exec(sql,
       "INSERT INTO chat_channel_keys(channel, external_ref, owner_id, thread_id, updated_at) "
       "VALUES(:c, :e, :o, :t, :n) ON CONFLICT(channel, external_ref, owner_id) DO NOTHING",
       {channel, external_ref, owner_id, want, now});
  jarvis::Json row = one_row(sql, kKey, {channel, external_ref, owner_id});
  std::string mapped = row.is_null() ? "" : row.value("thread_id", "");
  if (mapped == want) return create_if_new(want);
  const jarvis::Json t = mapped.empty() ? jarvis::Json() : thread(sql, mapped);
  if (!t.is_null() && t.value("status", "") == "open" && t.value("owner_id", "") == owner_id) {
    return {mapped, false};
  }
  // The key names a closed or deleted thread: move it to ours unless someone else just did.
  if (exec(sql,
           "UPDATE chat_channel_keys SET thread_id = :t, updated_at = :n WHERE channel = :c AND "
           "external_ref = :e AND owner_id = :o AND thread_id = :m",
           {want, now, channel, external_ref, owner_id, mapped}) == 1) {
    return create_if_new(want);
  }
  row = one_row(sql, kKey, {channel, external_ref, owner_id});
  return {row.is_null() ? want : row.value("thread_id", want), false};
}

long long ChatStore::tokens_used(soci::session& sql, const std::string& user_id,
                                 const std::string& day) {
  return scalar_int(sql,
                    "SELECT input_tokens + output_tokens FROM chat_usage WHERE user_id = :u AND "
                    "day = :d",
                    {user_id, day});
}

}  // namespace chat
