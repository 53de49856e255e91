#!/usr/bin/env bash
# Runs every fuzz target for a long while (default 2 minutes each), as the
# issue asks before a release: .ci/fuzz-long.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .ci/fuzz "${1:-2m}"
