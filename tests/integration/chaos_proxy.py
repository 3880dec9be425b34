"""A TCP proxy on loopback that cuts its connections at random, for tests of clients that
must survive broken connections (the idempotent producer retrying in-flight batches).

Clients connect to the proxy's port; each connection is forwarded to the target port. While
`cutting` is on, each connection gets a random budget of bytes (both directions), drawn
from a seeded generator; the connection is reset as soon as it has forwarded that many, in
the middle of whatever request or response is passing. So cuts follow the traffic however
fast the client is: some requests are lost half-way, and some are processed while their
responses are lost, which is what makes a producer retry a batch the broker already has.
A cut is a reset (SO_LINGER 0) of both sides. The broker must advertise the proxy's address
(advertised.listeners) so that clients reach it only through the proxy.
"""
import random
import selectors
import socket
import struct
import threading


class ChaosProxy:
    def __init__(self, listen_port: int, target_port: int, seed: int,
                 budget_bytes=(20_000, 400_000)):
        self.target_port = target_port
        self.budget_bytes = budget_bytes
        self.rng = random.Random(seed)
        self.cutting = False
        self.cuts = 0
        self._lock = threading.Lock()
        self._pairs = []  # live (client, upstream) socket pairs
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def close(self):
        self._stop.set()
        self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            self._reset(pair)

    # --- internals ---------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
                budget = self.rng.randint(*self.budget_bytes)
            threading.Thread(target=self._pump, args=(pair, budget), daemon=True).start()

    def _pump(self, pair, budget):
        client, upstream = pair
        sel = selectors.DefaultSelector()
        try:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if self.cutting:
                        if budget < len(data):
                            key.data.sendall(data[:budget])  # half a message, then the cut
                            with self._lock:
                                self.cuts += 1
                            return
                        budget -= len(data)
                    key.data.sendall(data)
        except (OSError, ValueError):
            return  # cut, or closed by either side
        finally:
            sel.close()
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
            self._reset(pair)

    @staticmethod
    def _reset(pair):
        for s in pair:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass
