// tests/support/fakes/fake_transcription.cpp — see fake_transcription.h.
#include "support/fakes/fake_transcription.h"

#include <algorithm>
#include <cctype>

namespace jarvis::test::fakes {
namespace {

using nlohmann::json;

bool respond_json(Responder& out, int status, const json& body) {
  return out.respond(status, body.dump(), {{"Content-Type", "application/json"}});
}

json openai_error(const std::string& message, const std::string& type, const json& param,
                  const json& code) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}};
}

std::string header_param(const std::string& header, const std::string& name) {
  // name="value" or name=value inside a header value.
  const std::string key = name + "=";
  std::size_t p = 0;
  while ((p = header.find(key, p)) != std::string::npos) {
    if (p == 0 || header[p - 1] == ' ' || header[p - 1] == ';') break;
    p += key.size();
  }
  if (p == std::string::npos) return "";
  p += key.size();
  if (p < header.size() && header[p] == '"') {
    auto end = header.find('"', p + 1);
    return end == std::string::npos ? "" : header.substr(p + 1, end - p - 1);
  }
  auto end = header.find(';', p);
  return header.substr(p, end == std::string::npos ? std::string::npos : end - p);
}

const std::vector<std::string> kFormats = {"flac", "mp3", "mp4", "mpeg", "mpga",
                                           "m4a",  "ogg", "oga", "wav",  "webm"};

}  // namespace

std::vector<FormPart> parse_multipart(const std::string& content_type, const std::string& body) {
  std::vector<FormPart> parts;
  const std::string boundary = header_param(content_type, "boundary");
  if (boundary.empty()) return parts;
  const std::string delim = "--" + boundary;
  std::size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    pos += delim.size();
    if (body.compare(pos, 2, "--") == 0) break;
    if (body.compare(pos, 2, "\r\n") == 0) pos += 2;
    const std::size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) break;
    const std::string head = body.substr(pos, head_end - pos);
    const std::size_t next = body.find("\r\n" + delim, head_end + 4);
    if (next == std::string::npos) break;
    FormPart part;
    part.data = body.substr(head_end + 4, next - head_end - 4);
    std::size_t line_start = 0;
    while (line_start < head.size()) {
      std::size_t e = head.find("\r\n", line_start);
      std::string line =
          head.substr(line_start, e == std::string::npos ? std::string::npos : e - line_start);
      std::string lower = line;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower.rfind("content-disposition:", 0) == 0) {
        part.name = header_param(line, "name");
        part.filename = header_param(line, "filename");
      } else if (lower.rfind("content-type:", 0) == 0) {
        part.content_type = line.substr(13);
        while (!part.content_type.empty() && part.content_type.front() == ' ') {
          part.content_type.erase(0, 1);
        }
      }
      if (e == std::string::npos) break;
      line_start = e + 2;
    }
    parts.push_back(std::move(part));
    pos = next + 2;
  }
  return parts;
}

FakeTranscription::FakeTranscription(int port) {
  server_ = std::make_unique<LoopbackServer>(
      [this](const HttpRequest& req, Responder& out) { handle(req, out); }, "127.0.0.1", port);
}

FakeTranscription::~FakeTranscription() { server_.reset(); }

std::string FakeTranscription::base_url() const { return server_->url(); }
int FakeTranscription::port() const { return server_->port(); }

void FakeTranscription::set_text(const std::string& text) {
  std::lock_guard lock(mu_);
  text_ = text;
}
void FakeTranscription::set_api_key(const std::string& key) {
  std::lock_guard lock(mu_);
  api_key_ = key;
}
void FakeTranscription::set_delay(std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  delay_ = d;
}
void FakeTranscription::fail_next(std::vector<int> statuses) {
  std::lock_guard lock(mu_);
  failures_ = std::move(statuses);
}
std::vector<TranscriptionRequest> FakeTranscription::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

json FakeTranscription::requests_json() const {
  std::lock_guard lock(mu_);
  json list = json::array();
  for (const auto& r : requests_) {
    list.push_back({{"fields", r.fields},
                    {"file_name", r.file_name},
                    {"file_type", r.file_type},
                    {"file_size", r.file_size},
                    {"authorization", r.authorization}});
  }
  return {{"text", text_}, {"requests", list}};
}

void FakeTranscription::handle(const HttpRequest& req, Responder& out) {
  if (req.method == "GET" && req.path == "/_fake/requests") {
    respond_json(out, 200, requests_json());
    return;
  }
  if (req.method == "POST" && req.path == "/_fake/text") {
    set_text(req.body);
    respond_json(out, 200, {{"ok", true}});
    return;
  }
  if (req.method == "POST" && req.path == "/_fake/fail") {
    json j = json::parse(req.body, nullptr, false);
    std::vector<int> statuses;
    if (j.is_array()) {
      for (const auto& s : j) statuses.push_back(s.get<int>());
    }
    fail_next(statuses);
    respond_json(out, 200, {{"ok", true}});
    return;
  }
  if (req.path != "/v1/audio/transcriptions" || req.method != "POST") {
    respond_json(out, 404,
                 openai_error("Invalid URL (" + req.method + " " + req.path + ")",
                              "invalid_request_error", nullptr, nullptr));
    return;
  }
  std::unique_lock lock(mu_);
  const std::string auth = req.header("authorization");
  if (!api_key_.empty() && auth != "Bearer " + api_key_) {
    lock.unlock();
    respond_json(out, 401,
                 openai_error("Incorrect API key provided.", "invalid_request_error", nullptr,
                              "invalid_api_key"));
    return;
  }
  TranscriptionRequest r;
  r.authorization = auth;
  for (const auto& p : parse_multipart(req.header("content-type"), req.body)) {
    if (p.name == "file") {
      r.file_name = p.filename;
      r.file_type = p.content_type;
      r.file_size = p.data.size();
      r.file_head = p.data.substr(0, 16);
    } else {
      r.fields[p.name] = p.data;
    }
  }
  requests_.push_back(r);
  const auto delay = delay_;
  const std::string text = text_;
  int fail = 0;
  if (!failures_.empty()) {
    fail = failures_.front();
    failures_.erase(failures_.begin());
  }
  lock.unlock();
  if (delay.count() > 0 && !out.pause(delay)) return;
  if (fail) {
    respond_json(
        out, fail,
        openai_error(fail == 413 ? "Maximum content size limit exceeded."
                                 : "The server had an error while processing your request.",
                     fail >= 500 ? "server_error" : "invalid_request_error", nullptr, nullptr));
    return;
  }
  if (r.file_name.empty() && r.file_size == 0) {
    respond_json(out, 400,
                 openai_error("you must provide a file", "invalid_request_error", "file", nullptr));
    return;
  }
  const std::string ext = r.file_name.find('.') == std::string::npos
                              ? ""
                              : r.file_name.substr(r.file_name.rfind('.') + 1);
  if (std::find(kFormats.begin(), kFormats.end(), ext) == kFormats.end()) {
    respond_json(out, 400,
                 openai_error("Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', "
                              "'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
                              "invalid_request_error", nullptr, nullptr));
    return;
  }
  if (r.fields["model"].empty()) {
    respond_json(out, 400,
                 openai_error("you must provide a model parameter", "invalid_request_error",
                              nullptr, nullptr));
    return;
  }
  const std::string format =
      r.fields.count("response_format") ? r.fields["response_format"] : "json";
  if (format == "text") {
    out.respond(200, text + "\n", {{"Content-Type", "text/plain; charset=utf-8"}});
  } else if (format == "verbose_json") {
    respond_json(out, 200,
                 {{"task", "transcribe"},
                  {"language", r.fields.count("language") ? r.fields["language"] : "english"},
                  {"duration", 2.5},
                  {"text", text},
                  {"segments", json::array({{{"id", 0},
                                             {"seek", 0},
                                             {"start", 0.0},
                                             {"end", 2.5},
                                             {"text", text},
                                             {"tokens", json::array()},
                                             {"temperature", 0.0},
                                             {"avg_logprob", -0.2},
                                             {"compression_ratio", 1.0},
                                             {"no_speech_prob", 0.01}}})}});
  } else if (format == "srt" || format == "vtt") {
    const std::string cue = format == "srt"
                                ? "1\n00:00:00,000 --> 00:00:02,500\n" + text + "\n"
                                : "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n" + text + "\n";
    out.respond(200, cue, {{"Content-Type", "text/plain; charset=utf-8"}});
  } else if (format == "json") {
    respond_json(out, 200, {{"text", text}, {"usage", {{"type", "duration"}, {"seconds", 3}}}});
  } else {
    respond_json(out, 400,
                 openai_error("Invalid response_format", "invalid_request_error", "response_format",
                              nullptr));
  }
}

}  // namespace jarvis::test::fakes
