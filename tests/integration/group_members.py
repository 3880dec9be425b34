"""Consumer group members as separate processes, watched from outside, and the share / leave /
rejoin scenario that test_groups_kafka_python.py and test_groups_kafkajs.py run with them.

A member process writes JSON lines to its output file as things happen:
  {"assignment": [partitions]}   after each rebalance
  {"p": partition, "o": offset, "v": value}   for each record processed (before its commit)
  {"commitFailed": value}        when the commit after processing failed (so it may come again)
  {"closed": true}               after a clean leave (SIGTERM -> close / disconnect)
and the test adds {"started": true} before each (re)start.
"""
import collections
import json
import signal
import subprocess
import time
import uuid

import clients

# Small group timeouts so that rebalances are quick; the members use a 3 s session.
GROUP_CONFIG = {
    "group.initial.rebalance.delay.ms": "300",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "4",
}
SESSION_MS = 3000
PARTITIONS = 6
WAIT_S = 60  # generous: a loaded 2-core machine running the ASan broker


def wait_until(condition, timeout, what, details=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{details()}")


class MemberProcess:
    """One group member: `argv` runs it, `stdin` (bytes) is written to it and closed."""

    def __init__(self, tmp_path, name, argv, stdin=b"", cwd=None):
        self.name = name
        self.out = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.jsonl"
        self.err = self.out.with_suffix(".stderr")
        self.argv, self.stdin, self.cwd = argv, stdin, cwd
        self.proc = None
        self.start()

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        with open(self.out, "ab") as out, open(self.err, "ab") as err:
            out.write(b'{"started": true}\n')  # forget the previous run's assignment
            out.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=out,
                                         stderr=err, cwd=self.cwd)
        self.proc.stdin.write(self.stdin)
        self.proc.stdin.close()

    def lines(self):
        try:
            text = self.out.read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            if line.startswith("{") and line.endswith("}"):
                out.append(json.loads(line))
        return out

    def assignment(self):
        """The latest assignment of the running process (None before its first, or if the
        process is not running)."""
        if self.proc.poll() is not None:
            return None
        last = None
        for e in self.lines():
            if "assignment" in e:
                last = e["assignment"]
            if "closed" in e or "started" in e:
                last = None
        return last

    def values(self):
        return [e["v"] for e in self.lines() if "v" in e]

    def commit_failed(self):
        return {e["commitFailed"] for e in self.lines() if "commitFailed" in e}

    def leave(self, timeout=WAIT_S):
        """Clean leave: SIGTERM makes the member finish its record, close and exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.name} did not leave within {timeout}s\n{self.log()}")
        assert code == 0, f"{self.name} exited {code}\n{self.log()}"
        assert any("closed" in e for e in self.lines()), self.log()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self):
        try:
            err = self.err.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            err = ""
        lines = [json.dumps(e) for e in self.lines() if "v" not in e]
        return f"--- {self.name}: events ---\n" + "\n".join(lines[-30:]) + \
            f"\n--- {self.name}: stderr ---\n{err}"


def produce(bootstrap, topic, prefix, count, partitions=PARTITIONS):
    p = clients.producer(bootstrap)
    for i in range(count):
        p.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0
    return {f"{prefix}-{i}" for i in range(count)}


def shared_evenly(members, per_member):
    """Every member owns `per_member` partitions and together they own each partition once."""
    a = [m.assignment() for m in members]
    return all(x is not None and len(x) == per_member for x in a) and \
        sorted(p for x in a for p in x) == list(range(PARTITIONS))


def describe(members):
    return "\n".join(f"{m.name}: {m.assignment()}" for m in members) + "\n" + \
        "\n".join(m.log() for m in members)


def consumed(members):
    return collections.Counter(v for m in members for v in m.values())


def wait_consumed(members, produced, what):
    wait_until(lambda: produced <= set(consumed(members)), WAIT_S, what,
               lambda: f"missing {len(produced - set(consumed(members)))} of {len(produced)}, "
                       f"e.g. {sorted(produced - set(consumed(members)))[:5]}\n"
                       + describe(members))


def share_leave_rejoin(broker, topic, make_member, kill=False):
    """3 members share 6 partitions (2 each); member 0 leaves cleanly (or is SIGKILLed) in the
    middle of a phase and the other two take over all 6 (3 each); member 0 rejoins and they share 2 each again. Records
    produced in each phase are all consumed. Returns (members, produced)."""
    clients.create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    members = [make_member(f"m{i}") for i in range(3)]
    wait_until(lambda: shared_evenly(members, 2), WAIT_S, "3 members with 2 partitions each",
               lambda: describe(members))
    produced = produce(broker.bootstrap, topic, "first", 300)
    wait_consumed(members, produced, "every record of the first phase consumed")

    # Member 0 goes while records are flowing: once it has processed one of the next ones.
    first, others = members[0], members[1:]
    produced |= produce(broker.bootstrap, topic, "second", 300)
    wait_until(lambda: any(v.startswith("second-") for v in first.values()), WAIT_S,
               "member 0 processing the second phase", lambda: describe(members))
    victim_values = set()
    if kill:
        first.kill()  # the others take over after its session timeout
        victim_values = set(first.values())
    else:
        first.leave()
    wait_until(lambda: shared_evenly(others, 3), WAIT_S, "2 members owning 3 partitions each",
               lambda: describe(members))
    wait_consumed(members, produced, "every record consumed after the takeover")

    first.start()  # rejoins, appending to the same output file
    wait_until(lambda: shared_evenly(members, 2), WAIT_S,
               "3 members with 2 partitions each after the rejoin", lambda: describe(members))
    produced |= produce(broker.bootstrap, topic, "third", 300)
    wait_consumed(members, produced, "every record consumed after the rejoin")
    return members, produced, victim_values


def assert_exactly_once(members, produced, redelivery_allowed=frozenset()):
    """Every produced record was processed, and none twice -- except ones whose commit failed
    (or `redelivery_allowed`: records a SIGKILLed member may have processed but not committed)."""
    counts = consumed(members)
    assert set(counts) == produced, f"unexpected values {sorted(set(counts) - produced)[:5]}"
    allowed = set(redelivery_allowed).union(*(m.commit_failed() for m in members))
    dups = sorted(v for v, n in counts.items() if n > 1 and v not in allowed)
    assert not dups, f"{len(dups)} records processed more than once, e.g. {dups[:10]}\n" + \
        describe(members)


def assert_all_committed(broker, topic, group, count_per_partition):
    """The group's committed offsets reach the end of every partition (commit after
    processing: the last record's commit follows its processing line, so poll for it)."""
    from kafka import KafkaAdminClient

    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        want = {p: count_per_partition for p in range(PARTITIONS)}
        got = {}

        def done():
            nonlocal got
            got = {tp.partition: om.offset
                   for tp, om in a.list_consumer_group_offsets(group).items()
                   if tp.topic == topic}
            return got == want

        wait_until(done, WAIT_S, f"committed offsets {want}", lambda: f"got {got}")
    finally:
        a.close()
