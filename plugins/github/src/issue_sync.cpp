// github/src/issue_sync.cpp — one GitHub issue per bug report filed with sync_to_github.
//
// Idempotent across retries: the issue body carries `<!-- jarvis:bug-report:<id> -->`; before
// creating, the task looks in its own table, then in the repository (search, then the newest
// issues), so a task killed between GitHub's 201 and the bookkeeping finds the issue it made.
#include <fmt/format.h>

#include "analysis.h"
#include "tasks.h"

namespace github {

namespace {

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string marker_of(const std::string& bug_id) {
  return "<!-- jarvis:bug-report:" + bug_id + " -->";
}

// User text may not carry a marker of its own (it would make another report find this issue).
std::string defuse(std::string text) {
  std::size_t p;
  while ((p = text.find("<!--")) != std::string::npos) text.replace(p, 4, "&lt;!--");
  return text;
}

struct Found {
  long long number = 0;
  std::string url;
};

Found from_item(const jarvis::Json& it, const std::string& marker) {
  if (!it.is_object() || it.contains("pull_request")) return {};
  if (!it.contains("body") || !it["body"].is_string()) return {};
  if (it["body"].get<std::string>().find(marker) == std::string::npos) return {};
  if (!it.contains("number") || !it["number"].is_number_integer()) return {};
  return {it["number"].get<long long>(), it.value("html_url", "")};
}

Found find_existing(Client& api, const std::string& repo, const std::string& bug_id,
                    const std::string& marker) {
  const std::string q =
      fmt::format("\"jarvis:bug-report:{}\" repo:{} in:body is:issue", bug_id, repo);
  jarvis::Json res = api.get("/search/issues?q=" + url_encode(q) + "&per_page=20");
  if (res.is_object() && res.contains("items") && res["items"].is_array())
    for (const auto& it : res["items"])
      if (Found f = from_item(it, marker); f.number > 0) return f;
  // Search is eventually consistent: an issue made seconds ago may not be indexed yet.
  jarvis::Json recent =
      api.get("/repos/" + repo + "/issues?state=all&sort=created&direction=desc&per_page=100");
  if (recent.is_array())
    for (const auto& it : recent)
      if (Found f = from_item(it, marker); f.number > 0) return f;
  return {};
}

void link(Context& c, const jarvis::Json& args) {
  if (c.host.tasks().has("bugs.link_external")) c.host.tasks().call("bugs.link_external", args);
}

}  // namespace

jarvis::Json run_sync_bug(Context& c, jarvis::TaskContext& t) {
  const Settings& s = c.settings;
  // The stored bug.created event ({payload: {id, kind, sync_to_github}}), or {bug_id} from
  // `jarvis github sync-bugs`.
  std::string bug_id;
  bool requested = false;
  if (t.payload.contains("bug_id") && t.payload["bug_id"].is_string()) {
    bug_id = t.payload["bug_id"];
    requested = true;
  } else if (t.payload.contains("payload") && t.payload["payload"].is_object()) {
    const auto& p = t.payload["payload"];
    bug_id = p.value("id", "");
    requested = p.value("sync_to_github", false);
  }
  if (bug_id.empty() || bug_id.size() > 128) return {{"skipped", "no_bug_id"}};
  if (!requested) return {{"skipped", "sync_not_requested"}};
  if (!s.issue_sync_enabled) return {{"skipped", "issue_sync_disabled"}};
  if (!c.host.tasks().has("bugs.get")) return {{"skipped", "bugs_plugin_absent"}};
  const std::string repo = s.issue_sync_repo;
  if (!valid_repo_name(repo)) {
    link(c, {{"id", bug_id}, {"error", "GITHUB_ISSUE_SYNC_REPO is not set to owner/repo"}});
    return {{"skipped", "issue_sync_repo_invalid"}};
  }
  jarvis::Json report;
  try {
    report = c.host.tasks().call("bugs.get", {{"id", bug_id}});
  } catch (const jarvis::Error& e) {
    if (e.status() == 404) return {{"skipped", "bug_not_found"}};
    throw;
  }
  if (report.contains("github_issue_number") && report["github_issue_number"].is_number_integer())
    return {{"bug_id", bug_id},
            {"issue_number", report["github_issue_number"]},
            {"already_synced", true}};

  const std::string marker = marker_of(bug_id);
  const bool last = t.attempt >= s.issue_sync_max_attempts;
  Client api(c.host, s, c.rate, t.should_stop);
  try {
    Found f;
    bool created = false;
    jarvis::Json known = c.store.issue_link(bug_id);
    if (known.is_object() && known["issue_number"].is_number_integer()) {
      f = {known["issue_number"].get<long long>(), known.value("issue_url", "")};
    } else if (known.is_object() || t.attempt > 1) {
      // An earlier attempt ran: it may have created the issue before failing or dying.
      f = find_existing(api, repo, bug_id, marker);
    }
    if (f.number == 0) {
      const std::string kind = report.value("kind", "bug");
      const auto& labels = kind == "feature" ? s.issue_labels_feature : s.issue_labels_bug;
      const std::string body = fmt::format(
          "Synced from Jarvis {} report `{}`.\n\n**Priority:** {}\n**Status:** {}\n\n### "
          "Description\n\n{}\n\n{}",
          kind, bug_id, report.value("priority", ""), report.value("status", ""),
          defuse(utf8_prefix(report.value("description", ""), 60000)), marker);
      jarvis::Json issue =
          api.send("POST", "/repos/" + repo + "/issues",
                   {{"title", utf8_prefix(report.value("title", "(untitled)"), 250)},
                    {"body", body},
                    {"labels", labels}});
      if (!issue.is_object() || !issue.contains("number") || !issue["number"].is_number_integer())
        throw ApiError(201, "POST issue: the answer has no number");
      f = {issue["number"].get<long long>(), issue.value("html_url", "")};
      created = true;
    }
    c.store.save_issue_link(bug_id, repo, f.number, f.url, "");
    const std::string at = jarvis::now_iso();
    link(c, {{"id", bug_id},
             {"github_issue_number", f.number},
             {"github_issue_url", f.url},
             {"synced_at", at}});
    c.save_rate_state();
    jarvis::Json result = {{"bug_id", bug_id},
                           {"repo", repo},
                           {"issue_number", f.number},
                           {"issue_url", f.url},
                           {"created", created}};
    c.host.events().emit({.type = "github.issue_synced",
                          .payload = result,
                          .trace_id = t.trace_id,
                          .actor_type = "system",
                          .actor_id = "github"});
    return result;
  } catch (const RateLimited& r) {
    return c.defer(t, r);
  } catch (const std::exception& e) {
    const std::string message = std::string(e.what()).substr(0, 500);
    c.record_error("issue_sync", bug_id + ": " + message);
    try {
      c.store.save_issue_link(bug_id, repo, 0, "", message);
      link(c, {{"id", bug_id}, {"error", message}});
    } catch (const std::exception& b) {
      c.host.log()->warn("github: sync error of {} not recorded: {}", bug_id, b.what());
    }
    c.host.events().emit({.type = "github.issue_sync_failed",
                          .payload = {{"bug_id", bug_id},
                                      {"attempt", t.attempt},
                                      {"final", last},
                                      {"error", message}},
                          .trace_id = t.trace_id,
                          .actor_type = "system",
                          .actor_id = "github"});
    throw;
  }
}

}  // namespace github
