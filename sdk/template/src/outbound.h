// hello/src/outbound.h — work outside the process: a task that runs a subprocess safely.
#pragma once

#include "jarvis/jarvis.h"

namespace hello {

/// Registers the task `hello.wordcount` (payload {"text": …} → {"words": n}): counts words with
/// `wc -w` in a subprocess that sees only an allow-listed environment (never the host's secrets),
/// has a timeout, and is killed with its process group when the task is asked to stop.
void register_outbound(jarvis::Host& host);

}  // namespace hello
