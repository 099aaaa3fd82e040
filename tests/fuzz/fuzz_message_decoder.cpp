// libFuzzer entry: arbitrary bytes through the frame decoder into a fresh SchedulerCore, as the scheduler's
// socket would deliver them. Any crash, sanitizer report or escaped exception is a bug: bad input must be
// logged and dropped.
#include "fuzz_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    scaler::fuzz::setUpFuzzLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    scaler::fuzz::runMessageConversation(data, size);
    return 0;
}
