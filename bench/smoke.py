#!/usr/bin/env python3
"""Smoke run of caudal-bench (ctest caudal_bench_smoke, label bench): not a measurement.

Goal: CI sees the load generator build and move records through a real broker. Method: start
`caudal serve` on a free loopback port with a fresh data directory, produce 1000 records into
3 partitions, consume them from the beginning alone and then as a group, run a 3-second e2e
latency run at 500 records/s, and check each JSON line; the broker is stopped by its PID.
"""
import argparse
import json
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("broker did not listen in time")


def run(bench: str, mode: str, *args: str) -> dict:
    cmd = [bench, mode, *args]
    print("==", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    sys.stdout.write(out.stdout)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} exited with {out.returncode}")
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if len(lines) != 1:
        raise RuntimeError(f"{mode}: expected one JSON line, got {len(lines)}")
    return json.loads(lines[0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--caudal", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    work = pathlib.Path(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    port = free_port()
    config = work / "broker.properties"
    config.write_text(
        f"node.id=0\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={work / 'data'}\n"
        f"admin.listener=\n")
    log = open(work / "broker.log", "wb")
    broker = subprocess.Popen([a.caudal, "serve", "--config", str(config)], stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, cwd=work)
    try:
        wait_port(port, broker)
        common = ["--brokers", f"127.0.0.1:{port}", "--broker-pid", str(broker.pid)]
        p = run(a.bench, "produce", *common, "--topic", "smoke", "--records", "1000", "--size",
                "100", "--partitions", "3", "--acks", "all", "--idempotence", "true")
        assert p["records"] == 1000 and p["failed"] == 0, p
        assert p["broker_cpu_s_per_gb"] is not None, p
        c = run(a.bench, "consume", *common, "--topic", "smoke", "--records", "1000")
        assert c["records"] == 1000 and c["bytes"] == 100_000, c
        g = run(a.bench, "consume", *common, "--topic", "smoke", "--group", "smoke-group")
        assert g["records"] == 1000, g
        e = run(a.bench, "e2e", *common, "--topic", "smoke-e2e", "--rate", "500", "--seconds",
                "3", "--warmup-seconds", "1", "--size", "64")
        assert e["received"] == 1500 and e["measured"] > 0 and e["p50_us"] > 0, e
    except Exception:
        log.flush()
        sys.stderr.write((work / "broker.log").read_text(errors="replace")[-5000:])
        raise
    finally:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(20)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait(20)
    print("caudal-bench smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
