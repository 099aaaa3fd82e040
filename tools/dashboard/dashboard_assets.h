#pragma once
// The page and everything it loads, compiled into the binary at build time (CMake, embed_assets.cmake), so
// the dashboard needs no network access and no files at run time.

#include <string_view>
#include <vector>

namespace scaler::dashboard {

struct Asset {
    std::string_view path;  // as requested, e.g. "/dashboard.js"
    std::string_view contentType;
    std::string_view body;
};

const std::vector<Asset>& dashboardAssets();

}  // namespace scaler::dashboard
