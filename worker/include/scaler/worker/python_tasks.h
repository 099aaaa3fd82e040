#pragma once
// The function "python" (tasks from the scaler_cpp Python package): each runs in a Python processor, a child
// process of the worker (python_processor.h), started at the first such task, so a worker that runs no
// Python starts no interpreter and a task that crashes its process does not cost the worker.
// docs/python.md.

#include <string>

#include "scaler/worker/function_registry.h"

namespace scaler::worker {

// `pythonExecutable` empty: defaultPythonExecutable().
void registerPythonTasks(FunctionRegistry& registry, const std::string& schedulerAddress,
                         const std::string& pythonExecutable);
// "python" fails every task saying the worker was started with --no-python.
void refusePythonTasks(FunctionRegistry& registry);
// $SCALER_CPP_PYTHON_EXECUTABLE, else python3 beside this binary (a pip-installed environment), else the
// interpreter scaler_cpp was built for.
std::string defaultPythonExecutable();

}  // namespace scaler::worker
