#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (unit and integration) through ctest.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_packages
build
cd "$BUILD_DIR"
ctest --output-on-failure -j2 --timeout 300 "$@"
