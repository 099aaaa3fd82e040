#include "scaler/scheduler/scaling/adapter_bill.h"

#include <cstdio>
#include <stdexcept>

namespace scaler::scheduler {
namespace {

double secondsBetween(AdapterBill::TimePoint from, AdapterBill::TimePoint to) {
    return to > from ? std::chrono::duration<double>(to - from).count() : 0;
}

}  // namespace

bool AdapterBill::setModel(std::string_view spec, std::string_view kind) {
    if (modelSet_ && spec == spec_ && kind == kind_) return true;
    modelSet_ = true;
    spec_ = spec;
    kind_ = kind;
    if (spec.empty()) {
        model_ = defaultBillingModel(kind);
        return true;
    }
    try {
        model_ = parseBillingModel(spec);
        return true;
    } catch (const std::invalid_argument&) {
        model_ = defaultBillingModel(kind);
        return false;
    }
}

void AdapterBill::endRunsNotIn(const std::function<bool(const std::string&)>& running, TimePoint now) {
    for (auto it = runs_.begin(); it != runs_.end();) {
        if (running(it->first)) {
            ++it;
            continue;
        }
        ended_ += model_.cost(secondsBetween(it->second, now));
        it = runs_.erase(it);
    }
}

double AdapterBill::costSoFar(TimePoint now) const {
    double cost = ended_;
    for (const auto& [id, began] : runs_) cost += model_.cost(secondsBetween(began, now));
    return cost;
}

double AdapterBill::costPerHour() const {
    return static_cast<double>(runs_.size()) * model_.pricePerHour;
}

std::string AdapterBill::startCostClause() const {
    const double seconds = model_.billedSeconds(model_.unitSeconds / 2);  // its minimum, or one unit
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "a start is billed at least %g s, %.4g", seconds,
                  model_.cost(seconds));
    return buffer;
}

}  // namespace scaler::scheduler
