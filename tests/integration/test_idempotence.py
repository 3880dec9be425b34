"""The idempotent producer (issue #8): confluent-kafka (librdkafka) with enable.idempotence
sends through a proxy that cuts its connections at random, so batches in flight are lost
half-way and retried; every record must land exactly once and in order. Also: the producer
state survives a broker restart, so a retry after it is still recognised."""
import pytest

import clients
import wire
from chaos_proxy import ChaosProxy
from conftest import free_port

N = 20_000
PARTITIONS = 3


def idempotent_producer(bootstrap: str, **conf):
    return clients.producer(
        bootstrap,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 200,
            "message.timeout.ms": 120_000,
            "socket.connection.setup.timeout.ms": 5000,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
            **conf,
        },
    )


def value(i: int) -> bytes:
    return b"%d:" % i + b"x" * 200


def check_exactly_once_in_order(bootstrap, topic, n):
    got = clients.consume_assigned(bootstrap, topic, range(PARTITIONS), n, timeout=120)
    per_partition = {}
    for m in got:
        per_partition.setdefault(m.partition(), []).append(int(m.value().split(b":")[0]))
    seen = []
    for p, values in per_partition.items():
        assert values == sorted(values), f"partition {p} out of order"
        assert all(v % PARTITIONS == p for v in values)
        seen += values
    assert sorted(seen) == list(range(n)), "records lost or duplicated"


@pytest.mark.parametrize("seed", [1, 2])
def test_every_record_lands_once_in_order_through_cut_connections(make_broker, topic_name, seed):
    proxy_port = free_port()
    b = make_broker(
        extra_config={"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy_port}"},
        name=f"idem{seed}",
    )
    proxy = ChaosProxy(proxy_port, b.port, seed)
    try:
        bootstrap = f"127.0.0.1:{proxy_port}"
        clients.create_topic(bootstrap, topic_name, partitions=PARTITIONS)
        p = idempotent_producer(bootstrap)
        proxy.cutting = True
        delivered = clients.produce_all(
            p,
            topic_name,
            ({"value": value(i), "partition": i % PARTITIONS} for i in range(N)),
            timeout=180,
        )
        proxy.cutting = False
        assert len(delivered) == N
        assert proxy.cuts >= 5, f"only {proxy.cuts} connections were cut"
        print(f"{proxy.cuts} connections cut")
        # Each acknowledged offset holds the record acknowledged for it.
        acked = {(m.partition(), m.offset()): m.value() for m in delivered}
        assert len(acked) == N, "two records acknowledged at one offset"
        check_exactly_once_in_order(bootstrap, topic_name, N)
    finally:
        proxy.close()


def produce_raw(port, topic, batch):
    """One Produce v7 of one batch to partition 0 with acks=all: (error code, base offset)."""
    with wire.Conn(port) as c:
        c.send(wire.produce_v7(1, topic, 0, batch, acks=-1))
        response = c.read_response()
    assert response is not None, "the broker closed the connection"
    return wire.parse_produce_v7(response[1])


def idempotent_batch(sequence, values, producer_id=42, epoch=0):
    return wire.record_batch([(None, v) for v in values], producer_id=producer_id,
                             producer_epoch=epoch, base_sequence=sequence)


def test_retry_after_a_restart_is_still_recognised(make_broker, topic_name):
    """The producer state comes back after SIGKILL (snapshot + replay of the log tail):
    the same batch sent again after the restart gets its first offset back."""
    b = make_broker(name="idem-restart")
    clients.create_topic(b.bootstrap, topic_name)
    first = idempotent_batch(0, [b"a", b"b"])
    second = idempotent_batch(2, [b"c"])
    assert produce_raw(b.port, topic_name, first) == (0, 0)
    assert produce_raw(b.port, topic_name, second) == (0, 2)
    b.kill()
    b.start()
    assert produce_raw(b.port, topic_name, second) == (0, 2)  # a retry: same offset
    assert produce_raw(b.port, topic_name, first) == (0, 0)
    gap = idempotent_batch(7, [b"d"])
    assert produce_raw(b.port, topic_name, gap)[0] == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
    got = clients.consume_assigned(b.bootstrap, topic_name, [0], 3)
    assert [m.value() for m in got] == [b"a", b"b", b"c"]


def test_librdkafka_refuses_nothing_with_idempotence_on(broker, topic_name):
    """Without faults: InitProducerId is served and a plain idempotent run works."""
    clients.create_topic(broker.bootstrap, topic_name, partitions=PARTITIONS)
    p = idempotent_producer(broker.bootstrap)
    delivered = clients.produce_all(
        p, topic_name, ({"value": value(i), "partition": i % PARTITIONS} for i in range(3000))
    )
    assert len(delivered) == 3000
    check_exactly_once_in_order(broker.bootstrap, topic_name, 3000)
