using Netmesh.Native;

namespace Netmesh
{
    /// <summary>A snapshot of nm_session_stats_t: the path to one peer as its session sees it.
    /// Round-trip times are nanoseconds, 0 before the first sample: a dialled session has one
    /// from its handshake; after that, samples come from session acknowledgements, which netmesh
    /// peers exchange (<see cref="SessionAcks"/>) and a net-mesh 0.23 peer does not. The flight
    /// and loss counters count data datagrams.</summary>
    public sealed class SessionStats
    {
        /// <summary>Every field as Name=value, for logs.</summary>
        public override string ToString() => StatsText.Format(this);

        public ulong PeerNodeId { get; }
        /// <summary>The peer acknowledges datagrams (netmesh).</summary>
        public bool SessionAcks { get; }
        /// <summary>Reached through relays.</summary>
        public bool Routed { get; }
        public CongestionControl CongestionControl { get; }
        /// <summary>Smoothed round-trip time in ns (RFC 9002).</summary>
        public ulong SrttNs { get; }
        /// <summary>Its mean deviation in ns.</summary>
        public ulong RttvarNs { get; }
        public ulong MinRttNs { get; }
        public ulong LatestRttNs { get; }
        /// <summary>The handshake's and one per acknowledgement that gave one.</summary>
        public ulong RttSamples { get; }
        /// <summary>Data datagrams sent, neither acknowledged nor declared lost.</summary>
        public ulong BytesInFlight { get; }
        public ulong DatagramsInFlight { get; }
        public ulong DatagramsAcked { get; }
        /// <summary>Declared lost: LossThresholdDatagrams later ones acknowledged, or
        /// LossThresholdRttEighths / 8 of the RTT older.</summary>
        public ulong DatagramsLost { get; }
        /// <summary>Nothing acknowledged for a probe timeout with data in flight.</summary>
        public ulong ProbeTimeouts { get; }
        /// <summary>Session acknowledgement packets.</summary>
        public ulong AcksSent { get; }
        public ulong AcksReceived { get; }
        /// <summary>Congestion window in bytes (0 towards a net-mesh 0.23 peer).</summary>
        public ulong CwndBytes { get; }
        /// <summary>Bytes per second: 1.25 x cwnd / srtt.</summary>
        public ulong PacingRateBytesPerSec { get; }
        public ulong MaxDatagramBytes { get; }
        /// <summary>Window reductions (at most one per round trip).</summary>
        public ulong CongestionEvents { get; }
        /// <summary>Datagrams declared lost that the peer acknowledged later: the resend of their
        /// reliable data was needless (each is also in DatagramsLost).</summary>
        public ulong SpuriousRetransmissions { get; }
        /// <summary>Path MTU discovery: padded pings of the size tried.</summary>
        public ulong PmtuProbesSent { get; }
        /// <summary>Each a "no" for its size, not congestion.</summary>
        public ulong PmtuProbesLost { get; }
        /// <summary>Fallbacks to the base size (1200 bytes, 1232 over IPv6): large datagrams stopped arriving.</summary>
        public ulong PmtuBlackHoles { get; }
        /// <summary>Path migration: moves to the peer's new address (a NAT rebinding).</summary>
        public ulong PathMigrations { get; }
        /// <summary>New addresses that answered a challenge.</summary>
        public ulong PathValidations { get; }
        /// <summary>Challenges unanswered: back to the last validated address.</summary>
        public ulong PathReverts { get; }
        /// <summary>New paths (a relayed session gone direct, a validated address at a new IP):
        /// congestion window, RTT estimate and path MTU started again.</summary>
        public ulong PathRestarts { get; }
        /// <summary>Congestion events whose losses all proved spurious (the path reordered,
        /// nothing was lost): the window went back.</summary>
        public ulong CongestionEventsUndone { get; }
        /// <summary>Later datagrams acknowledged before one is declared lost: 3, raised by
        /// spurious losses to what the path's reordering needs (at most 256).</summary>
        public ulong LossThresholdDatagrams { get; }
        /// <summary>How much older than an acknowledged one, in eighths of the RTT, a datagram
        /// is declared lost: 9, raised by spurious losses (at most 16).</summary>
        public ulong LossThresholdRttEighths { get; }

        internal SessionStats(nm_session_stats_t s)
        {
            PeerNodeId = s.peer_node_id;
            SessionAcks = s.session_acks != 0;
            Routed = s.routed != 0;
            CongestionControl = (CongestionControl)s.congestion_control;
            SrttNs = s.srtt_ns;
            RttvarNs = s.rttvar_ns;
            MinRttNs = s.min_rtt_ns;
            LatestRttNs = s.latest_rtt_ns;
            RttSamples = s.rtt_samples;
            BytesInFlight = s.bytes_in_flight;
            DatagramsInFlight = s.datagrams_in_flight;
            DatagramsAcked = s.datagrams_acked;
            DatagramsLost = s.datagrams_lost;
            ProbeTimeouts = s.probe_timeouts;
            AcksSent = s.acks_sent;
            AcksReceived = s.acks_received;
            CwndBytes = s.cwnd_bytes;
            PacingRateBytesPerSec = s.pacing_rate_bytes_per_sec;
            MaxDatagramBytes = s.max_datagram_bytes;
            CongestionEvents = s.congestion_events;
            SpuriousRetransmissions = s.spurious_retransmissions;
            PmtuProbesSent = s.pmtu_probes_sent;
            PmtuProbesLost = s.pmtu_probes_lost;
            PmtuBlackHoles = s.pmtu_black_holes;
            PathMigrations = s.path_migrations;
            PathValidations = s.path_validations;
            PathReverts = s.path_reverts;
            PathRestarts = s.path_restarts;
            CongestionEventsUndone = s.congestion_events_undone;
            LossThresholdDatagrams = s.loss_threshold_datagrams;
            LossThresholdRttEighths = s.loss_threshold_rtt_eighths;
        }
    }
}
