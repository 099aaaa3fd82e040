#pragma once
// The function "python" (tasks from the scaler_cpp Python package): the worker loads its Python plugin,
// libscaler_python_worker.so, when the first such task arrives, so a worker that runs no Python never loads
// libpython. docs/python.md.

#include <string>

#include "scaler/worker/function_registry.h"

namespace scaler::worker {

// `pluginPath` empty: $SCALER_CPP_PYTHON_PLUGIN, else beside the executable's ../lib, else the installed
// library directory.
void registerPythonTasks(FunctionRegistry& registry, const std::string& schedulerAddress,
                         std::string pluginPath);
// "python" fails every task saying the worker was started with --no-python.
void refusePythonTasks(FunctionRegistry& registry);

}  // namespace scaler::worker
