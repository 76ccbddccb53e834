// host/src/events/io_thread.h — is the calling thread an Asio I/O thread (inside
// io_context::run())? Plugin code (event subscribers, live-push listeners) must never run there:
// one slow handler would stall every connection of that thread. The event bus and the live-push
// hub hand such deliveries to their own thread instead. Beast/Asio-free header.
#pragma once

namespace jarvis::host {

/// True while the calling thread runs an Asio io_context (the HTTP server's I/O threads, the /ws
/// strands). False on the handler pool, task workers, the event relay and plain threads.
bool on_io_thread();

}  // namespace jarvis::host
