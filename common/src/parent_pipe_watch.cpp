#include "scaler/common/parent_pipe_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>

#include "scaler/common/log.h"
#include "scaler/common/shutdown_signal.h"

namespace scaler {

void addParentPipeOption(CLI::App& app, int& fd) {
    app.add_option(
           "--exit-when-fd-closes", fd,
           "Shut down gracefully when file descriptor FD (the read end of a pipe the parent holds open) "
           "reaches end of file: the process ends with its parent, even one killed with SIGKILL "
           "(SchedulerClusterCombo starts its processes so)")
        ->check(CLI::NonNegativeNumber);
}

void checkParentPipe(int fd) {
    if (fd >= 0 && fcntl(fd, F_GETFD) < 0) {
        throw std::invalid_argument("--exit-when-fd-closes " + std::to_string(fd) +
                                    " is not an open file descriptor");
    }
}

void watchParentPipe(int fd, const char* process) {
    if (fd < 0) return;
    std::thread([fd, process] {
        pollfd item{fd, POLLIN, 0};
        char byte;
        for (;;) {
            const int ready = poll(&item, 1, -1);
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) break;
            const ssize_t n = read(fd, &byte, 1);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;  // the writer is gone
        }
        log::process().warn(
            "{}: the process that started this one is gone (file descriptor {} closed); "
            "shutting down",
            process, fd);
        requestShutdown();
    }).detach();
}

}  // namespace scaler
