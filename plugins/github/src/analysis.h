// github/src/analysis.h — pure functions over GitHub data: the diffstat and risk flags of a pull
// request judged over every file, the truncated diff handed to a model, the comment texts, the
// PR-chat trigger and the Link header. No I/O, so the unit tests cover them directly.
//
//   github::PrAnalysis a = github::analyse(files, /*largest=*/10);   // files: the API's objects
//   std::string diff = github::diff_excerpt(files, 60000);             // states its truncation
//   std::string body = github::render_summary(pr, a, model_part);
//   auto t = github::parse_trigger("/jarvis risks is this safe?", "jarvis");  // {mode, question}
//   auto next = github::next_link(res.headers.get("Link").value_or(""));
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/json.h"

namespace github {

/// Marker at the start of the PR summary comment (the upsert finds it by this).
inline constexpr std::string_view kSummaryMarker = "<!-- jarvis:pr-summary -->";
/// Marker at the start of the PR chat reply comment.
inline constexpr std::string_view kChatMarker = "<!-- jarvis:pr-chat -->";

/// One risk flag: a category and the files (up to a few, plus a count) that raised it.
struct RiskFlag {
  std::string key;                    ///< migrations, auth, routes, ci, dependencies, deleted_tests
  std::string label;                  ///< human text, e.g. "Database migrations touched"
  std::vector<std::string> examples;  ///< at most 5 file names
  int count = 0;                      ///< files that raised it
};

/// The numbers and flags of a pull request, over every file read.
struct PrAnalysis {
  int files = 0;
  long long additions = 0;
  long long deletions = 0;
  /// The largest files by additions + deletions, as {filename, status, additions, deletions}.
  std::vector<jarvis::Json> largest;
  std::vector<RiskFlag> risks;
};

/// Diffstat, largest files and risk flags of `files` (GitHub "pull request files" objects:
/// filename, status, additions, deletions, changes, patch?).
PrAnalysis analyse(const std::vector<jarvis::Json>& files, int largest_count);

/// The risk categories of one path (and its status): e.g. {"migrations", "dependencies"}.
std::vector<std::string> risk_keys(std::string_view filename, std::string_view status);

/// A unified-diff excerpt of the files' patches of at most `budget_bytes` (whole files first,
/// in the API's order). When anything is left out, the text ends with a line saying how many
/// files and bytes were cut; `truncated` tells the caller.
std::string diff_excerpt(const std::vector<jarvis::Json>& files, std::size_t budget_bytes,
                         bool* truncated = nullptr);

/// The model's part of a summary (or why there is none).
struct ModelPart {
  bool present = false;
  std::string text;      ///< the model's summary when present
  std::string note;      ///< why absent ("no model is available", …) or the truncation note
  std::string provider;  ///< provider/model that wrote it, for the footer
};

/// The PR summary comment (starts with kSummaryMarker): title, base ← head, diffstat, largest
/// files, risk flags, the model part or the sentence saying there is none.
std::string render_summary(const jarvis::Json& pr, const PrAnalysis& a, const ModelPart& model);

/// A parsed PR-chat trigger.
struct Trigger {
  std::string mode;      ///< review, summarize, risks, tests or help
  std::string question;  ///< the rest of the line (may be empty)
};

/// The trigger in a comment body: a line starting with "/jarvis" (optionally followed by a mode
/// and a question) or "@<bot_login>" anywhere. nullopt when the comment does not address Jarvis.
std::optional<Trigger> parse_trigger(std::string_view body, std::string_view bot_login);

/// The help text of PR chat.
std::string chat_help_text();

/// The URL of rel="next" in a Link header, or "" when there is none.
std::string next_link(std::string_view link_header);

/// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace github
