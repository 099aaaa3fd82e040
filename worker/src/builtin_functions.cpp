#include "scaler/worker/builtin_functions.h"

#include <charconv>
#include <stdexcept>
#include <string>

namespace scaler::worker {

void registerBuiltinFunctions(FunctionRegistry& registry, const CommandLimits& limits) {
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
    registry.add("exec", [limits](TaskContext& context, std::string_view payload) {
        return encodeExecResult(runCommand(decodeExecRequest(payload), context, limits));
    });
}

}  // namespace scaler::worker
