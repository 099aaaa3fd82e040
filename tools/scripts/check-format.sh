#!/usr/bin/env bash
# Fails, naming the files, when a C++ source is not formatted as .clang-format says (clang-format-14).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
    mapfile -t files < <(find . -path ./build -prune -o \( -name '*.cpp' -o -name '*.h' \) -print)
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/clang-format-check.$$; then
    grep -o '^[^:]*\.\(cpp\|h\)' /tmp/clang-format-check.$$ | sort -u | sed 's/^/not formatted: /'
    echo "run: git ls-files '*.cpp' '*.h' | xargs clang-format -i"
    rm -f /tmp/clang-format-check.$$
    exit 1
fi
rm -f /tmp/clang-format-check.$$
echo "${#files[@]} files formatted as .clang-format says"
