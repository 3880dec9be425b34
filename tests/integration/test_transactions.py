"""Transactions (issue #8) with confluent-kafka (librdkafka): commit and abort as a
read_committed and a read_uncommitted consumer see them, fencing of a zombie producer with
the same transactional.id, abort of a transaction left open past its timeout, offsets sent
with a transaction, and a broker SIGKILL between transactions."""
import pathlib
import random
import subprocess
import sys
import time
import uuid

from confluent_kafka import KafkaException, TopicPartition

import clients


def txn_producer(bootstrap, txn_id, **conf):
    p = clients.producer(bootstrap, **{"transactional.id": txn_id, "linger.ms": 5, **conf})
    p.init_transactions(30)
    return p


def values(bootstrap, topic, isolation, expect):
    got = clients.consume_assigned(bootstrap, topic, [0], expect, timeout=30,
                                   **{"isolation.level": isolation})
    return [m.value() for m in got]


def test_commit_and_abort_as_each_isolation_level_sees_them(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = txn_producer(broker.bootstrap, "t-" + uuid.uuid4().hex)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic_name, b"committed-%d" % i, partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic_name, b"aborted-%d" % i, partition=0)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(topic_name, b"last", partition=0)
    p.commit_transaction(30)

    assert values(broker.bootstrap, topic_name, "read_committed", 4) == [
        b"committed-0", b"committed-1", b"committed-2", b"last"]
    assert values(broker.bootstrap, topic_name, "read_uncommitted", 6) == [
        b"committed-0", b"committed-1", b"committed-2", b"aborted-0", b"aborted-1", b"last"]


def test_open_transaction_holds_read_committed_consumers_back(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    p = txn_producer(broker.bootstrap, "t-" + uuid.uuid4().hex)
    p.begin_transaction()
    p.produce(topic_name, b"pending", partition=0)
    p.flush(30)
    c = clients.consumer(broker.bootstrap, **{"isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(topic_name, 0, 0)])
        assert [m for m in c.consume(10, timeout=2) if not m.error()] == []
        p.commit_transaction(30)
        got = []
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            got = [m.value() for m in c.consume(10, timeout=0.5) if not m.error()]
        assert got == [b"pending"]
    finally:
        c.close()


def test_a_zombie_with_the_same_transactional_id_is_fenced(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    txn_id = "t-" + uuid.uuid4().hex
    zombie = txn_producer(broker.bootstrap, txn_id)
    zombie.begin_transaction()
    zombie.produce(topic_name, b"zombie", partition=0)
    zombie.flush(30)
    successor = txn_producer(broker.bootstrap, txn_id)  # aborts the zombie's transaction
    successor.begin_transaction()
    successor.produce(topic_name, b"successor", partition=0)
    successor.commit_transaction(30)
    fenced = False
    try:
        zombie.produce(topic_name, b"zombie-2", partition=0)
        zombie.commit_transaction(10)
    except KafkaException:
        fenced = True
    assert fenced, "the zombie committed"
    assert values(broker.bootstrap, topic_name, "read_committed", 1) == [b"successor"]


def test_a_transaction_open_past_its_timeout_is_aborted(make_broker, topic_name):
    b = make_broker(extra_config={
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}, name="txn-timeout")
    clients.create_topic(b.bootstrap, topic_name)
    p = txn_producer(b.bootstrap, "t-" + uuid.uuid4().hex, **{"transaction.timeout.ms": 1500})
    p.begin_transaction()
    p.produce(topic_name, b"forgotten", partition=0)
    p.flush(30)
    time.sleep(3)
    # The abort marker is there: read_committed reaches the end and sees nothing.
    c = clients.consumer(b.bootstrap, **{"isolation.level": "read_committed"})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
        assert hi == 2, "one record and the abort marker"
        c.assign([TopicPartition(topic_name, 0, 0)])
        assert [m for m in c.consume(10, timeout=2) if not m.error()] == []
    finally:
        c.close()
    try:
        p.commit_transaction(10)
        assert False, "a timed-out transaction committed"
    except KafkaException:
        pass


def test_offsets_sent_with_a_transaction_commit_with_it(broker, topic_name):
    clients.create_topic(broker.bootstrap, topic_name)
    group = "g-" + uuid.uuid4().hex
    p = txn_producer(broker.bootstrap, "t-" + uuid.uuid4().hex)
    c = clients.consumer(broker.bootstrap, **{"group.id": group})
    try:
        meta = c.consumer_group_metadata()
        p.begin_transaction()
        p.produce(topic_name, b"x", partition=0)
        p.send_offsets_to_transaction([TopicPartition(topic_name, 0, 42)], meta, 30)
        p.abort_transaction(30)
        assert c.committed([TopicPartition(topic_name, 0)], timeout=10)[0].offset < 0
        p.begin_transaction()
        p.produce(topic_name, b"y", partition=0)
        p.send_offsets_to_transaction([TopicPartition(topic_name, 0, 7)], meta, 30)
        p.commit_transaction(30)
        assert c.committed([TopicPartition(topic_name, 0)], timeout=10)[0].offset == 7
    finally:
        c.close()


def test_committed_transactions_survive_sigkill(make_broker, topic_name):
    b = make_broker(name="txn-kill")
    clients.create_topic(b.bootstrap, topic_name)
    txn_id = "t-" + uuid.uuid4().hex
    p = txn_producer(b.bootstrap, txn_id)
    p.begin_transaction()
    p.produce(topic_name, b"kept", partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    p.produce(topic_name, b"open", partition=0)
    p.flush(30)
    b.kill()
    b.start()
    # A new producer with the id aborts the open transaction left by the crash.
    q = txn_producer(b.bootstrap, txn_id)
    q.begin_transaction()
    q.produce(topic_name, b"after", partition=0)
    q.commit_transaction(30)
    assert values(b.bootstrap, topic_name, "read_committed", 2) == [b"kept", b"after"]


def test_pipeline_killed_at_random_points_outputs_each_input_exactly_once(broker, topic_name):
    """Consume from A, transform, produce to B with the offsets committed in the same
    transaction; SIGKILL the pipeline process at random points and restart it. B holds
    each input's output exactly once."""
    n, partitions = 4000, 2
    source, destination = topic_name + ".in", topic_name + ".out"
    clients.create_topic(broker.bootstrap, source, partitions=partitions)
    clients.create_topic(broker.bootstrap, destination, partitions=partitions)
    p = clients.producer(broker.bootstrap, acks="all")
    clients.produce_all(p, source, ({"value": b"%d" % i, "partition": i % partitions}
                                    for i in range(n)))
    group, txn_id = "eos-" + uuid.uuid4().hex, "eos-" + uuid.uuid4().hex
    args = [sys.executable, str(pathlib.Path(__file__).parent / "eos_pipeline.py"),
            broker.bootstrap, source, destination, str(partitions), group, txn_id]
    rng = random.Random(7)
    admin_consumer = clients.consumer(broker.bootstrap, **{"group.id": group})

    def consumed():
        tps = [TopicPartition(source, i) for i in range(partitions)]
        return sum(max(tp.offset, 0) for tp in admin_consumer.committed(tps, timeout=10))

    kills = 0
    progress_at_kills = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                assert proc.stdout.readline().strip() == b"ready"
                if kills < 4:
                    # Kill once the pipeline has made some progress past the last kill,
                    # at a random moment within its stream of transactions.
                    target = n * (kills + rng.uniform(0.3, 0.9)) / 5
                    while consumed() < target and time.monotonic() < deadline:
                        time.sleep(0.05)
                    time.sleep(rng.uniform(0, 0.1))
                    proc.kill()
                    proc.wait(10)
                    kills += 1
                    progress_at_kills.append(consumed())
                    continue
                while consumed() < n and time.monotonic() < deadline:
                    time.sleep(0.2)
                break
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        assert consumed() == n, f"the pipeline consumed {consumed()} of {n}"
    finally:
        admin_consumer.close()
    got = clients.consume_assigned(broker.bootstrap, destination, range(partitions), n,
                                   timeout=60, **{"isolation.level": "read_committed"})
    outputs = sorted(int(m.value()[4:]) for m in got)
    assert outputs == list(range(n)), "an input's output is missing or repeated"
    assert kills == 4
    mid_stream = [c for c in progress_at_kills if 0 < c < n]
    assert len(mid_stream) >= 2, f"kills did not land mid-stream: {progress_at_kills}"


def test_broker_sigkill_in_the_middle_of_transactions(make_broker, topic_name):
    """SIGKILL the broker while a producer commits and aborts transactions back to back:
    after the restart every transaction the producer saw committed is there whole, no
    transaction is there in part, and no aborted one is visible to read_committed."""
    partitions = 3
    b = make_broker(name="txn-crash")
    clients.create_topic(b.bootstrap, topic_name, partitions=partitions)
    txn_id = "crash-" + uuid.uuid4().hex
    writer = subprocess.Popen(
        [sys.executable, str(pathlib.Path(__file__).parent / "txn_writer.py"), b.bootstrap,
         topic_name, str(partitions), txn_id],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen = []
    try:
        while len(seen) < 40:
            line = writer.stdout.readline()
            assert line, "the writer stopped early"
            seen.append(line.split())
        time.sleep(random.Random(3).uniform(0, 0.05))
        b.kill()
    finally:
        writer.kill()
        writer.wait(10)
        seen += [line.split() for line in writer.stdout.read().splitlines()]
    committed = {int(k) for word, k in seen if word == b"committed"}
    aborted = {int(k) for word, k in seen if word == b"aborted"}
    b.start()
    # The successor aborts whatever the crash left open, so the partitions become stable.
    q = txn_producer(b.bootstrap, txn_id)
    q.begin_transaction()
    q.produce(topic_name, b"end:0", partition=0)
    q.commit_transaction(30)
    c = clients.consumer(b.bootstrap, **{"isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(topic_name, p, 0) for p in range(partitions)])
        records, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = [m.value() for m in c.consume(1000, timeout=1) if not m.error()]
            if not batch and b"end:0" in records:
                break
            records += batch
    finally:
        c.close()
    per_txn = {}
    for v in records:
        k, _ = v.split(b":")
        if k != b"end":
            per_txn.setdefault(int(k), []).append(v)
    torn = {k: len(v) for k, v in per_txn.items() if len(v) != 10}
    assert not torn, f"transactions visible in part: {torn}"
    assert committed <= set(per_txn), f"committed and lost: {committed - set(per_txn)}"
    assert not (aborted & set(per_txn)), f"aborted and visible: {aborted & set(per_txn)}"
    assert all(k % 3 != 2 for k in per_txn), "an aborted transaction is visible"
