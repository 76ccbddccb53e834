// tests/support/fakes/fake_evolution.cpp — see fake_evolution.h.
#include "support/fakes/fake_evolution.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace jarvis::test::fakes {
namespace {

using nlohmann::json;

const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64(const std::string& in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Evolution's error envelope: {status, error, response: {message: [..]}}.
json evo_error(int status, const std::string& message) {
  const char* name = status == 400   ? "Bad Request"
                     : status == 401 ? "Unauthorized"
                     : status == 403 ? "Forbidden"
                     : status == 404 ? "Not Found"
                     : status == 429 ? "Too Many Requests"
                                     : "Internal Server Error";
  return {{"status", status}, {"error", name}, {"response", {{"message", json::array({message})}}}};
}

bool respond(Responder& out, int status, const json& body) {
  return out.respond(status, body.dump(), {{"Content-Type", "application/json; charset=utf-8"}});
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", std::gmtime(&t));
  return buf;
}

// `path` split after the prefix: "/instance/connect/jarvis" with prefix "/instance/connect/".
bool after(const std::string& path, const std::string& prefix, std::string* rest) {
  if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return false;
  *rest = path.substr(prefix.size());
  return rest->find('/') == std::string::npos;
}

std::string pct_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

const std::vector<std::string> kEvents = {"APPLICATION_STARTUP",
                                          "QRCODE_UPDATED",
                                          "MESSAGES_SET",
                                          "MESSAGES_UPSERT",
                                          "MESSAGES_EDITED",
                                          "MESSAGES_UPDATE",
                                          "MESSAGES_DELETE",
                                          "SEND_MESSAGE",
                                          "CONTACTS_SET",
                                          "CONTACTS_UPSERT",
                                          "CONTACTS_UPDATE",
                                          "PRESENCE_UPDATE",
                                          "CHATS_SET",
                                          "CHATS_UPSERT",
                                          "CHATS_UPDATE",
                                          "CHATS_DELETE",
                                          "GROUPS_UPSERT",
                                          "GROUP_UPDATE",
                                          "GROUP_PARTICIPANTS_UPDATE",
                                          "CONNECTION_UPDATE",
                                          "LABELS_EDIT",
                                          "LABELS_ASSOCIATION",
                                          "CALL",
                                          "TYPEBOT_START",
                                          "TYPEBOT_CHANGE_STATUS",
                                          "REMOVE_INSTANCE",
                                          "LOGOUT_INSTANCE"};

// One HTTP/1.1 POST to an http://127.0.0.1:PORT/… URL; returns the status and fills `body`.
int post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
         const std::string& payload, std::string* body) {
  const std::string prefix = "http://127.0.0.1:";
  if (url.rfind(prefix, 0) != 0) return 0;
  std::string rest = url.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  const int port = std::stoi(rest.substr(0, slash));
  const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return 0;
  }
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(payload.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + payload;
  std::size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (resp.size() < 12) return 0;
  const std::size_t head_end = resp.find("\r\n\r\n");
  if (body) *body = head_end == std::string::npos ? "" : resp.substr(head_end + 4);
  return std::stoi(resp.substr(9, 3));
}

json key_of(const std::string& remote_jid, const std::string& key_id) {
  return {{"remoteJid", remote_jid}, {"fromMe", false}, {"id", key_id}, {"addressingMode", "pn"}};
}

json record(json key, json message, const std::string& type, const std::string& push_name) {
  return {{"key", std::move(key)},
          {"pushName", push_name},
          {"status", "DELIVERY_ACK"},
          {"message", std::move(message)},
          {"contextInfo", json::object()},
          {"messageType", type},
          {"messageTimestamp", 1733040000},
          {"instanceId", "4f6b3a0e-0000-4000-8000-00000000beef"},
          {"source", "android"}};
}

}  // namespace

FakeEvolution::FakeEvolution(std::string api_key) : api_key_(std::move(api_key)) {
  server_ = std::make_unique<LoopbackServer>(
      [this](const HttpRequest& req, Responder& out) { handle(req, out); });
}

FakeEvolution::~FakeEvolution() { server_.reset(); }

std::string FakeEvolution::base_url() const { return server_->url(); }

void FakeEvolution::set_state(const std::string& instance, const std::string& state) {
  std::lock_guard lock(mu_);
  Instance& i = instances_[instance];
  if (i.name.empty()) {
    i.name = instance;
    i.id = "inst-" + instance;
    i.token = "tok-" + instance;
    i.integration = "WHATSAPP-BAILEYS";
  }
  i.state = state;
}

void FakeEvolution::remove_instance(const std::string& instance) {
  std::lock_guard lock(mu_);
  instances_.erase(instance);
}

void FakeEvolution::add_media(const std::string& key_id, const std::string& bytes,
                              const std::string& mimetype, const std::string& file_name) {
  std::lock_guard lock(mu_);
  media_[key_id] = {bytes, mimetype, file_name};
}

void FakeEvolution::fail_next_sends(std::vector<int> statuses) {
  std::lock_guard lock(mu_);
  send_failures_ = std::move(statuses);
}

void FakeEvolution::fail_next(const std::string& path_prefix, std::vector<int> statuses) {
  std::lock_guard lock(mu_);
  path_failures_[path_prefix] = std::move(statuses);
}

std::vector<json> FakeEvolution::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

std::vector<HttpRequest> FakeEvolution::requests() const { return server_->requests(); }

json FakeEvolution::webhook(const std::string& instance) const {
  std::lock_guard lock(mu_);
  auto it = instances_.find(instance);
  return it == instances_.end() ? json() : it->second.webhook;
}

std::string FakeEvolution::pairing_code_for(const std::string& number) const {
  std::lock_guard lock(mu_);
  auto it = pairing_codes_.find(number);
  return it == pairing_codes_.end() ? "" : it->second;
}

std::string FakeEvolution::last_delivery_body() const {
  std::lock_guard lock(mu_);
  return last_delivery_body_;
}

FakeEvolution::Instance* FakeEvolution::find(const std::string& name) {
  auto it = instances_.find(name);
  return it == instances_.end() ? nullptr : &it->second;
}

bool FakeEvolution::authorized(const HttpRequest& req, const std::string& instance) const {
  const std::string key = req.header("apikey");
  if (key.empty()) return false;
  if (key == api_key_) return true;
  auto it = instances_.find(instance);
  return it != instances_.end() && key == it->second.token;
}

int FakeEvolution::deliver(const std::string& instance, const json& data,
                           const std::string& event) {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  json envelope;
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(instance);
    if (it == instances_.end() || !it->second.webhook.is_object() ||
        !it->second.webhook.value("enabled", false)) {
      return -1;
    }
    const json& w = it->second.webhook;
    url = w.value("url", "");
    if (w.value("webhookByEvents", false)) {
      std::string suffix = event;
      for (char& c : suffix) c = c == '.' || c == '_' ? '-' : static_cast<char>(std::tolower(c));
      url += "/" + suffix;
    }
    if (w.contains("headers") && w["headers"].is_object()) {
      for (auto h = w["headers"].begin(); h != w["headers"].end(); ++h) {
        if (h.value().is_string()) headers.emplace_back(h.key(), h.value().get<std::string>());
      }
    }
    envelope = {{"event", event},
                {"instance", instance},
                {"data", data},
                {"destination", url},
                {"date_time", now_text()},
                {"sender", "5511900000000@s.whatsapp.net"},
                {"server_url", base_url()},
                {"apikey", it->second.token}};
  }
  std::string body;
  int status = post(url, headers, envelope.dump(), &body);
  std::lock_guard lock(mu_);
  last_delivery_body_ = body;
  return status;
}

void FakeEvolution::handle(const HttpRequest& req, Responder& out) {
  std::string name;
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  std::unique_lock lock(mu_);
  // The instance a route names (last path segment) decides which token also passes.
  const std::string last = req.path.substr(req.path.rfind('/') + 1);
  if (!authorized(req, pct_decode(last))) {
    lock.unlock();
    respond(out, 401, evo_error(401, "Unauthorized"));
    return;
  }
  if (body.is_discarded()) {
    lock.unlock();
    respond(out, 400, evo_error(400, "Unexpected token in JSON"));
    return;
  }
  for (auto& [prefix, statuses] : path_failures_) {
    if (statuses.empty() || req.path.rfind(prefix, 0) != 0) continue;
    const int status = statuses.front();
    statuses.erase(statuses.begin());
    lock.unlock();
    if (status == 0) {
      out.close_connection();
    } else if (status < 0) {
      out.wait_until_client_closes();
    } else {
      respond(out, status, evo_error(status, "scripted failure"));
    }
    return;
  }
  auto missing = [&](const std::string& n) {
    lock.unlock();
    respond(out, 404, evo_error(404, "The \"" + n + "\" instance does not exist"));
  };
  auto bad = [&](const std::string& m) {
    lock.unlock();
    respond(out, 400, evo_error(400, m));
  };
  auto ok = [&](int status, const json& j) {
    lock.unlock();
    respond(out, status, j);
  };

  if (req.method == "POST" && req.path == "/instance/create") {
    const std::string n = body.value("instanceName", "");
    const std::string integration = body.value("integration", "WHATSAPP-BAILEYS");
    if (n.empty()) return bad("instanceName is required");
    if (integration != "WHATSAPP-BAILEYS" && integration != "WHATSAPP-BUSINESS" &&
        integration != "EVOLUTION") {
      return bad("Invalid integration");
    }
    if (Instance* i = find(n); i && !i->token.empty() && i->integration == "created") {
      lock.unlock();
      respond(out, 403, evo_error(403, "This name \"" + n + "\" is already in use."));
      return;
    }
    Instance& i = instances_[n];
    i.name = n;
    i.id = "inst-" + n;
    i.token = body.value("token", "tok-" + n);
    i.integration = "created";
    i.state = "connecting";
    json webhook = nullptr;
    if (body.contains("webhook") && body["webhook"].is_object()) {
      const json& w = body["webhook"];
      i.webhook = {{"id", "wh-" + n},
                   {"url", w.value("url", "")},
                   {"headers", w.value("headers", json::object())},
                   {"enabled", w.value("enabled", true)},
                   {"events", w.value("events", json::array())},
                   {"webhookByEvents", w.value("byEvents", false)},
                   {"webhookBase64", w.value("base64", false)},
                   {"instanceId", i.id}};
      webhook = {{"webhookUrl", w.value("url", "")},
                 {"webhookHeaders", w.value("headers", json::object())},
                 {"webhookByEvents", w.value("byEvents", false)},
                 {"webhookBase64", w.value("base64", false)}};
    }
    json answer{{"instance",
                 {{"instanceName", n},
                  {"instanceId", i.id},
                  {"integration", integration},
                  {"webhookWaBusiness", nullptr},
                  {"accessTokenWaBusiness", ""},
                  {"status", "connecting"}}},
                {"hash", i.token},
                {"webhook", webhook.is_null() ? json::object() : webhook},
                {"websocket", json::object()},
                {"rabbitmq", json::object()},
                {"sqs", json::object()},
                {"settings",
                 {{"rejectCall", false},
                  {"msgCall", ""},
                  {"groupsIgnore", false},
                  {"alwaysOnline", false},
                  {"readMessages", false},
                  {"readStatus", false},
                  {"syncFullHistory", false}}}};
    if (body.value("qrcode", false)) {
      ++i.qr_count;
      answer["qrcode"] = {{"pairingCode", nullptr},
                          {"code", "2@fakeqr" + std::to_string(i.qr_count) + "," + n},
                          {"base64",
                           "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAY"
                           "AAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="},
                          {"count", i.qr_count}};
    }
    return ok(201, answer);
  }
  if (req.method == "GET" && after(req.path, "/instance/connect/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    if (i->state == "open") {
      return ok(200, {{"instance", {{"instanceName", i->name}, {"state", "open"}}}});
    }
    i->state = "connecting";
    ++i->qr_count;
    json pairing = nullptr;
    const std::string number = req.query_param("number");
    if (!number.empty()) {
      for (char c : number) {
        if (c < '0' || c > '9') return bad("number must contain digits only");
      }
      // A code shaped like Baileys' requestPairingCode answer: 8 characters.
      std::string code;
      unsigned h = 2166136261u;
      for (char c : number) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
      const char* alphabet = "ABCDEFGHJKLMNPQRSTVWXYZ23456789";
      for (int k = 0; k < 8; ++k) {
        code += alphabet[h % 30];
        h = h / 30 + 7919u * static_cast<unsigned>(k + 1);
      }
      pairing_codes_[number] = code;
      pairing = code;
    }
    return ok(200, {{"pairingCode", pairing},
                    {"code", "2@fakeqr" + std::to_string(i->qr_count) + "," + i->name},
                    {"base64",
                     "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAf"
                     "FcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="},
                    {"count", i->qr_count}});
  }
  if (req.method == "GET" && after(req.path, "/instance/connectionState/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    return ok(200, {{"instance", {{"instanceName", i->name}, {"state", i->state}}}});
  }
  if (req.method == "POST" && after(req.path, "/instance/restart/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    return ok(200, {{"instance", {{"instanceName", i->name}, {"state", i->state}}}});
  }
  if (req.method == "GET" && req.path == "/instance/fetchInstances") {
    json list = json::array();
    for (const auto& [n, i] : instances_) {
      list.push_back(
          {{"id", i.id}, {"name", n}, {"connectionStatus", i.state}, {"token", i.token}});
    }
    return ok(200, list);
  }
  if (req.method == "DELETE" && after(req.path, "/instance/logout/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    if (i->state == "close") return bad("The \"" + i->name + "\" instance is not connected");
    i->state = "close";
    return ok(200, {{"status", "SUCCESS"},
                    {"error", false},
                    {"response", {{"message", "Instance logged out"}}}});
  }
  if (req.method == "DELETE" && after(req.path, "/instance/delete/", &name)) {
    if (!find(pct_decode(name))) return missing(name);
    instances_.erase(pct_decode(name));
    return ok(
        200,
        {{"status", "SUCCESS"}, {"error", false}, {"response", {{"message", "Instance deleted"}}}});
  }
  if (req.method == "POST" && after(req.path, "/webhook/set/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    if (!body.contains("webhook") || !body["webhook"].is_object()) {
      return bad("webhook is required");
    }
    const json& w = body["webhook"];
    if (!w.contains("enabled") || !w["enabled"].is_boolean()) return bad("enabled is required");
    if (!w.contains("url") || !w["url"].is_string() || w["url"].get<std::string>().empty()) {
      return bad("url is required");
    }
    json events = w.value("events", json::array());
    for (const auto& e : events) {
      if (!e.is_string() ||
          std::find(kEvents.begin(), kEvents.end(), e.get<std::string>()) == kEvents.end()) {
        return bad("events has an unknown event: " + e.dump());
      }
    }
    i->webhook = {{"id", "wh-" + i->name},
                  {"url", w["url"]},
                  {"headers", w.value("headers", json::object())},
                  {"enabled", w["enabled"]},
                  {"events", events},
                  {"webhookByEvents", w.value("byEvents", false)},
                  {"webhookBase64", w.value("base64", false)},
                  {"createdAt", now_text()},
                  {"updatedAt", now_text()},
                  {"instanceId", i->id}};
    return ok(201, i->webhook);
  }
  if (req.method == "GET" && after(req.path, "/webhook/find/", &name)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    return ok(200, i->webhook);
  }
  const bool send_text = after(req.path, "/message/sendText/", &name);
  const bool send_media = !send_text && after(req.path, "/message/sendMedia/", &name);
  const bool send_audio =
      !send_text && !send_media && after(req.path, "/message/sendWhatsAppAudio/", &name);
  if (req.method == "POST" && (send_text || send_media || send_audio)) {
    Instance* i = find(pct_decode(name));
    if (!i) return missing(name);
    if (!send_failures_.empty()) {
      const int status = send_failures_.front();
      send_failures_.erase(send_failures_.begin());
      return lock.unlock(), (void)respond(out, status, evo_error(status, "scripted failure"));
    }
    const std::string number = body.value("number", "");
    if (number.empty()) return bad("number is required");
    json message;
    if (send_text) {
      if (!body.contains("text") || !body["text"].is_string()) return bad("text is required");
      message = {{"conversation", body["text"]}};
    } else if (send_media) {
      const std::string t = body.value("mediatype", "");
      if (t != "image" && t != "document" && t != "video" && t != "audio") {
        return bad("mediatype must be image, document, video or audio");
      }
      if (body.value("media", "").empty()) return bad("media is required");
      if (t == "document" && body.value("fileName", "").empty()) return bad("fileName is required");
      message = {{t + "Message", {{"caption", body.value("caption", "")}}}};
    } else {
      if (body.value("audio", "").empty()) return bad("audio is required");
      message = {{"audioMessage", {{"ptt", true}}}};
    }
    sent_.push_back({{"path", req.path}, {"instance", i->name}, {"body", body}});
    const std::string jid =
        number.find('@') == std::string::npos ? number + "@s.whatsapp.net" : number;
    return ok(
        201,
        {{"key",
          {{"remoteJid", jid}, {"fromMe", true}, {"id", "BAE5" + std::to_string(sent_.size())}}},
         {"pushName", ""},
         {"status", "PENDING"},
         {"message", message},
         {"messageType", send_text ? "conversation" : "mediaMessage"},
         {"messageTimestamp", 1733040001},
         {"instanceId", i->id},
         {"source", "unknown"}});
  }
  if (req.method == "POST" && after(req.path, "/chat/getBase64FromMediaMessage/", &name)) {
    if (!find(pct_decode(name))) return missing(name);
    std::string id;
    if (body.contains("message") && body["message"].is_object() &&
        body["message"].contains("key") && body["message"]["key"].is_object()) {
      id = body["message"]["key"].value("id", "");
    }
    auto it = media_.find(id);
    if (id.empty() || it == media_.end()) return bad("Message not found");
    const Media& m = it->second;
    const std::string type = m.mimetype.rfind("audio/", 0) == 0   ? "audioMessage"
                             : m.mimetype.rfind("image/", 0) == 0 ? "imageMessage"
                             : m.mimetype.rfind("video/", 0) == 0 ? "videoMessage"
                                                                  : "documentMessage";
    return ok(201, {{"mediaType", type},
                    {"fileName", m.file_name.empty() ? id : m.file_name},
                    {"caption", nullptr},
                    {"size", {{"fileLength", std::to_string(m.bytes.size())}}},
                    {"mimetype", m.mimetype},
                    {"base64", b64(m.bytes)},
                    {"buffer", nullptr}});
  }
  lock.unlock();
  respond(out, 404, evo_error(404, "Cannot " + req.method + " " + req.path));
}

json FakeEvolution::text_record(const std::string& remote_jid, const std::string& key_id,
                                const std::string& text, const std::string& push_name) {
  return record(key_of(remote_jid, key_id), {{"conversation", text}}, "conversation", push_name);
}

json FakeEvolution::group_record(const std::string& group_jid, const std::string& participant,
                                 const std::string& key_id, const std::string& text) {
  json key = key_of(group_jid, key_id);
  key["participant"] = participant;
  return record(key, {{"conversation", text}}, "conversation", "Bruno");
}

json FakeEvolution::lid_record(const std::string& lid_jid, const std::string& phone_jid,
                               const std::string& key_id, const std::string& text) {
  json key = key_of(lid_jid, key_id);
  key["addressingMode"] = "lid";
  key["remoteJidAlt"] = phone_jid;
  return record(key, {{"conversation", text}}, "conversation", "Lia");
}

json FakeEvolution::reaction_record(const std::string& remote_jid, const std::string& key_id,
                                    const std::string& target_id, const std::string& emoji) {
  return record(key_of(remote_jid, key_id),
                {{"reactionMessage",
                  {{"key", {{"remoteJid", remote_jid}, {"fromMe", true}, {"id", target_id}}},
                   {"text", emoji},
                   {"senderTimestampMs", "1733040000000"}}}},
                "reactionMessage", "Ana");
}

json FakeEvolution::image_record(const std::string& remote_jid, const std::string& key_id,
                                 const std::string& caption, const std::string& mimetype,
                                 const std::string& media_url) {
  json msg{{"imageMessage",
            {{"url", "https://mmg.whatsapp.net/o1/v/t62.7118-24/enc?ccb=11-4"},
             {"mimetype", mimetype},
             {"caption", caption},
             {"fileLength", "2048"},
             {"height", 1},
             {"width", 1},
             {"mediaKey", "bWVkaWFLZXk="},
             {"directPath", "/o1/v/t62.7118-24/enc"}}}};
  if (!media_url.empty()) msg["mediaUrl"] = media_url;
  return record(key_of(remote_jid, key_id), msg, "imageMessage", "Ana");
}

json FakeEvolution::audio_record(const std::string& remote_jid, const std::string& key_id,
                                 int seconds, const std::string& media_url) {
  json msg{{"audioMessage",
            {{"url", "https://mmg.whatsapp.net/v/t62.7117-24/enc?ccb=11-4"},
             {"mimetype", "audio/ogg; codecs=opus"},
             {"ptt", true},
             {"seconds", seconds},
             {"fileLength", "4096"},
             {"mediaKey", "bWVkaWFLZXk="},
             {"directPath", "/v/t62.7117-24/enc"}}}};
  if (!media_url.empty()) msg["mediaUrl"] = media_url;
  return record(key_of(remote_jid, key_id), msg, "audioMessage", "Ana");
}

json FakeEvolution::document_record(const std::string& remote_jid, const std::string& key_id,
                                    const std::string& file_name, const std::string& caption) {
  return record(key_of(remote_jid, key_id),
                {{"documentMessage",
                  {{"url", "https://mmg.whatsapp.net/v/t62.7119-24/enc"},
                   {"mimetype", "application/pdf"},
                   {"fileName", file_name},
                   {"caption", caption},
                   {"fileLength", "1024"}}}},
                "documentMessage", "Ana");
}

json FakeEvolution::from_me(json r) {
  r["key"]["fromMe"] = true;
  return r;
}

}  // namespace jarvis::test::fakes
