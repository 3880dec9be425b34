"""kafkajs 2.2.4 (pure JavaScript, node 20): admin, produce, delete records.

kafkajs has no consumer outside a consumer group, and the group coordinator is a later issue,
so what kafkajs produces is read back with librdkafka (confluent-kafka, assign()); the one
kafkajs-consumer test is expected to fail until groups exist.
"""
import base64
import json
import pathlib
import shutil
import subprocess

import pytest
from confluent_kafka import TopicPartition

import clients

JS_DIR = pathlib.Path(__file__).resolve().parent / "js"
NODE = shutil.which("node") or "/usr/bin/node"

pytestmark = pytest.mark.skipif(
    not (JS_DIR / "node_modules" / "kafkajs").is_dir(),
    reason="kafkajs not installed: run scripts/install-deps",
)


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def js(broker, command, timeout=90, **args):
    r = subprocess.run([NODE, str(JS_DIR / "client.js"), broker.bootstrap, command],
                       input=json.dumps(args).encode(), capture_output=True, timeout=timeout,
                       cwd=JS_DIR)
    if r.returncode != 0:
        raise AssertionError(f"kafkajs {command} exited {r.returncode}:\n"
                             f"{r.stderr.decode()}\n{r.stdout.decode()}")
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def test_admin_create_metadata_delete(broker, topic_name):
    a, b = topic_name + ".a", topic_name + ".b"
    assert js(broker, "createTopics", topics=[{"topic": a, "numPartitions": 3},
                                              {"topic": b, "numPartitions": 1,
                                               "configEntries": [{"name": "retention.ms",
                                                                  "value": "86400000"}]}])
    # Creating an existing topic: kafkajs returns false instead of throwing.
    assert js(broker, "createTopics", topics=[{"topic": a, "numPartitions": 3}]) is False
    assert {a, b} <= set(js(broker, "listTopics"))

    md = js(broker, "fetchTopicMetadata", topics=[a, b])
    topics = {t["name"]: t for t in md["topics"]}
    assert sorted(p["partitionId"] for p in topics[a]["partitions"]) == [0, 1, 2]
    for p in topics[a]["partitions"] + topics[b]["partitions"]:
        assert p["leader"] == 0 and p["replicas"] == [0] and p["isr"] == [0]
        assert p["partitionErrorCode"] == 0

    cfg = js(broker, "describeConfigs", topic=b)
    [res] = cfg["resources"]
    assert res["errorCode"] == 0
    entries = {e["configName"]: e["configValue"] for e in res["configEntries"]}
    assert entries["retention.ms"] == "86400000"

    js(broker, "deleteTopics", topics=[a])
    left = set(js(broker, "listTopics"))
    assert a not in left and b in left


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy"])
def test_produce_read_with_librdkafka(broker, topic_name, codec):
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    batches = [[{"key": b64(b"k%d-%d" % (j, i)), "value": b64(b"value %d " % i * 8),
                 "partition": i % 2, "timestamp": 1_650_000_000_000 + i,
                 "headers": {"trace": b64(b"t%d" % i)}} for i in range(200)] for j in range(5)]
    batches[0][0]["value"] = None  # a tombstone
    results = js(broker, "produce", topic=topic_name, compression=codec, batches=batches)
    assert all(r["errorCode"] == 0 for r in results), results

    got = clients.consume_assigned(broker.bootstrap, topic_name, [0, 1], 1000)
    want = {}
    for batch in batches:
        for m in batch:
            want.setdefault(m["partition"], []).append(m)
    for part in (0, 1):
        have = [m for m in got if m.partition() == part]
        assert [m.offset() for m in have] == list(range(len(want[part])))
        for m, w in zip(have, want[part]):
            assert b64(m.key()) == w["key"]
            assert b64(m.value()) == w["value"]
            assert m.timestamp()[1] == w["timestamp"]
            assert m.headers() == [("trace", base64.b64decode(w["headers"]["trace"]))]

    broker.assert_stored_codec(topic_name, {"none": 0, "gzip": 1, "snappy": 2}[codec])

    offsets = js(broker, "fetchTopicOffsets", topic=topic_name)
    assert sorted((o["partition"], o["low"], o["high"]) for o in offsets) == [
        (0, "0", "500"), (1, "0", "500")]
    # ListOffsets by time: batches[j][i] has timestamp base + i and lands in partition i % 2.
    by_time = js(broker, "fetchTopicOffsetsByTimestamp", topic=topic_name,
                 timestamp=1_650_000_000_000 + 150)
    assert sorted((o["partition"], o["offset"]) for o in by_time) == [(0, "75"), (1, "75")]


def test_produce_acks(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    for acks in (1, -1):
        batch = [{"key": None, "value": b64(b"acks%d-%d" % (acks, i))} for i in range(10)]
        res = js(broker, "produce", topic=topic_name, acks=acks, batches=[batch])
        assert all(r["errorCode"] == 0 for r in res), res
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 20)
    assert [m.value() for m in got] == [b"acks%d-%d" % (a, i) for a in (1, -1) for i in range(10)]


def test_delete_records(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i, "partition": i % 2}
                                        for i in range(40)])
    js(broker, "deleteTopicRecords", topic=topic_name,
       partitions=[{"partition": 0, "offset": "15"}, {"partition": 1, "offset": "-1"}])
    c = clients.consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (15, 20)
        # Offset -1 deletes everything up to the high watermark.
        assert c.get_watermark_offsets(TopicPartition(topic_name, 1), timeout=10) == (20, 20)
    finally:
        c.close()
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 5)
    assert [m.offset() for m in got] == list(range(15, 20))
    assert [m.value() for m in got] == [b"%d" % i for i in range(30, 40, 2)]


def test_consume_with_group(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i} for i in range(10)])
    got = js(broker, "consume", timeout=60, topic=topic_name, groupId=topic_name, count=10,
             timeoutMs=10000)
    assert [base64.b64decode(m["value"]) for m in got] == [b"%d" % i for i in range(10)]


def test_transactions_commit_abort_and_send_offsets(broker, topic_name):
    """kafkajs's transaction() API: committed values are visible to read_committed
    consumers, aborted ones are not, and offsets sent with a committed transaction are the
    group's committed offsets (those of an aborted one are not)."""
    clients.create_topic(broker.bootstrap, topic_name)
    group = topic_name + ".group"
    assert js(broker, "transaction", transactionalId=topic_name + ".txn", topic=topic_name,
              group=group, transactions=[
                  {"values": ["a", "b"], "commit": True, "offset": 2},
                  {"values": ["x"], "commit": False, "offset": 9},
                  {"values": ["c"], "commit": True},
              ]) is True
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 3,
                                   **{"isolation.level": "read_committed"})
    assert [m.value() for m in got] == [b"a", b"b", b"c"]
    c = clients.consumer(broker.bootstrap, **{"group.id": group})
    try:
        assert c.committed([TopicPartition(topic_name, 0)], timeout=10)[0].offset == 2
    finally:
        c.close()
