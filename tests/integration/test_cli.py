"""The `caudal` client commands (issue 6) end to end against a real broker.

Method: every subcommand runs as a child process against the module's broker; read commands
run with `-o json` and their output is parsed and checked against what the test did (and,
for produce and consume, against librdkafka through confluent-kafka and the Java
partitioner through kafka-python's murmur2). Bad input (an unknown topic, a bad flag or
value, a broker that is down) must give a clear message on stderr and a non-zero exit.
"""
import json
import os
import subprocess
import time

import pytest
from kafka.partitioner.default import murmur2  # the Java client's hash, in kafka-python

import clients
from conftest import caudal_bin, free_port

RUN_TIMEOUT_S = 120


def cli(broker, *args, input=None, env=None, check=True):
    """Runs `caudal ARGS --brokers BROKER`; returns the CompletedProcess (text mode).
    With check, a non-zero exit fails the test with the command's stderr."""
    cmd = [caudal_bin(), *args]
    if broker is not None:
        cmd += ["--brokers", broker.bootstrap]
    full_env = dict(os.environ)
    full_env.pop("CAUDAL_BROKERS", None)
    full_env.update(env or {})
    p = subprocess.run(cmd, input=input, capture_output=True, text=True, env=full_env,
                       timeout=RUN_TIMEOUT_S)
    if check:
        assert p.returncode == 0, f"{cmd} exited {p.returncode}\nstderr: {p.stderr}"
    return p


def cli_json(broker, *args, input=None):
    return json.loads(cli(broker, *args, "-o", "json", input=input).stdout)


def consume_json(broker, topic, *args):
    """`caudal consume TOPIC --exit -o json ARGS`: one JSON object per line."""
    out = cli(broker, "consume", topic, "--exit", "-o", "json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def batch_count(broker, topic):
    """The record batches in the topic's segment files (docs/formats/segment.md)."""
    count = 0
    for d in broker.data_dir.iterdir():
        name, _, part = d.name.rpartition("-")
        if not (d.is_dir() and name == topic and part.isdigit()):
            continue
        for seg in d.glob("*.log"):
            data = seg.read_bytes()
            pos = 0
            while pos + 12 <= len(data):
                length = int.from_bytes(data[pos + 8: pos + 12], "big")
                if length == 0:
                    break  # preallocated tail
                count += 1
                pos += 12 + length
    return count


def failed(p, *fragments):
    """The command failed with a one-line message on stderr containing every fragment."""
    assert p.returncode != 0, f"exit 0; stdout: {p.stdout}"
    for f in fragments:
        assert f in p.stderr, f"{f!r} not in stderr: {p.stderr!r}"


# ---- topic ----------------------------------------------------------------------------------


def test_topic_create_list_describe(broker, topic_name):
    created = cli_json(broker, "topic", "create", topic_name, "-p", "3", "-r", "1",
                       "-c", "retention.ms=123456", "-c", "cleanup.policy=delete")
    assert created["name"] == topic_name
    assert created["partitions"] == 3
    assert created["replication_factor"] == 1
    assert len(created["topic_id"]) == 22

    listed = {t["name"]: t for t in cli_json(broker, "topic", "list")}
    assert listed[topic_name]["partitions"] == 3
    assert listed[topic_name]["replication_factor"] == 1
    assert listed[topic_name]["topic_id"] == created["topic_id"]
    assert listed[topic_name]["internal"] is False

    d = cli_json(broker, "topic", "describe", topic_name)
    assert d["name"] == topic_name and d["topic_id"] == created["topic_id"]
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    for p in d["partitions"]:
        assert p["leader"] == 0 and p["replicas"] == [0] and p["isr"] == [0]
        assert p["log_start_offset"] == 0 and p["high_watermark"] == 0
        assert p["error"] is None
    configs = {c["name"]: c for c in d["configs"]}
    assert configs["retention.ms"]["value"] == "123456"
    assert configs["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert configs["segment.bytes"]["source"] == "DEFAULT_CONFIG"

    text = cli(broker, "topic", "list").stdout.splitlines()
    assert text[0].split() == ["NAME", "PARTITIONS", "REPLICAS"]
    assert [topic_name, "3", "1"] in [line.split() for line in text[1:]]
    text = cli(broker, "topic", "describe", topic_name).stdout
    assert "HIGH-WATERMARK" in text and "retention.ms" in text


def test_topic_create_uses_broker_defaults_and_refuses_duplicates(broker, topic_name):
    created = cli_json(broker, "topic", "create", topic_name)
    assert created["partitions"] == 1  # num.partitions of the test broker
    p = cli(broker, "topic", "create", topic_name, check=False)
    failed(p, f"cannot create topic {topic_name}", "TOPIC_ALREADY_EXISTS")
    p = cli(broker, "topic", "create", topic_name + "x", "-c", "retention.ms", check=False)
    failed(p, "--config takes key=value")
    p = cli(broker, "topic", "create", topic_name + "y", "-c", "no.such.config=1", check=False)
    failed(p, "cannot create topic", "INVALID_CONFIG")


def test_topic_alter_config(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "1")
    altered = cli_json(broker, "topic", "alter-config", topic_name, "--set", "retention.ms=999",
                       "--set", "max.message.bytes=2000000")
    assert altered["set"] == {"retention.ms": "999", "max.message.bytes": "2000000"}
    configs = {c["name"]: c for c in cli_json(broker, "topic", "describe", topic_name)["configs"]}
    assert configs["retention.ms"]["value"] == "999"
    assert configs["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert configs["max.message.bytes"]["value"] == "2000000"

    cli(broker, "topic", "alter-config", topic_name, "--delete", "retention.ms")
    configs = {c["name"]: c for c in cli_json(broker, "topic", "describe", topic_name)["configs"]}
    assert configs["retention.ms"]["source"] != "DYNAMIC_TOPIC_CONFIG"
    assert configs["retention.ms"]["value"] == "604800000"
    assert configs["max.message.bytes"]["source"] == "DYNAMIC_TOPIC_CONFIG"

    failed(cli(broker, "topic", "alter-config", topic_name, check=False),
           "at least one --set or --delete")
    failed(cli(broker, "topic", "alter-config", topic_name, "--set", "retention.ms=soon",
               check=False), "cannot alter the configs", "INVALID_CONFIG")


def test_topic_add_partitions(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "1")
    assert cli_json(broker, "topic", "add-partitions", topic_name, "-n", "4")["partitions"] == 4
    d = cli_json(broker, "topic", "describe", topic_name)
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2, 3]
    assert all(p["leader"] == 0 for p in d["partitions"])
    p = cli(broker, "topic", "add-partitions", topic_name, "-n", "2", check=False)
    failed(p, f"cannot add partitions to topic {topic_name}", "INVALID_PARTITIONS")


def test_topic_delete(broker, topic_name):
    cli(broker, "topic", "create", topic_name + ".a")
    cli(broker, "topic", "create", topic_name + ".b")
    result = cli_json(broker, "topic", "delete", topic_name + ".a", topic_name + ".b")
    assert result == [{"name": topic_name + ".a", "error": None},
                      {"name": topic_name + ".b", "error": None}]
    names = {t["name"] for t in cli_json(broker, "topic", "list")}
    assert topic_name + ".a" not in names and topic_name + ".b" not in names
    p = cli(broker, "topic", "delete", topic_name + ".a", check=False)
    failed(p, f"cannot delete topic {topic_name}.a: topic does not exist")


# ---- produce and consume --------------------------------------------------------------------


def test_produce_keys_land_where_the_java_client_puts_them(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "6")
    keys = [f"user-{i}" for i in range(60)] + ["21", "foobar", ""]
    lines = "".join(f"{k} value of {k}\n" for k in keys)
    summary = cli_json(broker, "produce", topic_name, "--format", "%k %v", input=lines)
    assert summary["records"] == len(keys)
    assert sum(p["records"] for p in summary["partitions"]) == len(keys)

    records = consume_json(broker, topic_name)
    assert len(records) == len(keys)
    by_key = {r["key"]: r for r in records}
    for k in keys:
        r = by_key[k]
        assert r["value"] == f"value of {k}"
        assert r["partition"] == java_partition(k.encode(), 6), k
    # Offsets within a partition are dense and follow the input order.
    for p in range(6):
        mine = [r for r in records if r["partition"] == p]
        assert [r["offset"] for r in mine] == list(range(len(mine)))
        assert [r["key"] for r in mine] == [k for k in keys if java_partition(k.encode(), 6) == p]


def test_produce_without_keys_spreads_batches(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "3")
    # --linger-ms 0 and a pause between chunks: each chunk is its own batch, and the sticky
    # partitioner moves to the next partition after every batch.
    p = subprocess.Popen([caudal_bin(), "produce", topic_name, "--linger-ms", "0", "-o", "json",
                          "--brokers", broker.bootstrap],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    for chunk in range(3):
        p.stdin.write("".join(f"c{chunk}-{i}\n" for i in range(5)))
        p.stdin.flush()
        time.sleep(0.5)
    out, err = p.communicate(timeout=RUN_TIMEOUT_S)
    assert p.returncode == 0, err
    assert json.loads(out)["records"] == 15
    records = consume_json(broker, topic_name)
    assert sorted(r["value"] for r in records) == sorted(f"c{c}-{i}" for c in range(3)
                                                           for i in range(5))
    assert all(r["key"] is None for r in records)
    assert len({r["partition"] for r in records}) > 1


def test_produce_headers_timestamps_and_partition(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "3")
    ts = int(time.time() * 1000) - 60000  # recent: retention must not take them
    lines = (f"2|{ts + 1}|trace=abc,flag|k1|hello world\n"
             f"0|{ts + 2}||k2|second\n")
    cli(broker, "produce", topic_name, "--format", "%p|%t|%h|%k|%v", input=lines)
    records = sorted(consume_json(broker, topic_name), key=lambda r: r["timestamp"])
    assert records[0]["partition"] == 2 and records[0]["offset"] == 0
    assert records[0]["timestamp"] == ts + 1
    assert records[0]["key"] == "k1" and records[0]["value"] == "hello world"
    assert records[0]["headers"] == [{"key": "trace", "value": "abc"},
                                     {"key": "flag", "value": None}]
    assert records[1]["partition"] == 0 and records[1]["headers"] == []

    out = cli(broker, "consume", topic_name, "--exit", "-p", "2",
              "--format", "%T %p %o %t %k=%v [%h]").stdout
    assert out == f"{topic_name} 2 0 {ts + 1} k1=hello world [trace=abc,flag]\n"


def test_produce_fixed_key_partition_file_and_env(broker, topic_name, tmp_path):
    cli(broker, "topic", "create", topic_name, "-p", "4")
    f = tmp_path / "input.txt"
    f.write_text("one\ntwo\nthree")  # no newline at the end: still a record
    # The brokers come from $CAUDAL_BROKERS here.
    cli(None, "produce", topic_name, "-f", str(f), "--key", "fixed", "-p", "3",
        env={"CAUDAL_BROKERS": broker.bootstrap})
    records = consume_json(broker, topic_name)
    assert [(r["partition"], r["key"], r["value"]) for r in records] == [
        (3, "fixed", "one"), (3, "fixed", "two"), (3, "fixed", "three")]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_compression(broker, topic_name, codec):
    cli(broker, "topic", "create", topic_name, "-p", "2")
    lines = "".join(f"k{i} {'payload ' * 20}{i}\n" for i in range(2000))
    cli(broker, "produce", topic_name, "--format", "%k %v", "-z", codec, input=lines)
    codes = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    assert broker.topic_batch_codecs(topic_name) == {codes[codec]}
    records = consume_json(broker, topic_name)
    assert len(records) == 2000
    assert {r["value"] for r in records} == {f"{'payload ' * 20}{i}" for i in range(2000)}


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_produce_acks(broker, topic_name, acks):
    cli(broker, "topic", "create", topic_name, "-p", "1")
    summary = cli_json(broker, "produce", topic_name, "--acks", acks,
                       input="".join(f"r{i}\n" for i in range(100)))
    assert summary["records"] == 100
    first = summary["partitions"][0]["first_offset"]
    assert first is None if acks == "0" else first == 0
    assert [r["value"] for r in consume_json(broker, topic_name)] == [f"r{i}" for i in range(100)]


def test_produce_many_records_batches_and_reports_progress(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "2")
    p = subprocess.Popen([caudal_bin(), "produce", topic_name, "--brokers", broker.bootstrap],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    p.stdin.write("".join(f"first-{i}\n" for i in range(20000)))
    p.stdin.flush()
    time.sleep(2.5)  # a long input: progress goes to stderr after two seconds
    p.stdin.write("".join(f"second-{i}\n" for i in range(20000)))
    out, err = p.communicate(timeout=RUN_TIMEOUT_S)
    assert p.returncode == 0, err
    assert out == ""
    assert "produced 40000 records" in err and "records/s" in err, err
    d = cli_json(broker, "topic", "describe", topic_name)
    assert sum(p["high_watermark"] for p in d["partitions"]) == 40000
    assert len(consume_json(broker, topic_name, "-n", "40000")) == 40000
    # Batched: far fewer batches than records in the log.
    assert 2 <= batch_count(broker, topic_name) <= 400


def test_consume_from_positions(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "1")
    base = int(time.time() * 1000) - 100000  # recent: retention must not take them
    cli(broker, "produce", topic_name, "--format", "%t %v",
        input="".join(f"{base + 1000 * (i + 1)} v{i}\n" for i in range(10)))

    def values(*args):
        return [r["value"] for r in consume_json(broker, topic_name, *args)]

    assert values() == [f"v{i}" for i in range(10)]
    assert values("--from", "beginning", "-n", "3") == ["v0", "v1", "v2"]
    assert values("--from", "7") == ["v7", "v8", "v9"]
    assert values("--from", "-2") == ["v8", "v9"]
    assert values("--from", "-50") == [f"v{i}" for i in range(10)]
    assert values("--from", f"@{base + 4000}") == [f"v{i}" for i in range(3, 10)]
    assert values("--from", f"@{base + 4500}") == [f"v{i}" for i in range(4, 10)]
    assert values("--from", f"@{base + 99999}") == []
    assert values("--from", "end") == []
    p = cli(broker, "consume", topic_name, "--exit", "--from", "500", check=False)
    failed(p, "offset 500 is out of range")


def test_consume_follows_until_count(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "2")
    follower = subprocess.Popen(
        [caudal_bin(), "consume", topic_name, "--from", "end", "-n", "3", "-o", "json",
         "--brokers", broker.bootstrap],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # let it reach the end and start long polling
        assert follower.poll() is None, follower.stderr.read()
        cli(broker, "produce", topic_name, "--format", "%k %v", input="a 1\nb 2\nc 3\nd 4\n")
        out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert {r["key"] for r in records} <= {"a", "b", "c", "d"}


def test_cli_and_librdkafka_read_each_other(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "3")
    p = clients.producer(broker.bootstrap, partitioner="murmur2_random")
    clients.produce_all(p, topic_name, [
        {"key": f"rk{i}".encode(), "value": f"rv{i}".encode(), "headers": [("h", b"x")]}
        for i in range(30)])
    records = consume_json(broker, topic_name)
    assert len(records) == 30
    for r in records:
        assert r["value"] == "rv" + r["key"][2:]
        assert r["headers"] == [{"key": "h", "value": "x"}]
        # librdkafka's murmur2_random is the Java partitioner, and so is ours.
        assert r["partition"] == java_partition(r["key"].encode(), 3)

    other = topic_name + ".cli"
    cli(broker, "topic", "create", other, "-p", "3")
    cli(broker, "produce", other, "--format", "%h %k %v", "-z", "lz4",
        input="".join(f"a=b ck{i} cv{i}\n" for i in range(30)))
    msgs = clients.consume_assigned(broker.bootstrap, other, [0, 1, 2], 30)
    for m in msgs:
        i = m.key().decode()[2:]
        assert m.value() == f"cv{i}".encode()
        assert m.headers() == [("a", b"b")]
        assert m.partition() == java_partition(m.key(), 3)


# ---- cluster --------------------------------------------------------------------------------


def test_cluster_info_and_health(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "5")
    info = cli_json(broker, "cluster", "info")
    assert info["cluster_id"]
    assert info["controller"] == 0
    assert info["brokers"] == [{"node_id": 0, "host": "127.0.0.1", "port": broker.port,
                                "rack": None}]
    topics = cli_json(broker, "topic", "list", "--internal")
    assert info["topics"] == len(topics)
    assert info["partitions"] == sum(t["partitions"] for t in topics)
    assert info["partitions"] >= 5
    assert info["leaderless_partitions"] == []

    health = cli_json(broker, "cluster", "health")
    assert health == {"healthy": True, "brokers": 1, "controller": 0,
                      "partitions": info["partitions"], "leaderless_partitions": []}
    text = cli(broker, "cluster", "health").stdout
    assert text.startswith("healthy:")
    assert "CLUSTER ID" in cli(broker, "cluster", "info").stdout


# ---- bad input ------------------------------------------------------------------------------


def test_unknown_topic(broker):
    for args in (["topic", "describe", "no.such.topic"],
                 ["consume", "no.such.topic", "--exit"],
                 ["topic", "add-partitions", "no.such.topic", "-n", "3"],
                 ["topic", "alter-config", "no.such.topic", "--set", "retention.ms=1"]):
        p = cli(broker, *args, check=False)
        assert p.returncode == 1, args
        assert p.stderr == "caudal: topic no.such.topic does not exist\n", (args, p.stderr)


def test_bad_flags_and_values(broker, topic_name):
    cli(broker, "topic", "create", topic_name, "-p", "2")
    cases = [
        (["topic", "list", "--bogus"], "--bogus"),
        (["topic", "create"], "name is required"),
        (["topic", "create", topic_name + "x", "-p", "0"], "--partitions"),
        (["topic", "list", "-o", "yaml"], "yaml"),
        (["consume", topic_name, "--from", "soon"], "--from takes"),
        (["consume", topic_name, "--format", "%q"], "%q is not a field"),
        (["consume", topic_name, "--exit", "-p", "9"], "has no partition 9"),
        (["produce", topic_name, "-z", "brotli"], "--compression takes"),
        (["produce", topic_name, "--acks", "2"], "--acks takes"),
        (["produce", topic_name, "--format", "%k%v"], "need text between them"),
        (["produce", topic_name, "--format", "%k %v", "--key", "k"], "--key and a format"),
        (["produce", topic_name, "-p", "7"], "has no partition 7"),
        (["produce", topic_name, "-f", "/no/such/file"], "cannot open /no/such/file"),
        (["cluster"], "subcommand"),
    ]
    for args, fragment in cases:
        p = cli(broker, *args, input="x\n", check=False)
        assert p.returncode != 0, args
        assert fragment in p.stderr, (args, p.stderr)
    # A line that does not match the format stops at that line, after sending those before.
    p = cli(broker, "produce", topic_name, "--format", "%k=%v", "-p", "0",
            input="a=1\nb=2\nno separator\nc=3\n", check=False)
    failed(p, "line 3:", "does not match the format")
    assert [r["value"] for r in consume_json(broker, topic_name, "-p", "0")] == ["1", "2"]


def test_broker_down():
    port = free_port()  # nothing listens there
    down = f"127.0.0.1:{port}"
    for args in (["topic", "list"], ["topic", "describe", "t"], ["topic", "create", "t"],
                 ["consume", "t", "--exit"], ["consume", "t", "-g", "g"], ["produce", "t"],
                 ["cluster", "info"], ["cluster", "health"], ["group", "list"],
                 ["group", "describe", "g"], ["group", "seek", "g", "--to", "end"]):
        p = cli(None, *args, "--brokers", down, input="x\n", check=False)
        assert p.returncode == 1, args
        assert p.stderr == f"caudal: cannot connect to {down}: Connection refused\n", p.stderr
    # The environment variable is used when --brokers is not given.
    p = cli(None, "cluster", "health", env={"CAUDAL_BROKERS": down}, check=False)
    failed(p, f"cannot connect to {down}: Connection refused")
    p = cli(None, "topic", "list", "--brokers", "localhost:notaport", check=False)
    failed(p, "bad port in broker address 'localhost:notaport'")


# ---- consumer groups ------------------------------------------------------------------------

GROUP_CONFIG = {
    "group.initial.rebalance.delay.ms": "300",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "2",
}


@pytest.fixture(scope="module")
def group_broker(tmp_path_factory):
    from conftest import Broker, _finish

    b = Broker(tmp_path_factory.mktemp("groups"), GROUP_CONFIG, name="groups").start()
    yield b
    _finish(b)


def describe_group(broker, group):
    (g,) = cli_json(broker, "group", "describe", group)
    return g


def committed(g):
    return {(o["topic"], o["partition"]): o["committed_offset"] for o in g["offsets"]}


def test_group_consume_commits_and_resumes(group_broker, topic_name):
    b = group_broker
    group = topic_name + ".g"
    cli(b, "topic", "create", topic_name, "-p", "3")
    cli(b, "produce", topic_name, "--format", "%k %v",
        input="".join(f"k{i} v{i}\n" for i in range(30)))
    first = consume_json(b, topic_name, "-g", group)
    assert sorted(r["value"] for r in first) == sorted(f"v{i}" for i in range(30))

    g = describe_group(b, group)
    assert g["group"] == group and g["state"] == "Empty" and g["members"] == []
    assert g["protocol_type"] == "consumer"
    ends = {(topic_name, p["partition"]): p["high_watermark"]
            for p in cli_json(b, "topic", "describe", topic_name)["partitions"]}
    assert committed(g) == ends
    assert g["total_lag"] == 0 and all(o["lag"] == 0 for o in g["offsets"])

    cli(b, "produce", topic_name, "--format", "%k %v",
        input="".join(f"k{i} v{i}\n" for i in range(30, 40)))
    g = describe_group(b, group)
    assert g["total_lag"] == 10
    again = consume_json(b, topic_name, "-g", group)
    assert sorted(r["value"] for r in again) == sorted(f"v{i}" for i in range(30, 40))
    # -n stops mid-partition and commits exactly what was printed.
    cli(b, "produce", topic_name, "-p", "1", input="a\nb\nc\n")
    assert [r["value"] for r in consume_json(b, topic_name, "-g", group, "-n", "2")] == ["a", "b"]
    assert [r["value"] for r in consume_json(b, topic_name, "-g", group)] == ["c"]

    listed = {x["group"]: x for x in cli_json(b, "group", "list")}
    assert listed[group]["protocol_type"] == "consumer"
    assert listed[group]["state"] == "Empty"
    assert "GROUP" in cli(b, "group", "list").stdout
    assert "LOG-END-OFFSET" in cli(b, "group", "describe", group).stdout

    assert cli_json(b, "group", "delete", group) == [{"group": group, "error": None}]
    assert group not in {x["group"] for x in cli_json(b, "group", "list")}
    failed(cli(b, "group", "delete", group, check=False),
           f"cannot delete group {group}: group does not exist")
    failed(cli(b, "group", "describe", group, check=False), f"group {group} does not exist")
    failed(cli(b, "consume", topic_name, "-g", group, "-p", "0", check=False),
           "-g and -p do not go together")


def test_group_members_share_partitions(group_broker, topic_name):
    b = group_broker
    group = topic_name + ".g"
    cli(b, "topic", "create", topic_name, "-p", "4")
    members = [subprocess.Popen(
        [caudal_bin(), "consume", topic_name, "-g", group, "-o", "json", "--from", "end",
         "--brokers", b.bootstrap],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        # Wait until both are members with two partitions each.
        deadline = time.monotonic() + 60
        while True:
            g = describe_group(b, group)
            owned = [sorted(p for a in m["assignment"] for p in a["partitions"])
                     for m in g["members"]]
            if g["state"] == "Stable" and len(owned) == 2 and all(len(o) == 2 for o in owned):
                break
            assert time.monotonic() < deadline, f"group never settled: {g}"
            assert all(m.poll() is None for m in members), members[0].stderr.read()
            time.sleep(0.3)
        assert sorted(owned[0] + owned[1]) == [0, 1, 2, 3]
        assert all(o["member_id"] is not None for o in g["offsets"])

        cli(b, "produce", topic_name, "--format", "%k %v",
            input="".join(f"k{i} v{i}\n" for i in range(80)))
        deadline = time.monotonic() + 60
        while sum(p["lag"] or 0 for p in describe_group(b, group)["offsets"]) > 0 or \
                len(describe_group(b, group)["offsets"]) < 4:
            assert time.monotonic() < deadline, "the members did not catch up"
            time.sleep(0.5)
    finally:
        for m in members:
            m.terminate()  # SIGTERM: commit, leave the group, exit 0
        outputs = [m.communicate(timeout=30) for m in members]
    for m, (out, err) in zip(members, outputs):
        assert m.returncode == 0, err
    seen = [[json.loads(line) for line in out.splitlines()] for out, _ in outputs]
    assert all(seen), "each member read some records"
    values = sorted(r["value"] for records in seen for r in records)
    assert values == sorted(f"v{i}" for i in range(80))  # each record exactly once
    parts = [{r["partition"] for r in records} for records in seen]
    assert not parts[0] & parts[1]  # disjoint partitions
    g = describe_group(b, group)
    assert g["state"] == "Empty" and g["members"] == [] and g["total_lag"] == 0


def test_group_seek(group_broker, topic_name):
    b = group_broker
    group = topic_name + ".g"
    cli(b, "topic", "create", topic_name, "-p", "2")
    now = int(time.time() * 1000)
    cli(b, "produce", topic_name, "--format", "%p %t %v",
        input="".join(f"{i % 2} {now - 10000 + i * 100} v{i}\n" for i in range(20)))
    assert len(consume_json(b, topic_name, "-g", group)) == 20
    before = committed(describe_group(b, group))
    assert before == {(topic_name, 0): 10, (topic_name, 1): 10}

    dry = cli_json(b, "group", "seek", group, "--to", "beginning", "--dry-run")
    assert dry["dry_run"] is True
    assert dry["offsets"] == [
        {"topic": topic_name, "partition": 0, "previous_offset": 10, "new_offset": 0},
        {"topic": topic_name, "partition": 1, "previous_offset": 10, "new_offset": 0}]
    assert committed(describe_group(b, group)) == before

    cli(b, "group", "seek", group, "--to", "beginning")
    assert committed(describe_group(b, group)) == {(topic_name, 0): 0, (topic_name, 1): 0}
    assert len(consume_json(b, topic_name, "-g", group)) == 20

    cli(b, "group", "seek", group, "--to", "-3")
    assert committed(describe_group(b, group)) == {(topic_name, 0): 7, (topic_name, 1): 7}
    cli(b, "group", "seek", group, "--to", "4")
    assert committed(describe_group(b, group)) == {(topic_name, 0): 4, (topic_name, 1): 4}
    # Record i is at partition i % 2, offset i // 2, time now - 10000 + 100 i.
    cli(b, "group", "seek", group, "--to", f"@{now - 10000 + 1000}")
    assert committed(describe_group(b, group)) == {(topic_name, 0): 5, (topic_name, 1): 5}
    cli(b, "group", "seek", group, "--to", "end")
    assert committed(describe_group(b, group)) == before

    fresh = topic_name + ".fresh"
    failed(cli(b, "group", "seek", fresh, "--to", "end", check=False), "no committed offsets")
    cli(b, "group", "seek", fresh, "--to", "beginning", "--topic", topic_name)
    assert committed(describe_group(b, fresh)) == {(topic_name, 0): 0, (topic_name, 1): 0}
    failed(cli(b, "group", "seek", group, "--to", "soon", check=False), "--to takes beginning, end")

    member = subprocess.Popen([caudal_bin(), "consume", topic_name, "-g", group,
                               "--brokers", b.bootstrap],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while describe_group(b, group)["state"] != "Stable":
            assert time.monotonic() < deadline and member.poll() is None
            time.sleep(0.3)
        failed(cli(b, "group", "seek", group, "--to", "beginning", check=False),
               "active member", "stop them before seeking")
        failed(cli(b, "group", "delete", group, check=False), "active members")
    finally:
        member.terminate()
        member.communicate(timeout=30)
    assert member.returncode == 0
