#include "scaler/worker/plugin_loader.h"

#include <dlfcn.h>

#include <stdexcept>

namespace scaler::worker {

void loadPlugin(const std::string& path, FunctionRegistry& registry) {
    // RTLD_NOW: fail at start-up, not in the middle of a task, when a symbol is missing
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) throw std::runtime_error("cannot load plugin '" + path + "': " + dlerror());
    using Entry = void (*)(FunctionRegistry&);
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "scaler_register_functions"));
    if (entry == nullptr) {
        throw std::runtime_error("plugin '" + path +
                                 "' has no scaler_register_functions (use SCALER_PLUGIN_ENTRY)");
    }
    try {
        entry(registry);
    } catch (const std::exception& e) {
        throw std::runtime_error("plugin '" + path + "' failed to register: " + e.what());
    }
    // never dlclose: registered std::functions point into the library
}

}  // namespace scaler::worker
