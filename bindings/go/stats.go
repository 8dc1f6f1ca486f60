package netmesh

import (
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// NodeStats are a node's counters (nm_node_stats_t).
type NodeStats struct {
	Sessions            uint64
	DatagramsReceived   uint64
	DatagramsSent       uint64
	HandshakesCompleted uint64
	HeartbeatsSent      uint64
	HeartbeatsReceived  uint64
	// Drops by reason: nothing hostile crashes the node, everything is counted.
	DropMalformed           uint64
	DropUnknownSession      uint64
	DropAuthFailed          uint64
	DropReplay              uint64
	DropHandshakeRejected   uint64 // msg1/msg2 that failed Noise (wrong PSK, key, id)
	DropUnexpectedHandshake uint64
	DropUnknownSubprotocol  uint64
	DropBadGrant            uint64
	DropUnknownStream       uint64 // grants, ACKs, NACKs for streams that do not exist
	DropBadFragment         uint64 // fragments that belong to no event in progress
	DropOverWindow          uint64 // data beyond the receiving stream's credit window
	GrantsClamped           uint64 // grants for more than was ever sent (applied up to it)
	IgnoredMeshPackets      uint64 // keep-alives; pingwaves not from a live neighbour
	// Mesh.
	PingwavesSent     uint64
	PingwavesReceived uint64
	Forwarded         uint64 // routed packets relayed for others (never decrypted)
	ForwardNoRoute    uint64
	ForwardTTLExpired uint64
	// Hostile-network defences (SECURITY.md).
	BytesReceived            uint64 // UDP payload bytes taken off the socket
	BytesSent                uint64 // UDP payload bytes written to the socket
	ForwardRefused           uint64 // routed packets not from a neighbour's proven address, or larger than a packet
	PingwaveOriginsRefused   uint64 // new origins beyond a neighbour's allowance
	PingwaveRelaysSuppressed uint64 // re-broadcasts of raw pingwaves over their byte budget
	DropHandshakeRateLimited uint64 // msg1s beyond HandshakeRatePerSec, unexamined
	DropSessionLimit         uint64 // handshakes refused at MaxSessions
	SessionsPruned           uint64 // unconfirmed sessions expired or evicted, silent ones pruned
	SessionsUnconfirmed      uint64 // now: responder sessions not yet confirmed by the peer
	ResponsesDeferred        uint64 // retransmissions, ACKs, probe answers held back by a peer's response budget
	DropOverBudget           uint64 // data beyond MaxSessionBufferBytes / MaxBufferBytes
	TxAbandonedPackets       uint64 // reliable packets unacknowledged when their session was replaced or pruned
	TxRefusedUnprovenPath    uint64 // datagrams not sent to a peer's new address beyond 3x what arrived from it before it answered a challenge
	PunchesAttempted         uint64 // NAT traversal: introductions acted on (keep-alives sent to a peer)
	PunchesSucceeded         uint64 // relayed sessions moved to a direct path
	RelayFallbacks           uint64 // ConnectDirect calls that ended still relayed
	TxRefusedByNetwork       uint64 // datagrams the local network stack refused for their destination (no route, a firewall, a family the socket cannot reach)
}

// StreamStats are a stream's counters (nm_stream_stats_t).
type StreamStats struct {
	PeerNodeID           uint64
	StreamID             uint64
	TxSeq                uint64 // next sequence number to send
	RxSeq                uint64 // highest sequence received (0 before any), as net-mesh
	InboundPending       uint64 // events received, not yet read
	LastActivityNs       uint64 // last send/receive, ns since the Unix epoch (as net-mesh)
	Active               bool   // the stream is open
	BackpressureEvents   uint64 // sends refused for lack of credit
	TxCreditRemaining    uint64 // math.MaxUint64 if unbounded
	TxWindow             uint64
	CreditGrantsReceived uint64
	CreditGrantsSent     uint64
	TxEvents             uint64
	RxEvents             uint64
	RxDuplicatesDropped  uint64
	RxGaps               uint64
	Reliable             bool
	Recovering           bool // reliable with loss recovery (the peer is netmesh)
	Retransmits          uint64
	NacksSent            uint64
	NacksReceived        uint64
	TxUnackedPackets     uint64        // kept for retransmission
	SRTT                 time.Duration // smoothed round-trip time, 0 before a sample
	RxBufferedBytes      uint64        // received, unread
	RxReorderPackets     uint64        // early packets waiting for a gap to fill
	RxIncompleteDropped  uint64        // fragmented events lost (fire-and-forget)
	RxOversizeDropped    uint64        // fragmented events above MaxEventBytes
	RxRestarts           uint64        // a net-mesh 0.23 sender reopened the stream (sequences from 0)
}

func nodeStatsFrom(c capi.Nm_node_stats_t) NodeStats {
	return NodeStats{
		Sessions:                 c.GetSessions(),
		DatagramsReceived:        c.GetDatagrams_received(),
		DatagramsSent:            c.GetDatagrams_sent(),
		HandshakesCompleted:      c.GetHandshakes_completed(),
		HeartbeatsSent:           c.GetHeartbeats_sent(),
		HeartbeatsReceived:       c.GetHeartbeats_received(),
		DropMalformed:            c.GetDrop_malformed(),
		DropUnknownSession:       c.GetDrop_unknown_session(),
		DropAuthFailed:           c.GetDrop_auth_failed(),
		DropReplay:               c.GetDrop_replay(),
		DropHandshakeRejected:    c.GetDrop_handshake_rejected(),
		DropUnexpectedHandshake:  c.GetDrop_unexpected_handshake(),
		DropUnknownSubprotocol:   c.GetDrop_unknown_subprotocol(),
		DropBadGrant:             c.GetDrop_bad_grant(),
		DropUnknownStream:        c.GetDrop_unknown_stream(),
		DropBadFragment:          c.GetDrop_bad_fragment(),
		DropOverWindow:           c.GetDrop_over_window(),
		GrantsClamped:            c.GetGrants_clamped(),
		IgnoredMeshPackets:       c.GetIgnored_mesh_packets(),
		PingwavesSent:            c.GetPingwaves_sent(),
		PingwavesReceived:        c.GetPingwaves_received(),
		Forwarded:                c.GetForwarded(),
		ForwardNoRoute:           c.GetForward_no_route(),
		ForwardTTLExpired:        c.GetForward_ttl_expired(),
		BytesReceived:            c.GetBytes_received(),
		BytesSent:                c.GetBytes_sent(),
		ForwardRefused:           c.GetForward_refused(),
		PingwaveOriginsRefused:   c.GetPingwave_origins_refused(),
		PingwaveRelaysSuppressed: c.GetPingwave_relays_suppressed(),
		DropHandshakeRateLimited: c.GetDrop_handshake_rate_limited(),
		DropSessionLimit:         c.GetDrop_session_limit(),
		SessionsPruned:           c.GetSessions_pruned(),
		SessionsUnconfirmed:      c.GetSessions_unconfirmed(),
		ResponsesDeferred:        c.GetResponses_deferred(),
		DropOverBudget:           c.GetDrop_over_budget(),
		TxAbandonedPackets:       c.GetTx_abandoned_packets(),
		TxRefusedUnprovenPath:    c.GetTx_refused_unproven_path(),
		PunchesAttempted:         c.GetPunches_attempted(),
		PunchesSucceeded:         c.GetPunches_succeeded(),
		RelayFallbacks:           c.GetRelay_fallbacks(),
		TxRefusedByNetwork:       c.GetTx_refused_by_network(),
	}
}

func streamStatsFrom(c capi.Nm_stream_stats_t) StreamStats {
	return StreamStats{
		PeerNodeID:           c.GetPeer_node_id(),
		StreamID:             c.GetStream_id(),
		TxSeq:                c.GetTx_seq(),
		RxSeq:                c.GetRx_seq(),
		InboundPending:       c.GetInbound_pending(),
		LastActivityNs:       c.GetLast_activity_ns(),
		Active:               c.GetActive() != 0,
		BackpressureEvents:   c.GetBackpressure_events(),
		TxCreditRemaining:    c.GetTx_credit_remaining(),
		TxWindow:             c.GetTx_window(),
		CreditGrantsReceived: c.GetCredit_grants_received(),
		CreditGrantsSent:     c.GetCredit_grants_sent(),
		TxEvents:             c.GetTx_events(),
		RxEvents:             c.GetRx_events(),
		RxDuplicatesDropped:  c.GetRx_duplicates_dropped(),
		RxGaps:               c.GetRx_gaps(),
		Reliable:             c.GetReliable() != 0,
		Recovering:           c.GetRecovering() != 0,
		Retransmits:          c.GetRetransmits(),
		NacksSent:            c.GetNacks_sent(),
		NacksReceived:        c.GetNacks_received(),
		TxUnackedPackets:     c.GetTx_unacked_packets(),
		SRTT:                 time.Duration(c.GetSrtt_ns()),
		RxBufferedBytes:      c.GetRx_buffered_bytes(),
		RxReorderPackets:     c.GetRx_reorder_packets(),
		RxIncompleteDropped:  c.GetRx_incomplete_dropped(),
		RxOversizeDropped:    c.GetRx_oversize_dropped(),
		RxRestarts:           c.GetRx_restarts(),
	}
}
