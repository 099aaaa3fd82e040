#include "workloads.h"

#include <algorithm>
#include <random>

namespace scaler::sim {

std::vector<Workload> standardWorkloads(unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    std::vector<Workload> out;

    Workload burst{"burst", {}};  // everything at once
    for (int i = 0; i < 2000; ++i) burst.tasks.push_back({0, 1.0 * jitter(random), false});
    out.push_back(burst);

    Workload waves{"waves", {}};  // 6 waves of 300, 20 s apart: gaps shorter than a slow start-up
    for (int w = 0; w < 6; ++w) {
        for (int i = 0; i < 300; ++i)
            waves.tasks.push_back({w * 20.0 + i * 0.005, 1.0 * jitter(random), false});
    }
    out.push_back(waves);

    Workload ramp{"ramp", {}};  // arrivals rising from 1/s to 40/s over 120 s
    for (double t = 0; t < 120;) {
        const double rate = 1 + 39 * t / 120;
        t += std::exponential_distribution<double>(rate)(random);
        ramp.tasks.push_back({t, 0.5 * jitter(random), false});
    }
    out.push_back(ramp);

    Workload mixed{"mixed", {}};  // CPU and GPU tasks over 30 s
    std::uniform_real_distribution<double> within(0, 30);
    for (int i = 0; i < 1000; ++i) mixed.tasks.push_back({within(random), 1.0 * jitter(random), false});
    for (int i = 0; i < 150; ++i) mixed.tasks.push_back({within(random), 2.0 * jitter(random), true});
    out.push_back(mixed);

    Workload trickle{"trickle", {}};  // 2 tasks a second for 5 minutes
    for (double t = 0; t < 300;) {
        t += std::exponential_distribution<double>(2.0)(random);
        trickle.tasks.push_back({t, 0.2 * jitter(random), false});
    }
    out.push_back(trickle);

    // the reference's slow case (its PR #939): a few long tasks, where the task ratio is met early
    Workload slow{"slow15", {}};
    for (int i = 0; i < 15; ++i) slow.tasks.push_back({0, 6.0, false});
    out.push_back(slow);

    for (auto& w : out) {
        std::sort(w.tasks.begin(), w.tasks.end(),
                  [](const SimTask& a, const SimTask& b) { return a.arrival < b.arrival; });
    }
    return out;
}

}  // namespace scaler::sim
