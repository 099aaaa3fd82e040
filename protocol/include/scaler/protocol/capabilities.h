#pragma once
// Capabilities in the reference's syntax: "linux,gpu=2" -> {gpu: 2, linux: -1}.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <capnp/list.h>

#include "scaler/protocol/result.h"
#include "scaler/wire/message.capnp.h"

namespace scaler {

inline constexpr int64_t kCapabilityPresent = -1;  // a bare name: present, no quantity
// Bounds on one set, the same in text and on the wire: a peer cannot make names that fill logs, metrics
// labels or the scheduler's set registry.
inline constexpr size_t kMaxCapabilityNameBytes = 128;
inline constexpr size_t kMaxCapabilitiesPerSet = 64;

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

// Every name in `required` is in `offered`, whatever the quantities: "offers nothing beyond" checks (a dear
// adapter, balancing that keeps best fit).
bool capabilityNamesSubset(const CapabilityList& required, const CapabilityList& offered);

// A task asking `required` can run where `offered` is: every name present, and where both give a quantity,
// at least as much offered ("gpu=2" runs on "gpu=4", not on "gpu=1"). A bare name on either side matches any
// quantity (the reference's behaviour, which ignored quantities altogether, §12.11). A worker runs one task
// at a time, so this is the whole of per-worker resource accounting.
bool capabilitiesSatisfy(const CapabilityList& required, const CapabilityList& offered);

// Whether a set that arrived over the wire is valid, checked as parseCapabilities checks text (names of
// letters, digits and _-./ up to kMaxCapabilityNameBytes, values -1 or more, at most kMaxCapabilitiesPerSet);
// refused with the first problem. A name such as "gpu=1,linux" could otherwise pose as another set.
Status checkWireCapabilities(capnp::List<wire::Capability>::Reader list);

// Wire conversion. fromWire sorts and, on duplicate names, keeps the last; it never throws.
CapabilityList capabilitiesFromWire(capnp::List<wire::Capability>::Reader list);
void capabilitiesToWire(const CapabilityList& capabilities, capnp::List<wire::Capability>::Builder list);

}  // namespace scaler
