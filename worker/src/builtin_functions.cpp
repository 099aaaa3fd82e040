#include "scaler/worker/builtin_functions.h"

#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaler/client/client.h"

namespace scaler::worker {
namespace {

// The task's inputs: its arguments, or the payload alone.
std::vector<std::string_view> inputsOf(const TaskContext& context, std::string_view payload) {
    if (!context.arguments().empty()) return context.arguments();
    return {payload};
}

int64_t parseInteger(std::string_view text, const char* function) {
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        throw std::invalid_argument(std::string(function) + " expects whole numbers, got '" +
                                    std::string(text.substr(0, 40)) + "'");
    }
    return value;
}

}  // namespace

void registerBuiltinFunctions(FunctionRegistry& registry, const CommandLimits& limits, bool allowExec) {
    registry.add("noop", [](TaskContext&, std::string_view) { return std::string(); });
    registry.add("echo", [](TaskContext&, std::string_view payload) { return std::string(payload); });
    registry.add("sleep_ms", [](TaskContext& context, std::string_view payload) {
        uint64_t ms = 0;
        const auto [ptr, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), ms);
        if (payload.empty() || ec != std::errc() || ptr != payload.data() + payload.size()) {
            throw std::invalid_argument("sleep_ms expects a whole number of milliseconds, got '" +
                                        std::string(payload) + "'");
        }
        context.sleepFor(std::chrono::milliseconds(ms));
        return std::string(payload);
    });
    registry.add("fail", [](TaskContext&, std::string_view payload) -> std::string {
        throw std::runtime_error(payload.empty() ? std::string("fail called") : std::string(payload));
    });
    // arguments joined, in order
    registry.add("concat", [](TaskContext& context, std::string_view payload) {
        std::string out;
        for (std::string_view input : inputsOf(context, payload)) out.append(input);
        return out;
    });
    // arguments read as decimal integers, summed
    registry.add("sum", [](TaskContext& context, std::string_view payload) {
        int64_t total = 0;
        for (std::string_view input : inputsOf(context, payload)) total += parseInteger(input, "sum");
        return std::to_string(total);
    });
    // the arguments' total size in bytes: what a task saw of a large object, at no cost per byte
    registry.add("length", [](TaskContext& context, std::string_view payload) {
        uint64_t bytes = 0;
        for (std::string_view input : inputsOf(context, payload)) bytes += input.size();
        return std::to_string(bytes);
    });
    // "BYTES CHECKSUM" of the arguments: what a task saw of a large object, without sending it back
    registry.add("checksum", [](TaskContext& context, std::string_view payload) {
        uint64_t bytes = 0;
        uint64_t hash = 1469598103934665603ull;  // FNV-1a
        for (std::string_view input : inputsOf(context, payload)) {
            bytes += input.size();
            for (unsigned char c : input) hash = (hash ^ c) * 1099511628211ull;
        }
        return std::to_string(bytes) + " " + std::to_string(hash);
    });
    // Fibonacci by nested tasks: fib(n) submits fib(n-1) and fib(n-2) and waits for them (docs/python.md's
    // nesting example in C++; also the deadlock test)
    registry.add("fib_nested", [](TaskContext& context, std::string_view payload) {
        const int64_t n = parseInteger(payload, "fib_nested");
        if (n < 2) return std::to_string(n);
        Client& client = context.client();
        Future a = client.submit("fib_nested", std::to_string(n - 1));
        Future b = client.submit("fib_nested", std::to_string(n - 2));
        return std::to_string(parseInteger(a.get(), "fib_nested") + parseInteger(b.get(), "fib_nested"));
    });
    if (!allowExec) {
        registry.refuse(
            "exec",
            "this worker does not run exec tasks: start it with --allow-exec (or its adapter with "
            "--worker-allow-exec) to let the cluster's clients run programs on it");
        return;
    }
    registry.add("exec", [limits](TaskContext& context, std::string_view payload) {
        return encodeExecResult(runCommand(decodeExecRequest(payload), context, limits));
    });
}

}  // namespace scaler::worker
