#pragma once
// SIGINT/SIGTERM set a flag that event loops check; blocking calls return early with EINTR.

#include <atomic>

namespace scaler {

void installShutdownSignalHandlers();
bool shutdownRequested();
void requestShutdown();

}  // namespace scaler
