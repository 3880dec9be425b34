"""`caudal serve` itself: configuration errors, signals."""
import subprocess
import time

from confluent_kafka import OFFSET_END, TopicPartition

import clients
import wire

import pytest

from conftest import caudal_bin, free_port


def run_serve(tmp_path, props, timeout=30):
    cfg = tmp_path / "bad.properties"
    cfg.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return subprocess.run([caudal_bin(), "serve", "--config", str(cfg)], capture_output=True,
                          timeout=timeout, cwd=tmp_path, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("key,value", [
    ("no.such.key", "1"),
    ("num.partitions", "many"),
    ("log.segment.bytes", "-5"),
    ("listeners", "PLAINTEXT://127.0.0.1:notaport"),
])
def test_config_error_names_the_key(tmp_path, key, value):
    props = {"node.id": "0", "listeners": f"PLAINTEXT://127.0.0.1:{free_port()}",
             "log.dirs": str(tmp_path / "data")}
    props[key] = value
    r = run_serve(tmp_path, props)
    assert r.returncode != 0
    assert key.encode() in r.stderr + r.stdout, (r.stderr + r.stdout).decode(errors="replace")


def test_sigterm_exits_zero(make_broker):
    b = make_broker(name="sigterm")
    assert b.stop() == 0


def test_sigterm_while_clients_long_poll(make_broker, topic_name):
    """Graceful shutdown does not wait for a long-polling fetch's full max.wait."""
    b = make_broker(name="longpoll")
    clients.create_topic(b.bootstrap, topic_name)
    c = clients.consumer(b.bootstrap, **{"fetch.wait.max.ms": 30000})
    try:
        c.assign([TopicPartition(topic_name, 0, OFFSET_END)])
        c.poll(1.0)
        start = time.monotonic()
        assert b.stop() == 0
        assert time.monotonic() - start < 10
    finally:
        c.close()


def test_idle_connections_are_closed(make_broker):
    b = make_broker({"connections.max.idle.ms": "1000"}, name="idle")
    with wire.Conn(b.port, timeout=15) as c:
        c.send(wire.request(18, 0, 1, b""))
        assert c.read_response()[0] == 1
        start = time.monotonic()
        assert c.closed_by_peer(), "an idle connection stayed open"
        assert 0.5 < time.monotonic() - start < 10


def test_many_concurrent_connections(make_broker):
    b = make_broker(name="conns")
    conns = [wire.Conn(b.port) for _ in range(200)]
    try:
        for i, c in enumerate(conns):
            c.send(b"".join(wire.request(18, 0, i * 10 + k, b"") for k in range(5)))
        for i, c in enumerate(conns):
            assert [c.read_response()[0] for _ in range(5)] == [i * 10 + k for k in range(5)]
    finally:
        for c in conns:
            c.close()
    assert b.alive()
