"""Consumer groups with kafkajs 2.2.4 (node; eager round-robin assignor, heartbeats from the
run loop): three `client.js groupConsume` processes in one group share a 6-partition topic;
one leaves (SIGTERM -> consumer.disconnect()) or is SIGKILLed and the other two take over its
partitions; it rejoins and the partitions are shared again. The members report each
assignment from the GROUP_JOIN instrumentation event and commit each record's offset after
processing it, so with a clean leave every record is processed exactly once, and with a
SIGKILL only the victim's uncommitted records may come again (group_members.py).
"""
import json
import pathlib
import shutil
import uuid

import pytest

import group_members as gm

JS_DIR = pathlib.Path(__file__).resolve().parent / "js"
NODE = shutil.which("node") or "/usr/bin/node"

pytestmark = pytest.mark.skipif(
    not (JS_DIR / "node_modules" / "kafkajs").is_dir(),
    reason="kafkajs not installed: run scripts/install-deps",
)


def make_member_factory(tmp_path, broker, topic, group):
    args = json.dumps({"topic": topic, "groupId": group, "sessionTimeout": gm.SESSION_MS,
                       "heartbeatInterval": 300, "rebalanceTimeout": 10000}).encode()

    def make(name):
        return gm.MemberProcess(tmp_path, name,
                                [NODE, str(JS_DIR / "client.js"), broker.bootstrap,
                                 "groupConsume"], stdin=args, cwd=JS_DIR)
    return make


@pytest.fixture
def members():
    made = []
    yield made
    for m in made:
        m.kill()


@pytest.mark.parametrize("how", ["disconnect", "sigkill"])
def test_share_leave_rejoin(make_broker, tmp_path, members, how):
    b = make_broker(gm.GROUP_CONFIG)
    topic = f"kjs-{how}-{uuid.uuid4().hex[:6]}"
    group = f"g-kjs-{how}"
    make = make_member_factory(tmp_path, b, topic, group)

    def tracked(name):
        m = make(name)
        members.append(m)
        return m

    ms, produced, victim_values = gm.share_leave_rejoin(b, topic, tracked, kill=how == "sigkill")
    gm.assert_exactly_once(ms, produced, redelivery_allowed=victim_values)
    gm.assert_all_committed(b, topic, group, 150)
