#pragma once
// What one adapter's worker groups have cost so far and cost an hour now, under its billing model
// (common/billing_model.h). It is shown the adapter's groups now and then; a group it knew that is no longer
// there has ended, and its run is billed whole then. A run is billed from its start command when the
// scheduler sent it, else from when the group was first seen (adopted after a restart).

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "scaler/common/billing_model.h"

namespace scaler::scheduler {

class AdapterBill {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // The adapter's spec (its --billing), or its kind's usual model when the spec is empty; nothing changes
    // while both stay the same. False, with the kind's model, when a new spec cannot be read (the adapter's
    // own check should have refused it).
    bool setModel(std::string_view spec, std::string_view kind);
    const BillingModel& model() const { return model_; }

    // The groups the adapter runs now, by id; a group's billedFrom() is when its run began.
    template <typename GroupRecord>
    void observe(const std::map<std::string, GroupRecord>& groups, TimePoint now) {
        std::erase_if(runs_, [&](const auto& run) {
            if (groups.count(run.first) > 0) return false;
            ended_ += runCost(run.second, now);
            return true;
        });
        for (const auto& [id, group] : groups) runs_.emplace(id, group.billedFrom());
    }
    // Ended runs and running ones billed to now (a running one is billed at least its minimum already).
    double costSoFar(TimePoint now) const;
    double costPerHour() const;  // the running groups at the model's price
    // What one more start costs at least, as a clause for a decision's reason: "a start is billed at least
    // 60 s, 0.0033".
    std::string startCostClause() const;

private:
    double runCost(TimePoint began, TimePoint now) const;

    BillingModel model_;
    std::string spec_, kind_;
    bool modelSet_ = false;
    double ended_ = 0;                       // the cost of runs that have ended
    std::map<std::string, TimePoint> runs_;  // running groups and when their runs began
};

}  // namespace scaler::scheduler
