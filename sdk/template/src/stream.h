// hello/src/stream.h — a streamed response: greetings as server-sent events.
#pragma once

#include "jarvis/jarvis.h"

namespace hello {

/// Registers `GET /api/v1/hello/stream?count=N` (signed-in users; N in 1..1000, default 3): a
/// text/event-stream of N `greeting` events (`id` 1..N, data `{"n":i,"of":N}`) and a final `done`
/// event. A bad count is answered 400 `invalid_query` before the stream starts.
void register_stream(jarvis::Host& host);

}  // namespace hello
