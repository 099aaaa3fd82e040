#include "scaler/common/billing_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace scaler {
namespace {

double number(std::string_view text, std::string_view what) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
        throw std::invalid_argument("billing: " + std::string(what) + " '" + std::string(text) +
                                    "' is not a number of 0 or more");
    }
    return value;
}

}  // namespace

double BillingModel::billedSeconds(double seconds) const {
    const double run = std::max(seconds, minimumSeconds);
    if (run <= 0) return 0;
    // a hair below a whole unit is that unit, not the next (floating-point sums of simulated time)
    return std::ceil(run / unitSeconds - 1e-9) * unitSeconds;
}

std::string BillingModel::describe() const {
    char buffer[128];
    std::snprintf(buffer, sizeof buffer, "%s:minimum=%g:price=%g",
                  unitSeconds >= 3600 ? "per-hour" : "per-second", minimumSeconds, pricePerHour);
    return buffer;
}

BillingModel parseBillingModel(std::string_view spec) {
    BillingModel model;
    const size_t colon = spec.find(':');
    const std::string_view unit = spec.substr(0, colon);
    if (unit == "per-second") {
        model.unitSeconds = 1;
    } else if (unit == "per-hour") {
        model.unitSeconds = 3600;
    } else {
        throw std::invalid_argument("billing: '" + std::string(unit) +
                                    "' is not a billing unit (per-second or per-hour)");
    }
    std::string_view rest = colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
    while (!rest.empty()) {
        const size_t next = rest.find(':');
        const std::string_view part = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        const size_t equals = part.find('=');
        const std::string_view key = part.substr(0, equals);
        const std::string_view value =
            equals == std::string_view::npos ? std::string_view() : part.substr(equals + 1);
        if (key == "minimum") {
            model.minimumSeconds = number(value, "minimum");
        } else if (key == "price") {
            model.pricePerHour = number(value, "price");
        } else {
            throw std::invalid_argument("billing: '" + std::string(part) +
                                        "' is not minimum=SECONDS or price=PER_GROUP_HOUR");
        }
    }
    return model;
}

BillingModel defaultBillingModel(std::string_view adapterKind) {
    BillingModel model;
    if (adapterKind == "ecs") model.minimumSeconds = 60;
    return model;
}

}  // namespace scaler
