# Shared by the README scripts: install what is missing from Debian, then configure and build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

# Everything the build, the tests and the demo need, from Debian 12's own archive.
PACKAGES=(
    build-essential cmake pkg-config clang-format clang-tidy util-linux
    capnproto libcapnp-dev
    libzmq3-dev cppzmq-dev
    libspdlog-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libcurl4-openssl-dev libcpp-httplib-dev
    libncurses-dev libjs-chart.js libyaml-cpp-dev
    chromium fonts-dejavu-core
    googletest libgtest-dev libgmock-dev
    python3 python3-dev python3-pybind11 python3-cloudpickle
    python3-setuptools python3-wheel python3-build python3-venv python3-pip python3-pytest
    tmux
    curl podman runc catatonit openssl
    iproute2 iptables procps
    nodejs
)

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # The ECS tests' fake endpoint installs AWS's signer with npm. Some Node builds bring npm along;
    # Debian's nodejs does not, and its npm package conflicts with those that do.
    if ! command -v npm >/dev/null; then
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        ${sudo:-} apt-get update -qq
        DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
}

build() {
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCALER_WARNINGS_AS_ERRORS=ON >/dev/null
    cmake --build "$BUILD_DIR" -j"$(nproc)"
}
