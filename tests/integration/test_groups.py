"""Consumer groups with real clients: confluent-kafka (librdkafka 2.0.2) consumers in separate
processes share a topic's partitions, take over a SIGKILLed member's partitions after its
session timeout, and consume every record (commit after processing); cooperative-sticky
and static membership; committed offsets survive a broker SIGKILL; admin group calls
(confluent-kafka 1.7 list_groups, kafka-python 2.0.2 describe/delete/list offsets).

Each consumer process writes its assignment and every record it processed to a file, so the
test can watch rebalances from outside. The broker runs with small group timeouts.
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

import clients

GROUP_CONFIG = {
    "group.initial.rebalance.delay.ms": "300",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "4",
}
SESSION_MS = 3000

# A consumer process: subscribes, processes (records the value), commits, and reports its
# assignment whenever it changes. argv: bootstrap topic group out_file strategy instance_id
CONSUMER = r"""
import json, sys, time
from confluent_kafka import Consumer
bootstrap, topic, group, out, strategy, instance = sys.argv[1:7]
conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "session.timeout.ms": %(session)d,
        "heartbeat.interval.ms": 300, "partition.assignment.strategy": strategy,
        "topic.metadata.refresh.interval.ms": 1000}
if instance != "-":
    conf["group.instance.id"] = instance
c = Consumer(conf)
c.subscribe([topic])
f = open(out, "a", buffering=1)
last = None
while True:
    m = c.poll(0.2)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        f.write(json.dumps({"assignment": now}) + "\n")
        last = now
    if m is None or m.error():
        continue
    f.write(json.dumps({"p": m.partition(), "o": m.offset(), "v": m.value().decode()}) + "\n")
    c.commit(message=m, asynchronous=False)
""" % {"session": SESSION_MS}


class ConsumerProcess:
    def __init__(self, tmp_path, bootstrap, topic, group, strategy="range", instance="-"):
        self.out = tmp_path / f"consumer-{uuid.uuid4().hex[:8]}.jsonl"
        self.args = [bootstrap, topic, group, str(self.out), strategy, instance]
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-c", CONSUMER, *self.args],
                                     stdin=subprocess.DEVNULL)

    def lines(self):
        try:
            text = self.out.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def assignment(self):
        last = None
        for entry in self.lines():
            if "assignment" in entry:
                last = entry["assignment"]
        return last

    def assignments_seen(self):
        return [e["assignment"] for e in self.lines() if "assignment" in e]

    def values(self):
        return {e["v"] for e in self.lines() if "v" in e}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def consumers():
    made = []
    yield made
    for c in made:
        c.kill()


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def produce(bootstrap, topic, prefix, count, partitions):
    p = clients.producer(bootstrap)
    for i in range(count):
        p.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0
    return {f"{prefix}-{i}" for i in range(count)}


def share_kill_and_take_over(make_broker, tmp_path, consumers, strategy):
    b = make_broker(GROUP_CONFIG)
    topic = f"orders-{uuid.uuid4().hex[:6]}"
    clients.create_topic(b.bootstrap, topic, partitions=6)
    group = f"g-{strategy}"
    for _ in range(3):
        consumers.append(ConsumerProcess(tmp_path, b.bootstrap, topic, group, strategy))

    def each_has_two():
        a = [c.assignment() for c in consumers]
        return all(x is not None and len(x) == 2 for x in a) and \
            sorted(p for x in a for p in x) == list(range(6))

    wait_until(each_has_two, 60, "3 consumers with 2 partitions each")
    produced = produce(b.bootstrap, topic, "before", 300, 6)
    wait_until(lambda: produced <= set().union(*(c.values() for c in consumers)), 60,
               "every record before the kill consumed")
    victim, survivors = consumers[0], consumers[1:]
    victim.kill()
    produced |= produce(b.bootstrap, topic, "after", 300, 6)

    def survivors_own_all():
        a = [c.assignment() or [] for c in survivors]
        return sorted(p for x in a for p in x) == list(range(6)) and all(len(x) == 3 for x in a)

    wait_until(survivors_own_all, 60, "the two survivors owning all 6 partitions")
    wait_until(lambda: produced <= set().union(*(c.values() for c in consumers)), 60,
               "every record consumed after the takeover")
    return b, topic, group


def test_three_consumers_share_and_take_over_a_killed_member(make_broker, tmp_path, consumers):
    share_kill_and_take_over(make_broker, tmp_path, consumers, "range")


def test_cooperative_sticky_takes_over_incrementally(make_broker, tmp_path, consumers):
    share_kill_and_take_over(make_broker, tmp_path, consumers, "cooperative-sticky")
    # Incremental: a survivor never gave up a partition it kept (no empty assignment
    # between its 2 and its 3 partitions).
    for c in consumers[1:]:
        seen = c.assignments_seen()
        two = max(i for i, a in enumerate(seen) if len(a) == 2)
        assert all(set(seen[two]) <= set(a) for a in seen[two:]), seen


def test_static_member_restart_causes_no_rebalance(make_broker, tmp_path, consumers):
    b = make_broker(GROUP_CONFIG)
    topic = f"static-{uuid.uuid4().hex[:6]}"
    clients.create_topic(b.bootstrap, topic, partitions=4)
    group = "g-static"
    consumers.append(ConsumerProcess(tmp_path, b.bootstrap, topic, group, "range", "s-1"))
    consumers.append(ConsumerProcess(tmp_path, b.bootstrap, topic, group, "range", "s-2"))
    wait_until(lambda: all(len(c.assignment() or []) == 2 for c in consumers), 60,
               "2 static members with 2 partitions each")
    other = consumers[1]
    before = list(other.assignments_seen())
    owned = consumers[0].assignment()
    consumers[0].kill()
    consumers[0].start()  # same instance id, well within the session timeout
    wait_until(lambda: consumers[0].assignments_seen()[-1] == owned and
               len(consumers[0].assignments_seen()) > 2, 30,
               "the restarted member getting its partitions back")
    time.sleep(SESSION_MS / 1000 + 1)  # the old session would have expired by now
    assert other.assignments_seen() == before, "the other member saw a rebalance"
    produced = produce(b.bootstrap, topic, "s", 100, 4)
    wait_until(lambda: produced <= set().union(*(c.values() for c in consumers)), 60,
               "every record consumed")


def test_committed_offsets_survive_a_broker_sigkill(make_broker):
    b = make_broker(GROUP_CONFIG)
    topic = f"resume-{uuid.uuid4().hex[:6]}"
    clients.create_topic(b.bootstrap, topic, partitions=3)
    produce(b.bootstrap, topic, "r", 90, 3)
    group = "g-resume"
    conf = {"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 300}
    c = Consumer(conf)
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60
    while got < 40 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got += 1
        c.commit(message=m, asynchronous=False)
    assert got == 40
    committed = {tp.partition: tp.offset
                 for tp in c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)}
    c.close()
    b.restart(hard=True)
    c2 = Consumer(conf)
    again = {tp.partition: tp.offset
             for tp in c2.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)}
    assert again == committed
    c2.subscribe([topic])
    # Each partition resumes at its commit (from the start without one); a partition whose
    # 30 records were all consumed has nothing left to deliver.
    expected = {p: max(o, 0) for p, o in committed.items() if o < 30}
    first = {}
    deadline = time.monotonic() + 60
    while not set(expected) <= set(first) and time.monotonic() < deadline:
        m = c2.poll(0.5)
        if m is None or m.error():
            continue
        first.setdefault(m.partition(), m.offset())
    c2.close()
    assert {p: first[p] for p in expected} == expected


def test_admin_groups_and_offsets(make_broker, tmp_path, consumers):
    from kafka import KafkaAdminClient
    from kafka.structs import TopicPartition as KTopicPartition

    b = make_broker(GROUP_CONFIG)
    topic = f"admin-{uuid.uuid4().hex[:6]}"
    clients.create_topic(b.bootstrap, topic, partitions=2)
    consumers.append(ConsumerProcess(tmp_path, b.bootstrap, topic, "g-live"))
    wait_until(lambda: len(consumers[0].assignment() or []) == 2, 60, "the live member")
    # Alter offsets of another group outside the group protocol (generation -1), as
    # AdminClient alterConsumerGroupOffsets does.
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-idle",
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 7)],
             asynchronous=False)
    c.close()

    groups = {g.id: g for g in clients.admin(b.bootstrap).list_groups(timeout=10)}
    assert groups["g-live"].state == "Stable"
    assert groups["g-live"].protocol_type == "consumer"
    assert len(groups["g-live"].members) == 1
    assert groups["g-idle"].state == "Empty"

    ka = KafkaAdminClient(bootstrap_servers=b.bootstrap)
    try:
        listed = {g[0] for g in ka.list_consumer_groups()}
        assert {"g-live", "g-idle"} <= listed
        described = {d.group: d for d in ka.describe_consumer_groups(["g-live", "g-idle"])}
        assert described["g-live"].state == "Stable"
        assert len(described["g-live"].members) == 1
        offsets = ka.list_consumer_group_offsets("g-idle")
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 5, 1: 7}
        result = dict(ka.delete_consumer_groups(["g-idle", "g-live"]))
        assert result["g-idle"].__name__ == "NoError"
        assert result["g-live"].__name__ == "NonEmptyGroupError"
        assert ka.list_consumer_group_offsets("g-idle") == {}
        offsets = ka.list_consumer_group_offsets(
            "g-idle", partitions=[KTopicPartition(topic, 0)])
        assert [om.offset for om in offsets.values()] == [-1]
    finally:
        ka.close()
