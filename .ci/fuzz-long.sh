#!/usr/bin/env bash
# Runs every fuzz target for a long while before a release: 5 minutes each by
# default, the release bar (at least 5 minutes per target); a longer run is
# .ci/fuzz-long.sh [duration], e.g. 30m.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .ci/fuzz "${1:-5m}"
