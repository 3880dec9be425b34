"""Consumer groups with kafka-python 2.0.2 (pure Python, eager range assignor, a background
heartbeat thread): three KafkaConsumer processes in one group share a 6-partition topic; one
leaves (close()) or is SIGKILLed and the other two take over its partitions; it rejoins and
the partitions are shared again. Each member commits synchronously after processing, so with
a clean leave every record is processed exactly once, and with a SIGKILL only the victim's
uncommitted records may come again -- none is ever skipped (group_members.py).
"""
import sys
import uuid

import pytest

import group_members as gm

# argv: bootstrap topic group session_ms. Reports to stdout as JSON lines (group_members.py).
CONSUMER = r"""
import json, signal, sys
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
bootstrap, topic, group, session_ms = sys.argv[1:5]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def line(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                  auto_offset_reset="earliest", session_timeout_ms=int(session_ms),
                  heartbeat_interval_ms=300, max_poll_interval_ms=20000,
                  metadata_max_age_ms=2000, request_timeout_ms=30000)
c.subscribe([topic])
last = None
while not stop:
    batches = c.poll(timeout_ms=200)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        line({"assignment": now})
        last = now
    for tp, records in batches.items():
        for r in records:
            line({"p": r.partition, "o": r.offset, "v": r.value.decode()})
        try:
            c.commit({tp: OffsetAndMetadata(records[-1].offset + 1, None)})
        except KafkaError as e:
            for r in records:
                line({"commitFailed": r.value.decode(), "error": repr(e)})
c.close()
line({"closed": True})
"""


def make_member_factory(tmp_path, broker, topic, group):
    def make(name):
        return gm.MemberProcess(tmp_path, name, [sys.executable, "-c", CONSUMER, broker.bootstrap,
                                                 topic, group, str(gm.SESSION_MS)])
    return make


@pytest.fixture
def members():
    made = []
    yield made
    for m in made:
        m.kill()


@pytest.mark.parametrize("how", ["close", "sigkill"])
def test_share_leave_rejoin(make_broker, tmp_path, members, how):
    b = make_broker(gm.GROUP_CONFIG)
    topic = f"kp-{how}-{uuid.uuid4().hex[:6]}"
    group = f"g-kp-{how}"
    make = make_member_factory(tmp_path, b, topic, group)

    def tracked(name):
        m = make(name)
        members.append(m)
        return m

    ms, produced, victim_values = gm.share_leave_rejoin(b, topic, tracked, kill=how == "sigkill")
    gm.assert_exactly_once(ms, produced, redelivery_allowed=victim_values)
    gm.assert_all_committed(b, topic, group, 150)
