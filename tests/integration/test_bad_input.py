"""Bad input on a raw socket: the connection gets an error or is closed, the broker stays up,
its memory does not grow with the lie, and a normal client is served right after."""
import random
import socket
import struct

import pytest

import clients
import wire
from wire import i16, i32, string, uvarint

RSS_SLACK_KB = 8 * 1024  # "a few MB": allocation churn, not the sizes the requests claim


@pytest.fixture(scope="module")
def bad_broker(tmp_path_factory):
    # Own broker, so that the memory it uses is not mixed with other modules' work.
    from conftest import Broker, _finish

    b = Broker(tmp_path_factory.mktemp("bad"), name="bad").start()
    clients.create_topic(b.bootstrap, "victim", partitions=1)
    yield b
    _finish(b)


def assert_healthy(b):
    assert b.alive(), f"broker died (exit {b.proc.returncode})"
    md = clients.admin(b.bootstrap).list_topics(timeout=15)
    assert list(md.brokers) == [0]
    assert "victim" in md.topics


def answered_with_error_or_closed(conn, correlation_id, error_ok):
    """The broker closed the connection, or answered `correlation_id` with a body that
    error_ok(body) accepts."""
    try:
        resp = conn.read_response()
    except socket.timeout:
        raise AssertionError("the broker neither answered nor closed the connection")
    if resp is None:
        return
    cid, body = resp
    assert cid == correlation_id, f"answer to {cid}, expected {correlation_id}"
    assert error_ok(body), f"answer without an error: {body[:64].hex()}"


def test_raw_socket_sanity(bad_broker):
    """The raw encoder is right: well-formed requests get well-formed answers."""
    with wire.Conn(bad_broker.port) as c:
        c.send(wire.request(18, 0, 7, b""))
        cid, body = c.read_response()
        assert cid == 7
        assert struct.unpack(">h", body[:2])[0] == 0
        c.send(wire.request(3, 1, 8, i32(-1)))  # Metadata v1, all topics
        cid, body = c.read_response()
        assert cid == 8
        c.send(wire.produce_v7(9, "victim", 0, wire.record_batch([(b"k", b"v")])))
        cid, body = c.read_response()
        assert cid == 9
        # topics[1]{name, partitions[1]{index, error_code, base_offset...}}
        assert body[4:6] == string("victim")[:2] and b"victim" in body
        err = struct.unpack(">h", body[4 + 2 + 6 + 4 + 4: 4 + 2 + 6 + 4 + 4 + 2])[0]
        assert err == 0


def test_random_garbage(bad_broker):
    rng = random.Random(20240601)
    for i in range(30):
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        with wire.Conn(bad_broker.port) as c:
            c.send(wire.frame(payload))
            c.closed_by_peer()  # closed, or answered and kept open: both fine
    for i in range(10):  # a stream whose length prefix is random too
        with wire.Conn(bad_broker.port, timeout=0.5) as c:
            c.send(bytes(rng.getrandbits(8) for _ in range(4096)))
    assert_healthy(bad_broker)


@pytest.mark.parametrize("size", [0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 200 * 1024 * 1024])
def test_huge_or_negative_length_prefix(bad_broker, size):
    before = bad_broker.rss_kb()
    with wire.Conn(bad_broker.port) as c:
        c.send(struct.pack(">I", size) + wire.header(3, 1, 1) + i32(-1))
        assert c.closed_by_peer(), "a frame over socket.request.max.bytes must close"
    assert bad_broker.rss_kb() - before < RSS_SLACK_KB
    assert_healthy(bad_broker)


def test_truncated_frame(bad_broker):
    req = wire.request(3, 1, 5, i32(1) + string("victim"))
    for cut in (2, 4, 7, len(req) - 1):
        with wire.Conn(bad_broker.port) as c:
            c.send(req[:cut])
            c.sock.shutdown(socket.SHUT_WR)
            assert c.closed_by_peer(), f"no close after a frame cut at {cut}"
    # A frame whose body is shorter than its header.
    with wire.Conn(bad_broker.port) as c:
        c.send(wire.frame(i16(3) + i16(1) + b"\x00"))
        assert c.closed_by_peer()
    assert_healthy(bad_broker)


def test_unknown_api_key(bad_broker):
    for key in (32000, 9999, -1, 1000):
        with wire.Conn(bad_broker.port) as c:
            c.send(wire.request(key, 0, 77, b"\x00" * 16))
            answered_with_error_or_closed(c, 77, lambda body: True)
    assert_healthy(bad_broker)


def test_unsupported_version(bad_broker):
    # ApiVersions too new: a v0-layout answer with UNSUPPORTED_VERSION (35) and (at least,
    # as Kafka does since KIP-511) the ApiVersions range, so the client can downgrade.
    with wire.Conn(bad_broker.port) as c:
        c.send(wire.request(18, 127, 42, b"", flexible=True))
        cid, body = c.read_response()
        assert cid == 42
        assert struct.unpack(">h", body[:2])[0] == 35
        (n,) = struct.unpack(">i", body[2:6])
        ranges = {struct.unpack(">h", body[6 + 6 * i: 8 + 6 * i])[0]:
                  struct.unpack(">hh", body[8 + 6 * i: 12 + 6 * i]) for i in range(n)}
        assert ranges[18][0] == 0 and ranges[18][1] >= 3, ranges
    # Any other API at a version nobody implements: an error or a close (Kafka closes).
    for key in (3, 0, 1, 19):
        with wire.Conn(bad_broker.port) as c:
            c.send(wire.request(key, 999, 43, b"\x00" * 32))
            answered_with_error_or_closed(c, 43, lambda body: True)
    assert_healthy(bad_broker)


def lying_requests():
    big = 0x7FFFFFFF
    yield "metadata topics count", wire.request(3, 1, 1, i32(big))
    yield "metadata topic name length", wire.request(3, 1, 1, i32(1) + i16(30000) + b"abc")
    # Metadata v9 is flexible: compact array count as an unsigned varint.
    yield "flexible metadata count", wire.request(
        3, 9, 1, uvarint(big) + b"\x01\x00\x00", flexible=True)
    yield "flexible varint overlong", wire.request(
        3, 9, 1, b"\xff" * 12, flexible=True)
    yield "produce partitions count", wire.request(
        0, 7, 1, string(None) + i16(1) + i32(1000) + i32(1) + string("victim") + i32(big))
    yield "produce records length", wire.request(
        0, 7, 1, string(None) + i16(1) + i32(1000) + i32(1) + string("victim") + i32(1)
        + i32(0) + i32(big) + b"\x00" * 20)
    yield "create topics count", wire.request(19, 2, 1, i32(1_000_000_000) + i32(1000) + b"\x00")
    yield "create topics configs count", wire.request(
        19, 2, 1, i32(1) + string("liar") + i32(1) + i16(1) + i32(0) + i32(big) + i32(1000)
        + b"\x00")
    yield "fetch topics count", wire.request(
        1, 4, 1, i32(-1) + i32(100) + i32(1) + i32(1000000) + b"\x00" + i32(big))
    yield "list offsets count", wire.request(2, 1, 1, i32(-1) + i32(big))
    yield "api versions v3 client name length", wire.request(
        18, 3, 1, uvarint(big) + b"x", flexible=True)


def test_lying_array_counts(bad_broker):
    assert_healthy(bad_broker)
    base = bad_broker.rss_kb()
    for name, req in lying_requests():
        for _ in range(5):
            with wire.Conn(bad_broker.port) as c:
                c.send(req)
                try:
                    answered_with_error_or_closed(c, 1, error_ok=lambda body: True)
                except AssertionError as e:
                    raise AssertionError(f"{name}: {e}")
        assert bad_broker.alive(), f"broker died on '{name}'"
        grown = bad_broker.rss_kb() - base
        assert grown < RSS_SLACK_KB, f"RSS grew by {grown} KiB after '{name}'"
    assert_healthy(bad_broker)


def test_lying_record_count_in_batch(bad_broker):
    """A batch whose record count (covered by a valid CRC) disagrees with its records is
    refused with an error (CORRUPT_MESSAGE / INVALID_RECORD) or a close, and stores nothing."""
    c0 = clients.consumer(bad_broker.bootstrap)
    try:
        from confluent_kafka import TopicPartition

        _, high_before = c0.get_watermark_offsets(TopicPartition("victim", 0), timeout=10)
        cases = [
            wire.record_batch([(b"k", b"v")], count=0x7FFFFFFF),
            wire.record_batch([(b"k", b"v"), (b"k2", b"v2")], count=1),
            wire.record_batch([(b"k", b"v")], count=-5),
        ]
        bad_crc = bytearray(wire.record_batch([(b"k", b"v")]))
        bad_crc[-1] ^= 0xFF
        cases.append(bytes(bad_crc))
        for i, batch in enumerate(cases):
            with wire.Conn(bad_broker.port) as c:
                c.send(wire.produce_v7(100 + i, "victim", 0, batch))

                def has_error(body):
                    # topics[1]: name, partitions[1]: index, error_code
                    off = 4 + 2 + len("victim") + 4 + 4
                    return struct.unpack(">h", body[off: off + 2])[0] != 0

                answered_with_error_or_closed(c, 100 + i, has_error)
        _, high_after = c0.get_watermark_offsets(TopicPartition("victim", 0), timeout=10)
        assert high_after == high_before, "a refused batch was stored"
    finally:
        c0.close()
    assert_healthy(bad_broker)


def test_pipelined_good_requests_after_bad_connections(bad_broker):
    """Pipelined requests on one connection are answered in order."""
    with wire.Conn(bad_broker.port) as c:
        c.send(b"".join(wire.request(18, 0, cid, b"") if cid % 2 else
                        wire.request(3, 1, cid, i32(-1)) for cid in range(1, 21)))
        for cid in range(1, 21):
            got, _ = c.read_response()
            assert got == cid
    assert_healthy(bad_broker)


def test_acks0_produce_gets_no_response(bad_broker):
    """kafka-python expects nothing back for acks=0: an answer would be taken for the answer
    to its next request."""
    with wire.Conn(bad_broker.port) as c:
        c.send(wire.produce_v7(1, "victim", 0, wire.record_batch([(None, b"acks0")]), acks=0))
        c.send(wire.request(18, 0, 2, b""))
        cid, _ = c.read_response()
        assert cid == 2, "the acks=0 produce was answered"
    # And a failing acks=0 produce (unknown partition) gets no answer either.
    with wire.Conn(bad_broker.port) as c:
        c.send(wire.produce_v7(3, "victim", 99, wire.record_batch([(None, b"x")]), acks=0))
        c.send(wire.request(18, 0, 4, b""))
        cid, _ = c.read_response()
        assert cid == 4
