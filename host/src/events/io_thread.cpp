// host/src/events/io_thread.cpp — asks Asio's per-thread call stack whether this thread is inside
// a scheduler's run() (every io_context::run/run_one/poll pushes itself there).
#include "events/io_thread.h"

#include <utility>  // before Asio (Boost 1.74 + GCC 12 + C++20)

#include <boost/asio/detail/thread_context.hpp>

namespace jarvis::host {

bool on_io_thread() {
  return boost::asio::detail::thread_context::thread_call_stack::top() != nullptr;
}

}  // namespace jarvis::host
