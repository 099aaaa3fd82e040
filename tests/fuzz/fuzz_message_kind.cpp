// libFuzzer entry point for one kind of message (SCALER_FUZZ_KIND: objects, graphs, tasks, heartbeats),
// built once per kind.
#include "fuzz_harness.h"
#include "fuzz_message_kinds.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    scaler::fuzz::setUpFuzzLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    scaler::fuzz::runMessageKind(scaler::fuzz::MessageKind::SCALER_FUZZ_KIND, data, size);
    return 0;
}
