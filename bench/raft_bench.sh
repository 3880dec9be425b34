#!/usr/bin/env bash
# Runs the Raft benchmark (raft_bench) both ways, 1 KiB entries, 3 nodes: cores in one
# process without fsync, then three raft_node processes over loopback TCP with fsync, for
# a few window sizes. Prints the machine, each command and its lines; the figures in
# bench/RESULTS.md ("Raft commits") come from this script.
#
# Usage: bench/raft_bench.sh [BUILD_DIR]   (default build/raftdrv-rel; build it first with
#        cmake --preset release -B build/raftdrv-rel &&
#        cmake --build build/raftdrv-rel --target raft_bench raft_node)
# Environment: BENCH_DIR (data directory, default ./raft-bench-data on this repository's
# disk), SECONDS_PER_RUN (processes mode, default 10), ENTRIES (inprocess, default 50000).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/raftdrv-rel}
data=${BENCH_DIR:-$root/raft-bench-data}
seconds=${SECONDS_PER_RUN:-10}
entries=${ENTRIES:-50000}
bench=$build/bench/raft_bench
node=$build/tests/raft_cluster/raft_node

[ -x "$bench" ] || { echo "raft_bench.sh: $bench not built" >&2; exit 1; }
[ -x "$node" ] || { echo "raft_bench.sh: $node not built" >&2; exit 1; }
trap 'rm -rf "$data"' EXIT

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$root" rev-parse --short HEAD)"
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "kernel: $(uname -r)"
echo "disk: $(df -h "$root" | tail -1)"
run() {
  echo "\$ $*"
  "$@"
}
for window in 1 16 64; do
  run "$bench" --mode inprocess --entries "$entries" --window "$window" --dir "$data"
done
for window in 1 16 64 256; do
  run "$bench" --mode processes --seconds "$seconds" --window "$window" --node-bin "$node" \
    --dir "$data"
done
