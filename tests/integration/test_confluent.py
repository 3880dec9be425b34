"""confluent-kafka-python 1.7 (librdkafka 2.0.2): admin, produce and consume."""
import os
import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic

import clients
from clients import OP_TIMEOUT_S, wait_futures

# --- admin ---------------------------------------------------------------------------------


def test_create_list_delete_topics(broker, topic_name):
    a = clients.admin(broker.bootstrap)
    names = [f"{topic_name}.{i}" for i in range(3)]
    wait_futures(a.create_topics([NewTopic(n, num_partitions=i + 1, replication_factor=1)
                                  for i, n in enumerate(names)], operation_timeout=OP_TIMEOUT_S))
    md = a.list_topics(timeout=10)
    for i, n in enumerate(names):
        assert n in md.topics, sorted(md.topics)
        assert sorted(md.topics[n].partitions) == list(range(i + 1))
    assert list(md.brokers) == [0]
    assert f"{md.brokers[0].host}:{md.brokers[0].port}" == broker.bootstrap

    # Creating one again: TOPIC_ALREADY_EXISTS.
    with pytest.raises(KafkaException) as e:
        wait_futures(a.create_topics([NewTopic(names[0], 1, 1)]))
    assert e.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    # An illegal name: INVALID_TOPIC_EXCEPTION.
    with pytest.raises(KafkaException) as e:
        wait_futures(a.create_topics([NewTopic("bad/name", 1, 1)]))
    assert e.value.args[0].code() == KafkaError.TOPIC_EXCEPTION

    # validate_only creates nothing.
    wait_futures(a.create_topics([NewTopic(topic_name + ".dry", 2, 1)], validate_only=True))
    assert topic_name + ".dry" not in a.list_topics(timeout=10).topics

    wait_futures(a.delete_topics(names[:2], operation_timeout=OP_TIMEOUT_S))
    deadline = time.monotonic() + OP_TIMEOUT_S
    while time.monotonic() < deadline:
        left = set(a.list_topics(timeout=10).topics)
        if not left & set(names[:2]):
            break
        time.sleep(0.1)
    assert not left & set(names[:2])
    assert names[2] in left

    # Deleting an unknown topic: UNKNOWN_TOPIC_OR_PART.
    with pytest.raises(KafkaException) as e:
        wait_futures(a.delete_topics([topic_name + ".never"]))
    assert e.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def _configs(a, resource):
    return wait_futures(a.describe_configs([resource]))[resource]


def test_describe_alter_topic_configs(broker, topic_name):
    a = clients.admin(broker.bootstrap)
    clients.create_topic(broker.bootstrap, topic_name, config={"retention.ms": "3600000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    cfg = _configs(a, res)
    for key in ("retention.ms", "retention.bytes", "segment.bytes", "max.message.bytes",
                "cleanup.policy", "message.timestamp.type", "min.insync.replicas"):
        assert key in cfg, f"{key} missing from {sorted(cfg)}"
    assert cfg["retention.ms"].value == "3600000"
    assert not cfg["retention.ms"].is_default
    assert cfg["retention.bytes"].value == "-1"
    assert cfg["retention.bytes"].is_default
    assert cfg["cleanup.policy"].value == "delete"

    # AlterConfigs (not incremental) replaces the topic's whole set of overrides.
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                         set_config={"retention.bytes": "1048576", "segment.bytes": "1048576"})
    wait_futures(a.alter_configs([res]))
    cfg = _configs(a, ConfigResource(ConfigResource.Type.TOPIC, topic_name))
    assert cfg["retention.bytes"].value == "1048576"
    assert cfg["segment.bytes"].value == "1048576"
    assert cfg["retention.ms"].is_default, "AlterConfigs must drop overrides it does not name"

    # An invalid value is refused and changes nothing.
    bad = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                         set_config={"retention.bytes": "not-a-number"})
    with pytest.raises(KafkaException) as e:
        wait_futures(a.alter_configs([bad]))
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
    cfg = _configs(a, ConfigResource(ConfigResource.Type.TOPIC, topic_name))
    assert cfg["retention.bytes"].value == "1048576"

    # Compaction is a later issue: until then cleanup.policy=compact is INVALID_CONFIG.
    compact = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                             set_config={"cleanup.policy": "compact"})
    with pytest.raises(KafkaException) as e:
        wait_futures(a.alter_configs([compact]))
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG

    # Unknown topic.
    with pytest.raises(KafkaException) as e:
        _configs(a, ConfigResource(ConfigResource.Type.TOPIC, topic_name + ".never"))
    assert e.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_alter_broker_configs(broker):
    a = clients.admin(broker.bootstrap)
    res = ConfigResource(ConfigResource.Type.BROKER, "0")
    cfg = _configs(a, res)
    for key in ("num.partitions", "log.retention.hours", "log.segment.bytes",
                "message.max.bytes", "auto.create.topics.enable"):
        assert key in cfg, f"{key} missing from {sorted(cfg)}"
    assert cfg["num.partitions"].value == "1"
    assert cfg["auto.create.topics.enable"].value == "true"
    assert cfg["log.dirs"].value == str(broker.data_dir)
    assert not cfg["log.dirs"].is_default

    # A static key (read-only in Kafka too) cannot be altered, and stays as it was.
    res = ConfigResource(ConfigResource.Type.BROKER, "0", set_config={"log.dirs": "/nowhere"})
    with pytest.raises(KafkaException) as e:
        wait_futures(a.alter_configs([res]))
    assert e.value.args[0].code() in (KafkaError.INVALID_REQUEST, KafkaError.INVALID_CONFIG)
    cfg = _configs(a, ConfigResource(ConfigResource.Type.BROKER, "0"))
    assert cfg["log.dirs"].value == str(broker.data_dir)


def test_alter_dynamic_broker_config(broker):
    a = clients.admin(broker.bootstrap)
    res = ConfigResource(ConfigResource.Type.BROKER, "0",
                         set_config={"log.retention.ms": "7200000"})
    wait_futures(a.alter_configs([res]))
    cfg = _configs(a, ConfigResource(ConfigResource.Type.BROKER, "0"))
    assert cfg["log.retention.ms"].value == "7200000"
    # A topic without its own retention.ms now defaults to the broker's new value.
    clients.create_topic(broker.bootstrap, "dyn-retention")
    topic_cfg = _configs(a, ConfigResource(ConfigResource.Type.TOPIC, "dyn-retention"))
    assert topic_cfg["retention.ms"].value == "7200000"
    # Keys that need a restart are refused, as Kafka does.
    bad = ConfigResource(ConfigResource.Type.BROKER, "0", set_config={"num.partitions": "3"})
    with pytest.raises(KafkaException):
        wait_futures(a.alter_configs([bad]))


def test_create_partitions(broker, topic_name):
    a = clients.admin(broker.bootstrap)
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    wait_futures(a.create_partitions([NewPartitions(topic_name, 5)]))
    clients.wait_for_topic(broker.bootstrap, topic_name, 5)

    # Fewer than now: INVALID_PARTITIONS.
    with pytest.raises(KafkaException) as e:
        wait_futures(a.create_partitions([NewPartitions(topic_name, 3)]))
    assert e.value.args[0].code() == KafkaError.INVALID_PARTITIONS

    # The new partitions take records.
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"v%d" % i, "partition": i} for i in range(5)])
    got = clients.consume_assigned(broker.bootstrap, topic_name, range(5), 5)
    assert sorted((m.partition(), m.value()) for m in got) == [(i, b"v%d" % i) for i in range(5)]


# --- produce and consume -------------------------------------------------------------------


CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
# librdkafka 2.0.2 enables LZ4 only when FindCoordinator v0 is advertised (README 8.2),
# which it is now that the group coordinator is served.
@pytest.mark.parametrize("codec", list(CODECS))
def test_compression_roundtrip(broker, topic_name, codec):
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    n = 2000
    records = [{"key": b"k%d" % i,
                "value": (b"caudal %d " % i) * (1 + i % 50),
                "partition": i % 2} for i in range(n)]
    p = clients.producer(broker.bootstrap, **{"compression.type": codec, "linger.ms": 20})
    clients.produce_all(p, topic_name, records)
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0, 1], n)
    for part in (0, 1):
        want = [(r["key"], r["value"]) for r in records if r["partition"] == part]
        have = [(m.key(), m.value()) for m in got if m.partition() == part]
        assert have == want
        offs = [m.offset() for m in got if m.partition() == part]
        assert offs == list(range(len(want)))
    # The batches are stored as sent, compressed with the codec asked for (librdkafka
    # silently sends uncompressed batches to a broker that advertises too little).
    broker.assert_stored_codec(topic_name, CODECS[codec])


def test_keys_null_values_headers_timestamps(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    records = [
        {"key": b"k1", "value": b"v1", "timestamp": 1_600_000_000_000},
        {"key": None, "value": b"no key"},
        {"key": b"tombstone", "value": None},
        {"key": b"", "value": b""},
        {"key": b"h", "value": b"headers",
         "headers": [("a", b"1"), ("a", b"2"), ("empty", b""), ("null", None)]},
        {"key": b"\x00\xff" * 10, "value": bytes(range(256)), "timestamp": 1},
    ]
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, records)
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], len(records))
    for r, m in zip(records, got):
        assert m.key() == r["key"]
        assert m.value() == r["value"]
        if "timestamp" in r:
            assert m.timestamp() == (TIMESTAMP_CREATE_TIME, r["timestamp"])
        else:
            kind, ts = m.timestamp()
            assert kind == TIMESTAMP_CREATE_TIME and abs(ts - time.time() * 1000) < 600_000
    assert got[4].headers() == [("a", b"1"), ("a", b"2"), ("empty", b""), ("null", None)]
    assert got[0].headers() is None


def test_one_mib_records(broker, topic_name):
    big = 4 * 1024 * 1024
    clients.create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": str(big)})
    values = [os.urandom(1024 * 1024) for _ in range(4)]
    p = clients.producer(broker.bootstrap, **{"message.max.bytes": big + 1024, "linger.ms": 0})
    clients.produce_all(p, topic_name, [{"key": b"big%d" % i, "value": v}
                                        for i, v in enumerate(values)])
    got = clients.consume_assigned(
        broker.bootstrap, topic_name, [0], len(values),
        **{"fetch.max.bytes": 2 * big, "max.partition.fetch.bytes": big,
           "receive.message.max.bytes": 3 * big},
    )
    assert [m.value() for m in got] == values


def test_record_over_topic_limit_is_rejected(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": "10000"})
    p = clients.producer(broker.bootstrap, **{"message.max.bytes": 1_000_000,
                                              "compression.type": "none"})
    errors = []
    p.produce(topic_name, os.urandom(50_000), on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(OP_TIMEOUT_S) == 0
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errors[0]

    # Raising the limit takes effect at once.
    a = clients.admin(broker.bootstrap)
    wait_futures(a.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                                                 set_config={"max.message.bytes": "100000"})]))
    clients.produce_all(p, topic_name, [{"value": b"y" * 50_000}])
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 1)
    assert got[0].value() == b"y" * 50_000


def test_sixty_four_partitions(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name, partitions=64)
    p = clients.producer(broker.bootstrap)
    records = [{"key": b"%d-%d" % (part, i), "value": b"v", "partition": part}
               for i in range(3) for part in range(64)]
    clients.produce_all(p, topic_name, records)
    got = clients.consume_assigned(broker.bootstrap, topic_name, range(64), len(records))
    by_part = {}
    for m in got:
        by_part.setdefault(m.partition(), []).append((m.offset(), m.key()))
    assert sorted(by_part) == list(range(64))
    for part, items in by_part.items():
        assert items == [(i, b"%d-%d" % (part, i)) for i in range(3)]
    c = clients.consumer(broker.bootstrap)
    try:
        for part in range(64):
            assert c.get_watermark_offsets(TopicPartition(topic_name, part), timeout=10) == (0, 3)
    finally:
        c.close()


def test_offsets_for_times(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    base = 1_700_000_000_000
    clients.produce_all(p, topic_name, [{"value": b"%d" % i, "timestamp": base + 1000 * i}
                                        for i in range(20)])
    c = clients.consumer(broker.bootstrap)
    try:
        def lookup(ts):
            [tp] = c.offsets_for_times([TopicPartition(topic_name, 0, ts)], timeout=10)
            assert tp.error is None
            return tp.offset

        assert lookup(base) == 0
        assert lookup(base - 5) == 0
        assert lookup(base + 1000 * 7) == 7
        assert lookup(base + 1000 * 7 + 1) == 8
        assert lookup(base + 1000 * 19) == 19
        assert lookup(base + 1000 * 20) == -1  # after the last: no offset (OFFSET_END)
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (0, 20)
    finally:
        c.close()


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_isolation_levels(broker, topic_name, isolation):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i} for i in range(100)])
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 100,
                                   **{"isolation.level": isolation})
    assert [m.value() for m in got] == [b"%d" % i for i in range(100)]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(broker, topic_name, acks):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap, acks=acks)
    n = 500
    delivered = clients.produce_all(p, topic_name, [{"value": b"%d" % i} for i in range(n)])
    assert len(delivered) == n
    if acks != "0":
        assert [m.offset() for m in delivered] == list(range(n))
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], n)
    assert [m.value() for m in got] == [b"%d" % i for i in range(n)]


def test_consume_from_offset_and_out_of_range(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i} for i in range(10)])
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 4, offset=6)
    assert [m.offset() for m in got] == [6, 7, 8, 9]
    # Out of range with auto.offset.reset=earliest: librdkafka resets to the start.
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 10, offset=1000)
    assert [m.offset() for m in got] == list(range(10))


def test_produce_to_unknown_topic_without_autocreate(make_broker, topic_name):
    b = make_broker({"auto.create.topics.enable": "false"}, name="noauto")
    p = clients.producer(b.bootstrap, **{"message.timeout.ms": 3000})
    errors = []
    p.produce(topic_name, b"x", on_delivery=lambda err, msg: errors.append(err))
    p.flush(OP_TIMEOUT_S)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._MSG_TIMED_OUT)
    assert topic_name not in clients.admin(b.bootstrap).list_topics(timeout=10).topics


def test_long_poll_wakes_on_new_data(broker, topic_name):
    """A fetch waiting for data (fetch.wait.max.ms) returns as soon as a record arrives."""
    clients.create_topic(broker.bootstrap, topic_name)
    c = clients.consumer(broker.bootstrap, **{"fetch.wait.max.ms": 10000})
    try:
        c.assign([TopicPartition(topic_name, 0, OFFSET_BEGINNING)])
        assert c.poll(1.0) is None  # the consumer is now long-polling an empty partition
        p = clients.producer(broker.bootstrap, **{"linger.ms": 0})
        clients.produce_all(p, topic_name, [{"value": b"wake"}])
        start = time.monotonic()
        m = None
        while m is None and time.monotonic() - start < 15:
            m = c.poll(0.1)
        assert m is not None and m.value() == b"wake"
        assert time.monotonic() - start < 4.0, "fetch was not woken by the new record"
    finally:
        c.close()


def test_log_append_time(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name,
                         config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"%d" % i, "timestamp": 1000 + i}
                                        for i in range(10)])
    after = int(time.time() * 1000)
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 10)
    for m in got:
        kind, ts = m.timestamp()
        assert kind == TIMESTAMP_LOG_APPEND_TIME, m.timestamp()
        assert before - 1000 <= ts <= after + 1000, (before, ts, after)


def test_delete_and_recreate_topic_starts_empty(broker, topic_name):
    a = clients.admin(broker.bootstrap)
    clients.create_topic(broker.bootstrap, topic_name, partitions=2)
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"old", "partition": i % 2} for i in range(10)])
    wait_futures(a.delete_topics([topic_name], operation_timeout=OP_TIMEOUT_S))
    deadline = time.monotonic() + OP_TIMEOUT_S
    while topic_name in a.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.1)
    clients.create_topic(broker.bootstrap, topic_name, partitions=1)
    c = clients.consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (0, 0)
    finally:
        c.close()
    p = clients.producer(broker.bootstrap)
    clients.produce_all(p, topic_name, [{"value": b"new"}])
    got = clients.consume_assigned(broker.bootstrap, topic_name, [0], 1)
    assert [(m.offset(), m.value()) for m in got] == [(0, b"new")]


def test_create_topic_errors(broker, topic_name):
    a = clients.admin(broker.bootstrap)
    cases = [
        (NewTopic(topic_name + ".rf", 1, replication_factor=3),
         KafkaError.INVALID_REPLICATION_FACTOR),
        (NewTopic("x" * 250, 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic("..", 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic(topic_name + ".cfg", 1, 1, config={"no.such.config": "1"}),
         KafkaError.INVALID_CONFIG),
        (NewTopic(topic_name + ".compact", 1, 1, config={"cleanup.policy": "compact"}),
         KafkaError.INVALID_CONFIG),
    ]
    for new, code in cases:
        with pytest.raises(KafkaException) as e:
            wait_futures(a.create_topics([new]))
        assert e.value.args[0].code() == code, (new, e.value)
        assert new.topic not in a.list_topics(timeout=10).topics


def test_first_batch_returned_beyond_fetch_limits(broker, topic_name):
    """KIP-74: a fetch returns the first batch even when it is larger than the limits, so a
    consumer with small fetch sizes still makes progress."""
    big = 2 * 1024 * 1024
    clients.create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": str(big)})
    values = [os.urandom(512 * 1024) for _ in range(3)]
    p = clients.producer(broker.bootstrap, **{"message.max.bytes": big, "linger.ms": 0})
    clients.produce_all(p, topic_name, [{"value": v} for v in values])
    got = clients.consume_assigned(
        broker.bootstrap, topic_name, [0], 3,
        **{"fetch.max.bytes": 1024, "max.partition.fetch.bytes": 1024, "message.max.bytes": 1000,
           "receive.message.max.bytes": 4 * big},
    )
    assert [m.value() for m in got] == values


def test_retention_deletes_old_segments(make_broker, topic_name):
    b = make_broker({"log.retention.check.interval.ms": "300"}, name="retention")
    clients.create_topic(b.bootstrap, topic_name,
                         config={"segment.bytes": "16384", "retention.bytes": "32768"})
    p = clients.producer(b.bootstrap, **{"linger.ms": 0, "batch.num.messages": 1})
    clients.produce_all(p, topic_name, [{"value": b"%04d" % i + b"x" * 1000}
                                        for i in range(200)])
    c = clients.consumer(b.bootstrap)
    try:
        deadline = time.monotonic() + 20
        low = 0
        while time.monotonic() < deadline:
            low, high = c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
            if low > 0:
                break
            time.sleep(0.2)
        assert high == 200
        assert 0 < low < 200, "retention.bytes deleted no segment"
        # About retention.bytes remain: 1 KiB records, 16 KiB segments, 32 KiB kept.
        assert high - low <= 32 + 16 + 2, (low, high)
    finally:
        c.close()
    got = clients.consume_assigned(b.bootstrap, topic_name, [0], 200 - low)
    assert got[0].offset() == low
    assert got[0].value().startswith(b"%04d" % low)
