"""Just enough of the Kafka wire format to send hand-made (and malformed) requests."""
import socket
import struct
import time

import crc32c


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def header(api_key, version, correlation_id, client_id="caudal-it-raw", flexible=False):
    """Request header v1, or v2 (with an empty tagged-field section) when flexible."""
    h = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    return h + (uvarint(0) if flexible else b"")


def frame(payload):
    return i32(len(payload)) + payload


def request(api_key, version, correlation_id, body, flexible=False):
    return frame(header(api_key, version, correlation_id, flexible=flexible) + body)


def record_batch(records, base_offset=0, count=None, timestamp=0, producer_id=-1,
                 producer_epoch=-1, base_sequence=-1):
    """A record batch v2 (uncompressed) of (key, value) pairs; `count` may lie. The producer
    fields make it an idempotent producer's batch."""
    recs = b""
    for delta, (key, value) in enumerate(records):
        body = i8(0) + varint(0) + varint(delta)
        body += varint(-1) if key is None else varint(len(key)) + key
        body += varint(-1) if value is None else varint(len(value)) + value
        body += varint(0)  # headers
        recs += varint(len(body)) + body
    n = len(records) if count is None else count
    after_crc = (i16(0) + i32(len(records) - 1) + i64(timestamp) + i64(timestamp) + i64(producer_id)
                 + i16(producer_epoch) + i32(base_sequence) + i32(n) + recs)
    crc = crc32c.crc32c(after_crc)
    after_length = i32(-1) + i8(2) + u32(crc) + after_crc  # partition leader epoch, magic, crc
    return i64(base_offset) + i32(len(after_length)) + after_length


def produce_v7(correlation_id, topic, partition, batch, acks=1):
    body = (string(None) + i16(acks) + i32(10000) + i32(1) + string(topic) + i32(1)
            + i32(partition) + i32(len(batch)) + batch)
    return request(0, 7, correlation_id, body)


def parse_produce_v7(body):
    """(error code, base offset) of the first partition of a Produce v7 response body."""
    (name_len,) = struct.unpack(">h", body[4:6])
    at = 6 + name_len + 4  # topic count, name, partition count
    _, error, base_offset = struct.unpack(">ihq", body[at:at + 14])
    return error, base_offset


def delete_records_v0(correlation_id, topic, partition, offset):
    body = i32(1) + string(topic) + i32(1) + i32(partition) + i64(offset) + i32(10000)
    return request(21, 0, correlation_id, body)


class Conn:
    """A raw connection; read_response() returns (correlation_id, body) or None when the
    broker closed the connection."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout

    def send(self, data):
        self.sock.sendall(data)

    def _read_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def read_response(self):
        """Raises socket.timeout if the broker neither answers nor closes in time."""
        deadline = time.monotonic() + self.timeout
        size = self._read_exact(4, deadline)
        if size is None:
            return None
        (n,) = struct.unpack(">i", size)
        body = self._read_exact(n, deadline)
        if body is None:
            return None
        return struct.unpack(">i", body[:4])[0], body[4:]

    def closed_by_peer(self):
        """True once the broker closed the connection (EOF or reset) within the timeout;
        any bytes it sends first are discarded."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
