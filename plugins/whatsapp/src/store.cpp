// whatsapp/src/store.cpp — see store.h.
#include "store.h"

#include <atomic>
#include <cstdio>

namespace whatsapp {

namespace sql = jarvis::sql;

std::string Store::user_for_chat(const std::string& chat_jid) {
  return "wa_" + jarvis::sha256_hex(chat_jid).substr(0, 24);
}

ChatRef Store::bump_chat(soci::session& s, const std::string& chat_jid, bool is_group) {
  const std::string now = jarvis::now_iso();
  ChatRef ref;
  ref.user_id = user_for_chat(chat_jid);
  // Known chats (the common case) take one UPDATE … RETURNING; a new one is inserted with
  // next_seq 1 (SQLite >= 3.35 and PostgreSQL both return the row).
  jarvis::Json row = sql::one_row(s,
                                  "UPDATE whatsapp_chats SET next_seq = next_seq + 1, updated_at "
                                  "= :t WHERE chat_jid = :j RETURNING next_seq",
                                  {now, chat_jid});
  if (row.is_null()) {
    row = sql::one_row(s,
                       "INSERT INTO whatsapp_chats(chat_jid, user_id, is_group, next_seq, "
                       "created_at, updated_at) VALUES(:j, :u, :g, 1, :c, :t) ON CONFLICT "
                       "(chat_jid) DO UPDATE SET next_seq = whatsapp_chats.next_seq + 1, "
                       "updated_at = :t2 RETURNING next_seq",
                       {chat_jid, ref.user_id, is_group ? 1 : 0, now, now, now});
  }
  // RETURNING columns may come back without a declared type (as text) on SQLite.
  const jarvis::Json v = row.is_object() ? row["next_seq"] : jarvis::Json();
  ref.seq = v.is_number()   ? v.get<long long>()
            : v.is_string() ? std::stoll(v.get<std::string>())
                            : 0;
  if (ref.seq <= 0) throw std::runtime_error("whatsapp_chats: no sequence number for " + chat_jid);
  return ref;
}

AdmitFacts Store::admit_facts(soci::session& s, const std::string& instance,
                              const std::string& key_id, const std::string& sender) {
  jarvis::Json j = sql::one_row(
      s,
      "SELECT (SELECT COUNT(*) FROM whatsapp_messages WHERE instance = :i AND key_id = :k) AS "
      "seen, (SELECT COUNT(*) FROM whatsapp_senders WHERE sender = :s) AS known, (SELECT "
      "decision FROM whatsapp_senders WHERE sender = :s2) AS decision",
      {instance, key_id, sender, sender});
  AdmitFacts f;
  if (!j.is_object()) return f;
  // SQLite gives expression columns no declared type: soci may hand the counts over as text.
  auto positive = [](const jarvis::Json& v) {
    if (v.is_number()) return v.get<long long>() > 0;
    return v.is_string() && !v.get<std::string>().empty() && v.get<std::string>() != "0";
  };
  f.seen = positive(j["seen"]);
  f.sender_known = positive(j["known"]);
  if (f.sender_known)
    f.decision = j["decision"].is_string() ? j["decision"].get<std::string>() : "";
  return f;
}

bool Store::chat_has_pending(soci::session& s, const std::string& chat_jid) {
  return !sql::one_row(s,
                       "SELECT seq FROM whatsapp_messages WHERE chat_jid = :c AND status IN "
                       "('received', 'ready') LIMIT 1",
                       {chat_jid})
              .is_null();
}

void Store::lock_chat(soci::session& s, const std::string& chat_jid) {
  sql::exec(s, "UPDATE whatsapp_chats SET updated_at = updated_at WHERE chat_jid = :j", {chat_jid});
}

bool Store::chat_exists(soci::session& s, const std::string& chat_jid) {
  return sql::scalar_int(s, "SELECT COUNT(*) FROM whatsapp_chats WHERE chat_jid = :j", {chat_jid}) >
         0;
}

bool Store::insert_message(soci::session& s, const MessageRow& r) {
  const std::string now = jarvis::now_iso();
  return sql::exec(s,
                   "INSERT INTO whatsapp_messages(id, instance, key_id, chat_jid, sender, "
                   "participant, push_name, kind, text, payload, status, seq, user_id, "
                   "event_id, process_task, created_at, updated_at) VALUES(:i, :in, :k, :c, :s, "
                   ":p, :n, :kind, :t, :pl, :st, :seq, :u, :e, :pt, :ca, :ua) ON CONFLICT "
                   "(instance, key_id) DO NOTHING",
                   {r.id, r.instance, r.key_id, r.chat_jid, r.sender, r.participant, r.push_name,
                    r.kind, r.text, r.payload, r.status, r.seq, r.user_id,
                    r.event_id.empty() ? sql::Bind::null() : sql::Bind(r.event_id),
                    r.process_task.empty() ? sql::Bind::null() : sql::Bind(r.process_task), now,
                    now}) > 0;
}

std::optional<MessageRow> Store::message(soci::session& s, const std::string& id) {
  jarvis::Json j = sql::one_row(s,
                                "SELECT id, instance, key_id, chat_jid, sender, participant, "
                                "push_name, kind, text, payload, status, seq, user_id FROM "
                                "whatsapp_messages WHERE id = :i",
                                {id});
  if (j.is_null()) return std::nullopt;
  auto t = [&](const char* k) { return j[k].is_string() ? j[k].get<std::string>() : ""; };
  MessageRow r{.id = t("id"),
               .instance = t("instance"),
               .key_id = t("key_id"),
               .chat_jid = t("chat_jid"),
               .sender = t("sender"),
               .participant = t("participant"),
               .push_name = t("push_name"),
               .kind = t("kind"),
               .text = t("text"),
               .payload = t("payload"),
               .status = t("status"),
               .seq = j["seq"].is_number() ? j["seq"].get<long long>() : 0,
               .user_id = t("user_id")};
  return r;
}

void Store::update_message(soci::session& s, const std::string& id, const std::string& status,
                           const std::string& text, const std::string& event_id) {
  sql::exec(s,
            "UPDATE whatsapp_messages SET status = :s, text = :t, event_id = :e, updated_at = :u "
            "WHERE id = :i",
            {status, text, event_id.empty() ? sql::Bind::null() : sql::Bind(event_id),
             jarvis::now_iso(), id});
}

void Store::ensure_sender(soci::session& s, const std::string& sender) {
  const std::string now = jarvis::now_iso();
  sql::exec(s,
            "INSERT INTO whatsapp_senders(sender, first_seen, updated_at) VALUES(:s, :f, :u) "
            "ON CONFLICT (sender) DO NOTHING",
            {sender, now, now});
}

void Store::decide_sender(soci::session& s, const std::string& sender, const std::string& decision,
                          const std::string& reason, const std::string& by) {
  ensure_sender(s, sender);
  sql::exec(s,
            "UPDATE whatsapp_senders SET decision = :d, reason = :r, decided_by = :b, updated_at "
            "= :u WHERE sender = :s",
            {decision, reason, by, jarvis::now_iso(), sender});
}

bool Store::hold(soci::session& s, const std::string& id, const std::string& instance,
                 const std::string& sender, const std::string& key_id, const std::string& chat_jid,
                 const std::string& push_name, const std::string& preview,
                 const std::string& payload) {
  static std::atomic<unsigned long long> counter{0};
  const std::string now = jarvis::now_iso();
  char buf[32];
  std::snprintf(buf, sizeof buf, ".%012llu", counter.fetch_add(1) % 1000000000000ULL);
  const std::string arrival = now + buf;
  return sql::exec(s,
                   "INSERT INTO whatsapp_review_queue(id, instance, sender, key_id, chat_jid, "
                   "push_name, preview, payload, status, created_at, arrival) VALUES(:i, :in, "
                   ":s, :k, :c, :n, :p, :pl, 'open', :t, :a) ON CONFLICT (instance, key_id) DO "
                   "NOTHING",
                   {id, instance, sender, key_id, chat_jid, push_name, preview, payload, now,
                    arrival}) > 0;
}

namespace {
constexpr const char* kReviewCols =
    "id, sender, key_id, chat_jid, push_name, preview, status, reason, resolved_by, created_at, "
    "resolved_at";
}

jarvis::Json Store::review_row(soci::session& s, const std::string& id) {
  return sql::one_row(
      s, std::string("SELECT ") + kReviewCols + " FROM whatsapp_review_queue WHERE id = :i", {id});
}

jarvis::Json Store::open_reviews_of(soci::session& s, const std::string& sender) {
  return sql::all_rows(s,
                       "SELECT id, instance, key_id, chat_jid, payload FROM whatsapp_review_queue "
                       "WHERE sender = :s AND status = 'open' ORDER BY arrival, id",
                       {sender});
}

long long Store::resolve_sender(soci::session& s, const std::string& sender,
                                const std::string& status, const std::string& reason,
                                const std::string& by) {
  return sql::exec(s,
                   "UPDATE whatsapp_review_queue SET status = :st, reason = :r, resolved_by = :b, "
                   "resolved_at = :t WHERE sender = :s AND status = 'open'",
                   {status, reason, by, jarvis::now_iso(), sender});
}

jarvis::Json Store::list_reviews(soci::session& s, const std::string& status, long long limit,
                                 long long offset) {
  return sql::all_rows(s,
                       std::string("SELECT ") + kReviewCols +
                           " FROM whatsapp_review_queue WHERE (:s = '' OR status = :s2) ORDER BY "
                           "created_at DESC, id DESC LIMIT :l OFFSET :o",
                       {status, status, limit, offset});
}

long long Store::count_reviews(soci::session& s, const std::string& status) {
  return sql::scalar_int(
      s, "SELECT COUNT(*) FROM whatsapp_review_queue WHERE (:s = '' OR status = :s2)",
      {status, status});
}

}  // namespace whatsapp
