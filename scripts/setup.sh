#!/bin/bash
# README command 1: install dependencies, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./scripts/demo.sh
