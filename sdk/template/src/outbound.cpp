// hello/src/outbound.cpp — the `hello.wordcount` task: jarvis::run_process with an allow-listed
// environment, a timeout and the task's stop signal as cancellation token.
#include "outbound.h"

#include <string>

namespace hello {
namespace {

jarvis::Json wordcount(jarvis::TaskContext& t) {
  if (!t.payload.contains("text") || !t.payload["text"].is_string()) {
    throw jarvis::bad_request("payload.text (string) is required", "invalid_payload");
  }
  jarvis::ProcessOptions o;
  o.argv = {"wc", "-w"};
  o.stdin_data = t.payload["text"].get<std::string>();
  o.timeout_ms = 10000;
  o.max_output_bytes = 1024;
  o.inherit_env = {"PATH"};         // what the child may see of the host's environment
  o.extra_env = {{"LC_ALL", "C"}};  // plus what we set
  o.cancel = jarvis::CancelToken::when(t.should_stop);  // host shutdown or deadline: stop the child
  jarvis::ProcessResult r = jarvis::run_process(o);
  if (r.cancelled) throw jarvis::Error(503, "cancelled", "the task was asked to stop");
  if (r.exit_code != 0) {
    throw jarvis::Error(500, "wordcount_failed",
                        "wc exited with " + std::to_string(r.exit_code) + ": " + r.stderr_text);
  }
  return jarvis::Json{{"words", std::stoll(r.stdout_text)}};
}

}  // namespace

void register_outbound(jarvis::Host& host) {
  // TaskAccess::Admin: admins and operators (the CLI) may start it, not every signed-in user.
  host.tasks().add({.name = "hello.wordcount",
                    .description = "Counts the words of payload.text in a sandboxed subprocess",
                    .handler = wordcount},
                   jarvis::TaskAccess::Admin);
}

}  // namespace hello
