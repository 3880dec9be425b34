#!/usr/bin/env bash
# Profiles the broker's produce and fetch paths under caudal-bench load, so RESULTS.md can say
# where the CPU goes. Two tools, one broker each:
#
#   perf:      `perf record -e cpu-clock` on the broker (a software clock: this VM exposes
#              no hardware counters, so `perf stat -e instructions` reports "not supported")
#              during a produce of PROFILE_RECORDS x 1 KiB (acks=1, linger 5 ms, 6
#              partitions) and then a consume of the same topic; a report per phase.
#   heaptrack: the broker under heaptrack, twice, producing and consuming N and then 5 x N
#              records; the difference in allocation calls over the difference in records is
#              the heap allocations per record on the produce + fetch paths (start-up and
#              topic creation cancel out).
#
# Usage: bench/profile.sh OUT_DIR [BUILD_DIR]   (BUILD_DIR default build/bench-rel; a
#        RelWithDebInfo build so perf sees symbols). Environment: CAUDAL_BIN (the broker,
#        default BUILD_DIR/src/caudal), PROFILE_RECORDS (default 1048576), HEAP_RECORDS
#        (default 20000), ONLY (perf,heaptrack; default both).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: bench/profile.sh OUT_DIR [BUILD_DIR]}
build=${2:-$root/build/bench-rel}
caudal_bin=${CAUDAL_BIN:-$build/src/caudal}
bench_bin=$build/bench/caudal-bench
records=${PROFILE_RECORDS:-1048576}
heap_records=${HEAP_RECORDS:-20000}
only=${ONLY:-perf,heaptrack}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/common.sh"

# start_broker NAME [WRAPPER...]: starts a broker with a fresh data dir; sets $port, $pid
# (the PID of the broker, or of its wrapper).
start_broker() {
  local name=$1
  shift
  port=$(free_port)
  mkdir -p "$work/$name"
  printf 'node.id=0\nlisteners=PLAINTEXT://127.0.0.1:%s\nlog.dirs=%s\nadmin.listener=\n' \
    "$port" "$work/$name/data" >"$work/$name/broker.properties"
  "$@" "$caudal_bin" serve --config "$work/$name/broker.properties" >"$work/$name/broker.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_port "$port" "$pid"
}

stop_broker() {
  kill "$1"
  wait "$1" 2>/dev/null || true
}

if want perf; then
  start_broker perf
  common=(--brokers "127.0.0.1:$port" --broker-pid "$pid")
  for phase in produce consume; do
    perf record -e cpu-clock -F 999 -p "$pid" -o "$out/perf-$phase.data" 2>"$out/perf-$phase.log" &
    perf_pid=$!
    sleep 1
    if [ "$phase" = produce ]; then
      "$bench_bin" produce "${common[@]}" --topic prof --partitions 6 --records "$records" \
        --size 1024 --acks 1 --linger-ms 5 | tee "$out/bench-$phase.txt"
    else
      "$bench_bin" consume "${common[@]}" --topic prof --records "$records" | tee "$out/bench-$phase.txt"
    fi
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    # Flat (self) profile: without frame pointers in the libraries, call graphs from
    # perf's default unwinder are unreliable, so the report names functions only.
    perf report -i "$out/perf-$phase.data" --no-children --sort dso,symbol --stdio -g none \
      --percent-limit 0.3 2>/dev/null | grep -v -e '^#' -e '^$' | sed 's/ *$//' \
      >"$out/perf-$phase-flat.txt" || true
    echo "== $out/perf-$phase-flat.txt"
    sed -n 1,25p "$out/perf-$phase-flat.txt"
  done
  stop_broker "$pid"
fi

if want heaptrack; then
  for n in "$heap_records" $((heap_records * 5)); do
    start_broker "heap$n" heaptrack -o "$out/heaptrack-$n"
    # heaptrack's script runs the broker in the foreground and ignores SIGTERM until it
    # exits: stop the broker itself, then wait for the script to write its file.
    wrapper=$pid
    pid=$(pgrep -P "$wrapper" -x caudal)
    "$bench_bin" produce --brokers "127.0.0.1:$port" --topic heap --partitions 6 --records "$n" \
      --size 1024 --acks 1 --linger-ms 5 >"$out/heap-produce-$n.txt"
    "$bench_bin" consume --brokers "127.0.0.1:$port" --topic heap --records "$n" \
      >"$out/heap-consume-$n.txt"
    kill "$pid"
    wait "$wrapper" 2>/dev/null || true
    heaptrack_print "$out"/heaptrack-"$n"*.zst 2>/dev/null | tail -12 >"$out/heaptrack-$n-summary.txt" || true
  done
  python3 - "$out" "$heap_records" <<'PY'
import pathlib, re, sys
out, n = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def calls(k):
    text = (out / f"heaptrack-{k}-summary.txt").read_text()
    return int(re.search(r"calls to allocation functions: (\d+)", text).group(1))
small, big = calls(n), calls(5 * n)
line = (f"heap allocations: {small} calls for {n} records, {big} for {5 * n}: "
        f"{(big - small) / (4 * n):.2f} per record produced and fetched (1 KiB, acks=1, linger 5 ms)")
(out / "heaptrack-per-record.txt").write_text(line + "\n")
print(line)
PY
fi
