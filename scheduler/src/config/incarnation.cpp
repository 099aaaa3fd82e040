#include <limits>
#include <random>

#include "scaler/scheduler/config/scheduler_config.h"

namespace scaler::scheduler {

uint64_t drawIncarnation() {
    std::random_device device;
    std::uniform_int_distribution<uint64_t> draw(1, std::numeric_limits<uint64_t>::max());
    return draw(device);
}

}  // namespace scaler::scheduler
