// libscaler_python_worker.so: Python functions on scaler_worker. The worker loads it (dlopen) when its first
// Python task arrives, so a worker that never runs Python never loads libpython. One interpreter per worker
// process; each task runs on its executor thread holding the GIL. A watcher thread turns a task's cancel or
// timeout into an exception raised inside its Python code.

#include <pybind11/embed.h>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scaler/client/wait_listener.h"
#include "scaler/worker/function_registry.h"

namespace py = pybind11;

namespace {

// The Python thread id of each running task, and its context, for the watcher.
struct RunningTask {
    const scaler::TaskContext* context;
    bool interrupted = false;
};
std::mutex runningMutex;
std::unordered_map<unsigned long, RunningTask> running;

// scaler_cpp._worker's run_task and wake; never destroyed (the interpreter outlives us)
py::object* runTask = nullptr;
py::object* wakeTask = nullptr;

std::string pluginDirectory() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&pluginDirectory), &info) == 0 || info.dli_fname == nullptr)
        return ".";
    return std::filesystem::path(info.dli_fname).parent_path().string();
}

// Every 20 ms: a task whose cancel or timeout came gets an exception raised in its Python thread. The GIL is
// taken only after the lock on `running` is let go (a task holds the GIL when it takes that lock), and the
// task is checked again under both before the exception is set.
void watch() {
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::vector<std::pair<unsigned long, const scaler::TaskContext*>> due;
        {
            std::lock_guard lock(runningMutex);
            for (auto& [threadId, task] : running) {
                if (!task.interrupted && task.context->stopRequested())
                    due.emplace_back(threadId, task.context);
            }
        }
        if (due.empty()) continue;
        py::gil_scoped_acquire gil;
        for (const auto& [threadId, context] : due) {
            std::lock_guard lock(runningMutex);
            auto found = running.find(threadId);
            if (found == running.end() || found->second.context != context || found->second.interrupted)
                continue;
            found->second.interrupted = true;
            PyThreadState_SetAsyncExc(threadId,
                                      context->cancelled() ? PyExc_InterruptedError : PyExc_TimeoutError);
            try {
                (*wakeTask)(threadId);  // a task in time.sleep: the exception lands now, not when it ends
            } catch (const py::error_already_set&) {
            }
        }
    }
}

void start(const std::string& schedulerAddress) {
    py::initialize_interpreter(false);  // the worker handles signals
    {
        py::module_ sys = py::module_::import("sys");
        // the build tree keeps the package beside lib/: build/python
        const auto buildTree = std::filesystem::path(pluginDirectory()) / ".." / "python";
        if (std::filesystem::exists(buildTree / "scaler_cpp")) {
            sys.attr("path").attr("insert")(0, std::filesystem::weakly_canonical(buildTree).string());
        }
        py::module_::import("os").attr("environ")["SCALER_CPP_SCHEDULER_ADDRESS"] = schedulerAddress;
        py::module_ worker = py::module_::import("scaler_cpp._worker");
        const char* executable = std::getenv("SCALER_CPP_PYTHON_EXECUTABLE");
        worker.attr("install")(executable != nullptr && *executable != '\0' ? executable
                                                                            : SCALER_PYTHON_EXECUTABLE);
        runTask = new py::object(worker.attr("run_task"));
        wakeTask = new py::object(worker.attr("wake"));
    }
    PyEval_SaveThread();  // every task thread takes the GIL as it needs it
    std::thread(watch).detach();
}

}  // namespace

PYBIND11_EMBEDDED_MODULE(_scaler_cpp_worker, m) {
    // A task waiting on nested futures lends its slot (scaler::WaitListener on this executor thread).
    m.def("waiting", [](bool nowWaiting) {
        if (scaler::WaitListener* listener = scaler::threadWaitListener()) {
            py::gil_scoped_release release;
            listener->waiting(nowWaiting);
        }
    });
}

// Runs one Python task: arguments [function, call spec, inputs...]. Throws std::runtime_error with the
// encoded exception ("python-exception:" + base64 of the pickled exception and traceback) on failure.
extern "C" std::string scaler_run_python_task(scaler::TaskContext& context,
                                              const std::string& schedulerAddress) {
    static std::once_flag once;
    std::call_once(once, [&] {
        // the first task's thread initialises; the others wait here
        start(schedulerAddress);
    });
    const auto& arguments = context.arguments();
    if (arguments.size() < 2) throw std::invalid_argument("a Python task needs a function and its arguments");
    py::gil_scoped_acquire gil;
    const unsigned long threadId = PyThread_get_thread_ident();
    {
        std::lock_guard lock(runningMutex);
        running[threadId] = RunningTask{&context, false};
    }
    struct Unregister {  // runs with the GIL held
        unsigned long id;
        ~Unregister() {
            std::lock_guard lock(runningMutex);
            running.erase(id);
            PyThreadState_SetAsyncExc(id,
                                      nullptr);  // an interrupt that came too late must not hit the next task
        }
    } unregister{threadId};
    try {
        py::list args;
        args.append(py::bytes(arguments[0].data(), arguments[0].size()));  // the cache key: small, hashed
        for (size_t i = 1; i < arguments.size(); ++i) {
            args.append(
                py::memoryview::from_memory(arguments[i].data(), static_cast<ssize_t>(arguments[i].size())));
        }
        py::tuple outcome = (*runTask)(args);
        const bool ok = outcome[0].cast<bool>();
        std::string bytes = outcome[1].cast<std::string>();
        if (!ok) throw std::runtime_error("python-exception:" + bytes);
        return bytes;
    } catch (const py::error_already_set& e) {
        throw std::runtime_error(std::string("Python runner failed: ") + e.what());
    }
}
