"""Durability: what the broker acknowledged with acks=all survives SIGKILL and a restart."""
import hashlib
import struct
import time

from confluent_kafka import TopicPartition

from confluent_kafka.admin import ConfigResource

import clients
import wire

N = 100_000


def value(i: int) -> bytes:
    # Varied lengths and bytes, reproducible from the index.
    h = hashlib.sha256(b"%d" % i).digest()
    return h * (1 + i % 4) + b"#%d" % i


def test_acks_all_survives_sigkill(make_broker, topic_name):
    b = make_broker(name="durable")
    clients.create_topic(b.bootstrap, topic_name, partitions=4)
    p = clients.producer(b.bootstrap, acks="all", **{"linger.ms": 10, "batch.num.messages": 2000,
                                                     "compression.type": "none"})
    delivered = clients.produce_all(
        p, topic_name,
        ({"key": b"%d" % i, "value": value(i), "partition": i % 4} for i in range(N)),
        timeout=120,
    )
    assert len(delivered) == N
    acked = {(m.partition(), m.offset()): m.key() for m in delivered}
    assert len(acked) == N

    b.kill()
    b.start()

    got = clients.consume_assigned(b.bootstrap, topic_name, range(4), N, timeout=120)
    seen = set()
    for m in got:
        i = int(m.key())
        assert m.partition() == i % 4
        assert m.value() == value(i), f"record {i} differs"
        assert acked[(m.partition(), m.offset())] == m.key()
        seen.add(i)
    assert len(seen) == N

    # The topic and its configuration came back too.
    md = clients.admin(b.bootstrap).list_topics(topic=topic_name, timeout=10)
    assert sorted(md.topics[topic_name].partitions) == [0, 1, 2, 3]


def test_sigkill_while_producing(make_broker, topic_name):
    """Kill the broker in the middle of a stream of acks=all produces: every record whose
    delivery was acknowledged is there after the restart, at its acknowledged offset."""
    b = make_broker(name="midway")
    clients.create_topic(b.bootstrap, topic_name, partitions=2)
    p = clients.producer(b.bootstrap, acks="all", **{"linger.ms": 2, "message.timeout.ms": 5000,
                                                     "retries": 0})
    acked = {}

    def on_delivery(err, msg):
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()

    i = 0
    deadline = time.monotonic() + 30
    while len(acked) < 20_000 and time.monotonic() < deadline:
        try:
            p.produce(topic_name, value(i), partition=i % 2, on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.01)
        p.poll(0)
    b.kill()  # records are still in flight here
    p.flush(15)
    assert len(acked) >= 20_000
    b.start()
    c = clients.consumer(b.bootstrap)
    highs = []
    try:
        for part in (0, 1):
            low, high = c.get_watermark_offsets(TopicPartition(topic_name, part), timeout=10)
            assert low == 0
            highs.append(high)
    finally:
        c.close()
    got = clients.consume_assigned(b.bootstrap, topic_name, [0, 1], sum(highs), timeout=120)
    stored = {(m.partition(), m.offset()): m.value() for m in got}
    missing = [k for k in acked if stored.get(k) != acked[k]]
    assert not missing, f"{len(missing)} acknowledged records lost or changed: {missing[:5]}"


def test_graceful_stop_and_restart(make_broker, topic_name):
    b = make_broker(name="graceful")
    clients.create_topic(b.bootstrap, topic_name, partitions=2, config={"retention.ms": "999999"})
    p = clients.producer(b.bootstrap, acks="1")
    clients.produce_all(p, topic_name, [{"value": b"%d" % i, "partition": i % 2}
                                        for i in range(1000)])
    code = b.stop()
    assert code == 0, f"SIGTERM should stop the broker cleanly, exit code {code}"
    b.start()
    got = clients.consume_assigned(b.bootstrap, topic_name, [0, 1], 1000)
    assert sorted(int(m.value()) for m in got) == list(range(1000))
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    a = clients.admin(b.bootstrap)
    cfg = clients.wait_futures(a.describe_configs([res]))[res]
    assert cfg["retention.ms"].value == "999999"


def test_many_segments_and_log_start_survive_sigkill(make_broker, topic_name):
    """Small segments (many files to recover) and a DeleteRecords log start offset."""
    b = make_broker(name="segments")
    clients.create_topic(b.bootstrap, topic_name, config={"segment.bytes": "16384"})
    p = clients.producer(b.bootstrap, acks="all", **{"linger.ms": 0, "batch.num.messages": 10})
    clients.produce_all(p, topic_name, [{"key": b"%d" % i, "value": value(i)}
                                        for i in range(5000)])
    with wire.Conn(b.port) as c:
        c.send(wire.delete_records_v0(1, topic_name, 0, 1234))
        cid, body = c.read_response()
        # throttle_time, topics[1]{name, partitions[1]{partition, low_watermark, error_code}}
        off = 4 + 4 + 2 + len(topic_name) + 4 + 4
        low, err = struct.unpack(">qh", body[off: off + 10])
        assert (cid, low, err) == (1, 1234, 0)
    segments = list((b.data_dir / f"{topic_name}-0").glob("*.log"))
    assert len(segments) > 10, "segment.bytes did not roll segments"
    b.kill()
    b.start()
    tc = clients.consumer(b.bootstrap)
    try:
        assert tc.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (1234, 5000)
    finally:
        tc.close()
    got = clients.consume_assigned(b.bootstrap, topic_name, [0], 5000 - 1234)
    assert [(m.offset(), m.value()) for m in got] == [(i, value(i)) for i in range(1234, 5000)]
