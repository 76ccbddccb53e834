// SDK HTTP types: headers, request accessors, response constructors.
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

}  // namespace jarvis
