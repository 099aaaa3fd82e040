// Example plugin: task functions a user ships as a shared library.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "scaler/worker/function_registry.h"

SCALER_PLUGIN_ENTRY {
    // Returns the number of words in the payload.
    registry.add("word_count", [](scaler::TaskContext&, std::string_view text) {
        size_t words = 0;
        bool inWord = false;
        for (char c : text) {
            const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
            if (!space && !inWord) ++words;
            inWord = !space;
        }
        return std::to_string(words);
    });
    registry.add("reverse", [](scaler::TaskContext&, std::string_view text) {
        return std::string(text.rbegin(), text.rend());
    });
    // Kills its worker process: for testing the scheduler's retry limit.
    // Sleeps the payload's milliseconds without ever checking for cancel or timeout: for testing how a
    // worker abandons a function that ignores interruption.
    registry.add("stubborn_sleep_ms", [](scaler::TaskContext&, std::string_view ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoll(std::string(ms))));
        return std::string("woke");
    });
    registry.add("abort_worker", [](scaler::TaskContext&, std::string_view) -> std::string { std::abort(); });
}
