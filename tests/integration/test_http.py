"""The HTTP admin listener: /metrics parsed by the Prometheus text-format rules, counters
that move after producing and consuming, and the /v1 JSON endpoints."""
import json
import math
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import TopicPartition

import clients
from conftest import caudal_bin

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
ADMIN_LINE = re.compile(r"admin listener on http://([0-9.]+):(\d+)")


def start_with_admin(make_broker, **extra):
    """A broker with the admin listener on a free port; returns (broker, base URL)."""
    b = make_broker({"admin.listener": "127.0.0.1:0", **extra})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = ADMIN_LINE.search(b.log_text())
        if m:
            return b, f"http://{m.group(1)}:{m.group(2)}"
        time.sleep(0.05)
    raise AssertionError(f"no admin listener address in the log\n{b.log_tail()}")


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def parse_labels(text: str, line: str) -> tuple:
    """Parses `a="x",b="y"` (escapes \\\\, \\" and \\n) into a sorted tuple of pairs."""
    out, i = [], 0
    while i < len(text):
        eq = text.index("=", i)
        name = text[i:eq]
        assert LABEL_NAME.fullmatch(name), f"bad label name {name!r} in {line!r}"
        assert text[eq + 1] == '"', line
        i, value = eq + 2, []
        while text[i] != '"':
            if text[i] == "\\":
                i += 1
                value.append({"n": "\n", "\\": "\\", '"': '"'}[text[i]])
            else:
                value.append(text[i])
            i += 1
        out.append((name, "".join(value)))
        i += 1
        if i < len(text):
            assert text[i] == ",", line
            i += 1
    return tuple(sorted(out))


def parse_metrics(text: str):
    """Parses the Prometheus text format strictly. Returns (types, samples) where samples
    maps (name, labels) to a float. Fails on any line that is not a comment or a sample,
    on a sample whose family has no TYPE, and on broken histograms."""
    types, samples = {}, {}
    for line in text.splitlines():
        assert line, "empty line in /metrics"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if parts[1] in ("HELP", "TYPE"):
                assert NAME.fullmatch(parts[2]), line
                if parts[1] == "TYPE":
                    assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
                    assert parts[2] not in types, f"TYPE twice: {line}"
                    types[parts[2]] = parts[3]
            continue
        m = re.fullmatch(r"([^{ ]+)(?:\{(.*)\})? (\S+)", line)
        assert m, f"not a sample line: {line!r}"
        name, labels = m.group(1), parse_labels(m.group(2) or "", line)
        assert NAME.fullmatch(name), line
        value = float(m.group(3))  # accepts +Inf, -Inf, NaN
        assert (name, labels) not in samples, f"duplicate series: {line}"
        samples[(name, labels)] = value
    # Every sample belongs to a declared family; histograms are consistent.
    for (name, labels) in samples:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or types.get(base) == "histogram", f"no TYPE for {name}"
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == family + "_bucket":
                rest = tuple(p for p in labels if p[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{family}{rest}: buckets not cumulative"
            assert buckets[-1][0] == math.inf, f"{family}{rest}: no +Inf bucket"
            assert samples[(family + "_count", rest)] == counts[-1], f"{family}{rest}: +Inf != _count"
            assert (family + "_sum", rest) in samples
    return types, samples


def scrape(base: str):
    status, ctype, body = get(base + "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain")
    return parse_metrics(body)


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_counters_move_after_produce_and_consume(make_broker, topic_name):
    b, base = start_with_admin(make_broker)
    _, before = scrape(base)
    clients.create_topic(b.bootstrap, topic_name, partitions=1)

    p = clients.producer(b.bootstrap, acks="all")
    records = [{"key": f"k{i}".encode(), "value": b"x" * 100} for i in range(20)]
    clients.produce_all(p, topic_name, records)
    types, mid = scrape(base)
    # The producer is still connected.
    assert value(mid, "caudal_connections_open") >= 1
    del p

    msgs = clients.consume_assigned(b.bootstrap, topic_name, [0], 20)
    assert len(msgs) == 20
    group = "g." + topic_name
    c = clients.consumer(b.bootstrap, **{"group.id": group})
    try:
        c.commit(offsets=[TopicPartition(topic_name, 0, 15)], asynchronous=False)
    finally:
        c.close()

    types, after = scrape(base)
    assert types["caudal_requests_total"] == "counter"
    assert types["caudal_request_latency_seconds"] == "histogram"
    assert types["caudal_log_size_bytes"] == "gauge"

    for api in ("Produce", "Fetch", "Metadata", "OffsetCommit"):
        assert value(after, "caudal_requests_total", api=api) > value(
            before, "caudal_requests_total", api=api), api
        assert value(after, "caudal_request_latency_seconds_count", api=api) > value(
            before, "caudal_request_latency_seconds_count", api=api), api
        assert value(after, "caudal_request_bytes_total", api=api) > value(
            before, "caudal_request_bytes_total", api=api), api
        assert value(after, "caudal_response_bytes_total", api=api) > value(
            before, "caudal_response_bytes_total", api=api), api
    assert value(after, "caudal_request_errors_total", api="Produce") == 0

    assert value(after, "caudal_produce_records_total", topic=topic_name) == 20
    assert value(after, "caudal_produce_bytes_total", topic=topic_name) >= 20 * 100
    assert value(after, "caudal_fetch_bytes_total", topic=topic_name) >= 20 * 100

    tp = {"topic": topic_name, "partition": "0"}
    assert value(after, "caudal_log_size_bytes", **tp) >= 20 * 100
    assert value(after, "caudal_log_segments", **tp) >= 1
    assert value(after, "caudal_log_end_offset", **tp) == 20
    assert value(after, "caudal_high_watermark", **tp) == 20
    assert value(after, "caudal_group_committed_offset", group=group, **tp) == 15
    assert value(after, "caudal_group_lag", group=group, **tp) == 5
    # acks=all waits for the fsync, which is timed.
    assert value(after, "caudal_storage_fsync_seconds_count") > 0


def test_admin_json_endpoints(make_broker, topic_name):
    b, base = start_with_admin(make_broker)
    clients.create_topic(b.bootstrap, topic_name, partitions=2)

    status, ctype, body = get(base + "/v1/status/ready")
    assert status == 200 and ctype == "application/json"
    assert json.loads(body) == {"ready": True}

    brokers = json.loads(get(base + "/v1/brokers")[2])
    assert len(brokers) == 1 and brokers[0]["node_id"] == 0
    assert brokers[0]["cluster_id"]
    assert {"name": "PLAINTEXT", "host": "127.0.0.1", "port": b.port} in brokers[0]["listeners"]

    topics = {t["name"]: t for t in json.loads(get(base + "/v1/topics")[2])}
    assert topic_name in topics
    parts = topics[topic_name]["partitions"]
    assert [p["partition"] for p in parts] == [0, 1]
    assert all(p["log_end_offset"] == 0 and p["segment_count"] >= 1 for p in parts)

    group = "g." + topic_name
    c = clients.consumer(b.bootstrap, **{"group.id": group})
    try:
        c.commit(offsets=[TopicPartition(topic_name, 1, 0)], asynchronous=False)
    finally:
        c.close()
    groups = {g["group_id"]: g for g in json.loads(get(base + "/v1/groups")[2])}
    assert group in groups
    assert {"topic": topic_name, "partition": 1, "committed": 0, "high_watermark": 0,
            "lag": 0} in groups[group]["offsets"]

    try:
        get(base + "/v1/nothing")
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        json.loads(e.read().decode())


def test_admin_listener_can_be_disabled(make_broker, topic_name):
    b = make_broker({"admin.listener": ""})
    clients.create_topic(b.bootstrap, topic_name)  # Kafka is served without it
    assert "admin listener" not in b.log_text()


@pytest.mark.parametrize("value", ["nonsense", "127.0.0.1:notaport", "127.0.0.1:70000"])
def test_bad_admin_listener_is_a_config_error(tmp_path, value):
    cfg = tmp_path / "bad.properties"
    cfg.write_text(f"listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs={tmp_path / 'data'}\n"
                   f"admin.listener={value}\n")
    r = subprocess.run([caudal_bin(), "serve", "--config", str(cfg)], capture_output=True,
                       timeout=30, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert b"admin.listener" in r.stderr + r.stdout, (r.stderr + r.stdout).decode(errors="replace")
