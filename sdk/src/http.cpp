// SDK HTTP types: headers, request accessors, response constructors, the SSE wire format.
#include "jarvis/http.h"

#include <charconv>
#include <strings.h>

#include "jarvis/error.h"

namespace jarvis {

const char* to_string(Auth a) {
  switch (a) {
    case Auth::Public:
      return "public";
    case Auth::User:
      return "user";
    case Auth::Admin:
      return "admin";
    case Auth::Webhook:
      return "webhook";
  }
  return "unknown";
}

static bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> Headers::get(const std::string& name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

void Headers::set(const std::string& name, std::string value) {
  std::erase_if(items_, [&](const auto& kv) { return iequals(kv.first, name); });
  items_.emplace_back(name, std::move(value));
}

void Headers::add(const std::string& name, std::string value) {
  items_.emplace_back(name, std::move(value));
}

const std::string& Request::path_param(const std::string& name) const {
  auto it = path_params.find(name);
  if (it == path_params.end())
    throw Error(400, "missing_path_param", "missing path parameter '" + name + "'");
  return it->second;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

long long Request::query_int(const std::string& name, long long fallback, long long min,
                             long long max) const {
  auto v = query_param(name);
  if (!v || v->empty()) return fallback;
  long long out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    throw Error(400, "invalid_query", "query parameter '" + name + "' must be an integer");
  }
  if (out < min || out > max) {
    throw Error(400, "invalid_query",
                "query parameter '" + name + "' must be between " + std::to_string(min) + " and " +
                    std::to_string(max));
  }
  return out;
}

Json Request::json_body() const {
  if (json_text_too_deep(body)) {
    throw Error(400, "json_too_deep",
                "request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(400, "invalid_json", "request body is not valid JSON");
  if (!j.is_object()) throw Error(400, "invalid_json", "request body must be a JSON object");
  return j;
}

Response Response::json(int status, const Json& body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::no_content() {
  Response r;
  r.status = 204;
  return r;
}

Response Response::stream(int status, std::string content_type, StreamStart start) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.stream_start = std::move(start);
  return r;
}

Response Response::sse(StreamStart start) {
  Response r = stream(200, "text/event-stream; charset=utf-8", std::move(start));
  r.headers.set("Cache-Control", "no-cache");
  r.headers.set("X-Accel-Buffering", "no");
  return r;
}

namespace {

// Calls `line` for every line of `text` (split at LF, CRLF or CR); an empty text is one empty
// line, and a trailing line break yields a last empty line, as the SSE parser would read it.
template <typename F>
void for_each_line(std::string_view text, F&& line) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    line(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  line(text.substr(start));
}

void require_single_line(std::string_view value, const char* field) {
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    throw Error(500, "invalid_sse_field",
                std::string("server-sent event ") + field + " contains a line break");
  }
}

}  // namespace

std::string format_sse_event(std::string_view event, std::string_view data, std::string_view id) {
  require_single_line(event, "name");
  require_single_line(id, "id");
  std::string out;
  out.reserve(event.size() + id.size() + data.size() + 32);
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  for_each_line(data, [&](std::string_view l) { out.append("data: ").append(l).append("\n"); });
  out.append("\n");
  return out;
}

std::string format_sse_comment(std::string_view text) {
  std::string out;
  for_each_line(text, [&](std::string_view l) { out.append(": ").append(l).append("\n"); });
  out.append("\n");
  return out;
}

ResponseStream::~ResponseStream() = default;

bool ResponseStream::send_event(std::string_view event, std::string_view data,
                                std::string_view id) {
  return write(format_sse_event(event, data, id));
}

bool ResponseStream::comment(std::string_view text) { return write(format_sse_comment(text)); }

}  // namespace jarvis
