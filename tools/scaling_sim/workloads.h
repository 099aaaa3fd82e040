#pragma once
// Synthetic workloads for the scaling simulator: when each task arrives, how long it runs, what it needs.

#include <string>
#include <vector>

namespace scaler::sim {

struct SimTask {
    double arrival = 0;   // seconds from the start
    double duration = 0;  // seconds on a worker
    bool gpu = false;
};

struct Workload {
    std::string name;
    std::vector<SimTask> tasks;  // sorted by arrival
};

// burst, waves, ramp, mixed, trickle, slow15 (seeded, so every policy sees the same tasks).
std::vector<Workload> standardWorkloads(unsigned seed);

}  // namespace scaler::sim
