#pragma once
// How a provider bills a worker group's run (its start command to its stop): in whole units of a second or
// an hour, each run at least a minimum, at a price per group-hour. ECS on Fargate and on EC2 bill by the
// second with a one-minute minimum; a machine rented by the hour rounds every run up to whole hours, so
// stopping a group and starting it again within the hour pays the hour twice.

#include <string>
#include <string_view>

namespace scaler {

struct BillingModel {
    double unitSeconds = 1;     // runs are billed in whole units of this: 1 (per second) or 3600 (per hour)
    double minimumSeconds = 0;  // every run is billed at least this long
    double pricePerHour = 1;    // per group-hour, in whatever currency the operator uses

    // How long a run of `seconds` is billed for.
    double billedSeconds(double seconds) const;
    // What a run of `seconds` costs.
    double cost(double seconds) const { return billedSeconds(seconds) * pricePerHour / 3600; }
    // The spec parseBillingModel reads back: "per-second:minimum=60:price=0.05".
    std::string describe() const;
};

// "per-second" or "per-hour", then optional ":minimum=SECONDS" and ":price=PER_GROUP_HOUR" in any order.
// Throws std::invalid_argument with a sentence naming the part it could not read.
BillingModel parseBillingModel(std::string_view spec);

// The usual model for an adapter kind: ECS per second with a one-minute minimum; the others per second.
BillingModel defaultBillingModel(std::string_view adapterKind);

}  // namespace scaler
