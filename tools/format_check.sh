#!/usr/bin/env bash
# Fails when any C++ file differs from what clang-format 14 would write.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc' | grep -v '/generated/' || true)
[[ -z "$files" ]] && exit 0
echo "$files" | xargs clang-format --dry-run --Werror
echo "format: $(echo "$files" | wc -l) files clean"
