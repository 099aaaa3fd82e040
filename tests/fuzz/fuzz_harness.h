#pragma once
// What each fuzz target does with one input, shared by the libFuzzer entry points (clang build) and the
// corpus replay in the unit tests (every build), so each input the fuzzer kept stays a regression test.

#include <cstddef>
#include <cstdint>

namespace scaler::fuzz {

// Quiets the scheduler's log (SCALER_FUZZ_TRACE=1: every message printed and the log on, for triage).
void setUpFuzzLogging();
// A conversation of frames (fuzz_input.h) into a fresh SchedulerCore through the frame decoder.
void runMessageConversation(const uint8_t* data, size_t size);
// The first byte picks a parser (policy content, capabilities, TOML section, address) for the rest.
void runConfigParsers(const uint8_t* data, size_t size);

}  // namespace scaler::fuzz
