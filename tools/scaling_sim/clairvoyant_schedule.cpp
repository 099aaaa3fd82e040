#include "clairvoyant_schedule.h"

#include <algorithm>
#include <limits>

namespace scaler::sim {
namespace {

// How long a task may wait for a group that is up before another group is started: the search's third axis.
constexpr double kPatienceSeconds[] = {0, 0.05, 0.1, 0.25, 0.5, 1, 3, 10, 30};
// Deadlines as multiples of the fastest makespan a number of groups reaches: the fourth axis.
constexpr double kDeadlineSlack[] = {1.0, 1.01, 1.03, 1.1, 1.25};

struct Slot {  // one worker of a group
    uint32_t group = 0;
    bool gpu = false;
    double freeAt = 0;
};

struct Interval {
    double start = 0, end = 0;
};

struct Bill {
    double groupSeconds = 0, billedSeconds = 0, cost = 0;
    void add(double seconds, const BillingModel& model) {
        groupSeconds += seconds;
        billedSeconds += model.billedSeconds(seconds);
        cost += model.cost(seconds);
    }
};

// What groups of `intervals` (each group's busy intervals) cost: busy periods closer than a start-up are one
// run (staying up costs less than stopping and starting again); each run lasts its busy time and the start-up
// before it, billed by `modelOf(group)`.
template <typename ModelOf>
Bill billOf(std::vector<std::vector<Interval>>& intervals, double startup, ModelOf modelOf) {
    Bill bill;
    for (size_t group = 0; group < intervals.size(); ++group) {
        std::vector<Interval>& busy = intervals[group];
        if (busy.empty()) continue;
        std::sort(busy.begin(), busy.end(),
                  [](const Interval& a, const Interval& b) { return a.start < b.start; });
        double periodStart = busy.front().start, periodEnd = busy.front().end;
        const BillingModel& model = modelOf(group);
        for (const Interval& i : busy) {
            // stop and start again only when that is billed for less than staying up through the gap (per
            // second: a gap longer than the start-up; per hour: never within the hour already paid)
            const double apart = model.billedSeconds(startup + (periodEnd - periodStart)) +
                                 model.billedSeconds(startup + (i.end - i.start));
            const double through = model.billedSeconds(startup + (std::max(periodEnd, i.end) - periodStart));
            if (i.start - periodEnd > startup && apart < through) {
                bill.add(startup + (periodEnd - periodStart), model);
                periodStart = i.start;
            }
            periodEnd = std::max(periodEnd, i.end);
        }
        bill.add(startup + (periodEnd - periodStart), model);
    }
    return bill;
}

// The slot a task that is ready at `ready` takes. A group that is up (busy now, or idle for less than a
// start-up, which costs less than stopping it) is used first: a free worker of one, lowest group first, or
// one that frees within `patience`; only then is a group started (the lowest free worker of any group), and
// failing that the task waits for the worker free first. A CPU task takes a GPU worker only where a CPU one
// would do no better (slots list CPU workers first).
Slot* pickSlot(std::vector<Slot>& slots, const std::vector<double>& groupBusyUntil, bool gpuTask,
               double ready, double startup, double patience) {
    Slot* upFreeNow = nullptr;
    Slot* upFreeFirst = nullptr;
    Slot* anyFreeNow = nullptr;
    Slot* anyFreeFirst = nullptr;
    for (Slot& slot : slots) {
        if (gpuTask && !slot.gpu) continue;
        const bool up = groupBusyUntil[slot.group] >= 0 && groupBusyUntil[slot.group] + startup >= ready;
        if (slot.freeAt <= ready) {
            if (up && upFreeNow == nullptr) upFreeNow = &slot;
            if (anyFreeNow == nullptr) anyFreeNow = &slot;
        } else {
            if (up && (upFreeFirst == nullptr || slot.freeAt < upFreeFirst->freeAt)) upFreeFirst = &slot;
            if (anyFreeFirst == nullptr || slot.freeAt < anyFreeFirst->freeAt) anyFreeFirst = &slot;
        }
    }
    if (upFreeNow != nullptr) return upFreeNow;
    if (upFreeFirst != nullptr && upFreeFirst->freeAt <= ready + patience) return upFreeFirst;
    return anyFreeNow != nullptr ? anyFreeNow : anyFreeFirst;
}

// `deadline` (0: none): a task may also wait for a group that is up as long as it still ends by then, the
// clairvoyant's own advantage: it knows how long it may wait without making the run longer.
ClairvoyantPoint scheduleWith(const Workload& workload, const SimSettings& settings, uint32_t cpuGroups,
                              uint32_t gpuGroups, double patience, double deadline) {
    const double startup = settings.startupSeconds;
    const double first = workload.tasks.front().arrival;
    std::vector<Slot> slots;
    for (uint32_t g = 0; g < cpuGroups; ++g) {
        for (uint32_t w = 0; w < settings.cpuWorkersPerGroup; ++w)
            slots.push_back({g, false, first + startup});
    }
    for (uint32_t g = 0; g < gpuGroups; ++g) slots.push_back({cpuGroups + g, true, first + startup});
    std::vector<std::vector<Interval>> busy(cpuGroups + gpuGroups);
    std::vector<double> busyUntil(cpuGroups + gpuGroups, -1);  // -1: never used
    double last = first;
    for (const SimTask& task : workload.tasks) {
        const double wait =
            deadline > 0 ? std::max(patience, deadline - task.duration - task.arrival) : patience;
        Slot* slot = pickSlot(slots, busyUntil, task.gpu, task.arrival, startup, wait);
        const double start = std::max(task.arrival, slot->freeAt);
        slot->freeAt = start + task.duration;
        busy[slot->group].push_back({start, slot->freeAt});
        busyUntil[slot->group] = std::max(busyUntil[slot->group], slot->freeAt);
        last = std::max(last, slot->freeAt);
    }
    const Bill bill = billOf(busy, startup, [&](size_t group) -> const BillingModel& {
        return group < cpuGroups ? settings.cpuBilling : settings.gpuBilling;
    });
    ClairvoyantPoint point{0, 0, last - first, bill.groupSeconds, patience, deadline > 0};
    point.billedSeconds = bill.billedSeconds;
    point.cost = bill.cost;
    for (uint32_t g = 0; g < cpuGroups + gpuGroups; ++g) {
        if (busy[g].empty()) continue;
        ++(g < cpuGroups ? point.cpuGroups : point.gpuGroups);
    }
    return point;
}

}  // namespace

std::vector<ClairvoyantPoint> clairvoyantSchedules(const Workload& workload, const SimSettings& settings) {
    std::vector<ClairvoyantPoint> points;
    if (workload.tasks.empty()) return points;
    const double first = workload.tasks.front().arrival;
    const bool anyGpu =
        std::any_of(workload.tasks.begin(), workload.tasks.end(), [](const SimTask& t) { return t.gpu; });
    for (uint32_t gpu = anyGpu ? 1 : 0; gpu <= settings.gpuGroups; ++gpu) {
        for (uint32_t cpu = 0; cpu <= settings.cpuGroups; ++cpu) {
            if (cpu + gpu == 0) continue;
            for (const double patience : kPatienceSeconds) {
                points.push_back(scheduleWith(workload, settings, cpu, gpu, patience, 0));
            }
            // with deadlines a little past the fastest this many groups can do
            const double fastest = scheduleWith(workload, settings, cpu, gpu, 0, 0).makespanSeconds + first;
            for (const double slack : kDeadlineSlack) {
                points.push_back(scheduleWith(workload, settings, cpu, gpu, 0, fastest * slack));
            }
        }
    }
    std::sort(points.begin(), points.end(), [](const ClairvoyantPoint& a, const ClairvoyantPoint& b) {
        return a.makespanSeconds != b.makespanSeconds ? a.makespanSeconds < b.makespanSeconds
                                                      : a.groupSeconds < b.groupSeconds;
    });
    return points;
}

std::optional<ClairvoyantPoint> cheapestWithin(const std::vector<ClairvoyantPoint>& points,
                                               double makespanSeconds) {
    std::optional<ClairvoyantPoint> best;
    for (const ClairvoyantPoint& p : points) {
        if (p.makespanSeconds > makespanSeconds) continue;
        if (!best || p.cost < best->cost || (p.cost == best->cost && p.groupSeconds < best->groupSeconds))
            best = p;
    }
    return best;
}

}  // namespace scaler::sim
