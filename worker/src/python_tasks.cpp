#include "scaler/worker/python_tasks.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "scaler/worker/python_processor.h"

namespace scaler::worker {
namespace {

// The build tree keeps the package in build/python beside build/bin: a worker run from there finds it.
std::string packageDirectoryBesideExecutable() {
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error) return {};
    const auto candidate = exe.parent_path() / ".." / "python";
    if (!std::filesystem::exists(candidate / "scaler_cpp" / "_processor.py", error)) return {};
    return std::filesystem::weakly_canonical(candidate, error).string();
}

// pip installs scaler_worker into an environment's bin directory, beside that environment's python3, which is
// the one that can import scaler_cpp (and the user's packages).
std::string pythonBesideExecutable() {
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error) return {};
    const auto candidate = exe.parent_path() / "python3";
    if (::access(candidate.c_str(), X_OK) != 0) return {};
    return candidate.string();
}

}  // namespace

std::string defaultPythonExecutable() {
    if (const char* env = std::getenv("SCALER_CPP_PYTHON_EXECUTABLE"); env != nullptr && *env != '\0')
        return env;
    if (std::string beside = pythonBesideExecutable(); !beside.empty()) return beside;
    return SCALER_PYTHON_EXECUTABLE;
}

void registerPythonTasks(FunctionRegistry& registry, const std::string& schedulerAddress,
                         const std::string& pythonExecutable) {
    PythonProcessorCommand command{pythonExecutable.empty() ? defaultPythonExecutable() : pythonExecutable,
                                   packageDirectoryBesideExecutable(), schedulerAddress};
    registry.addTakingNextTask("python", [command](TaskContext& context, std::string_view) {
        // one processor per executor thread: a task that waits on nested tasks lends its slot to another
        // thread, whose task then runs in that thread's processor
        thread_local std::unique_ptr<PythonProcessor> processor;
        if (!processor) processor = std::make_unique<PythonProcessor>(command);  // (re)started as it needs
        if (context.arguments().size() < 2)
            throw std::invalid_argument("a Python task needs a function and its arguments");
        PythonProcessor::Result result = processor->run(context);
        context.reportUsage(result.cpuTimeUs, result.peakRssBytes, result.wallTimeUs);
        if (!result.ok) throw std::runtime_error("python-exception:" + result.bytes);
        return std::move(result.bytes);
    });
}

void refusePythonTasks(FunctionRegistry& registry) {
    registry.refuse(
        "python",
        "this worker does not run Python tasks: it was started with --no-python (or its adapter with "
        "--worker-no-python)");
}

}  // namespace scaler::worker
