#!/usr/bin/env bash
# clang-tidy with .clang-tidy over the component folders' sources, using the main build's compile commands.
#   run-clang-tidy.sh            every source file (about 6 minutes on 2 cores; also `cmake --build build
#                                --target tidy`)
#   run-clang-tidy.sh --changed  the files changed since the commit in .ci/clang-tidy-base, committed or not, and
#                                the sources that include a changed header (every file when that commit is not
#                                in this clone's history). .ci/run uses this; move the base forward after a
#                                whole run passes.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
FOLDERS='^(scheduler|worker|client|adapters|protocol|common)/'
all_sources() { git ls-files | grep -E "$FOLDERS" | grep -E '\.cpp$'; }

sources=()
if [ "${1:-}" = --changed ]; then
    base="$(tr -d '[:space:]' < .ci/clang-tidy-base)"
    if git cat-file -e "${base}^{commit}" 2>/dev/null; then
        changed="$( (git diff --name-only "$base" HEAD; git diff --name-only HEAD) | sort -u |
            grep -E "$FOLDERS" | grep -E '\.(cpp|h)$' || true)"
        for f in $changed; do
            [ -f "$f" ] || continue
            if [[ "$f" == *.cpp ]]; then
                sources+=("$f")
            else
                # a header is checked through the sources that include it (by its include path or its name)
                include="${f#*/include/}"
                [ "$include" = "$f" ] && include="$(basename "$f")"
                while read -r user; do sources+=("$user"); done < <(all_sources | xargs grep -l "#include \"$include\"" || true)
            fi
        done
        echo "clang-tidy: files changed since $base"
    else
        echo "clang-tidy: $base is not in this clone's history; checking every file"
        mapfile -t sources < <(all_sources)
    fi
else
    mapfile -t sources < <(all_sources)
fi
mapfile -t sources < <(printf '%s\n' "${sources[@]}" | grep -v '^$' | sort -u)
if [ ${#sources[@]} -eq 0 ]; then
    echo "clang-tidy: no source to check"
    exit 0
fi
echo "clang-tidy: ${#sources[@]} files"
patterns=()
for f in "${sources[@]}"; do patterns+=("^$ROOT/$f\$"); done
run-clang-tidy -quiet -p "$BUILD_DIR" -j "$(nproc)" "${patterns[@]}" > "$BUILD_DIR/clang-tidy.log" 2>&1 && status=0 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$BUILD_DIR/clang-tidy.log" | grep -E '^/.*(warning|error): ' | sort -u || true
if [ $status -ne 0 ]; then
    echo "clang-tidy: FAILED (whole log: $BUILD_DIR/clang-tidy.log)"
    exit 1
fi
echo "clang-tidy: clean"
