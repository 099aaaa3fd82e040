#include "scaler/common/shutdown_signal.h"

#include <csignal>

namespace scaler {
namespace {
std::atomic<bool> gShutdown{false};
extern "C" void onShutdownSignal(int) {
    gShutdown.store(true);
}
}  // namespace

void installShutdownSignalHandlers() {
    struct sigaction action {};
    action.sa_handler = onShutdownSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: poll() must return so the loop sees the flag
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

bool shutdownRequested() {
    return gShutdown.load();
}
void requestShutdown() {
    gShutdown.store(true);
}

}  // namespace scaler
