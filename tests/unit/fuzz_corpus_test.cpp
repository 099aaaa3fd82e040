// Every input the fuzzers kept (tests/fuzz/corpus, including the ones that once crashed) replayed through
// the same harness in the ordinary build: a fixed bug stays fixed without a clang build.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "fuzz_harness.h"
#include "fuzz_message_kinds.h"

namespace {

size_t replay(const std::string& target, void (*run)(const uint8_t*, size_t)) {
    scaler::fuzz::setUpFuzzLogging();
    size_t inputs = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(SCALER_FUZZ_CORPUS_DIR) + "/" + target)) {
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        SCOPED_TRACE(entry.path().string());
        run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        ++inputs;
    }
    return inputs;
}

}  // namespace

TEST(FuzzCorpus, MessageConversationsReplayWithoutCrashing) {
    EXPECT_GT(replay("message_decoder", scaler::fuzz::runMessageConversation), 10u);
}

TEST(FuzzCorpus, ConfigurationTextReplaysWithoutCrashing) {
    EXPECT_GT(replay("config_parsers", scaler::fuzz::runConfigParsers), 10u);
}

TEST(FuzzCorpus, EachKindOfMessageReplaysWithoutCrashing) {
    for (scaler::fuzz::MessageKind kind : scaler::fuzz::kMessageKinds) {
        static scaler::fuzz::MessageKind current;
        current = kind;
        const size_t inputs = replay(
            scaler::fuzz::messageKindName(kind),
            [](const uint8_t* data, size_t size) { scaler::fuzz::runMessageKind(current, data, size); });
        EXPECT_GT(inputs, 10u) << scaler::fuzz::messageKindName(kind);
    }
}
