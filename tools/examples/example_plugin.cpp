// Example plugin: task functions a user ships as a shared library.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

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
    registry.add("abort_worker", [](scaler::TaskContext&, std::string_view) -> std::string { std::abort(); });
}
