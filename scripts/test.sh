#!/bin/bash
# README command 2: build if needed, then run the whole test suite.
# It ends with the line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./tests/run.sh "$@"
