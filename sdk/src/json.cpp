// SDK JSON helpers: depth-bounded parsing of untrusted text and an iterative depth measure.
#include "jarvis/json.h"

#include <string>
#include <utility>
#include <vector>

#include "jarvis/error.h"

namespace jarvis {

bool json_text_too_deep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

static Error too_deep(std::string_view what, int max_depth) {
  return Error(400, "json_too_deep",
               std::string(what) + " nests deeper than " + std::to_string(max_depth) + " levels");
}

Json parse_json(std::string_view text, int max_depth) {
  if (json_text_too_deep(text, max_depth)) throw too_deep("JSON", max_depth);
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(400, "invalid_json", "not valid JSON");
  return j;
}

std::optional<Json> try_parse_json(std::string_view text, int max_depth) {
  if (json_text_too_deep(text, max_depth)) return std::nullopt;
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

int json_depth(const Json& value, int stop_after) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  std::vector<std::pair<const Json*, int>> stack{{&value, 1}};
  while (!stack.empty()) {
    auto [v, d] = stack.back();
    stack.pop_back();
    if (d > deepest) deepest = d;
    if (deepest > stop_after) return stop_after + 1;
    for (const auto& child : *v) {
      if (child.is_structured()) stack.emplace_back(&child, d + 1);
    }
  }
  return deepest;
}

void require_json_depth(const Json& value, std::string_view what, int max_depth) {
  if (json_depth(value, max_depth) > max_depth) throw too_deep(what, max_depth);
}

}  // namespace jarvis
