#pragma once
// ZeroMQ calls made again when a signal interrupts them. Our signal handlers only set a flag (SIGTERM asks
// for a graceful stop), but a send or receive under way throws EINTR: taken for a failure, it ended a worker
// with "Interrupted system call" instead of the graceful stop the signal asked for.

#include <cerrno>

#include <zmq.hpp>

namespace scaler {

template <typename Call>
auto retryInterrupted(Call&& call) -> decltype(call()) {
    for (;;) {
        try {
            return call();
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
}

}  // namespace scaler
