#include "scaler/worker/function_registry.h"

#include <algorithm>
#include <thread>

namespace scaler {

void TaskContext::throwIfStopRequested() const {
    if (cancelled()) throw TaskInterrupted("task cancelled");
    if (timedOut()) throw TaskInterrupted("task timed out");
}

void TaskContext::sleepFor(std::chrono::nanoseconds duration) const {
    const auto until = Clock::now() + duration;
    // short sleeps sleep once; long ones poll the flags every 10 ms
    while (true) {
        throwIfStopRequested();
        const auto now = Clock::now();
        if (now >= until) return;
        std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(10)));
    }
}

const std::vector<std::string_view>& TaskContext::arguments() const {
    static const std::vector<std::string_view> none;
    return arguments_ != nullptr ? *arguments_ : none;
}

size_t NextTask::countFor(double meanTaskUs) {
    if (meanTaskUs < 0) return kFirstTasks;
    const double work = static_cast<double>(kAheadWork.count());
    if (meanTaskUs * static_cast<double>(kMaxTasks) <= work) return kMaxTasks;
    return static_cast<size_t>(work / meanTaskUs);
}

const std::vector<NextTask>& TaskContext::nextTasks() const {
    static const std::vector<NextTask> none;
    return nextTasks_ != nullptr ? *nextTasks_ : none;
}

Client& TaskContext::client() const {
    if (clientSource_ == nullptr || !*clientSource_) {
        throw std::logic_error("this task has no client to submit nested tasks with");
    }
    return (*clientSource_)();
}

void FunctionRegistry::add(const std::string& name, TaskFunction function) {
    if (name.empty()) throw std::invalid_argument("function name must not be empty");
    if (!functions_.emplace(name, RegisteredFunction{std::move(function)}).second) {
        throw std::invalid_argument("function '" + name + "' is registered twice");
    }
}

void FunctionRegistry::refuse(const std::string& name, std::string why) {
    add(name, [why = std::move(why)](TaskContext&, std::string_view) -> std::string {
        throw std::runtime_error(why);
    });
    refused_.push_back(name);
}

void FunctionRegistry::addTakingNextTask(const std::string& name, TaskFunction function) {
    add(name, std::move(function));
    functions_.find(name)->second.takesNextTask = true;
}

const RegisteredFunction* FunctionRegistry::lookup(std::string_view name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : &it->second;
}

const TaskFunction* FunctionRegistry::find(std::string_view name) const {
    const RegisteredFunction* function = lookup(name);
    return function == nullptr ? nullptr : &function->call;
}

std::vector<std::string> FunctionRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : functions_) {
        if (std::find(refused_.begin(), refused_.end(), name) == refused_.end()) out.push_back(name);
    }
    return out;
}

}  // namespace scaler
