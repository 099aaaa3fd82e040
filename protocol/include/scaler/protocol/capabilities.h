#pragma once
// Capabilities in the reference's syntax: "linux,gpu=2" -> {gpu: 2, linux: -1}.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <capnp/list.h>

#include "scaler/wire/message.capnp.h"

namespace scaler {

inline constexpr int64_t kCapabilityPresent = -1;  // a bare name: present, no quantity

struct Capability {
    std::string name;
    int64_t value = kCapabilityPresent;
    bool operator==(const Capability&) const = default;
};

// Sorted by name, names unique. Every list built by this module keeps that invariant, so two equal sets
// compare equal and subset tests are a linear merge.
using CapabilityList = std::vector<Capability>;

// Throws std::invalid_argument naming the bad item ("gpu=x", "=2", duplicate names).
CapabilityList parseCapabilities(std::string_view text);
std::string formatCapabilities(const CapabilityList& capabilities);

// The allocation rule of the reference: a task fits a worker when every capability name the task asks for
// is one the worker has. Quantities are not accounted (docs/architecture.md).
bool capabilityNamesSubset(const CapabilityList& required, const CapabilityList& offered);

// Wire conversion. fromWire sorts and, on duplicate names, keeps the last; it never throws.
CapabilityList capabilitiesFromWire(capnp::List<wire::Capability>::Reader list);
void capabilitiesToWire(const CapabilityList& capabilities, capnp::List<wire::Capability>::Builder list);

}  // namespace scaler
