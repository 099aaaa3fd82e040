#pragma once
// Public API for task functions. A plugin is a shared library that defines
//
//     SCALER_PLUGIN_ENTRY {
//         registry.add("word_count", [](scaler::TaskContext&, std::string_view text) { ... });
//     }
//
// and is loaded with `scaler_worker --load libmy_plugin.so`. A function returns its result bytes; throwing
// fails the task with the exception's message.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scaler {

// Thrown by TaskContext helpers when the task was cancelled or ran past its timeout.
class TaskInterrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a running function may ask about its task. Long-running functions should check stopRequested()
// now and then (or use sleepFor), so cancel and timeouts take effect promptly.
class TaskContext {
public:
    using Clock = std::chrono::steady_clock;
    TaskContext(const std::atomic<bool>& cancelFlag, Clock::time_point deadline)
        : cancelFlag_(cancelFlag), deadline_(deadline) {}

    bool cancelled() const { return cancelFlag_.load(std::memory_order_relaxed); }
    bool timedOut() const { return Clock::now() >= deadline_; }
    bool stopRequested() const { return cancelled() || timedOut(); }
    Clock::time_point deadline() const { return deadline_; }
    // Throws TaskInterrupted when the task should stop.
    void throwIfStopRequested() const;
    // Sleeps, waking early (and throwing TaskInterrupted) on cancel or timeout.
    void sleepFor(std::chrono::nanoseconds duration) const;

private:
    const std::atomic<bool>& cancelFlag_;
    Clock::time_point deadline_;
};

using TaskFunction = std::function<std::string(TaskContext&, std::string_view payload)>;

class FunctionRegistry {
public:
    // Throws std::invalid_argument when the name is empty or already registered.
    void add(const std::string& name, TaskFunction function);
    const TaskFunction* find(std::string_view name) const;
    std::vector<std::string> names() const;

private:
    std::map<std::string, TaskFunction, std::less<>> functions_;
};

}  // namespace scaler

#define SCALER_PLUGIN_ENTRY extern "C" void scaler_register_functions(scaler::FunctionRegistry& registry)
