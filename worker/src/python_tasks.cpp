#include "scaler/worker/python_tasks.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "scaler/common/log.h"

namespace scaler::worker {
namespace {

using RunPythonTask = std::string (*)(TaskContext&, const std::string&);

std::vector<std::string> candidates(const std::string& configured) {
    if (!configured.empty()) return {configured};
    if (const char* env = std::getenv("SCALER_CPP_PYTHON_PLUGIN"); env != nullptr && *env != '\0')
        return {env};
    std::vector<std::string> out;
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) out.push_back((exe.parent_path() / ".." / "lib" / "libscaler_python_worker.so").string());
    out.push_back(std::string(SCALER_INSTALL_LIBDIR) + "/libscaler_python_worker.so");
    return out;
}

}  // namespace

void registerPythonTasks(FunctionRegistry& registry, const std::string& schedulerAddress,
                         std::string pluginPath) {
    struct Loader {
        std::once_flag once;
        RunPythonTask run = nullptr;
        std::string error;
    };
    auto loader = std::make_shared<Loader>();
    registry.add("python", [loader, schedulerAddress, pluginPath](TaskContext& context, std::string_view) {
        std::call_once(loader->once, [&] {
            std::string tried;
            for (const std::string& path : candidates(pluginPath)) {
                // global: Python extension modules find libpython's symbols through it
                void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
                if (handle == nullptr) {
                    tried += std::string(tried.empty() ? "" : "; ") + dlerror();
                    continue;
                }
                loader->run = reinterpret_cast<RunPythonTask>(dlsym(handle, "scaler_run_python_task"));
                if (loader->run != nullptr) {
                    log::worker().info("Python tasks run by {}", path);
                    return;
                }
                tried += "; " + path + " has no scaler_run_python_task";
            }
            loader->error = "this worker cannot run Python tasks: " + tried;
            log::worker().error("{}", loader->error);
        });
        if (loader->run == nullptr) throw std::runtime_error(loader->error);
        return loader->run(context, schedulerAddress);
    });
}

void refusePythonTasks(FunctionRegistry& registry) {
    registry.add("python", [](TaskContext&, std::string_view) -> std::string {
        throw std::runtime_error(
            "this worker does not run Python tasks: it was started with --no-python (or its adapter with "
            "--worker-no-python)");
    });
}

}  // namespace scaler::worker
