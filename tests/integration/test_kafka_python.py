"""kafka-python 2.0.2 (pure Python): admin, produce, consume without a group.

kafka-python guesses the broker's release from one ApiVersions v0 + Metadata v0 probe and then
fixes every request version from that guess; the broker must look like Kafka >= 2.1 for it to
send Produce v7 with record batch v2 (kafka-protocol/README.md, section 8.2).
"""
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import TopicAlreadyExistsError
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

import clients

TIMEOUT_MS = 30000


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)


def consume(broker, topic, partitions, count, **conf):
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      consumer_timeout_ms=5000, request_timeout_ms=TIMEOUT_MS + 5000, **conf)
    try:
        c.assign([TopicPartition(topic, p) for p in partitions])
        out = []
        for m in c:
            out.append(m)
            if len(out) == count:
                break
        assert len(out) == count, f"consumed {len(out)} of {count}"
        return out
    finally:
        c.close()


def test_probe_guesses_a_modern_release(broker):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        assert p.config["api_version"] >= (2, 1), p.config["api_version"]
    finally:
        p.close()


def test_admin_create_describe_delete(broker, topic_name):
    a = admin(broker)
    try:
        resp = a.create_topics([NewTopic(topic_name, 3, 1, topic_configs={"retention.ms": "60000"})])
        assert [e[1] for e in resp.topic_errors] == [0], resp
        clients.wait_for_topic(broker.bootstrap, topic_name, 3)
        assert topic_name in a.list_topics()

        with pytest.raises(TopicAlreadyExistsError):
            a.create_topics([NewTopic(topic_name, 1, 1)])

        [resp] = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name)])
        [(err, _msg, rtype, rname, entries)] = resp.resources
        assert err == 0 and rname == topic_name
        values = {e[0]: e[1] for e in entries}
        assert values["retention.ms"] == "60000"
        assert "segment.bytes" in values

        [resp] = a.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
        [(err, _msg, rtype, rname, entries)] = resp.resources
        assert err == 0
        assert {e[0]: e[1] for e in entries}["num.partitions"] == "1"

        resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name,
                                               configs={"retention.ms": "120000"})])
        assert [r[0] for r in resp.resources] == [0], resp
        [resp] = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name)])
        assert {e[0]: e[1] for e in resp.resources[0][4]}["retention.ms"] == "120000"

        resp = a.create_partitions({topic_name: NewPartitions(4)})
        assert [e[1] for e in resp.topic_errors] == [0], resp
        clients.wait_for_topic(broker.bootstrap, topic_name, 4)

        resp = a.delete_topics([topic_name], timeout_ms=TIMEOUT_MS)
        assert [e[1] for e in resp.topic_error_codes] == [0], resp
        assert topic_name not in a.list_topics()
    finally:
        a.close()


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4"])
def test_produce_consume(broker, topic_name, codec):
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec, acks="all",
                      linger_ms=5)
    n = 1000
    try:
        futures = [p.send(topic_name, key=b"k%d" % i, value=b"value %d " % i * 10,
                          partition=i % 2, headers=[("h", b"%d" % i)], timestamp_ms=1000 + i)
                   for i in range(n)]
        p.flush(30)
        metas = [f.get(timeout=30) for f in futures]
    finally:
        p.close()
    assert [(m.partition, m.offset) for m in metas] == [(i % 2, i // 2) for i in range(n)]
    got = consume(broker, topic_name, [0, 1], n)
    got.sort(key=lambda m: (m.partition, m.offset))
    want = sorted(range(n), key=lambda i: (i % 2, i // 2))
    assert [(m.key, m.value, m.headers, m.timestamp) for m in got] == [
        (b"k%d" % i, b"value %d " % i * 10, [("h", b"%d" % i)], 1000 + i) for i in want]
    codec_ids = {None: 0, "gzip": 1, "snappy": 2, "lz4": 3}
    broker.assert_stored_codec(topic_name, codec_ids[codec])


def test_produce_zstd_read_with_librdkafka(broker, topic_name):
    """kafka-python fetches with Fetch v4, which may not carry zstd (Kafka refuses it), so the
    zstd batches it produces (Produce v7) are read back with librdkafka."""
    clients.create_topic(broker.bootstrap, topic_name)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="zstd", acks="all")
    try:
        for i in range(300):
            p.send(topic_name, key=b"%d" % i, value=b"zstd %d" % i * 20)
        p.flush(30)
    finally:
        p.close()
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 300)
    assert [(m.key(), m.value()) for m in got] == [(b"%d" % i, b"zstd %d" % i * 20)
                                                   for i in range(300)]
    broker.assert_stored_codec(topic_name, 4)


def test_consume_what_librdkafka_produced(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap, **{"compression.type": "gzip"})
    clients.produce_all(p, topic_name, [{"key": b"%d" % i, "value": b"x" * i} for i in range(200)])
    got = consume(broker, topic_name, [0], 200)
    assert [(m.offset, m.key, m.value) for m in got] == [(i, b"%d" % i, b"x" * i)
                                                         for i in range(200)]


def test_offsets_lookups(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i, "timestamp": 10_000 + 100 * i}
                                        for i in range(30)])
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, request_timeout_ms=TIMEOUT_MS + 5000)
    try:
        tp = TopicPartition(topic_name, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 30}
        found = c.offsets_for_times({tp: 10_000 + 100 * 12 + 1})
        assert found[tp].offset == 13 and found[tp].timestamp == 10_000 + 100 * 13
        assert c.offsets_for_times({tp: 10**12})[tp] is None
    finally:
        c.close()
