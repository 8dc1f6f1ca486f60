"""A small ctypes wrapper over include/netmesh.h for the interop tests.

Struct layouts mirror include/netmesh.h and include/netmesh_testing.h field by field (ctypes
applies the same natural alignment as the C compiler; test_interop.py::
test_struct_layout_matches_header checks the sizes and offsets against the real headers with
the system C compiler, and tests/abi/check_fields.py checks that every struct lists exactly
the fields of its list in src/capi/struct_fields.h, in order).
"""
import ctypes
import os

NM_KEY_SIZE = 32
NM_MAX_EVENT_SIZE = 8104
NM_ADDR_MAX = 64

NM_OK = 0
NM_NAT_UNKNOWN, NM_NAT_OPEN, NM_NAT_CONE, NM_NAT_SYMMETRIC = 0, 1, 2, 3
NM_ERR_INVALID_ARGUMENT = -1
NM_ERR_INVALID_HANDLE = -2
NM_ERR_WRONG_NODE = -3
NM_ERR_NOT_CONNECTED = -4
NM_ERR_BACKPRESSURE = -5
NM_ERR_TRANSPORT = -6
NM_ERR_TIMEOUT = -7
NM_ERR_HANDSHAKE = -8
NM_ERR_EVENT_TOO_LARGE = -9
NM_ERR_BUFFER_TOO_SMALL = -10
NM_ERR_SHUTDOWN = -11
NM_ERR_ADDRESS = -12
NM_ERR_CRYPTO = -13
NM_ERR_INTERNAL = -14

NM_FIRE_AND_FORGET = 0
NM_RELIABLE = 1
NM_DRAIN_THEN_CLOSE = 0
NM_DROP_AND_CLOSE = 1

Key32 = ctypes.c_uint8 * NM_KEY_SIZE


class NodeConfig(ctypes.Structure):  # nm_node_config_t
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("compat_0_23", ctypes.c_uint8),
        ("pingwave_ttl", ctypes.c_uint8),
        ("reserved0", ctypes.c_uint8 * 2),
        ("bind_addr", ctypes.c_char_p),
        ("identity_file", ctypes.c_char_p),
        ("psk", Key32),
        ("identity_seed", Key32),
        ("static_private_key", Key32),
        ("heartbeat_interval_ms", ctypes.c_uint32),
        ("handshake_timeout_ms", ctypes.c_uint32),
        ("handshake_retries", ctypes.c_uint32),
        ("session_timeout_ms", ctypes.c_uint32),
        ("stream_idle_timeout_ms", ctypes.c_uint32),
        ("max_streams", ctypes.c_uint32),
        ("default_window_bytes", ctypes.c_uint32),
        ("max_event_bytes", ctypes.c_uint32),
        ("drain_timeout_ms", ctypes.c_uint32),
        ("suspect_after_ms", ctypes.c_uint32),
        ("fail_after_ms", ctypes.c_uint32),
        ("max_sessions", ctypes.c_uint32),
        ("handshake_rate_per_sec", ctypes.c_uint32),
        ("reserved1", ctypes.c_uint32),
        ("session_rate_bytes_per_sec", ctypes.c_uint64),
        ("max_session_buffer_bytes", ctypes.c_uint64),
        ("max_buffer_bytes", ctypes.c_uint64),
        ("congestion_control", ctypes.c_uint32),
        ("reserved2", ctypes.c_uint32),
        ("auto_direct_ms", ctypes.c_uint32),
        ("reserved3", ctypes.c_uint32),
    ]


class StreamConfig(ctypes.Structure):  # nm_stream_config_t
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reliability", ctypes.c_uint8),  # NM_FIRE_AND_FORGET / NM_RELIABLE
        ("close_behaviour", ctypes.c_uint8),  # NM_DRAIN_THEN_CLOSE / NM_DROP_AND_CLOSE
        ("fairness_weight", ctypes.c_uint8),
        ("reserved0", ctypes.c_uint8),
        ("window_bytes", ctypes.c_uint32),
    ]


class Event(ctypes.Structure):  # nm_event_t
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class StreamStats(ctypes.Structure):  # nm_stream_stats_t
    _fields_ = [
        ("peer_node_id", ctypes.c_uint64),
        ("stream_id", ctypes.c_uint64),
        ("active", ctypes.c_uint8),
        ("reliable", ctypes.c_uint8),
        ("recovering", ctypes.c_uint8),
        ("reserved0", ctypes.c_uint8 * 5),
    ] + [(name, ctypes.c_uint64) for name in (
        "tx_seq", "rx_seq", "inbound_pending", "last_activity_ns", "backpressure_events",
        "tx_credit_remaining", "tx_window", "credit_grants_received", "credit_grants_sent",
        "tx_events", "rx_events", "rx_duplicates_dropped", "rx_gaps", "retransmits", "nacks_sent",
        "nacks_received", "tx_unacked_packets", "srtt_ns", "rx_buffered_bytes",
        "rx_reorder_packets", "rx_incomplete_dropped", "rx_oversize_dropped", "rx_restarts")]


class NodeStats(ctypes.Structure):  # nm_node_stats_t
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "sessions", "datagrams_received", "datagrams_sent", "handshakes_completed",
        "heartbeats_sent", "heartbeats_received",
        "drop_malformed", "drop_unknown_session", "drop_auth_failed", "drop_replay",
        "drop_handshake_rejected", "drop_unexpected_handshake", "drop_unknown_subprotocol",
        "drop_bad_grant", "drop_unknown_stream", "drop_bad_fragment", "drop_over_window",
        "grants_clamped", "ignored_mesh_packets",
        "pingwaves_sent", "pingwaves_received", "forwarded", "forward_no_route", "forward_ttl_expired",
        "bytes_received", "bytes_sent", "forward_refused", "pingwave_origins_refused",
        "pingwave_relays_suppressed", "drop_handshake_rate_limited", "drop_session_limit",
        "sessions_pruned", "sessions_unconfirmed", "responses_deferred", "drop_over_budget", "tx_abandoned_packets",
        "tx_refused_unproven_path", "punches_attempted", "punches_succeeded", "relay_fallbacks",
        "tx_refused_by_network")]


class SessionStats(ctypes.Structure):  # nm_session_stats_t
    _fields_ = [
        ("peer_node_id", ctypes.c_uint64),
        ("session_acks", ctypes.c_uint8),
        ("routed", ctypes.c_uint8),
        ("congestion_control", ctypes.c_uint8),
        ("reserved0", ctypes.c_uint8 * 5),
    ] + [(name, ctypes.c_uint64) for name in (
        "srtt_ns", "rttvar_ns", "min_rtt_ns", "latest_rtt_ns", "rtt_samples", "bytes_in_flight",
        "datagrams_in_flight", "datagrams_acked", "datagrams_lost", "probe_timeouts", "acks_sent",
        "acks_received", "cwnd_bytes", "pacing_rate_bytes_per_sec", "max_datagram_bytes",
        "congestion_events", "spurious_retransmissions", "pmtu_probes_sent", "pmtu_probes_lost",
        "pmtu_black_holes", "path_migrations", "path_validations", "path_reverts",
        "path_restarts", "congestion_events_undone", "loss_threshold_datagrams",
        "loss_threshold_rtt_eighths")]


class Route(ctypes.Structure):  # nm_route_t
    _fields_ = [
        ("dest", ctypes.c_uint64),
        ("next_hop", ctypes.c_uint64),
        ("metric", ctypes.c_uint32),
        ("reserved0", ctypes.c_uint32),
        ("age_ns", ctypes.c_uint64),
    ]


class PeerEvent(ctypes.Structure):  # nm_peer_event_t
    _fields_ = [
        ("peer_node_id", ctypes.c_uint64),
        ("kind", ctypes.c_uint32),
        ("reserved0", ctypes.c_uint32),
        ("at_ns", ctypes.c_uint64),
    ]


# netmesh_testing.h


class Impairment(ctypes.Structure):  # nm_impairment_t
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("drop_above_bytes", ctypes.c_uint32),
        ("burst_enter", ctypes.c_double),
        ("burst_exit", ctypes.c_double),
        ("loss", ctypes.c_double),
        ("rate_bytes_per_sec", ctypes.c_uint64),
        ("rate_queue_limit_us", ctypes.c_uint32),
        ("delay_us", ctypes.c_uint32),
        ("jitter_us", ctypes.c_uint32),
        ("reorder_window_us", ctypes.c_uint32),
        ("reorder", ctypes.c_double),
        ("duplicate", ctypes.c_double),
        ("corrupt", ctypes.c_double),
        ("seed", ctypes.c_uint64),
        ("drop_below_bytes", ctypes.c_uint32),
        ("reserved0", ctypes.c_uint32),
    ]


class ImpairmentStats(ctypes.Structure):  # nm_impairment_stats_t
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "seen", "dropped_loss", "dropped_burst", "dropped_rate", "dropped_oversize",
        "duplicated", "reordered", "delayed", "corrupted", "dropped_undersize")]


def stats_dict(s):
    return {name: getattr(s, name) for name, _ in s._fields_ if not name.startswith("reserved")}


class NetmeshError(Exception):
    def __init__(self, status, func, detail):
        self.status = status
        super().__init__(f"{func}: {detail} (status {status})")


_P = ctypes.POINTER
_node_p = ctypes.c_void_p
_stream_p = ctypes.c_void_p

_SIGNATURES = {
    "nm_version": ([], ctypes.c_char_p),
    "nm_strerror": ([ctypes.c_int32], ctypes.c_char_p),
    "nm_last_error_message": ([], ctypes.c_char_p),
    "nm_node_config_init": ([_P(NodeConfig), ctypes.c_size_t], ctypes.c_int),
    "nm_node_new": ([_P(NodeConfig), _P(_node_p)], ctypes.c_int),
    "nm_node_free": ([_node_p], ctypes.c_int),
    "nm_node_public_key": ([_node_p, _P(ctypes.c_uint8)], ctypes.c_int),
    "nm_node_id": ([_node_p, _P(ctypes.c_uint64)], ctypes.c_int),
    "nm_node_local_addr": ([_node_p, ctypes.c_char_p, ctypes.c_size_t], ctypes.c_int),
    "nm_node_probe_reflex": ([_node_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t],
                             ctypes.c_int),
    "nm_node_classify_nat": ([_node_p, ctypes.c_int, _P(ctypes.c_int)], ctypes.c_int),
    "nm_node_stats": ([_node_p, _P(NodeStats), ctypes.c_size_t], ctypes.c_int),
    "nm_node_event_fd": ([_node_p, _P(ctypes.c_int)], ctypes.c_int),
    "nm_node_connect": ([_node_p, ctypes.c_char_p, _P(ctypes.c_uint8), ctypes.c_uint64],
                        ctypes.c_int),
    "nm_node_connect_via": ([_node_p, ctypes.c_char_p, _P(ctypes.c_uint8), ctypes.c_uint64],
                            ctypes.c_int),
    "nm_node_session_stats": ([_node_p, ctypes.c_uint64, _P(SessionStats), ctypes.c_size_t],
                              ctypes.c_int),
    "nm_node_routes": ([_node_p, _P(Route), ctypes.c_size_t, ctypes.c_size_t,
                        _P(ctypes.c_size_t)], ctypes.c_int),
    "nm_node_next_peer_event": ([_node_p, _P(PeerEvent), ctypes.c_size_t, ctypes.c_int],
                                ctypes.c_int),
    "nm_node_allow_peer": ([_node_p, ctypes.c_uint64], ctypes.c_int),
    "nm_node_accept": ([_node_p, ctypes.c_uint64, ctypes.c_int], ctypes.c_int),
    "nm_impairment_init": ([_P(Impairment), ctypes.c_size_t], ctypes.c_int),
    "nm_node_set_impairment": ([_node_p, ctypes.c_uint64, ctypes.c_uint32, _P(Impairment)],
                               ctypes.c_int),
    "nm_node_impairment_stats": ([_node_p, _P(ImpairmentStats), ctypes.c_size_t], ctypes.c_int),
    "nm_stream_config_init": ([_P(StreamConfig), ctypes.c_size_t], ctypes.c_int),
    "nm_node_open_stream": ([_node_p, ctypes.c_uint64, ctypes.c_uint64, _P(StreamConfig),
                             _P(_stream_p)], ctypes.c_int),
    "nm_node_close_stream": ([_node_p, _stream_p], ctypes.c_int),
    "nm_stream_free": ([_stream_p], ctypes.c_int),
    "nm_stream_send": ([_stream_p, _P(Event), ctypes.c_size_t, _P(ctypes.c_size_t)],
                       ctypes.c_int),
    "nm_stream_send_with_retry": ([_stream_p, _P(Event), ctypes.c_size_t, ctypes.c_uint32,
                                   _P(ctypes.c_size_t)], ctypes.c_int),
    "nm_stream_send_blocking": ([_stream_p, _P(Event), ctypes.c_size_t, ctypes.c_int,
                                 _P(ctypes.c_size_t)], ctypes.c_int),
    "nm_stream_recv": ([_stream_p, ctypes.c_void_p, ctypes.c_size_t, _P(ctypes.c_size_t),
                        ctypes.c_int], ctypes.c_int),
    "nm_stream_stats": ([_stream_p, _P(StreamStats), ctypes.c_size_t], ctypes.c_int),
    "nm_node_all_stream_stats": ([_node_p, _P(StreamStats), ctypes.c_size_t, ctypes.c_size_t,
                                  _P(ctypes.c_size_t)], ctypes.c_int),
    "nm_stream_id_from_key": ([ctypes.c_void_p, ctypes.c_size_t, _P(ctypes.c_uint64)],
                              ctypes.c_int),
}


class Library:
    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(path)
        for name, (argtypes, restype) in _SIGNATURES.items():
            fn = getattr(self.lib, name)
            fn.argtypes = argtypes
            fn.restype = restype

    def version(self):
        return self.lib.nm_version().decode()

    def strerror(self, status):
        return self.lib.nm_strerror(status).decode()

    def call(self, name, *args, ok=(NM_OK,)):
        status = getattr(self.lib, name)(*args)
        if status not in ok:
            detail = self.lib.nm_last_error_message().decode(errors="replace")
            raise NetmeshError(status, name, f"{self.strerror(status)}: {detail}")
        return status

    def node_config(self, **fields):
        cfg = NodeConfig()
        self.call("nm_node_config_init", ctypes.byref(cfg), ctypes.sizeof(cfg))
        for k, v in fields.items():
            if k in ("psk", "identity_seed", "static_private_key"):
                assert len(v) == NM_KEY_SIZE
                setattr(cfg, k, Key32(*v))
            elif k == "bind_addr":
                cfg.bind_addr = v.encode() if isinstance(v, str) else v
            else:
                setattr(cfg, k, v)
        return cfg

    def stream_config(self, **fields):
        cfg = StreamConfig()
        self.call("nm_stream_config_init", ctypes.byref(cfg), ctypes.sizeof(cfg))
        for k, v in fields.items():
            setattr(cfg, k, v)
        return cfg


def load(build_dir=None):
    path = os.environ.get("NETMESH_LIB")
    if not path:
        build_dir = build_dir or os.environ.get("NETMESH_BUILD_DIR", "build")
        path = os.path.join(build_dir, "libnetmesh.so")
    return Library(os.path.abspath(path))


class Node:
    """One netmesh node (nm_node_t*)."""

    def __init__(self, lib, **config):
        self.lib = lib
        config.setdefault("bind_addr", "127.0.0.1:0")
        self._bind = config["bind_addr"].encode()
        config["bind_addr"] = self._bind  # keep the bytes alive while the node lives
        self.config = lib.node_config(**config)
        handle = _node_p()
        lib.call("nm_node_new", ctypes.byref(self.config), ctypes.byref(handle))
        self.handle = handle

    # -- identity --
    @property
    def node_id(self):
        v = ctypes.c_uint64()
        self.lib.call("nm_node_id", self.handle, ctypes.byref(v))
        return v.value

    @property
    def public_key(self):
        buf = Key32()
        self.lib.call("nm_node_public_key", self.handle, buf)
        return bytes(buf)

    @property
    def local_addr(self):
        buf = ctypes.create_string_buffer(NM_ADDR_MAX)
        self.lib.call("nm_node_local_addr", self.handle, buf, NM_ADDR_MAX)
        return buf.value.decode()

    def probe_reflex(self, peer_node_id, timeout_ms=3000):
        """The "ip:port" the peer sees this node's datagrams come from."""
        buf = ctypes.create_string_buffer(NM_ADDR_MAX)
        self.lib.call("nm_node_probe_reflex", self.handle, peer_node_id, timeout_ms, buf, NM_ADDR_MAX)
        return buf.value.decode()

    def classify_nat(self, timeout_ms=3000):
        t = ctypes.c_int(-1)
        self.lib.call("nm_node_classify_nat", self.handle, timeout_ms, ctypes.byref(t))
        return t.value

    def stats(self):
        s = NodeStats()
        self.lib.call("nm_node_stats", self.handle, ctypes.byref(s), ctypes.sizeof(s))
        return stats_dict(s)

    def session_stats(self, peer_node_id):
        s = SessionStats()
        self.lib.call("nm_node_session_stats", self.handle, peer_node_id, ctypes.byref(s),
                      ctypes.sizeof(s))
        return stats_dict(s)

    def all_stream_stats(self):
        n = ctypes.c_size_t()
        size = ctypes.sizeof(StreamStats)
        self.lib.call("nm_node_all_stream_stats", self.handle, None, 0, size, ctypes.byref(n))
        arr = (StreamStats * max(1, n.value))()
        self.lib.call("nm_node_all_stream_stats", self.handle, arr, len(arr), size, ctypes.byref(n))
        return [stats_dict(arr[i]) for i in range(min(n.value, len(arr)))]

    # -- sessions --
    def connect(self, addr, peer_public_key, peer_node_id):
        key = Key32(*peer_public_key)
        return self.lib.call("nm_node_connect", self.handle, addr.encode(), key, peer_node_id)

    def connect_via(self, relay_addr, peer_public_key, peer_node_id):
        key = Key32(*peer_public_key)
        return self.lib.call("nm_node_connect_via", self.handle, relay_addr.encode(), key, peer_node_id)

    def allow_peer(self, peer_node_id):
        self.lib.call("nm_node_allow_peer", self.handle, peer_node_id)

    def accept(self, peer_node_id, timeout_ms):
        return self.lib.call("nm_node_accept", self.handle, peer_node_id, timeout_ms)

    # -- streams --
    def open_stream(self, peer_node_id, stream_id, reliability=NM_FIRE_AND_FORGET,
                    window_bytes=65536, close_behaviour=NM_DROP_AND_CLOSE):
        cfg = self.lib.stream_config(reliability=reliability, window_bytes=window_bytes,
                                     close_behaviour=close_behaviour)
        h = _stream_p()
        self.lib.call("nm_node_open_stream", self.handle, peer_node_id, stream_id,
                      ctypes.byref(cfg), ctypes.byref(h))
        return Stream(self, h)

    def free(self):
        if self.handle:
            self.lib.call("nm_node_free", self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()
        return False


class Stream:
    def __init__(self, node, handle):
        self.node = node
        self.lib = node.lib
        self.handle = handle

    @staticmethod
    def _events(payloads):
        bufs = [ctypes.create_string_buffer(bytes(p), len(p)) for p in payloads]
        arr = (Event * len(payloads))()
        for i, b in enumerate(bufs):
            arr[i].data = ctypes.cast(b, ctypes.c_void_p)
            arr[i].len = len(payloads[i])
        return arr, bufs

    def send(self, payloads):
        """nm_stream_send; returns (status, number sent). Backpressure is not raised."""
        arr, _keep = self._events(payloads)
        sent = ctypes.c_size_t()
        st = self.lib.call("nm_stream_send", self.handle, arr, len(payloads),
                           ctypes.byref(sent), ok=(NM_OK, NM_ERR_BACKPRESSURE))
        return st, sent.value

    def send_blocking(self, payloads, timeout_ms=10000):
        arr, _keep = self._events(payloads)
        sent = ctypes.c_size_t()
        self.lib.call("nm_stream_send_blocking", self.handle, arr, len(payloads), timeout_ms,
                      ctypes.byref(sent))
        return sent.value

    def recv(self, timeout_ms=1000, buf_len=NM_MAX_EVENT_SIZE):
        """One event, or None on timeout."""
        buf = ctypes.create_string_buffer(buf_len)
        n = ctypes.c_size_t()
        st = self.lib.call("nm_stream_recv", self.handle, buf, buf_len, ctypes.byref(n),
                           timeout_ms, ok=(NM_OK, NM_ERR_TIMEOUT))
        if st == NM_ERR_TIMEOUT:
            return None
        return buf.raw[:n.value]

    def stats(self):
        s = StreamStats()
        self.lib.call("nm_stream_stats", self.handle, ctypes.byref(s), ctypes.sizeof(s))
        return stats_dict(s)

    def close(self):
        self.lib.call("nm_node_close_stream", self.node.handle, self.handle)

    def free(self):
        if self.handle:
            self.lib.call("nm_stream_free", self.handle)
            self.handle = None
