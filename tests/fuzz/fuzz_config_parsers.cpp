// libFuzzer entry: the text a user types or writes in a file. Every parser must either accept or throw the
// exception its caller turns into a one-line error; what it prints must parse back the same.
#include "fuzz_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    scaler::fuzz::runConfigParsers(data, size);
    return 0;
}
