"""kcat 1.7 (librdkafka 2.0.2): metadata, produce and consume with keys and headers."""
import json
import subprocess

import clients

KCAT_TIMEOUT_S = 60


def kcat(broker, *args, input=None):
    r = subprocess.run(
        ["kcat", "-b", broker.bootstrap, *args],
        input=input,
        capture_output=True,
        timeout=KCAT_TIMEOUT_S,
    )
    assert r.returncode == 0, f"kcat {' '.join(args)} exited {r.returncode}:\n{r.stderr.decode()}"
    return r.stdout


def test_metadata_lists_broker_and_topics(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name, partitions=3)
    md = json.loads(kcat(broker, "-L", "-J"))
    assert [(b["id"], b["name"]) for b in md["brokers"]] == [(0, broker.bootstrap)]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic_name in topics
    parts = sorted(topics[topic_name]["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2]
    for p in parts:
        assert p["leader"] == 0
        assert [r["id"] for r in p["replicas"]] == [0]
        assert [r["id"] for r in p["isrs"]] == [0]

    # The plain-text listing names the broker and the topic too.
    text = kcat(broker, "-L", "-t", topic_name).decode()
    assert f"broker 0 at {broker.bootstrap}" in text
    assert f'topic "{topic_name}" with 3 partitions' in text


def test_produce_consume_keys_and_headers(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    lines = [f"key{i}:value {i} with spaces" for i in range(50)]
    kcat(broker, "-P", "-t", topic_name, "-K:", "-H", "k=v", "-H", "trace=abc123",
         input=("\n".join(lines) + "\n").encode())

    out = kcat(broker, "-C", "-t", topic_name, "-e", "-q", "-f", "%k|%s|%h|%p|%o\n").decode()
    got = out.splitlines()
    assert got == [f"key{i}|value {i} with spaces|k=v,trace=abc123|0|{i}" for i in range(50)]


def test_consume_json(broker, topic_name):
    # Auto-creation: the producer's metadata request creates the topic.
    kcat(broker, "-P", "-t", topic_name, "-K:", "-H", "h1=x", "-H", "h1=y",
         input=b"a:1\nb:2\n:3\n")
    out = kcat(broker, "-C", "-t", topic_name, "-e", "-q", "-J").decode()
    msgs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [(m["key"], m["payload"], m["offset"], m["partition"]) for m in msgs] == [
        ("a", "1", 0, 0),
        ("b", "2", 1, 0),
        ("", "3", 2, 0),
    ]
    for m in msgs:
        assert m["headers"] == ["h1", "x", "h1", "y"]
        assert m["tstype"] == "create" and m["ts"] > 0


def test_query_offsets_for_times(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"x", "timestamp": 1000 * (i + 1)}
                                        for i in range(10)])
    out = kcat(broker, "-Q", "-t", f"{topic_name}:0:4500").decode()
    # "Topic ... partition 0 offset 4"  (the first record with timestamp >= 4500 is 5000)
    assert "offset 4" in out, out
