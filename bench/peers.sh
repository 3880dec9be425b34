#!/usr/bin/env bash
# Measures Caudal against this machine's limits and against the peers a user might pick
# instead, in one go, and appends the figures and the ratios between them to
# bench/RESULTS.md (issue #7). Figures drift between runs on shared machines; the ratios
# taken within one run are what we track.
#
#   limits: loopback TCP (iperf3, one stream; again with sendfile, for the sender's CPU
#           price); fio sequential write, buffered, with fdatasync after every 1 MiB (the
#           same jobs as bench/storage.sh) and O_DIRECT, each with fio's own CPU s per GB
#   peers:  Redis Streams (redis-server, appendonly yes + appendfsync everysec; XADD
#           through redis-benchmark, 100 B and 1 KiB, pipeline 16); NATS JetStream
#           (nats-server -js, file store; published to by `caudal-bench nats`)
#   Caudal: `caudal serve` on a free loopback port with a fresh data directory, 1000 idle
#           connections held open throughout, driven by `caudal-bench` for each target
#
# Usage: bench/peers.sh [BUILD_DIR]   (default build/bench-rel; build it first with
#        cmake --preset release -B build/bench-rel && cmake --build build/bench-rel -j2)
# Environment (sizes; defaults are the issue's): BENCH_DIR (data, default ./bench-data),
# FIO_MB (2048), SYNC_MB (512), IPERF_SECONDS (5), REDIS_1K (1000000), REDIS_100 (2000000),
# NATS_RECORDS (1000000), PRODUCE_1K (2097152 records = 2 GiB, also what consume reads),
# PRODUCE_ALL (524288), PRODUCE_100 (5000000), E2E_SECONDS (20), IDLE_CONNECTIONS (1000),
# RESULTS (the file the report is appended to, default bench/RESULTS.md),
# ONLY (comma list of sections to run: limits,redis,nats,caudal; default all), CAUDAL_BIN
# (the broker under test, default BUILD_DIR/src/caudal: set it to a build of a clean
# checkout when the working tree holds someone's unfinished changes).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/bench-rel}
data=${BENCH_DIR:-$root/bench-data}/peers
caudal_bin=${CAUDAL_BIN:-$build/src/caudal}
bench_bin=$build/bench/caudal-bench
out=${RESULTS:-$root/bench/RESULTS.md}
fio_mb=${FIO_MB:-2048}
sync_mb=${SYNC_MB:-512}
only=${ONLY:-limits,redis,nats,caudal}

for tool in fio iperf3 redis-server redis-benchmark nats-server python3; do
  command -v "$tool" >/dev/null || { echo "peers.sh: $tool is not installed (scripts/install-deps)" >&2; exit 1; }
done
for bin in "$caudal_bin" "$bench_bin"; do
  [ -x "$bin" ] || { echo "peers.sh: $bin not built" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$data" "$work"
}
trap cleanup EXIT
rm -rf "$data"
mkdir -p "$data"

source "$(dirname "$0")/common.sh"

cpu_s() {  # PID: CPU seconds (utime + stime) so far; the name field holds no spaces here
  awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"
}

stop_pid() {  # PID: SIGTERM, and wait for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# settle: waits (at most 60 s) until the kernel holds little dirty data. An acks=1 run ends
# before its data is on disk, and the next case would otherwise wait behind that backlog
# (the e2e latency of a run straight after 2 GiB of acks=1 was 300 ms instead of 1 ms).
settle() {
  sync
  for _ in $(seq 1 120); do
    local dirty
    dirty=$(awk '/^(Dirty|Writeback):/ {s += $2} END {print s}' /proc/meminfo)
    ((dirty < 65536)) && return 0
    sleep 0.5
  done
}

# run_case NAME CMD...: runs CMD, keeps its output, its command line, the load average when
# it started and, if it failed, its exit code under $work/NAME.*, for the report at the end.
# A failed case does not stop the run: the report says it failed.
run_case() {
  local name=$1
  shift
  settle
  cut -d' ' -f1-3 /proc/loadavg >"$work/$name.load"
  printf '%s\n' "$*" >"$work/$name.cmd"
  echo "== [$name] load $(cat "$work/$name.load"): $*"
  "$@" >"$work/$name.out" 2>"$work/$name.err" || echo "$?" >"$work/$name.failed"
  grep -v '^{' "$work/$name.out" | tail -3 || true
  if [ -e "$work/$name.failed" ]; then
    echo "peers.sh: [$name] failed with exit code $(cat "$work/$name.failed"):" >&2
    tail -5 "$work/$name.err" >&2
  fi
}

# server_cost NAME PID START_CPU: the server's CPU seconds spent during case NAME.
server_cost() {
  python3 -c "print($(cpu_s "$2") - $3)" >"$work/$1.server_cpu"
}

uptime >"$work/uptime.start"

if want limits; then
  port=$(free_port)
  iperf3 -s -p "$port" >/dev/null 2>&1 &
  iperf_pid=$!
  pids+=("$iperf_pid")
  wait_port "$port" "$iperf_pid"
  run_case iperf3 iperf3 -c 127.0.0.1 -p "$port" -t "${IPERF_SECONDS:-5}" -J
  # The kernel's own price of sending a file over loopback (sendfile, -Z): on loopback the
  # sender also pays for the receiver's TCP processing, so this is the floor for a fetch.
  run_case iperf3_sendfile iperf3 -c 127.0.0.1 -p "$port" -t "${IPERF_SECONDS:-5}" -Z -J
  stop_pid "$iperf_pid"

  run_case fio_buffered fio --name=seq --directory="$data" --rw=write --bs=1M --size="${fio_mb}M" \
    --ioengine=psync --end_fsync=1 --output-format=json
  rm -f "$data"/seq.*
  run_case fio_sync fio --name=seqsync --directory="$data" --rw=write --bs=1M --size="${sync_mb}M" \
    --ioengine=psync --fdatasync=1 --output-format=json
  rm -f "$data"/seqsync.*
  # The page cache's CPU price, beside bypassing it: what O_DIRECT appends would save.
  run_case fio_direct fio --name=seqdirect --directory="$data" --rw=write --bs=1M \
    --size="${fio_mb}M" --ioengine=psync --direct=1 --end_fsync=1 --output-format=json
  rm -f "$data"/seqdirect.*
fi

if want redis; then
  port=$(free_port)
  mkdir -p "$data/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$data/redis" --appendonly yes \
    --appendfsync everysec --save '' --daemonize no --logfile "$work/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$port" "$redis_pid"
  for size in 1024 100; do
    if ((size == 1024)); then n=${REDIS_1K:-1000000}; else n=${REDIS_100:-2000000}; fi
    value=$(head -c "$size" /dev/zero | tr '\0' 'v')
    start=$(cpu_s "$redis_pid")
    run_case "redis_$size" redis-benchmark -p "$port" -P 16 -n "$n" --csv \
      XADD "bench:$size" '*' f "$value"
    server_cost "redis_$size" "$redis_pid" "$start"
    # The command line in the report shows the value's size, not its bytes.
    sed -i "s/ $value\$/ <$size bytes>/" "$work/redis_$size.cmd"
    echo "$n" >"$work/redis_$size.n"
  done
  stop_pid "$redis_pid"
  rm -rf "$data/redis"
fi

if want nats; then
  port=$(free_port)
  mkdir -p "$data/nats"
  nats-server -js -sd "$data/nats" -a 127.0.0.1 -p "$port" -l "$work/nats.log" &
  nats_pid=$!
  pids+=("$nats_pid")
  wait_port "$port" "$nats_pid"
  run_case nats_1024 "$bench_bin" nats --port "$port" --stream bench --size 1024 \
    --records "${NATS_RECORDS:-1000000}" --window 1024 --server-pid "$nats_pid"
  stop_pid "$nats_pid"
  rm -rf "$data/nats"
fi

if want caudal; then
  port=$(free_port)
  admin_port=$(free_port)
  mkdir -p "$data/caudal"
  cat >"$work/caudal.properties" <<EOF
node.id=0
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$data/caudal
num.partitions=6
admin.listener=127.0.0.1:$admin_port
EOF
  "$caudal_bin" serve --config "$work/caudal.properties" >"$work/caudal.log" 2>&1 &
  caudal_pid=$!
  pids+=("$caudal_pid")
  wait_port "$port" "$caudal_pid"
  # Idle clients held open through every case: the RSS target counts them.
  python3 - "$port" "${IDLE_CONNECTIONS:-1000}" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
print(f"holding {len(held)} idle connections", flush=True)
time.sleep(3600)
PY
  idle_pid=$!
  pids+=("$idle_pid")
  sleep 2
  common=(--brokers "127.0.0.1:$port" --broker-pid "$caudal_pid")
  run_case produce_1k_acks1 "$bench_bin" produce "${common[@]}" --topic p1k --partitions 6 \
    --records "${PRODUCE_1K:-2097152}" --size 1024 --acks 1 --linger-ms 5 --producers 1
  run_case produce_1k_acksall "$bench_bin" produce "${common[@]}" --topic pall --partitions 6 \
    --records "${PRODUCE_ALL:-524288}" --size 1024 --acks all --linger-ms 5 --producers 1
  run_case produce_100_acks1 "$bench_bin" produce "${common[@]}" --topic p100 --partitions 6 \
    --records "${PRODUCE_100:-5000000}" --size 100 --acks 1 --linger-ms 5 --producers 1
  # From disk: drop the 2 GiB topic's pages from the cache first, as a new consumer of old
  # data would find them.
  python3 - "$data/caudal" <<'PY'
import os, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("p1k-*/*"):
    fd = os.open(f, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
  run_case consume_1k "$bench_bin" consume "${common[@]}" --topic p1k \
    --records "${PRODUCE_1K:-2097152}"
  # The broker's own fsync histogram around the latency run says how much of it is the disk.
  metrics() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$admin_port/metrics').read().decode())"; }
  metrics >"$work/metrics.before" || true
  run_case e2e_1k "$bench_bin" e2e "${common[@]}" --topic e2e --partitions 1 --rate 10000 \
    --seconds "${E2E_SECONDS:-20}" --warmup-seconds 2 --size 1024 --acks all --linger-ms 0
  metrics >"$work/metrics.after" || true
  grep -E '^Vm(RSS|HWM)' "/proc/$caudal_pid/status" >"$work/caudal.rss"
  stop_pid "$idle_pid"
  stop_pid "$caudal_pid"
fi

uptime >"$work/uptime.end"

python3 - "$work" "$out" "$root" "$build" "$caudal_bin" <<'PY'
import datetime, json, pathlib, subprocess, sys

work, out, root, build, broker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

def have(name):
    return (work / f"{name}.out").exists()

def text(name, ext):
    return (work / f"{name}.{ext}").read_text().strip()

def json_out(name):
    """The single JSON line of a caudal-bench run."""
    lines = [l for l in text(name, "out").splitlines() if l.startswith("{")]
    return json.loads(lines[-1])

def cmd(name):
    return "`" + text(name, "cmd").replace(root + "/", "") + "`"

figures = {}  # name -> (value, unit, what)
if have("iperf3"):
    j = json.loads(text("iperf3", "out"))
    figures["iperf3"] = j["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
sendfile_cpu = None  # iperf3 -Z's sender: CPU seconds per GB sent with sendfile
if have("iperf3_sendfile"):
    e = json.loads(text("iperf3_sendfile", "out"))["end"]
    figures["iperf3_sendfile"] = e["sum_sent"]["bytes"] / e["sum_sent"]["seconds"] / 1e6
    sendfile_cpu = e["cpu_utilization_percent"]["host_total"] / 100 * e["sum_sent"]["seconds"] / (e["sum_sent"]["bytes"] / 1e9)
fio_cpu = {}  # name -> fio's own CPU seconds per GB written (user + system)
for name in ("fio_buffered", "fio_sync", "fio_direct"):
    if have(name):
        job = json.loads(text(name, "out"))["jobs"][0]
        figures[name] = job["write"]["bw_bytes"] / 1e6
        seconds = job["job_runtime"] / 1e3
        fio_cpu[name] = (job["usr_cpu"] + job["sys_cpu"]) / 100 * seconds / (job["write"]["io_bytes"] / 1e9)
fsync_p50_us = None
if have("fio_sync"):
    sync = json.loads(text("fio_sync", "out"))["jobs"][0].get("sync", {})
    pct = sync.get("lat_ns", {}).get("percentile", {})
    if "50.000000" in pct:
        fsync_p50_us = pct["50.000000"] / 1e3
redis = {}
for size in (1024, 100):
    name = f"redis_{size}"
    if have(name):
        rows = [l for l in text(name, "out").splitlines() if l.startswith('"XADD')]
        rps = float(rows[-1].split(",")[1].strip('"'))
        cpu = float(text(name, "server_cpu"))
        n = int(text(name, "n"))
        redis[size] = (rps * size / 1e6, rps, cpu / (n * size / 1e9))
nats = json_out("nats_1024") if have("nats_1024") else None
runs = {n: json_out(n) for n in ("produce_1k_acks1", "produce_1k_acksall", "produce_100_acks1",
                                 "consume_1k", "e2e_1k") if have(n)}

def load(name):
    return text(name, "load").split()[0]

def verdict(ok):
    return "met" if ok else "**missed**"

rows = []
def row(case, figure, ratio, target, ok, name):
    v = verdict(ok) if ok is not None else ""
    if (work / f"{name}.failed").exists():
        last = text(name, "err").splitlines()[-1:] or [""]
        v = f"**failed** (exit {text(name, 'failed')}: {last[0][:120]})"
    rows.append(f"| {case} | {figure} | {ratio} | {target} | {v} | {load(name)} | {cmd(name)} |")

if "iperf3" in figures:
    row("loopback TCP, iperf3, 1 stream", f"{figures['iperf3']:,.0f} MB/s", "", "", None, "iperf3")
if "iperf3_sendfile" in figures:
    row("loopback TCP, iperf3 -Z (sendfile), 1 stream", f"{figures['iperf3_sendfile']:,.0f} MB/s; sender {sendfile_cpu:.2f} cpu-s/GB", "", "", None, "iperf3_sendfile")
if "fio_buffered" in figures:
    row("fio sequential write, buffered", f"{figures['fio_buffered']:,.0f} MB/s; fio {fio_cpu['fio_buffered']:.2f} cpu-s/GB", "", "", None, "fio_buffered")
if "fio_sync" in figures:
    p50 = f"; fdatasync p50 {fsync_p50_us:,.0f} µs" if fsync_p50_us else ""
    row("fio sequential write, fdatasync every 1 MiB", f"{figures['fio_sync']:,.0f} MB/s{p50}; fio {fio_cpu['fio_sync']:.2f} cpu-s/GB", "", "", None, "fio_sync")
if "fio_direct" in figures:
    row("fio sequential write, O_DIRECT", f"{figures['fio_direct']:,.0f} MB/s; fio {fio_cpu['fio_direct']:.2f} cpu-s/GB", "", "", None, "fio_direct")
for size, (mb, rps, cpu) in redis.items():
    row(f"Redis XADD {size} B, pipeline 16, AOF everysec", f"{mb:,.1f} MB/s, {rps:,.0f} records/s; server {cpu:.2f} cpu-s/GB",
        "", "", None, f"redis_{size}")
if nats:
    row("NATS JetStream 1 KiB, file store, async acks", f"{nats['mb_per_s']:,.1f} MB/s, {nats['records_per_s']:,.0f} records/s; server {nats['server_cpu_s_per_gb']:.2f} cpu-s/GB",
        "", "", None, "nats_1024")

def buckets(name, series):
    """A histogram (le -> count) from a saved /metrics page; `series` is its name and labels
    up to the le label, e.g. 'caudal_storage_fsync_seconds_bucket{'."""
    path = work / name
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith(series + 'le="'):
            le = line[len(series):].split('"')[1]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
    return out

def during_e2e(series, what, quantiles):
    before, after = buckets("metrics.before", series), buckets("metrics.after", series)
    if not after:
        return ""
    delta = {le: after[le] - before.get(le, 0) for le in after}
    total = delta.get(float("inf"), 0)
    if total <= 0:
        return ""
    def q(p):
        for le in sorted(delta):
            if delta[le] >= p * total:
                return "∞" if le == float("inf") else f"{le * 1e3:g} ms"
    return f"; {what}: {total:,.0f}, " + ", ".join(f"{label} ≤ {q(p)}" for label, p in quantiles)

def broker_during_e2e():
    # The broker's own view beside the client's: how long its Produce requests took from
    # arrival to response, and its fsyncs; what the client sees beyond that is the client's.
    produce = during_e2e('caudal_request_latency_seconds_bucket{api="Produce",',
                         "broker Produce requests during it (arrival → response)",
                         (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)))
    durable = during_e2e("caudal_produce_durable_wait_seconds_bucket{",
                         "of which append → durable", (("p50", 0.5), ("p99", 0.99)))
    fsync = during_e2e("caudal_storage_fsync_seconds_bucket{", "broker fsyncs",
                       (("p50", 0.5), ("p99", 0.99), ("max", 1.0)))
    return produce + durable + fsync

def cost(r):
    c = r.get("broker_cpu_s_per_gb")
    return f"; broker {c:.2f} cpu-s/GB" if c is not None else ""

if "produce_1k_acks1" in runs:
    r = runs["produce_1k_acks1"]; mb = r["mb_per_s"]
    parts, oks = [], []
    for key, label, want in (("fio_buffered", "fio buffered", 0.5),):
        if key in figures:
            parts.append(f"{mb / figures[key]:.0%} of {label} (≥ {want:.0%})"); oks.append(mb / figures[key] >= want)
    if 1024 in redis:
        parts.append(f"{mb / redis[1024][0]:.2f}× Redis 1 KiB (≥ 2×)"); oks.append(mb / redis[1024][0] >= 2)
    if nats:
        parts.append(f"{mb / nats['mb_per_s']:.2f}× NATS (≥ 2.5×)"); oks.append(mb / nats["mb_per_s"] >= 2.5)
    row("**Caudal produce 1 KiB, acks=1, linger 5 ms, 1 producer, 6 partitions**",
        f"{mb:,.1f} MB/s{cost(r)}", "; ".join(parts), "all three", all(oks) if oks else None, "produce_1k_acks1")
if "produce_1k_acksall" in runs:
    r = runs["produce_1k_acksall"]; mb = r["mb_per_s"]
    ok = None; ratio = ""
    if "fio_sync" in figures:
        ratio = f"{mb / figures['fio_sync']:.0%} of fio fdatasync"; ok = mb / figures["fio_sync"] >= 0.5
    row("**Caudal produce 1 KiB, acks=all (fsync, group commit)**", f"{mb:,.1f} MB/s{cost(r)}", ratio, "≥ 50%", ok, "produce_1k_acksall")
if "produce_100_acks1" in runs:
    r = runs["produce_100_acks1"]
    row("**Caudal produce 100 B, acks=1, linger 5 ms**", f"{r['records_per_s']:,.0f} records/s ({r['mb_per_s']:,.1f} MB/s){cost(r)}",
        f"{r['records_per_s'] / 1e6:.0%} of 1 M/s", "≥ 1,000,000 records/s", r["records_per_s"] >= 1e6, "produce_100_acks1")
if "consume_1k" in runs:
    r = runs["consume_1k"]; mb = r["mb_per_s"]; c = r.get("broker_cpu_s_per_gb")
    ok = c is not None and c <= 0.3; ratio = ""
    if "iperf3" in figures:
        ratio = f"{mb / figures['iperf3']:.0%} of loopback TCP"; ok = ok and mb / figures["iperf3"] >= 0.3
    if sendfile_cpu is not None and c is not None:
        ratio += f"; broker cost {c / sendfile_cpu:.0%} of iperf3 -Z's sender"
    row(f"**Caudal consume {r['bytes'] / 2**30:.1f} GiB from offset 0, cold cache**", f"{mb:,.1f} MB/s{cost(r)}", ratio,
        "≥ 30%, ≤ 0.3 cpu-s/GB", ok, "consume_1k")
if "e2e_1k" in runs:
    r = runs["e2e_1k"]
    ok = r["p50_us"] <= 1000 and r["p99_us"] <= 2000 and r["p999_us"] <= 5000
    row("**Caudal e2e latency, 10,000 records/s of 1 KiB, acks=all**",
        f"p50 {r['p50_us']:,.0f} µs, p99 {r['p99_us']:,.0f} µs, p99.9 {r['p999_us']:,.0f} µs (max {r['max_us']:,.0f})",
        f"acks (send → durable) p50 {r.get('ack_p50_us', 0):,.0f} µs, p99 {r.get('ack_p99_us', 0):,.0f} µs{broker_during_e2e()}",
        "≤ 1 / 2 / 5 ms", ok, "e2e_1k")
if (work / "caudal.rss").exists():
    rss = dict(l.split(":") for l in text("caudal", "rss").splitlines())
    hwm_mib = int(rss["VmHWM"].split()[0]) / 1024
    rows.append(f"| **Caudal broker peak RSS over the run, 1000 idle connections open** | {hwm_mib:,.0f} MiB | | ≤ 512 MiB | {verdict(hwm_mib <= 512)} | | (VmHWM of the broker at the end) |")

cpu_model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
lines = [
    "",
    f"## Caudal against the machine and its peers: bench/peers.sh, {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    "",
    f"- Commit `{sh(f'git -C {root} rev-parse --short HEAD')}` (working tree "
    f"{'dirty: other engineers had unfinished changes in it' if sh(f'git -C {root} status --porcelain --untracked-files=no') else 'clean'}); build `{build.replace(root + '/', '')}` (release preset); broker binary `{broker.replace(root + '/', '')}`",
    f"- Machine: {sh('nproc')} CPUs ({cpu_model}), kernel {sh('uname -r')}",
    f"- `uptime` before: {text('uptime', 'start')}",
    f"- `uptime` after: {text('uptime', 'end')}",
    "- Client and server share the machine's cores in every row. The load column is the 1-minute load average when the case started (other engineers compile on this machine).",
    "",
    "| case | figure | ratio (same run) | target | verdict | load | command |",
    "|---|---|---|---|---|---|---|",
    *rows,
    "",
    "<details><summary>caudal-bench JSON lines</summary>",
    "",
    "```",
    *[json.dumps(r) for r in ([nats] if nats else []) + list(runs.values())],
    "```",
    "",
    "</details>",
    "",
]
with out.open("a") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
PY
