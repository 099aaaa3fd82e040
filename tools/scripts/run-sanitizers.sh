#!/usr/bin/env bash
# The sanitizer runs: the sanitizer test set (scaler_sanitized_tests in tests/CMakeLists.txt: the logic's unit
# tests, the fuzz corpus, a whole cluster on threads of one process) built twice, with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan) and with ThreadSanitizer (build-tsan), then run.
#   run-sanitizers.sh [build|run|all]   (default all)
# run-tests.sh builds them at idle CPU priority while ctest runs, then runs them.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODE="${1:-all}"
ASAN_DIR="${ASAN_BUILD_DIR:-$ROOT/build-asan}"
TSAN_DIR="${TSAN_BUILD_DIR:-$ROOT/build-tsan}"

configure_and_build() {  # dir sanitizers optimisation
    cmake -S "$ROOT" -B "$1" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$3 -g1" -DSCALER_SANITIZE="$2" \
        -DSCALER_WARNINGS_AS_ERRORS=OFF >/dev/null
    cmake --build "$1" -j"$(nproc)" --target scaler_sanitized_tests
}

run_set() {  # name dir
    echo "== $1: $2/bin/scaler_sanitized_tests"
    "$2/bin/scaler_sanitized_tests" --gtest_brief=1 >"$2/sanitized_tests.log" 2>&1 || {
        grep -v '^\[20' "$2/sanitized_tests.log" | tail -80
        echo "$1: FAILED (whole log: $2/sanitized_tests.log)"
        return 1
    }
    grep -E '^\[  PASSED  \]' "$2/sanitized_tests.log" | sed "s/^/$1: /"
}

if [ "$MODE" = build ] || [ "$MODE" = all ]; then
    # -O0 keeps the AddressSanitizer build short; ThreadSanitizer wants -O1 to run at a useful speed.
    configure_and_build "$ASAN_DIR" "address,undefined" "-O0"
    configure_and_build "$TSAN_DIR" "thread" "-O1"
fi
if [ "$MODE" = run ] || [ "$MODE" = all ]; then
    # Leaks are errors too (LeakSanitizer comes with AddressSanitizer); a UBSan finding stops the test
    # (-fno-sanitize-recover). libzmq is not instrumented: tests/sanitizer/tsan.supp says what that hides.
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="print_stacktrace=1"
    export TSAN_OPTIONS="suppressions=$ROOT/tests/sanitizer/tsan.supp:second_deadlock_stack=1"
    status=0
    run_set "asan+ubsan" "$ASAN_DIR" || status=1
    run_set "tsan" "$TSAN_DIR" || status=1
    exit $status
fi
