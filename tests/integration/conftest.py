"""Harness for the integration tests: real Kafka clients against a real `caudal serve`.

Every broker runs on a free loopback port chosen by the OS, with a fresh data directory under
pytest's tmp_path, and is stopped by its PID (SIGTERM, then SIGKILL) at the end. Its stderr
goes to a file that is attached to the report of any test that fails while it runs.

The binary comes from $CAUDAL_BIN (set by tests/CMakeLists.txt), else build/debug/src/caudal.
Run with /usr/bin/python3: Debian's client packages live in the system interpreter.
"""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20

# Brokers alive right now, so a failing test's report can carry their logs.
_live_brokers = []


def caudal_bin() -> str:
    path = os.environ.get("CAUDAL_BIN") or str(ROOT / "build" / "debug" / "src" / "caudal")
    if not os.access(path, os.X_OK):
        pytest.fail(f"caudal binary not found at {path} (set CAUDAL_BIN)")
    return path


def free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One `caudal serve` process; restartable on the same port and data directory."""

    def __init__(self, workdir: pathlib.Path, extra_config=None, name="broker"):
        self.workdir = workdir
        self.name = name
        self.data_dir = workdir / f"{name}-data"
        self.config_path = workdir / f"{name}.properties"
        self.log_path = workdir / f"{name}.stderr.log"
        self.extra_config = dict(extra_config or {})
        self.port = None
        self.proc = None
        self.starts = 0

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _write_config(self):
        props = {
            "node.id": "0",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
        }
        props.update(self.extra_config)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def start(self):
        """Starts the broker and waits until its port accepts connections. A new broker gets
        a free port; a restarted one keeps its port (retrying while the old socket lingers)."""
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        keep_port = self.port is not None
        attempts = 3
        for attempt in range(attempts):
            if not keep_port:
                self.port = free_port()
            self._write_config()
            self.starts += 1
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== start #{self.starts} on port {self.port} =====\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [caudal_bin(), "serve", "--config", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd=self.workdir,
                )
            if self._wait_ready():
                if self not in _live_brokers:
                    _live_brokers.append(self)
                return self
            code = self.proc.poll()
            if code is None:
                self._terminate()
                raise RuntimeError(
                    f"broker did not accept connections on {self.bootstrap} within "
                    f"{START_TIMEOUT_S}s\n{self.log_tail()}"
                )
            # Exited early: maybe the port was taken between free_port() and bind; retry.
            if attempt == attempts - 1:
                raise RuntimeError(f"broker exited with {code} at start\n{self.log_tail()}")
            time.sleep(0.5)
        return self

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if _port_open(self.port):
                return True
            time.sleep(0.05)
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(STOP_TIMEOUT_S)

    def stop(self):
        """SIGTERM, then SIGKILL after a timeout. Returns the exit code (None if not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        return self._terminate()

    def kill(self):
        """SIGKILL: a crash, nothing flushed beyond what the broker already made durable."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)

    def restart(self, hard=False):
        """Stops (SIGKILL if hard) and starts again on the same port and data directory."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    # --- observation -----------------------------------------------------------------------

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, limit=20000) -> str:
        text = self.log_text()
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        return f"----- {self.name} stderr ({self.log_path}) -----\n{text}"

    def topic_batch_codecs(self, topic: str) -> set:
        """The compression codecs (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) of the record
        batches stored in the topic's segment files (docs/formats/segment.md)."""
        codecs = set()
        for d in self.data_dir.iterdir():
            name, _, part = d.name.rpartition("-")
            if not (d.is_dir() and name == topic and part.isdigit()):
                continue
            for seg in d.glob("*.log"):
                data = seg.read_bytes()
                pos = 0
                while pos + 23 <= len(data):
                    length = int.from_bytes(data[pos + 8: pos + 12], "big")
                    if length == 0:
                        break  # preallocated tail
                    attributes = int.from_bytes(data[pos + 21: pos + 23], "big")
                    if not attributes & 0x20:  # control batches carry no records
                        codecs.add(attributes & 7)
                    pos += 12 + length
        return codecs

    def assert_stored_codec(self, topic: str, codec: int):
        """The topic's batches are compressed with `codec`, except perhaps some uncompressed
        ones: librdkafka sends a batch uncompressed when compressing does not make it
        smaller (small batches under load)."""
        codecs = self.topic_batch_codecs(topic)
        assert codec in codecs and codecs <= {0, codec}, f"codecs {codecs}, expected {codec}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b in _live_brokers:
            rep.sections.append((f"caudal {b.name} stderr", b.log_tail()))
            if b.proc is not None and b.proc.poll() is not None:
                rep.sections.append((f"caudal {b.name}", f"exited with {b.proc.returncode}"))


def _make_broker(tmp_path_factory, name, extra_config=None):
    workdir = tmp_path_factory.mktemp(name)
    b = Broker(workdir, extra_config, name=name)
    b.start()
    return b


def _finish(b):
    try:
        b.stop()
    finally:
        if b in _live_brokers:
            _live_brokers.remove(b)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker shared by the tests of one module (each test uses its own topics)."""
    b = _make_broker(tmp_path_factory, "broker")
    yield b
    _finish(b)


@pytest.fixture
def make_broker(tmp_path_factory):
    """Factory for brokers owned by one test: make_broker(extra_config=None)."""
    made = []

    def make(extra_config=None, name="broker"):
        b = _make_broker(tmp_path_factory, name, extra_config)
        made.append(b)
        return b

    yield make
    for b in made:
        _finish(b)


@pytest.fixture
def topic_name(request):
    """A topic name unique to the test (Kafka allows [a-zA-Z0-9._-])."""
    base = request.node.name.replace("[", ".").replace("]", "").replace("/", ".")
    return "t." + "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:200]
