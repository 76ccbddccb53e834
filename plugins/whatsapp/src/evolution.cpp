// whatsapp/src/evolution.cpp — see evolution.h.
#include "evolution.h"

#include <cstdio>

namespace whatsapp {

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

bool EvoResult::retryable() const {
  if (error.empty() || error == "evolution_api_disabled") return false;
  if (status == 0) return error != "invalid_url" && error != "blocked_url";
  return status == 429 || status >= 500;
}

std::string EvoResult::error_code() const {
  if (error.empty()) return "";
  if (error == "evolution_api_disabled") return error;
  if (status == 401) return "evolution_api_unauthorized";  // EVOLUTION_API_KEY refused
  return status == 0 ? "evolution_api_unreachable" : "evolution_api_error";
}

jarvis::Json EvoResult::summary() const {
  jarvis::Json j{{"ok", ok()}, {"status_code", status}};
  if (!ok()) {
    j["error"] = error;
    j["error_code"] = error_code();
    j["message"] = message;
  }
  return j;
}

jarvis::Json EvolutionClient::webhook_config() const {
  jarvis::Json headers = jarvis::Json::object();
  if (!s_.webhook_secret.empty()) headers["X-WhatsApp-Secret"] = s_.webhook_secret.reveal();
  return {{"enabled", true},    {"url", s_.webhook_url},
          {"headers", headers}, {"byEvents", s_.webhook_by_events},
          {"base64", false},    {"events", s_.webhook_events}};
}

EvoResult EvolutionClient::call(const std::string& method, const std::string& path,
                                const jarvis::Json& body, std::size_t max_bytes,
                                const jarvis::CancelToken& cancel, long timeout_ms) {
  EvoResult r;
  if (!enabled()) {
    r.error = "evolution_api_disabled";
    r.message = "EVOLUTION_API_URL is not set";
    return r;
  }
  jarvis::OutboundRequest req{.method = method, .url = s_.evolution_url + path};
  req.headers.set("apikey", s_.evolution_key.reveal());
  req.headers.set("Accept", "application/json");
  if (!body.is_null()) {
    req.headers.set("Content-Type", "application/json");
    req.body = body.dump();
  }
  req.max_response_bytes = max_bytes;
  req.timeout_ms = timeout_ms;
  req.cancel = cancel;
  jarvis::OutboundResponse res = http_.send(req);
  r.status = res.status;
  if (auto j = jarvis::try_parse_json(res.body)) r.body = *j;
  if (!res.error_class.empty() && (res.status < 300 || res.status >= 600)) {
    r.error = res.error_class;  // no HTTP answer (or a broken 2xx): the outage class
    r.message = res.error_message;
  } else if (!res.ok()) {
    r.error = "http_" + std::to_string(res.status);
    r.message = "Evolution answered HTTP " + std::to_string(res.status);
    if (r.body.is_object() && r.body.contains("response") && r.body["response"].is_object()) {
      const auto& m = r.body["response"].value("message", jarvis::Json());
      r.message += ": " + (m.is_string() ? m.get<std::string>() : m.dump());
    }
    if (r.message.size() > 300) r.message.resize(300);
  }
  return r;
}

EvoResult EvolutionClient::create_instance() {
  jarvis::Json body{
      {"instanceName", s_.instance}, {"integration", "WHATSAPP-BAILEYS"}, {"qrcode", true}};
  if (!s_.webhook_url.empty()) body["webhook"] = webhook_config();
  return call("POST", "/instance/create", body);
}

EvoResult EvolutionClient::connection_state() {
  return call("GET", "/instance/connectionState/" + url_encode(s_.instance), nullptr);
}

EvoResult EvolutionClient::connect(const std::string& number_digits) {
  std::string path = "/instance/connect/" + url_encode(s_.instance);
  if (!number_digits.empty()) path += "?number=" + url_encode(number_digits);
  return call("GET", path, nullptr);
}

EvoResult EvolutionClient::logout() {
  return call("DELETE", "/instance/logout/" + url_encode(s_.instance), nullptr);
}

EvoResult EvolutionClient::remove() {
  return call("DELETE", "/instance/delete/" + url_encode(s_.instance), nullptr);
}

EvoResult EvolutionClient::restart() {
  return call("POST", "/instance/restart/" + url_encode(s_.instance), jarvis::Json::object());
}

EvoResult EvolutionClient::set_webhook() {
  return call("POST", "/webhook/set/" + url_encode(s_.instance), {{"webhook", webhook_config()}});
}

EvoResult EvolutionClient::find_webhook() {
  return call("GET", "/webhook/find/" + url_encode(s_.instance), nullptr);
}

EvoResult EvolutionClient::send_text(const std::string& number, const std::string& text) {
  return call("POST", "/message/sendText/" + url_encode(s_.instance),
              {{"number", number}, {"text", text}});
}

EvoResult EvolutionClient::send_media(const std::string& number, const std::string& mediatype,
                                      const std::string& mimetype, const std::string& media_base64,
                                      const std::string& file_name, const std::string& caption) {
  jarvis::Json body{{"number", number},
                    {"mediatype", mediatype},
                    {"mimetype", mimetype},
                    {"media", media_base64},
                    {"fileName", file_name}};
  if (!caption.empty()) body["caption"] = caption;
  return call("POST", "/message/sendMedia/" + url_encode(s_.instance), body, 4 << 20, {}, 120000);
}

EvoResult EvolutionClient::send_audio(const std::string& number, const std::string& audio_base64) {
  return call("POST", "/message/sendWhatsAppAudio/" + url_encode(s_.instance),
              {{"number", number}, {"audio", audio_base64}}, 4 << 20, {}, 120000);
}

EvoResult EvolutionClient::media_base64(const std::string& key_id, std::size_t max_answer_bytes,
                                        const jarvis::CancelToken& cancel) {
  return call("POST", "/chat/getBase64FromMediaMessage/" + url_encode(s_.instance),
              {{"message", {{"key", {{"id", key_id}}}}}, {"convertToMp4", false}}, max_answer_bytes,
              cancel, 120000);
}

}  // namespace whatsapp
