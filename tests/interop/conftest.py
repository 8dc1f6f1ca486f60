"""Fixtures: a real Rust net-mesh 0.23 node (PyPI wheel `net-mesh==0.23.0`, class
net.NetMesh, run in this process on its own tokio runtime) and netmesh nodes (libnetmesh.so
through ctypes)."""
import os
import secrets
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netmesh_ctypes as nm  # noqa: E402

net = pytest.importorskip("net", reason="net-mesh 0.23.0 wheel not installed")

LONG = os.environ.get("INTEROP_LONG") == "1"


def rust_addr(mesh):
    """The Rust node's bound "ip:port" (NetMesh only shows it in its repr)."""
    r = repr(mesh)  # NetMesh(addr=127.0.0.1:40641, peers=0, nodes=0)
    return r.split("addr=", 1)[1].split(",", 1)[0]


class RustNode:
    """A net-mesh 0.23 MeshNode. Keeps the calls the tests make in one place."""

    def __init__(self, psk, **kw):
        t0 = time.monotonic()
        self.mesh = net.NetMesh("127.0.0.1:0", psk.hex(), **kw)
        self.construct_s = time.monotonic() - t0
        self.addr = rust_addr(self.mesh)
        self.node_id = self.mesh.node_id
        self.public_key = bytes.fromhex(self.mesh.public_key)
        self.started = False
        self._accept_thread = None
        self.accept_result = None

    def start(self):
        self.mesh.start()
        self.started = True

    def accept_in_background(self, peer_node_id):
        """MeshNode::accept blocks (releasing the GIL) until a direct msg1 arrives."""
        def run():
            try:
                self.accept_result = ("ok", self.mesh.accept(peer_node_id))
            except Exception as e:  # noqa: BLE001 - reported to the test
                self.accept_result = ("error", repr(e))
        self._accept_thread = threading.Thread(target=run, daemon=True)
        self._accept_thread.start()
        time.sleep(0.05)  # let it reach recv_from (a msg1 sent earlier would wait in the socket)

    def wait_accept(self, timeout=20):
        self._accept_thread.join(timeout)
        return self.accept_result

    def accept_pending(self):
        return self._accept_thread is not None and self._accept_thread.is_alive()

    def poll_until(self, count, timeout=30.0):
        """Polls shard 0 until `count` events arrived; returns their raw strings."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            batch = self.mesh.poll(4096)
            if batch:
                out.extend(e.raw for e in batch)
            else:
                time.sleep(0.005)
        return out

    def stats(self, peer_node_id, stream_id):
        s = self.mesh.stream_stats(peer_node_id, stream_id)
        if s is None:
            return None
        return {k: getattr(s, k) for k in (
            "tx_seq", "rx_seq", "inbound_pending", "active", "backpressure_events",
            "tx_credit_remaining", "tx_window", "credit_grants_received",
            "credit_grants_sent")}

    def shutdown(self):
        if self.accept_pending():
            return  # PyO3 refuses ("Already borrowed") while accept() runs; it times out alone
        try:
            self.mesh.shutdown()
        except Exception:  # noqa: BLE001
            pass


class UdpTap:
    """A loopback UDP relay between a netmesh node and a Rust node that records every
    datagram, so the tests can check the wire notes against what 0.23 really sends.
    The netmesh side dials the tap's address; the Rust side sees the tap as its peer."""

    def __init__(self, rust_addr_text):
        host, port = rust_addr_text.rsplit(":", 1)
        self.rust = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.addr = "%s:%d" % self.sock.getsockname()
        self.client = None
        self.log = []  # (monotonic time, "to_rust" | "from_rust", bytes)
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            if src == self.rust:
                with self.lock:
                    self.log.append((now, "from_rust", data))
                if self.client:
                    self.sock.sendto(data, self.client)
            else:
                self.client = src
                with self.lock:
                    self.log.append((now, "to_rust", data))
                self.sock.sendto(data, self.rust)

    def datagrams(self, direction):
        with self.lock:
            return [d for _, dr, d in self.log if dr == direction]

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="session")
def lib():
    return nm.load(os.environ.get("NETMESH_BUILD_DIR"))


@pytest.fixture
def psk():
    return secrets.token_bytes(32)


@pytest.fixture
def cleanup():
    items = []
    yield items
    for item in reversed(items):
        if isinstance(item, RustNode):
            item.shutdown()
        elif isinstance(item, nm.Node):
            item.free()
        elif isinstance(item, UdpTap):
            item.close()


@pytest.fixture
def make_rust(psk, cleanup):
    def make(psk_override=None, **kw):
        node = RustNode(psk_override or psk, **kw)
        cleanup.append(node)
        return node
    return make


@pytest.fixture
def make_netmesh(lib, psk, cleanup):
    def make(psk_override=None, **config):
        config.setdefault("psk", psk_override or psk)
        node = nm.Node(lib, **config)
        cleanup.append(node)
        return node
    return make


def connect_netmesh_to_rust(nmnode, rust, via=None):
    """Direct form: the Rust node waits in pre-start accept(), netmesh dials, then start()."""
    rust.accept_in_background(nmnode.node_id)
    t0 = time.monotonic()
    nmnode.connect(via or rust.addr, rust.public_key, rust.node_id)
    elapsed = time.monotonic() - t0
    result = rust.wait_accept()
    assert result and result[0] == "ok", result
    rust.start()
    return elapsed


def connect_netmesh_routed_to_rust(nmnode, rust):
    """Routed form (wire notes §3.5) to an already started Rust node, straight to its address
    (a one-hop "relay"): how a client reaches a running 0.23 daemon."""
    rust.start()
    t0 = time.monotonic()
    nmnode.connect_via(rust.addr, rust.public_key, rust.node_id)
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 2
    while rust.mesh.peer_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rust.mesh.peer_count() == 1
    return elapsed


def connect_rust_to_netmesh(nmnode, rust):
    """The Rust node dials netmesh (always the direct form); netmesh allows its id first."""
    nmnode.allow_peer(rust.node_id)
    t0 = time.monotonic()
    rust.mesh.connect(nmnode.local_addr, nmnode.public_key.hex(), nmnode.node_id)
    elapsed = time.monotonic() - t0
    rust.start()
    assert nmnode.accept(rust.node_id, 2000) == nm.NM_OK
    return elapsed


TIMINGS = {}


def record_timing(name, seconds):
    TIMINGS[name] = seconds


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "interop timings (s)")
        for k, v in sorted(TIMINGS.items()):
            terminalreporter.write_line(f"{k}: {v:.4f}")
