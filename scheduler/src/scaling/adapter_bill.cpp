#include "scaler/scheduler/scaling/adapter_bill.h"

#include <cstdio>
#include <stdexcept>

namespace scaler::scheduler {

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

double AdapterBill::runCost(TimePoint began, TimePoint now) const {
    return model_.cost(now > began ? std::chrono::duration<double>(now - began).count() : 0);
}

double AdapterBill::costSoFar(TimePoint now) const {
    double cost = ended_;
    for (const auto& [id, began] : runs_) cost += runCost(began, now);
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
