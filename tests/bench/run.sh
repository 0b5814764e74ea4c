#!/usr/bin/env bash
# tests/bench/run.sh: every benchmark of issue 13 (tests/bench/bench.py: the
# crypto bound, durable submissions, idle connections, the outbox drain,
# abuse, and the thread relay of bench_threads.py) on an existing build.
# Figures are printed and written to <build>/bench/, never asserted; the
# last line is "N benchmarks ran, N failed". tests/run.sh --bench builds and
# then runs this. Options are bench.py's: --quick, --only NAME[,NAME], --runs N.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bdir=${VARSKO_BUILD_DIR:-build}
export VARSKO_SOURCE_ROOT="$root"
export VARSKO_BUILD_ROOT="$root/$bdir"
exec /usr/bin/python3 tests/bench/bench.py "$@"
