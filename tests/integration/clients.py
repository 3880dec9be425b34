"""Small helpers around confluent-kafka (librdkafka) used by several test modules.

Consumers never join a group: they assign() explicit partitions and offsets. confluent-kafka
insists on a group.id, so one is set, but auto-commit is off and no stored offset is used, so
nothing needs the group coordinator.
"""
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

OP_TIMEOUT_S = 30


def admin(bootstrap: str, **conf) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **conf})


def wait_futures(futures: dict, timeout=OP_TIMEOUT_S) -> dict:
    """Resolves a dict of admin futures; raises the first error."""
    return {k: f.result(timeout=timeout) for k, f in futures.items()}


def create_topic(bootstrap: str, topic: str, partitions=1, config=None):
    a = admin(bootstrap)  # must outlive its futures: destroying it fails them with _DESTROY
    wait_futures(
        a.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
            operation_timeout=OP_TIMEOUT_S,
            request_timeout=OP_TIMEOUT_S,
        )
    )
    wait_for_topic(bootstrap, topic, partitions)


def wait_for_topic(bootstrap: str, topic: str, partitions: int, timeout=OP_TIMEOUT_S):
    """Waits until metadata shows the topic with its partitions, each with a leader."""
    a = admin(bootstrap)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        md = a.list_topics(topic=topic, timeout=10)
        t = md.topics.get(topic)
        last = t
        if (
            t is not None
            and t.error is None
            and len(t.partitions) == partitions
            and all(p.leader >= 0 for p in t.partitions.values())
        ):
            return md
        time.sleep(0.1)
    raise AssertionError(f"topic {topic} not ready with {partitions} partitions: {last}")


def producer(bootstrap: str, **conf) -> Producer:
    base = {"bootstrap.servers": bootstrap, "linger.ms": 5}
    base.update(conf)
    return Producer(base)


def produce_all(p: Producer, topic: str, records, timeout=OP_TIMEOUT_S):
    """Produces records (dicts of Producer.produce keyword arguments) and waits for every
    delivery report; raises if any failed. Returns the delivered messages in report order."""
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append(msg)

    for r in records:
        while True:
            try:
                p.produce(topic, on_delivery=on_delivery, **r)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(timeout)
    assert remaining == 0, f"{remaining} records not delivered within {timeout}s"
    assert not errors, f"delivery failed: {errors[:5]}"
    return delivered


def consumer(bootstrap: str, **conf) -> Consumer:
    base = {
        "bootstrap.servers": bootstrap,
        "group.id": "caudal-it-" + uuid.uuid4().hex,  # required by confluent-kafka; unused
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
    }
    base.update(conf)
    return Consumer(base)


def consume_assigned(bootstrap: str, topic: str, partitions, count: int, timeout=60,
                     offset=OFFSET_BEGINNING, **conf):
    """Assigns the partitions at `offset` and reads until `count` records came back.
    Returns the messages; fails on a record error or when fewer arrive in time."""
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, offset) for p in partitions])
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=min(10000, count - len(out)), timeout=0.5):
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF, only if enabled
                        continue
                    raise KafkaException(m.error())
                out.append(m)
        assert len(out) == count, f"consumed {len(out)} of {count} records from {topic}"
        # Nothing beyond what was expected.
        extra = c.consume(num_messages=10, timeout=0.5)
        assert not [m for m in extra if not m.error()], "more records than produced"
        return out
    finally:
        c.close()
