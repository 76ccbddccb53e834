// github/src/tasks.h — the plugin's task handlers (all GitHub API work runs here, never in a
// request handler) and their registration.
//
//   github::register_tasks(host, ctx);   // github.pr_summary, github.pr_chat, github.sync_bug,
//                                        // github.prune_deliveries; durable bug.created
//   jarvis::Json r = github::run_pr_summary(ctx, task_context);
#pragma once

#include "context.h"

namespace github {

/// github.pr_summary {repo, number, head_sha?, deferrals?}: fetch the PR and all its files,
/// upsert the summary comment. Rate limits postpone it; the last failed attempt files a
/// `bugs.report` (deduped per PR) when that task exists; every failure is an event.
jarvis::Json run_pr_summary(Context& c, jarvis::TaskContext& t);
/// github.pr_chat {repo, number, comment_id, commenter, mode, question}: answer a trusted
/// commenter in the one chat comment; others are ignored with an event.
jarvis::Json run_pr_chat(Context& c, jarvis::TaskContext& t);
/// github.sync_bug (durable subscriber of bug.created; payload = the stored event): create the
/// report's GitHub issue once and record it with `bugs.link_external`.
jarvis::Json run_sync_bug(Context& c, jarvis::TaskContext& t);

/// The attempts of github.pr_summary and github.pr_chat.
inline constexpr int kPrTaskAttempts = 3;

/// Registers the tasks, the durable subscription and the periodic prune.
void register_tasks(jarvis::Host& host, Context& ctx);

}  // namespace github
