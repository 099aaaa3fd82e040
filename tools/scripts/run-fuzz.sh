#!/usr/bin/env bash
# Fuzzes the message decoder (into a live SchedulerCore), one structure-aware target per kind of message
# (objects, graphs, tasks, heartbeats: tests/fuzz/fuzz_message_kinds.h) and the configuration parsers with
# libFuzzer, ASan and UBSan, for SECONDS per target (default 60). The test suite runs the per-kind targets
# without coverage guidance for a few seconds each (ctest -L fuzz). Not part of the test suite: `cmake --build build
# --target fuzz` or this script. Prints executions and crashes per target; exits 1 if anything crashed.
#   FUZZ_UPDATE_CORPUS=1  merge what the run found into tests/fuzz/corpus (minimised) for the repo
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SECONDS_PER_TARGET="${1:-60}"
PACKAGES+=(clang-14 libfuzzer-14-dev)
install_packages
FUZZ_DIR="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
cmake -S "$ROOT" -B "$FUZZ_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DSCALER_FUZZ=ON -DSCALER_BUILD_TESTS=OFF >/dev/null
cmake --build "$FUZZ_DIR" -j"$(nproc)" --target scaler_fuzz_message_decoder scaler_fuzz_config_parsers scaler_fuzz_seeds \
    scaler_fuzz_objects scaler_fuzz_graphs scaler_fuzz_tasks scaler_fuzz_heartbeats
"$FUZZ_DIR/bin/scaler_fuzz_seeds" "$ROOT/tests/fuzz/corpus"

failed=0
for target in message_decoder config_parsers objects graphs tasks heartbeats; do
    work="$FUZZ_DIR/corpus/$target"
    crashes="$FUZZ_DIR/crashes/$target"
    rm -rf "$crashes"  # only this run's findings count
    mkdir -p "$work" "$crashes"
    cp -n "$ROOT/tests/fuzz/corpus/$target"/* "$work/" 2>/dev/null || true
    log="$FUZZ_DIR/$target.log"
    set +e
    "$FUZZ_DIR/bin/scaler_fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" >"$log" 2>&1
    status=$?
    set -e
    runs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" || echo 0)
    found=$(find "$crashes" -type f | wc -l)
    echo "fuzz $target: $runs executions in ${SECONDS_PER_TARGET} s, corpus $(ls "$work" | wc -l) inputs, crashes $found (exit $status)"
    if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" || true
    fi
    if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
        "$FUZZ_DIR/bin/scaler_fuzz_$target" -merge=1 "$ROOT/tests/fuzz/corpus/$target" "$work" >/dev/null 2>&1
    fi
done
exit "$failed"
