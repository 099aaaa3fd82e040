#pragma once

#include "scaler/worker/command_runner.h"
#include "scaler/worker/function_registry.h"

namespace scaler::worker {

// noop, echo (returns its payload), sleep_ms (payload: milliseconds as text), fail (raises with the payload
// as message), exec (payload: encodeExecRequest; result: encodeExecResult). Without `allowExec`, exec fails
// every task saying how to allow it: whoever can submit could otherwise run any program on the worker.
void registerBuiltinFunctions(FunctionRegistry& registry, const CommandLimits& limits, bool allowExec);

}  // namespace scaler::worker
