#pragma once

#include <string>

#include "scaler/worker/function_registry.h"

namespace scaler::worker {

// dlopens `path` and calls its scaler_register_functions. Throws std::runtime_error naming the path and
// the reason (missing file, missing entry point, a duplicate function name).
void loadPlugin(const std::string& path, FunctionRegistry& registry);

}  // namespace scaler::worker
