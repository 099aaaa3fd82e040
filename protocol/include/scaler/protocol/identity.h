#pragma once
// Routing identities in the reference's form: "Client|<hex>", "Worker|<name>|<hex>".

#include <string>
#include <string_view>

namespace scaler {

std::string randomHex(size_t bytes);
std::string makeIdentity(std::string_view kind, std::string_view name = {});

}  // namespace scaler
