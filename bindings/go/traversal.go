package netmesh

import (
	"context"
	"errors"
	"math"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// NATType is what stands between a node and its peers, judged from the addresses two peers
// reached directly see its datagrams come from (nm_nat_type; net-mesh 0.23's NatClass).
type NATType int

const (
	NATUnknown   NATType = iota // not classified yet, or too few answers
	NATOpen                     // the peers see one of this host's own addresses and our port
	NATCone                     // every peer sees the same public address: one mapping for all
	NATSymmetric                // each peer sees another address or port: a mapping per destination
)

func (t NATType) String() string {
	switch t {
	case NATOpen:
		return "open"
	case NATCone:
		return "cone"
	case NATSymmetric:
		return "symmetric"
	}
	return "unknown"
}

// probeSliceMS is how long one C call of a reflex probe or classification may wait (ms): it
// sends its request up to 3 times in that time, then Go checks ctx and asks again.
const probeSliceMS = 1000

// ProbeReflex asks peerID from which "ip:port" it sees this node's datagrams come: the
// node's reflexive address, what a NAT on the way made of its socket's address. The peer
// must be reached directly (ErrNotConnected through relays); a net-mesh 0.23 peer answers
// too. It asks until an answer arrives or ctx ends (ctx.Err()).
func (n *Node) ProbeReflex(ctx context.Context, peerID uint64) (string, error) {
	buf := make([]byte, addrMax)
	err := n.untilAnswered(ctx, "nm_node_probe_reflex", func(h uintptr, ms int) capi.Enum_SS_nm_status {
		return capi.Nm_node_probe_reflex(h, peerID, ms, buf)
	})
	if err != nil {
		return "", err
	}
	return cString(buf), nil
}

// ClassifyNAT probes two peers reached directly at once and classifies the NAT (net-mesh
// 0.23's reclassify_nat); the node keeps the verdict (NAT). ErrNotConnected with fewer than
// two direct peers; ctx.Err() if neither answered before ctx ended.
func (n *Node) ClassifyNAT(ctx context.Context) (NATType, error) {
	var t int32
	err := n.untilAnswered(ctx, "nm_node_classify_nat", func(h uintptr, ms int) capi.Enum_SS_nm_status {
		return capi.Nm_node_classify_nat(h, ms, &t)
	})
	return NATType(t), err
}

// NAT is the last verdict of ClassifyNAT and the reflexive address it saw (NATUnknown and
// "" before one).
func (n *Node) NAT() (NATType, string, error) {
	var t int32
	err := n.do("nm_node_nat_type", func(h uintptr) capi.Enum_SS_nm_status { return capi.Nm_node_nat_type(h, &t) })
	if err != nil {
		return NATUnknown, "", err
	}
	buf := make([]byte, addrMax)
	err = n.do("nm_node_reflex_addr", func(h uintptr) capi.Enum_SS_nm_status { return capi.Nm_node_reflex_addr(h, buf) })
	return NATType(t), cString(buf), err
}

// ConnectDirect moves the session with peerID, reached through relays (ConnectVia), to a
// direct path through the NATs on the way: coordinator, a node both reach directly (0: the
// relay the session goes through), times a hole punch, then a path challenge on the punched
// path moves the session itself (same streams: reliable data goes on exactly once and in
// order). nil once direct (at once if it already was); ErrTimeout if not within the time
// ctx allows (at most 5 s without a deadline): the session stays relayed and working.
func (n *Node) ConnectDirect(ctx context.Context, peerID, coordinator uint64) error {
	ms := 5000
	if _, ok := ctx.Deadline(); ok {
		ms = timeoutWithin(ctx, math.MaxInt32)
	}
	return n.handshake(ctx, func() error {
		return n.do("nm_node_connect_direct", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_connect_direct(h, peerID, coordinator, ms)
		})
	})
}

// untilAnswered repeats a C call that waits up to its timeout for a peer's answer, in
// slices of probeSliceMS (less if ctx ends sooner), until it succeeds, fails otherwise, or
// ctx ends.
func (n *Node) untilAnswered(ctx context.Context, op string, f func(h uintptr, ms int) capi.Enum_SS_nm_status) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ms := timeoutWithin(ctx, probeSliceMS)
		err := n.do(op, func(h uintptr) capi.Enum_SS_nm_status { return f(h, ms) })
		if !errors.Is(err, ErrTimeout) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
