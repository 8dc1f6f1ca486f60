package netmesh

import (
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// SessionStats are the path to one peer as its session sees it (nm_session_stats_t).
// Round-trip times are 0 before the first sample: a dialled session has one from its
// handshake; after that, samples come from session acknowledgements, which netmesh peers
// exchange (SessionAcks) and a net-mesh 0.23 peer does not. The flight and loss counters
// count data datagrams.
type SessionStats struct {
	PeerNodeID        uint64
	SessionAcks       bool // the peer acknowledges datagrams (netmesh)
	Routed            bool // reached through relays
	CongestionControl CongestionControl
	SRTT              time.Duration // smoothed round-trip time (RFC 9002)
	RTTVar            time.Duration // its mean deviation
	MinRTT            time.Duration
	LatestRTT         time.Duration
	RTTSamples        uint64 // the handshake's and one per acknowledgement that gave one
	BytesInFlight     uint64 // data datagrams sent, neither acknowledged nor declared lost
	DatagramsInFlight uint64
	DatagramsAcked    uint64
	DatagramsLost     uint64 // declared lost: LossThresholdDatagrams later ones acknowledged, or LossThresholdRTTEighths/8 RTT older
	ProbeTimeouts     uint64 // nothing acknowledged for a probe timeout with data in flight
	AcksSent          uint64 // session acknowledgement packets
	AcksReceived      uint64
	CwndBytes         uint64 // congestion window (0 towards a net-mesh 0.23 peer)
	PacingRate        uint64 // bytes per second: 1.25 x cwnd / srtt
	MaxDatagramBytes  uint64
	CongestionEvents  uint64 // window reductions (at most one per round trip)
	// Datagrams declared lost that the peer acknowledged later: the resend of their reliable
	// data was needless (each is also in DatagramsLost).
	SpuriousRetransmissions uint64
	PMTUProbesSent          uint64 // path MTU discovery: padded pings of the size tried
	PMTUProbesLost          uint64 // each a "no" for its size, not congestion
	PMTUBlackHoles          uint64 // fallbacks to the base size (1200 bytes, 1232 over IPv6)
	// Path migration (direct sessions between netmesh peers): moves to the peer's new
	// address (NAT rebinding), new addresses that answered a challenge, and challenges left
	// unanswered (back to the last validated address).
	PathMigrations  uint64
	PathValidations uint64
	PathReverts     uint64
	// New paths (a relayed session gone direct, a validated address at a new IP): congestion
	// window, RTT estimate and path MTU started again.
	PathRestarts uint64
	// Reordering: congestion events whose losses all proved spurious (the window went back),
	// and the loss thresholds, which spurious losses raise to what the path's reordering
	// needs (from 3 datagrams and 9/8 of the RTT, to at most 256 and 2 RTTs).
	CongestionEventsUndone  uint64
	LossThresholdDatagrams  uint64
	LossThresholdRTTEighths uint64
}

// SessionStats returns the path to peerID as its session sees it: round-trip times, data in
// flight, losses. ErrNotConnected without a session with that peer.
func (n *Node) SessionStats(peerID uint64) (SessionStats, error) {
	c := capi.NewNm_session_stats_t()
	defer capi.DeleteNm_session_stats_t(c)
	err := n.do("nm_node_session_stats", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_session_stats(h, peerID, c)
	})
	if err != nil {
		return SessionStats{}, err
	}
	return sessionStatsFrom(c), nil
}

func sessionStatsFrom(c capi.Nm_session_stats_t) SessionStats {
	return SessionStats{
		PeerNodeID:              c.GetPeer_node_id(),
		SessionAcks:             c.GetSession_acks() != 0,
		Routed:                  c.GetRouted() != 0,
		SRTT:                    time.Duration(c.GetSrtt_ns()),
		RTTVar:                  time.Duration(c.GetRttvar_ns()),
		MinRTT:                  time.Duration(c.GetMin_rtt_ns()),
		LatestRTT:               time.Duration(c.GetLatest_rtt_ns()),
		RTTSamples:              c.GetRtt_samples(),
		BytesInFlight:           c.GetBytes_in_flight(),
		DatagramsInFlight:       c.GetDatagrams_in_flight(),
		DatagramsAcked:          c.GetDatagrams_acked(),
		DatagramsLost:           c.GetDatagrams_lost(),
		ProbeTimeouts:           c.GetProbe_timeouts(),
		AcksSent:                c.GetAcks_sent(),
		AcksReceived:            c.GetAcks_received(),
		CwndBytes:               c.GetCwnd_bytes(),
		PacingRate:              c.GetPacing_rate_bytes_per_sec(),
		MaxDatagramBytes:        c.GetMax_datagram_bytes(),
		CongestionControl:       CongestionControl(c.GetCongestion_control()),
		CongestionEvents:        c.GetCongestion_events(),
		SpuriousRetransmissions: c.GetSpurious_retransmissions(),
		PMTUProbesSent:          c.GetPmtu_probes_sent(),
		PMTUProbesLost:          c.GetPmtu_probes_lost(),
		PMTUBlackHoles:          c.GetPmtu_black_holes(),
		PathMigrations:          c.GetPath_migrations(),
		PathValidations:         c.GetPath_validations(),
		PathReverts:             c.GetPath_reverts(),
		PathRestarts:            c.GetPath_restarts(),
		CongestionEventsUndone:  c.GetCongestion_events_undone(),
		LossThresholdDatagrams:  c.GetLoss_threshold_datagrams(),
		LossThresholdRTTEighths: c.GetLoss_threshold_rtt_eighths(),
	}
}
