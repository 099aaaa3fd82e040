#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (unit and integration) through ctest, then
# the sanitizer runs (AddressSanitizer+UndefinedBehaviorSanitizer and ThreadSanitizer builds of the sanitizer test
# set) and clang-tidy on the files changed since .ci/clang-tidy-base.
# With arguments they go to ctest (a selection: `-L unit`, `-R Dispatcher`) and the sanitizers and clang-tidy are
# skipped; SCALER_SANITIZERS=0 skips them too.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
started=$SECONDS
phase() { echo "== $1 ($((SECONDS - started)) s so far)"; }
install_packages
phase "installed"
build
phase "built"
checks=1
[ $# -eq 0 ] || checks=0
[ "${SCALER_SANITIZERS:-1}" != 0 ] || checks=0
if [ $checks = 1 ]; then
    # The two sanitizer builds run while ctest does, at idle CPU priority (SCHED_IDLE): the integration tests
    # mostly wait on processes and sockets and get the CPU whenever they want it.
    chrt --idle 0 bash "$ROOT/tools/scripts/run-sanitizers.sh" build >"$BUILD_DIR/sanitizer-build.log" 2>&1 &
    sanitizer_build=$!
fi
cd "$BUILD_DIR"
status=0
ctest --output-on-failure -j2 --timeout 300 "$@" || status=$?
phase "ctest finished (status $status)"
if [ $checks = 1 ]; then
    if ! wait "$sanitizer_build"; then
        tail -40 "$BUILD_DIR/sanitizer-build.log"
        echo "the sanitizer builds failed (whole log: $BUILD_DIR/sanitizer-build.log)"
        exit 1
    fi
    phase "sanitizer builds finished"
    bash "$ROOT/tools/scripts/run-sanitizers.sh" run || status=1
    phase "sanitizer runs finished"
    bash "$ROOT/tools/scripts/run-clang-tidy.sh" --changed || status=1
    phase "clang-tidy finished"
fi
exit $status
