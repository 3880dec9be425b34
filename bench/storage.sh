#!/usr/bin/env bash
# Measures the storage engine against the disk it runs on, in one go: fio's buffered
# sequential write and its sequential write with fdatasync every 1 MiB, then
# storage_bench (append without fsync wait, every_append with 1 and 4 appenders, cold
# sequential read; and the same batches written as an O_DIRECT log would write them), on
# the same directory. Appends a section to bench/RESULTS.md with the figures, CPU seconds
# per GB, the ratios against the issue's targets, the machine and every command line, then
# deletes its data.
#
# Usage: bench/storage.sh [BUILD_DIR]   (default build/release; build it first with
#        cmake --preset release && cmake --build --preset release --target storage_bench)
# Environment: BENCH_DIR (data directory, default ./bench-data on this repository's
# disk), FIO_MB (buffered fio and no-fsync sizes, default 2048), SYNC_MB (fdatasync fio
# and durable-append sizes, default 512).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
data=${BENCH_DIR:-$root/bench-data}
fio_mb=${FIO_MB:-2048}
sync_mb=${SYNC_MB:-512}
bench_bin=$build/bench/storage_bench
out=$root/bench/RESULTS.md

command -v fio >/dev/null || { echo "storage.sh: fio is not installed" >&2; exit 1; }
[ -x "$bench_bin" ] || { echo "storage.sh: $bench_bin not built" >&2; exit 1; }
mkdir -p "$data"
trap 'rm -rf "$data"' EXIT
work=$(mktemp -d)
trap 'rm -rf "$data" "$work"' EXIT

fio_buffered=(fio --name=seq --directory="$data" --rw=write --bs=1M --size="${fio_mb}M"
  --ioengine=psync --end_fsync=1 --output-format=json)
fio_sync=(fio --name=seqsync --directory="$data" --rw=write --bs=1M --size="${sync_mb}M"
  --ioengine=psync --fdatasync=1 --output-format=json)
# The 1-appender case writes 16 KiB and waits for fdatasync each time: its reference.
fio_small=(fio --name=seqsync16k --directory="$data" --rw=write --bs=16k --size=64M
  --ioengine=psync --fdatasync=1 --output-format=json)
caudal=("$bench_bin" --dir "$data/caudal" --bytes "${fio_mb}M" --sync-bytes "${sync_mb}M"
  --batch-bytes 16K --threads 4)

echo "== ${fio_buffered[*]}"
"${fio_buffered[@]}" >"$work/fio_buffered.json"
rm -f "$data"/seq.*
echo "== ${fio_sync[*]}"
"${fio_sync[@]}" >"$work/fio_sync.json"
rm -f "$data"/seqsync.*
echo "== ${fio_small[*]}"
"${fio_small[@]}" >"$work/fio_sync16k.json"
rm -f "$data"/seqsync16k.*
echo "== ${caudal[*]}"
"${caudal[@]}" | tee "$work/caudal.txt"

python3 - "$work" "$out" "${fio_buffered[*]}" "${fio_sync[*]}" "${caudal[*]}" "${fio_small[*]}" <<'PY'
import datetime, json, os, pathlib, subprocess, sys

work, out, cmd_buffered, cmd_sync, cmd_caudal, cmd_small = sys.argv[1:7]
work = pathlib.Path(work)

def fio_mb_s(name):
    job = json.loads((work / name).read_text())["jobs"][0]
    return job["write"]["bw_bytes"] / 1e6

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

buffered = fio_mb_s("fio_buffered.json")
synced = fio_mb_s("fio_sync.json")
cases = {}
for line in (work / "caudal.txt").read_text().splitlines():
    if line.startswith("{"):
        c = json.loads(line)
        cases[c["case"]] = c

def row(name, what, mb, ref=None, ref_name="", target=None, case=None):
    ratio = f"{mb / ref:.0%} of {ref_name}" if ref else ""
    verdict = ""
    if target is not None:
        verdict = "met" if mb / ref >= target else "**not met**"
        verdict = f"target >= {target:.0%}: {verdict}"
    cpu = ""
    if case and "cpu_s_per_gb" in case:
        cpu = f"{case['cpu_s_per_gb']:.2f} (machine {case['machine_cpu_s_per_gb']:.2f})"
    return f"| {name} | {what} | {mb:,.1f} | {cpu} | {ratio} | {verdict} |"

nofsync = cases["nofsync"]; s1 = cases["sync1"]; s4 = cases.get("sync4")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
mem = sh("free -h | awk '/Mem:/ {print $2}'")
small = fio_mb_s("fio_sync16k.json")
small_iops = json.loads((work / "fio_sync16k.json").read_text())["jobs"][0]["write"]["iops"]
lines = [
    "",
    f"## Storage engine against the disk: bench/storage.sh, {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    "",
    "One run, same disk, same directory.",
    "",
    f"- Commit: `{sh('git -C ' + os.path.dirname(out) + ' rev-parse --short HEAD')}`"
    f" (working tree {'dirty' if sh('git -C ' + os.path.dirname(out) + ' status --porcelain') else 'clean'})",
    f"- CPUs (nproc): {sh('nproc')}; CPU: {cpu}",
    f"- Memory: {mem}",
    f"- Kernel: {sh('uname -r')}",
    "- Disk (`df -h` of the data directory):",
    "",
    "```",
    sh("df -h " + str(pathlib.Path(out).parent)),
    "```",
    "",
    "| case | what | MB/s | cpu-s/GB: this process (whole machine) | ratio | target |",
    "|---|---|---:|---|---|---|",
    row("fio buffered", "sequential write, 1 MiB, psync, end_fsync", buffered),
    row("fio fdatasync", "sequential write, 1 MiB, fdatasync after each", synced),
    row("fio fdatasync 16 KiB", f"sequential write, 16 KiB, fdatasync after each ({small_iops:,.0f} writes/s)", small),
    row("append, no fsync wait", f"{nofsync['batches']} batches, final flush included",
        nofsync["mb_per_s"], buffered, "fio buffered", 0.70, case=nofsync),
    row("append, every_append, 1 appender", f"{s1['batches_per_s']:,.0f} batches/s",
        s1["mb_per_s"], small, "fio fdatasync 16 KiB", case=s1),
]
if s4:
    lines.append(row("append, every_append, 4 appenders", f"{s4['batches_per_s']:,.0f} batches/s (group commit)",
                     s4["mb_per_s"], synced, "fio fdatasync", 0.50, case=s4))
r = cases.get("read")
if r:
    lines.append(row("sequential read", "log::read + read_bytes, 1 MiB, cold cache", r["mb_per_s"], case=r))
d = cases.get("direct")
if d:
    lines.append(row("O_DIRECT write path, no fsync wait", "batches copied to an aligned buffer, written 1 MiB at a time",
                     d["mb_per_s"], nofsync["mb_per_s"], "append, no fsync wait", case=d))
ds = cases.get("direct_sync1")
if ds:
    lines.append(row("O_DIRECT write path, fdatasync after each", f"{ds['batches_per_s']:,.0f} batches/s",
                     ds["mb_per_s"], s1["mb_per_s"], "every_append, 1 appender", case=ds))
lines += [
    "",
    f"Batches are {nofsync['bytes'] // max(nofsync['batches'], 1)} bytes (16 KiB of records plus headers).",
    "Notes:",
    "",
    "- The 4-appender case puts at most 4 x 16 KiB behind one fdatasync (each appender waits",
    "  for its own append before the next), while fio puts 1 MiB behind each.",
    "- On a virtual disk the figures vary from run to run: compare figures from one run only.",
    "- The O_DIRECT rows are the write path alone (storage_bench's own code, not the log):",
    "  what bypassing the page cache would save before the log is built that way.",
    "- cpu-s/GB of this process leaves out the kernel's writeback threads, which the buffered",
    "  rows lean on; the whole-machine figure (from /proc/stat, 10 ms ticks) includes them.",
    "",
    "Commands:",
    "",
    "```",
    cmd_buffered,
    cmd_sync,
    cmd_small,
    cmd_caudal,
    "```",
    "",
    "storage_bench output:",
    "",
    "```",
    (work / "caudal.txt").read_text().rstrip(),
    "```",
    "",
]
with open(out, "a") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
