#pragma once
// What a Kubernetes API server checks that its OpenAPI schemas do not: object names (DNS-1123), label keys
// and values, and resource quantities. Checked at the adapter's start-up, so a bad flag is one clear line
// instead of a 422 at every group start.

#include <optional>
#include <string>

#include "scaler/protocol/result.h"

namespace scaler::adapters::kubernetes {

// Whether `name` is a DNS-1123 subdomain (Pod and namespace... names: at most 253 lowercase letters, digits,
// '-' and '.', starting and ending alphanumeric), and why not.
Status checkDns1123Subdomain(const std::string& name);
// The same for a DNS-1123 label (at most 63 characters, no '.'): namespace names, service names.
Status checkDns1123Label(const std::string& name);
// A label value: empty, or at most 63 letters, digits, '-', '_', '.', starting and ending alphanumeric.
Status checkLabelValue(const std::string& value);
// A label or annotation key: [prefix/]name, the prefix a DNS-1123 subdomain, the name as a label value but
// not empty.
Status checkLabelKey(const std::string& key);

// A resource quantity ("500m", "2", "1.5Gi", "1e3"): its value, or nullopt when it is not one.
std::optional<long double> parseQuantity(const std::string& text);

}  // namespace scaler::adapters::kubernetes
