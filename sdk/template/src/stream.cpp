// hello/src/stream.cpp — GET /api/v1/hello/stream: N server-sent events (see stream.h).
//
// The handler validates the request and returns Response::sse(); the host sends the headers and
// then runs the start callback on the handler thread with the stream. Writing everything at once,
// as here, is fine for a short answer. A long-lived stream (tokens arriving from a task) keeps the
// shared_ptr instead, writes from whatever thread produces the data, and releases it (or calls
// end()) when done — the handler thread is free as soon as the callback returns. Writes never
// block; they return false once the client is gone, and `cancelled()` tells upstream work to stop.
#include "stream.h"

#include <memory>
#include <string>

namespace hello {

void register_stream(jarvis::Host& host) {
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/hello/stream",
       .auth = jarvis::Auth::User,
       .summary = "Streams ?count=N greetings as server-sent events",
       .handler = [](jarvis::Request& req) {
         long long count =
             req.query_int("count", 3, 1, 1000);  // 400 invalid_query before streaming
         return jarvis::Response::sse([count](std::shared_ptr<jarvis::ResponseStream> s) {
           for (long long i = 1; i <= count; ++i) {
             if (!s->send_event("greeting", jarvis::Json{{"n", i}, {"of", count}}.dump(),
                                std::to_string(i))) {
               return;  // the client went away (or read too slowly): stop
             }
           }
           s->send_event("done", "{}");
         });  // releasing the last reference ends the response
       }});
}

}  // namespace hello
