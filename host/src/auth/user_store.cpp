// host/src/auth/user_store.cpp — SQL for users and token digests (portable SQLite/PostgreSQL).
#include "auth/user_store.h"

#include <algorithm>

#include "jarvis/error.h"

namespace jarvis::host {
namespace {

constexpr const char* kUserColumns =
    "id, username, password_hash, role, disabled, created_at, updated_at";

/// Binds the columns of kUserColumns into a UserRecord.
struct UserRow {
  UserRecord rec;
  std::string role;
  int disabled = 0;

  void bind(soci::statement& st) {
    st.exchange(soci::into(rec.id));
    st.exchange(soci::into(rec.username));
    st.exchange(soci::into(rec.password_hash));
    st.exchange(soci::into(role));
    st.exchange(soci::into(disabled));
    st.exchange(soci::into(rec.created_at));
    st.exchange(soci::into(rec.updated_at));
  }
  UserRecord done() const {
    UserRecord r = rec;
    r.role = role == "admin" ? jarvis::Role::Admin : jarvis::Role::User;
    r.disabled = disabled != 0;
    return r;
  }
};

std::vector<UserRecord> query_users(jarvis::Database& db, const std::string& where,
                                    const std::string& param) {
  auto sql = db.session();
  UserRow row;
  soci::statement st(*sql);
  row.bind(st);
  std::string text = std::string("SELECT ") + kUserColumns + " FROM users " + where;
  std::string p = param;
  if (!param.empty()) st.exchange(soci::use(p));
  st.alloc();
  st.prepare(text);
  st.define_and_bind();
  st.execute(false);
  std::vector<UserRecord> out;
  while (st.fetch()) out.push_back(row.done());
  return out;
}

std::string role_text(jarvis::Role r) { return jarvis::to_string(r); }

}  // namespace

UserStore::UserStore(jarvis::Database& db) : db_(db) {}

std::optional<UserRecord> UserStore::find_by_name(const std::string& username) {
  auto rows = query_users(db_, "WHERE username = :u", username);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<UserRecord> UserStore::find_by_id(const std::string& id) {
  auto rows = query_users(db_, "WHERE id = :id", id);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<UserRecord> UserStore::list() {
  return query_users(db_, "ORDER BY created_at, username", "");
}

UserRecord UserStore::create(const std::string& username, const std::string& password_hash,
                             jarvis::Role role) {
  if (find_by_name(username)) {
    throw jarvis::Error(409, "user_exists", "user '" + username + "' already exists");
  }
  UserRecord r{jarvis::new_id("usr"), username, password_hash, role, false, jarvis::now_iso(), ""};
  r.updated_at = r.created_at;
  std::string role_s = role_text(role);
  try {
    auto sql = db_.session();
    *sql
        << "INSERT INTO users(id, username, password_hash, role, disabled, created_at, updated_at) "
           "VALUES(:id, :u, :h, :r, 0, :c, :m)",
        soci::use(r.id), soci::use(r.username), soci::use(r.password_hash), soci::use(role_s),
        soci::use(r.created_at), soci::use(r.updated_at);
  } catch (const std::exception&) {
    // Lost a race with another insert of the same name: report it as the conflict it is.
    if (find_by_name(username)) {
      throw jarvis::Error(409, "user_exists", "user '" + username + "' already exists");
    }
    throw;
  }
  return r;
}

std::optional<UserRecord> UserStore::create_first_admin(const std::string& username,
                                                        const std::string& password_hash) {
  if (find_by_name(username)) {
    throw jarvis::Error(409, "user_exists", "user '" + username + "' already exists");
  }
  UserRecord r{jarvis::new_id("usr"), username, password_hash, jarvis::Role::Admin, false,
               jarvis::now_iso(),     ""};
  r.updated_at = r.created_at;
  long long inserted = 0;
  {
    auto sql = db_.session();
    soci::transaction tx(*sql);
    if (db_.dialect() == jarvis::Dialect::Postgresql) {
      // Serialises concurrent bootstraps across processes until this transaction ends.
      *sql << "SELECT pg_advisory_xact_lock(7007020)";
    }
    soci::statement st =
        (sql->prepare << "INSERT INTO users(id, username, password_hash, role, disabled, "
                         "created_at, updated_at) SELECT :id, :u, :h, 'admin', 0, :c, :m "
                         "WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
         soci::use(r.id), soci::use(r.username), soci::use(r.password_hash),
         soci::use(r.created_at), soci::use(r.updated_at));
    st.execute(true);
    inserted = st.get_affected_rows();
    tx.commit();
  }
  if (inserted == 0) return std::nullopt;
  return r;
}

bool UserStore::any_admin() {
  auto sql = db_.session();
  int n = 0;
  *sql << "SELECT COUNT(*) FROM users WHERE role = 'admin'", soci::into(n);
  return n > 0;
}

int UserStore::active_admin_count() {
  auto sql = db_.session();
  int n = 0;
  *sql << "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0", soci::into(n);
  return n;
}

void UserStore::set_role(const std::string& user_id, jarvis::Role role) {
  auto sql = db_.session();
  std::string r = role_text(role), now = jarvis::now_iso();
  *sql << "UPDATE users SET role = :r, updated_at = :m WHERE id = :id", soci::use(r),
      soci::use(now), soci::use(user_id);
}

void UserStore::set_disabled(const std::string& user_id, bool disabled) {
  auto sql = db_.session();
  int d = disabled ? 1 : 0;
  std::string now = jarvis::now_iso();
  *sql << "UPDATE users SET disabled = :d, updated_at = :m WHERE id = :id", soci::use(d),
      soci::use(now), soci::use(user_id);
}

void UserStore::set_password_hash(const std::string& user_id, const std::string& hash) {
  auto sql = db_.session();
  std::string now = jarvis::now_iso();
  *sql << "UPDATE users SET password_hash = :h, updated_at = :m WHERE id = :id", soci::use(hash),
      soci::use(now), soci::use(user_id);
}

TokenRecord UserStore::insert_token(const std::string& user_id, const std::string& digest,
                                    const std::string& kind, const std::string& label,
                                    const std::string& expires_at) {
  TokenRecord t;
  t.id = jarvis::new_id("tok");
  t.user_id = user_id;
  t.kind = kind;
  t.label = label;
  t.created_at = jarvis::now_iso();
  t.expires_at = expires_at;
  auto sql = db_.session();
  *sql << "INSERT INTO auth_tokens(id, user_id, token_hash, kind, label, created_at, expires_at) "
          "VALUES(:id, :u, :h, :k, :l, :c, :e)",
      soci::use(t.id), soci::use(t.user_id), soci::use(digest), soci::use(t.kind),
      soci::use(t.label), soci::use(t.created_at), soci::use(t.expires_at);
  return t;
}

std::optional<TokenGrant> UserStore::lookup_token(const std::string& digest,
                                                  const std::string& now) {
  auto sql = db_.session();
  TokenGrant g;
  std::string role;
  std::string last_used;
  soci::indicator last_ind = soci::i_null;
  *sql << "SELECT t.id, t.kind, t.expires_at, t.last_used_at, u.id, u.username, u.role "
          "FROM auth_tokens t JOIN users u ON u.id = t.user_id "
          "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > :now "
          "AND u.disabled = 0",
      soci::use(digest), soci::use(now), soci::into(g.token_id), soci::into(g.kind),
      soci::into(g.expires_at), soci::into(last_used, last_ind), soci::into(g.principal.user_id),
      soci::into(g.principal.username), soci::into(role);
  if (!sql->got_data()) return std::nullopt;
  if (last_ind == soci::i_ok) g.last_used_at = last_used;
  g.principal.role = role == "admin" ? jarvis::Role::Admin : jarvis::Role::User;
  g.principal.authenticated = true;
  return g;
}

std::unordered_map<std::string, TokenGrant> UserStore::lookup_tokens(
    const std::vector<std::string>& digests, const std::string& now) {
  constexpr std::size_t kChunk = 500;
  std::unordered_map<std::string, TokenGrant> out;
  std::vector<std::string> wanted;
  for (const auto& d : digests) {
    if (!d.empty()) wanted.push_back(d);
  }
  if (wanted.empty()) return out;
  auto sql = db_.session();
  for (std::size_t start = 0; start < wanted.size(); start += kChunk) {
    std::size_t end = std::min(wanted.size(), start + kChunk);
    std::string text =
        "SELECT t.token_hash, t.id, t.kind, t.expires_at, u.id, u.username, u.role "
        "FROM auth_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.revoked_at IS NULL AND t.expires_at > :now AND u.disabled = 0 "
        "AND t.token_hash IN (";
    for (std::size_t i = start; i < end; ++i) {
      text += (i == start ? ":h" : ", :h") + std::to_string(i - start);
    }
    text += ")";
    std::string now_v = now;
    std::string hash, id, kind, expires, uid, uname, role;
    soci::statement st(*sql);
    st.exchange(soci::into(hash));
    st.exchange(soci::into(id));
    st.exchange(soci::into(kind));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(uid));
    st.exchange(soci::into(uname));
    st.exchange(soci::into(role));
    st.exchange(soci::use(now_v));
    for (std::size_t i = start; i < end; ++i) st.exchange(soci::use(wanted[i]));
    st.alloc();
    st.prepare(text);
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      TokenGrant g;
      g.token_id = id;
      g.kind = kind;
      g.expires_at = expires;
      g.principal.user_id = uid;
      g.principal.username = uname;
      g.principal.role = role == "admin" ? jarvis::Role::Admin : jarvis::Role::User;
      g.principal.authenticated = true;
      out[hash] = std::move(g);
    }
  }
  return out;
}

void UserStore::touch_token(const std::string& token_id, const std::string& now) {
  auto sql = db_.session();
  *sql << "UPDATE auth_tokens SET last_used_at = :n WHERE id = :id", soci::use(now),
      soci::use(token_id);
}

bool UserStore::revoke_token(const std::string& token_id) {
  auto sql = db_.session();
  std::string now = jarvis::now_iso();
  soci::statement st = (sql->prepare << "UPDATE auth_tokens SET revoked_at = :n "
                                        "WHERE id = :id AND revoked_at IS NULL",
                        soci::use(now), soci::use(token_id));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool UserStore::revoke_digest(const std::string& digest) {
  auto sql = db_.session();
  std::string now = jarvis::now_iso();
  soci::statement st = (sql->prepare << "UPDATE auth_tokens SET revoked_at = :n "
                                        "WHERE token_hash = :h AND revoked_at IS NULL",
                        soci::use(now), soci::use(digest));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

int UserStore::revoke_user_tokens(const std::string& user_id, const std::string& kind) {
  auto sql = db_.session();
  std::string now = jarvis::now_iso();
  std::string k = kind;
  soci::statement st =
      kind.empty() ? (sql->prepare << "UPDATE auth_tokens SET revoked_at = :n WHERE user_id = :u "
                                      "AND revoked_at IS NULL",
                      soci::use(now), soci::use(user_id))
                   : (sql->prepare << "UPDATE auth_tokens SET revoked_at = :n WHERE user_id = :u "
                                      "AND kind = :k AND revoked_at IS NULL",
                      soci::use(now), soci::use(user_id), soci::use(k));
  st.execute(true);
  return static_cast<int>(st.get_affected_rows());
}

std::vector<TokenRecord> UserStore::list_tokens(const std::string& user_id) {
  auto sql = db_.session();
  TokenRecord t;
  std::string last_used, revoked;
  soci::indicator last_ind = soci::i_null, rev_ind = soci::i_null;
  std::string u = user_id;
  std::string text =
      "SELECT t.id, t.user_id, u.username, t.kind, t.label, t.created_at, t.expires_at, "
      "t.last_used_at, t.revoked_at FROM auth_tokens t JOIN users u ON u.id = t.user_id ";
  text += user_id.empty() ? "WHERE :u = ''" : "WHERE t.user_id = :u";
  text += " ORDER BY t.created_at DESC, t.id";
  soci::statement st =
      (sql->prepare << text, soci::use(u), soci::into(t.id), soci::into(t.user_id),
       soci::into(t.username), soci::into(t.kind), soci::into(t.label), soci::into(t.created_at),
       soci::into(t.expires_at), soci::into(last_used, last_ind), soci::into(revoked, rev_ind));
  st.execute(false);
  std::vector<TokenRecord> out;
  while (st.fetch()) {
    TokenRecord r = t;
    r.last_used_at = last_ind == soci::i_ok ? last_used : "";
    r.revoked_at = rev_ind == soci::i_ok ? revoked : "";
    out.push_back(std::move(r));
  }
  return out;
}

int UserStore::purge_expired(const std::string& before) {
  auto sql = db_.session();
  soci::statement st =
      (sql->prepare << "DELETE FROM auth_tokens WHERE expires_at < :b", soci::use(before));
  st.execute(true);
  return static_cast<int>(st.get_affected_rows());
}

}  // namespace jarvis::host
