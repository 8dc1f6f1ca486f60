// Package netmesh is the Go binding of libnetmesh, an encrypted UDP mesh transport
// (wire-compatible with net-mesh 0.23).
//
// A Node binds a UDP socket and holds sessions with peers; Connect (initiator) and Accept
// (responder) run the handshake; OpenStream gives a Stream of ordered events to a peer.
// Blocking calls take a context.Context. Errors wrap sentinel values (ErrBackpressure,
// ErrNotConnected, ...) for errors.Is, and are *Error values carrying the library's detail.
//
// The raw SWIG wrapper is generated at build time into the internal package capi.
package netmesh

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// KeySize is the size of keys, seeds and the PSK; MaxEventSize the largest event a stream
// can carry.
const (
	KeySize      = 32
	MaxEventSize = 8104
	addrMax      = 64
)

// sliceMS is how long one blocking C call may wait before Go looks at the context again.
// The C API takes timeouts, not cancellation, so blocking calls are cut into slices.
const sliceMS = 50

// Version is the library's version string.
func Version() string { return capi.Nm_version() }

// Config configures a node. Start from DefaultConfig(): its zero value is not valid.
//
// IdentityFile, if set, is a path: both keys are loaded from it, or on first start saved to
// it (mode 0600), so the node id and public key that peers know survive restarts.
// SessionRateBytesPerSec, if set, paces each session: its backlogged streams share the rate
// in proportion to their FairnessWeight, and a stream queues at most 1 MiB before
// backpressure.
type Config struct {
	BindAddr               string        // "127.0.0.1:0" (this host only); "0.0.0.0:0" IPv4, "[::]:0" IPv4 and IPv6 peers
	PSK                    [KeySize]byte // mesh-wide pre-shared key, required (all-zero is refused)
	IdentitySeed           [KeySize]byte // ed25519 seed; all-zero = random identity
	StaticPrivateKey       [KeySize]byte // X25519 key; all-zero = random
	IdentityFile           string        // "" = none; else keys are loaded from / saved to it
	HeartbeatInterval      time.Duration // 5 s
	HandshakeTimeout       time.Duration // per attempt, 5 s
	HandshakeRetries       uint32        // attempts in all, 3
	SessionTimeout         time.Duration // 30 s
	StreamIdleTimeout      time.Duration // 5 min
	MaxStreams             uint32        // per session, 4096
	DefaultWindowBytes     uint32        // window of streams a peer opens towards us, 65536
	MaxEventBytes          uint32        // largest event sent or accepted, 16 MiB (fragmented above MaxEventSize)
	DrainTimeout           time.Duration // how long DrainThenClose waits for acknowledgements, 5 s
	Compat023              bool          // behave exactly like a net-mesh 0.23 node
	SuspectAfter           time.Duration // a neighbour without heartbeats is Suspected, 60 s ...
	FailAfter              time.Duration // ... then Failed (routes through it dropped), 90 s
	PingwaveTTL            uint8         // hops our route announcements (pingwaves) travel, 8
	SessionRateBytesPerSec uint64        // 0 = unpaced; else the most each session sends
	// Limits that bound what hostile peers cost (SECURITY.md).
	MaxSessions           uint32 // sessions plus unconfirmed handshakes, 1024
	HandshakeRatePerSec   uint32 // msg1s examined per second, 500 (0 = unlimited)
	MaxSessionBufferBytes uint64 // memory held for one peer's unread/early/large events, 32 MiB
	MaxBufferBytes        uint64 // the same for all peers together, 256 MiB
	// The congestion controller of sessions towards netmesh peers: Cubic (default), NewReno or Bbr.
	CongestionControl CongestionControl
	// 0 (default): off, the application calls ConnectDirect. Otherwise (at least 1 s) a session
	// relayed to a netmesh peer tries for a direct path on its own, when the peer's hello
	// arrives and then this often while it stays relayed (each try still relayed when the
	// next is due is a RelayFallback).
	AutoDirect time.Duration
}

// CongestionControl is the congestion controller of a session towards a netmesh peer.
type CongestionControl int

const (
	Cubic   CongestionControl = iota // NM_CC_CUBIC: CUBIC with HyStart++ (RFC 9438, RFC 9406)
	NewReno                          // NM_CC_NEW_RENO: NewReno (RFC 9002 §7)
	Bbr                              // NM_CC_BBR: BBR v1 (paced at its bandwidth estimate)
)

// DefaultConfig returns the library's defaults (nm_node_config_init); set PSK before use.
func DefaultConfig() Config {
	c := capi.NewNm_node_config_t()
	defer capi.DeleteNm_node_config_t(c)
	capi.Nm_node_config_init(c)
	return Config{
		BindAddr:               c.GetBind_addr(),
		IdentityFile:           c.GetIdentity_file(), // "" (NULL)
		HeartbeatInterval:      ms(c.GetHeartbeat_interval_ms()),
		HandshakeTimeout:       ms(c.GetHandshake_timeout_ms()),
		HandshakeRetries:       uint32(c.GetHandshake_retries()),
		SessionTimeout:         ms(c.GetSession_timeout_ms()),
		StreamIdleTimeout:      ms(c.GetStream_idle_timeout_ms()),
		MaxStreams:             uint32(c.GetMax_streams()),
		DefaultWindowBytes:     uint32(c.GetDefault_window_bytes()),
		MaxEventBytes:          uint32(c.GetMax_event_bytes()),
		DrainTimeout:           ms(c.GetDrain_timeout_ms()),
		Compat023:              c.GetCompat_0_23() != 0,
		SuspectAfter:           ms(c.GetSuspect_after_ms()),
		FailAfter:              ms(c.GetFail_after_ms()),
		PingwaveTTL:            c.GetPingwave_ttl(),
		SessionRateBytesPerSec: c.GetSession_rate_bytes_per_sec(),
		MaxSessions:            uint32(c.GetMax_sessions()),
		HandshakeRatePerSec:    uint32(c.GetHandshake_rate_per_sec()),
		MaxSessionBufferBytes:  c.GetMax_session_buffer_bytes(),
		MaxBufferBytes:         c.GetMax_buffer_bytes(),
		CongestionControl:      CongestionControl(c.GetCongestion_control()),
		AutoDirect:             ms(c.GetAuto_direct_ms()),
	}
}

func ms(v uint) time.Duration { return time.Duration(v) * time.Millisecond }

// durationError is the first of durations (name, value pairs) that does not fit a C
// uint32_t of unit (negative, or too large: SWIG's cast would wrap it), as
// ErrInvalidArgument of op; nil if all fit.
func durationError(op string, unit time.Duration, durations ...any) error {
	for i := 0; i < len(durations); i += 2 {
		d := durations[i+1].(time.Duration)
		if d < 0 || d/unit > math.MaxUint32 {
			return &Error{Op: op, Status: int(capi.NM_ERR_INVALID_ARGUMENT),
				Detail: fmt.Sprintf("%s = %v is out of range (0 to %v)", durations[i], d, math.MaxUint32*unit)}
		}
	}
	return nil
}

// toMS and toUS convert a duration checked by durationError.
func toMS(d time.Duration) uint { return uint(d / time.Millisecond) }

// Node is one mesh endpoint. It is safe for concurrent use; Close frees it.
type Node struct {
	h    atomic.Uintptr // 0 once closed
	id   uint64
	pub  [KeySize]byte
	addr string
}

// NewNode creates a node and binds its socket. A duration that does not fit the C config's
// uint32_t milliseconds (negative, or over 49 days) is ErrInvalidArgument.
func NewNode(cfg Config) (*Node, error) {
	if err := durationError("nm_node_new", time.Millisecond,
		"HeartbeatInterval", cfg.HeartbeatInterval, "HandshakeTimeout", cfg.HandshakeTimeout,
		"SessionTimeout", cfg.SessionTimeout, "StreamIdleTimeout", cfg.StreamIdleTimeout,
		"DrainTimeout", cfg.DrainTimeout, "SuspectAfter", cfg.SuspectAfter,
		"FailAfter", cfg.FailAfter, "AutoDirect", cfg.AutoDirect); err != nil {
		return nil, err
	}
	c := capi.NewNm_node_config_t()
	defer capi.DeleteNm_node_config_t(c)
	capi.Nm_node_config_init(c)
	// Pass copies of the keys: cgo checks the whole Go object a slice points into, and cfg
	// holds strings, which may be Go pointers (cgo refuses "Go pointer to Go pointer").
	psk, seed, priv := cfg.PSK, cfg.IdentitySeed, cfg.StaticPrivateKey
	c.SetPsk(psk[:])
	c.SetIdentity_seed(seed[:])
	c.SetStatic_private_key(priv[:])
	c.SetHeartbeat_interval_ms(toMS(cfg.HeartbeatInterval))
	c.SetHandshake_timeout_ms(toMS(cfg.HandshakeTimeout))
	c.SetHandshake_retries(uint(cfg.HandshakeRetries))
	c.SetSession_timeout_ms(toMS(cfg.SessionTimeout))
	c.SetStream_idle_timeout_ms(toMS(cfg.StreamIdleTimeout))
	c.SetMax_streams(uint(cfg.MaxStreams))
	c.SetDefault_window_bytes(uint(cfg.DefaultWindowBytes))
	c.SetMax_event_bytes(uint(cfg.MaxEventBytes))
	c.SetDrain_timeout_ms(toMS(cfg.DrainTimeout))
	if cfg.Compat023 {
		c.SetCompat_0_23(1)
	}
	c.SetSuspect_after_ms(toMS(cfg.SuspectAfter))
	c.SetFail_after_ms(toMS(cfg.FailAfter))
	c.SetPingwave_ttl(cfg.PingwaveTTL)
	c.SetSession_rate_bytes_per_sec(cfg.SessionRateBytesPerSec)
	c.SetMax_sessions(uint(cfg.MaxSessions))
	c.SetHandshake_rate_per_sec(uint(cfg.HandshakeRatePerSec))
	c.SetMax_session_buffer_bytes(cfg.MaxSessionBufferBytes)
	c.SetMax_buffer_bytes(cfg.MaxBufferBytes)
	c.SetCongestion_control(uint(cfg.CongestionControl))
	c.SetAuto_direct_ms(toMS(cfg.AutoDirect))

	var h uintptr
	if err := call("nm_node_new", func() capi.Enum_SS_nm_status {
		return capi.Nm_go_node_new(c, cfg.BindAddr, cfg.IdentityFile, &h)
	}); err != nil {
		return nil, err
	}
	n := &Node{}
	n.h.Store(h)
	// Identity and address never change: read them once so the getters cannot fail.
	addr := make([]byte, addrMax)
	var id uint64 // not &n.id, n.pub[:]: n holds a string (see the keys above)
	var pub [KeySize]byte
	err := errors.Join(
		call("nm_node_id", func() capi.Enum_SS_nm_status { return capi.Nm_node_id(h, &id) }),
		call("nm_node_public_key", func() capi.Enum_SS_nm_status { return capi.Nm_node_public_key(h, pub[:]) }),
		call("nm_node_local_addr", func() capi.Enum_SS_nm_status { return capi.Nm_node_local_addr(h, addr) }),
	)
	if err != nil {
		capi.Nm_node_free(h)
		return nil, err
	}
	n.id, n.pub, n.addr = id, pub, cString(addr)
	// A forgotten node would keep its socket and threads: free it with the Go object.
	runtime.SetFinalizer(n, (*Node).Close)
	return n, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// do runs a C call on the node's handle, or fails with ErrInvalidHandle once closed.
func (n *Node) do(op string, f func(h uintptr) capi.Enum_SS_nm_status) error {
	h := n.h.Load()
	if h == 0 {
		return closedError(op, "node")
	}
	err := call(op, func() capi.Enum_SS_nm_status { return f(h) })
	runtime.KeepAlive(n) // no finalizer may free the handle during the call
	return err
}

// ID is the node id (derived from the identity key).
func (n *Node) ID() uint64 { return n.id }

// PublicKey is the node's X25519 static public key, which initiators pass to Connect.
func (n *Node) PublicKey() [KeySize]byte { return n.pub }

// LocalAddr is "ip:port" of the bound socket.
func (n *Node) LocalAddr() string { return n.addr }

// Connect runs the handshake with the peer at addr whose public key and node id are known
// out of band. The C call cannot be interrupted: it takes up to HandshakeTimeout x
// HandshakeRetries. If ctx ends first, Connect returns ctx.Err() at once and the handshake
// finishes in the background (a session may still come up).
func (n *Node) Connect(ctx context.Context, addr string, key [KeySize]byte, peerID uint64) error {
	return n.handshake(ctx, func() error {
		return n.do("nm_node_connect", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_connect(h, addr, key[:], peerID)
		})
	})
}

// ConnectVia performs the routed handshake through relayAddr (which may be the peer
// itself: how a started net-mesh 0.23 node accepts new peers). The session's traffic then
// follows the mesh's routes.
func (n *Node) ConnectVia(ctx context.Context, relayAddr string, key [KeySize]byte, peerID uint64) error {
	return n.handshake(ctx, func() error {
		return n.do("nm_node_connect_via", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_connect_via(h, relayAddr, key[:], peerID)
		})
	})
}

// handshake runs a blocking connect, returning early (the handshake goes on) when ctx ends.
func (n *Node) handshake(ctx context.Context, connect func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil {
		return connect()
	}
	done := make(chan error, 1) // buffered: the goroutine never blocks on an abandoned result
	go func() { done <- connect() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Allow lets peerID open a session with this node from now on, without waiting (the
// permission persists). Accept does the same and then waits.
func (n *Node) Allow(peerID uint64) error {
	return n.do("nm_node_allow_peer", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_allow_peer(h, peerID)
	})
}

// Accept allows peerID (see Allow) and waits until a session with it exists or ctx ends.
func (n *Node) Accept(ctx context.Context, peerID uint64) error {
	for {
		err := n.do("nm_node_accept", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_accept(h, peerID, sliceTimeout(ctx))
		})
		if !errors.Is(err, ErrTimeout) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// sliceTimeout is the timeout of the next C call: sliceMS, less if ctx ends sooner, 0
// (don't wait) if it has ended.
func sliceTimeout(ctx context.Context) int { return timeoutWithin(ctx, sliceMS) }

// timeoutWithin is a C call's timeout: maxMS, less if ctx ends sooner, 0 if it has ended.
func timeoutWithin(ctx context.Context, maxMS int) int {
	if ctx.Err() != nil {
		return 0
	}
	t := maxMS
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return 0
		}
		if m := int((left + time.Millisecond - 1) / time.Millisecond); m < t {
			t = m
		}
	}
	return t
}

// EventFD is a descriptor that is readable while any stream of the node has unread events,
// and once the node shuts down. It belongs to the node: do not close it; it is valid until
// Close returns.
func (n *Node) EventFD() (int, error) {
	var fd int32
	err := n.do("nm_node_event_fd", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_event_fd(h, &fd)
	})
	return int(fd), err
}

// Stats returns the node's counters.
func (n *Node) Stats() (NodeStats, error) {
	c := capi.NewNm_node_stats_t()
	defer capi.DeleteNm_node_stats_t(c)
	err := n.do("nm_node_stats", func(h uintptr) capi.Enum_SS_nm_status { return capi.Nm_node_stats(h, c) })
	if err != nil {
		return NodeStats{}, err
	}
	return nodeStatsFrom(c), nil
}

// AllStreamStats returns the stats of every open stream of the node.
func (n *Node) AllStreamStats() ([]StreamStats, error) {
	var count uint64
	none := capi.SwigcptrNm_stream_stats_t(0)
	err := n.do("nm_node_all_stream_stats", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_all_stream_stats(h, none, 0, &count)
	})
	for err == nil {
		capacity := count + 8 // streams may open between the two calls
		arr := capi.Nm_go_stream_stats_array(int64(capacity))
		err = n.do("nm_node_all_stream_stats", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_all_stream_stats(h, arr, int64(capacity), &count)
		})
		if err == nil && count <= capacity {
			out := make([]StreamStats, count)
			for i := range out {
				out[i] = streamStatsFrom(capi.Nm_go_stream_stats_at(arr, int64(i)))
			}
			capi.Nm_go_stream_stats_array_free(arr)
			return out, nil
		}
		capi.Nm_go_stream_stats_array_free(arr)
	}
	return nil, err
}

// Close stops the node and frees it: calls blocked on it return ErrShutdown, and every
// later call on it or its streams fails. Close is io.Closer; a second Close fails with
// ErrInvalidHandle.
func (n *Node) Close() error {
	h := n.h.Swap(0)
	if h == 0 {
		return closedError("nm_node_free", "node")
	}
	runtime.SetFinalizer(n, nil)
	return call("nm_node_free", func() capi.Enum_SS_nm_status { return capi.Nm_node_free(h) })
}

// StreamIDFromKey is net-mesh's stream_id_from_key: xxh3-64 of the key bytes.
func StreamIDFromKey(key []byte) uint64 {
	var id uint64
	if len(key) == 0 {
		key = nil // the C API accepts (NULL, 0) for the empty key
	}
	capi.Nm_stream_id_from_key(key, &id) // cannot fail with a valid out pointer
	return id
}
