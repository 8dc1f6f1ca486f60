package netmesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// Route is a route the node knows (nm_route_t): direct neighbours have Metric 1 and
// NextHop == Dest.
type Route struct {
	Dest    uint64        // destination node id
	NextHop uint64        // neighbour the traffic goes to
	Metric  uint32        // 1 for a direct neighbour; larger is farther
	Age     time.Duration // since the route was last confirmed
}

// Routes returns the routes the node knows.
func (n *Node) Routes() ([]Route, error) {
	var count uint64
	none := capi.SwigcptrNm_route_t(0)
	err := n.do("nm_node_routes", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_routes(h, none, 0, &count)
	})
	for err == nil {
		capacity := count + 8 // routes may appear between the two calls
		arr := capi.Nm_go_route_array(int64(capacity))
		err = n.do("nm_node_routes", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_routes(h, arr, int64(capacity), &count)
		})
		if err == nil && count <= capacity {
			out := make([]Route, count)
			for i := range out {
				r := capi.Nm_go_route_at(arr, int64(i))
				out[i] = Route{
					Dest:    r.GetDest(),
					NextHop: r.GetNext_hop(),
					Metric:  uint32(r.GetMetric()),
					Age:     time.Duration(r.GetAge_ns()),
				}
			}
			capi.Nm_go_route_array_free(arr)
			return out, nil
		}
		capi.Nm_go_route_array_free(arr)
	}
	return nil, err
}

// PeerEventKind is what happened to a peer (nm_peer_event_kind).
type PeerEventKind int

const (
	PeerConnected PeerEventKind = 1 // NM_PEER_CONNECTED: a session was established (either role, direct or routed)
	PeerSuspected PeerEventKind = 2 // NM_PEER_SUSPECTED: a neighbour missed heartbeats for SuspectAfter
	PeerFailed    PeerEventKind = 3 // NM_PEER_FAILED: ... for FailAfter; routes through it were dropped
	PeerRecovered PeerEventKind = 4 // NM_PEER_RECOVERED: a Suspected or Failed neighbour is heard again
)

func (k PeerEventKind) String() string {
	switch k {
	case PeerConnected:
		return "Connected"
	case PeerSuspected:
		return "Suspected"
	case PeerFailed:
		return "Failed"
	case PeerRecovered:
		return "Recovered"
	}
	return fmt.Sprintf("PeerEventKind(%d)", int(k))
}

// PeerEvent is a change in a peer's liveness (nm_peer_event_t).
type PeerEvent struct {
	PeerNodeID uint64
	Kind       PeerEventKind
	AtNs       uint64 // CLOCK_MONOTONIC when it happened
}

// NextPeerEvent returns the next peer event (connected, suspected, failed, recovered),
// waiting as long as ctx allows (ctx.Err() when it ends). A ctx that has already ended makes
// one non-blocking attempt: use it to poll. The node keeps the latest 1024 events.
func (n *Node) NextPeerEvent(ctx context.Context) (PeerEvent, error) {
	c := capi.NewNm_peer_event_t()
	defer capi.DeleteNm_peer_event_t(c)
	for {
		err := n.do("nm_node_next_peer_event", func(h uintptr) capi.Enum_SS_nm_status {
			return capi.Nm_node_next_peer_event(h, c, sliceTimeout(ctx))
		})
		switch {
		case err == nil:
			return PeerEvent{
				PeerNodeID: c.GetPeer_node_id(),
				Kind:       PeerEventKind(c.GetKind()),
				AtNs:       c.GetAt_ns(),
			}, nil
		case errors.Is(err, ErrTimeout):
			if ctx.Err() != nil {
				return PeerEvent{}, ctx.Err()
			}
		default:
			return PeerEvent{}, err
		}
	}
}

// PeerEventFD is a descriptor that is readable while peer events are queued (see
// NextPeerEvent). It belongs to the node: do not close it; it is valid until Close returns.
func (n *Node) PeerEventFD() (int, error) {
	var fd int32
	err := n.do("nm_node_peer_event_fd", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_peer_event_fd(h, &fd)
	})
	return int(fd), err
}
