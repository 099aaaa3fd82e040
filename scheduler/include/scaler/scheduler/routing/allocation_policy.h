#pragma once
// Allocation policies decide which workers may run a task and how queued work is rebalanced. The choice
// among eligible workers (the least loaded one with room) and the bookkeeping live in SchedulerCore;
// balancing is a pure function of a snapshot so it can be table-tested.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class AllocationPolicy {
public:
    virtual ~AllocationPolicy() = default;
    virtual std::string_view name() const = 0;
    // May a worker offering `offered` run a task that requires `required`?
    virtual bool canRun(const CapabilityList& required, const CapabilityList& offered) const = 0;
    // Place a task on the eligible worker with the fewest capabilities first (then the least loaded), so
    // special workers stay free for tasks that need them and can be scaled down.
    virtual bool bestFit() const { return false; }
    // May balancing move a task from a worker offering `donor` to one offering `receiver`?
    virtual bool mayBalanceOnto(const CapabilityList& /*donor*/, const CapabilityList& /*receiver*/) const {
        return true;
    }
};

// even_load: tasks go to the least loaded worker that has what they ask for. A task that asks for a
// capability never runs where it is missing, whatever the policy (the reference's even_load ignored them);
// unlike `capability`, placement is not best-fit, so plain tasks spread over special workers too.
class EvenLoadAllocationPolicy final : public AllocationPolicy {
public:
    std::string_view name() const override { return "even_load"; }
    bool canRun(const CapabilityList& required, const CapabilityList& offered) const override {
        return required.empty() || capabilitiesSatisfy(required, offered);
    }
};

// capability: a worker is eligible when it has every capability the task asks for, in at least the quantity
// asked where both give one (capabilitiesSatisfy).
class CapabilityAllocationPolicy final : public AllocationPolicy {
public:
    std::string_view name() const override { return "capability"; }
    bool canRun(const CapabilityList& required, const CapabilityList& offered) const override {
        return capabilitiesSatisfy(required, offered);
    }
    bool bestFit() const override { return true; }
    // never onto a worker with capabilities the donor lacks: that would undo best-fit placement
    bool mayBalanceOnto(const CapabilityList& donor, const CapabilityList& receiver) const override {
        return capabilityNamesSubset(receiver, donor);
    }
};

// Throws std::invalid_argument for an unknown name.
std::unique_ptr<AllocationPolicy> makeAllocationPolicy(std::string_view name);

struct BalanceTask {
    TaskIndex task;
    const CapabilityList* required;
};

struct BalanceWorker {
    uint32_t id;
    const CapabilityList* capabilities;
    uint32_t load;                     // tasks assigned to it
    std::vector<BalanceTask> movable;  // tasks it has not started, youngest first
    bool mayReceive = true;            // false: near its memory limit, it gives tasks but takes none
};

struct TaskMove {
    TaskIndex task;
    uint32_t fromWorker;
    uint32_t toWorker;  // the worker the plan had in mind; dispatch places the task afresh
};

// Moves queued tasks from loaded workers to workers that have nothing, as long as the move narrows the gap
// (donor load - receiver load >= 2), a task moves at most once, and the receiver can run it. Returns no
// move unless some worker is idle. Terminates: every move lowers the sum of squared loads.
std::vector<TaskMove> planBalance(const AllocationPolicy& policy, std::vector<BalanceWorker> workers,
                                  size_t maxMoves);

}  // namespace scaler::scheduler
