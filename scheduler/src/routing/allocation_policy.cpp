#include "scaler/scheduler/routing/allocation_policy.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace scaler::scheduler {

std::unique_ptr<AllocationPolicy> makeAllocationPolicy(std::string_view name) {
    if (name == "even_load") return std::make_unique<EvenLoadAllocationPolicy>();
    if (name == "capability") return std::make_unique<CapabilityAllocationPolicy>();
    throw std::invalid_argument("unknown allocate policy '" + std::string(name) + "'");
}

std::vector<TaskMove> planBalance(const AllocationPolicy& policy, std::vector<BalanceWorker> workers,
                                  size_t maxMoves) {
    std::vector<TaskMove> moves;
    if (workers.size() < 2) return moves;
    const auto receives = [](const BalanceWorker& w) { return w.load == 0 && w.mayReceive; };
    if (std::none_of(workers.begin(), workers.end(), receives)) return moves;
    // nothing to move (an idle cluster): without this, every idle receiver would scan every donor
    if (std::none_of(workers.begin(), workers.end(),
                     [](const auto& w) { return w.load >= 2 && !w.movable.empty(); }))
        return moves;

    // Receivers are the workers that started idle and take tasks; each move goes to the least loaded receiver
    // that can take some movable task, from the most loaded donor that has one for it.
    std::vector<size_t> receivers;
    for (size_t i = 0; i < workers.size(); ++i)
        if (receives(workers[i])) receivers.push_back(i);
    std::vector<size_t> cursor(workers.size(), 0);  // next movable task to consider per donor

    while (moves.size() < maxMoves && !receivers.empty()) {
        const auto r = std::min_element(receivers.begin(), receivers.end(), [&](size_t a, size_t b) {
            return workers[a].load < workers[b].load;
        });
        BalanceWorker& receiver = workers[*r];
        size_t bestDonor = workers.size();
        size_t bestTask = 0;
        for (size_t d = 0; d < workers.size(); ++d) {
            BalanceWorker& donor = workers[d];
            if (d == *r || donor.load < receiver.load + 2) continue;
            if (!policy.mayBalanceOnto(*donor.capabilities, *receiver.capabilities)) continue;
            if (bestDonor != workers.size() && donor.load <= workers[bestDonor].load) continue;
            for (size_t t = cursor[d]; t < donor.movable.size(); ++t) {
                if (donor.movable[t].task == kNone) continue;  // already moved
                if (policy.canRun(*donor.movable[t].required, *receiver.capabilities)) {
                    bestDonor = d;
                    bestTask = t;
                    break;
                }
            }
        }
        if (bestDonor == workers.size()) {
            receivers.erase(r);  // nothing this receiver can take
            continue;
        }
        BalanceWorker& donor = workers[bestDonor];
        moves.push_back({donor.movable[bestTask].task, donor.id, receiver.id});
        donor.movable[bestTask].task = kNone;
        if (bestTask == cursor[bestDonor]) ++cursor[bestDonor];
        --donor.load;
        ++receiver.load;
    }
    return moves;
}

}  // namespace scaler::scheduler
