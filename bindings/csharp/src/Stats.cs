using Netmesh.Native;

namespace Netmesh
{
    /// <summary>A snapshot of nm_stream_stats_t.</summary>
    public sealed class StreamStats
    {
        /// <summary>Every field as Name=value, for logs.</summary>
        public override string ToString() => StatsText.Format(this);

        public ulong PeerNodeId { get; }
        public ulong StreamId { get; }
        /// <summary>Next sequence number to send.</summary>
        public ulong TxSeq { get; }
        /// <summary>Highest sequence received (0 before any), as net-mesh.</summary>
        public ulong RxSeq { get; }
        /// <summary>Events received, not yet read.</summary>
        public ulong InboundPending { get; }
        /// <summary>Last send/receive, nanoseconds since the Unix epoch (as net-mesh).</summary>
        public ulong LastActivityNs { get; }
        public bool Active { get; }
        public ulong BackpressureEvents { get; }
        /// <summary>ulong.MaxValue if the window is unbounded.</summary>
        public ulong TxCreditRemaining { get; }
        public ulong TxWindow { get; }
        public ulong CreditGrantsReceived { get; }
        public ulong CreditGrantsSent { get; }
        public ulong TxEvents { get; }
        public ulong RxEvents { get; }
        public ulong RxDuplicatesDropped { get; }
        public ulong RxGaps { get; }
        public bool Reliable { get; }
        /// <summary>Reliable with loss recovery (the peer is netmesh).</summary>
        public bool Recovering { get; }
        public ulong Retransmits { get; }
        public ulong NacksSent { get; }
        public ulong NacksReceived { get; }
        /// <summary>Packets kept for retransmission.</summary>
        public ulong TxUnackedPackets { get; }
        /// <summary>Smoothed round-trip time in ns, 0 before a sample.</summary>
        public ulong SrttNs { get; }
        /// <summary>Bytes received, unread.</summary>
        public ulong RxBufferedBytes { get; }
        /// <summary>Early packets waiting for a gap to fill.</summary>
        public ulong RxReorderPackets { get; }
        /// <summary>Fragmented events lost (fire-and-forget).</summary>
        public ulong RxIncompleteDropped { get; }
        /// <summary>Fragmented events above MaxEventBytes.</summary>
        public ulong RxOversizeDropped { get; }
        /// <summary>A net-mesh 0.23 sender reopened the stream (its sequences start again at 0).</summary>
        public ulong RxRestarts { get; }

        internal StreamStats(nm_stream_stats_t s)
        {
            PeerNodeId = s.peer_node_id;
            StreamId = s.stream_id;
            TxSeq = s.tx_seq;
            RxSeq = s.rx_seq;
            InboundPending = s.inbound_pending;
            LastActivityNs = s.last_activity_ns;
            Active = s.active != 0;
            BackpressureEvents = s.backpressure_events;
            TxCreditRemaining = s.tx_credit_remaining;
            TxWindow = s.tx_window;
            CreditGrantsReceived = s.credit_grants_received;
            CreditGrantsSent = s.credit_grants_sent;
            TxEvents = s.tx_events;
            RxEvents = s.rx_events;
            RxDuplicatesDropped = s.rx_duplicates_dropped;
            RxGaps = s.rx_gaps;
            Reliable = s.reliable != 0;
            Recovering = s.recovering != 0;
            Retransmits = s.retransmits;
            NacksSent = s.nacks_sent;
            NacksReceived = s.nacks_received;
            TxUnackedPackets = s.tx_unacked_packets;
            SrttNs = s.srtt_ns;
            RxBufferedBytes = s.rx_buffered_bytes;
            RxReorderPackets = s.rx_reorder_packets;
            RxIncompleteDropped = s.rx_incomplete_dropped;
            RxOversizeDropped = s.rx_oversize_dropped;
            RxRestarts = s.rx_restarts;
        }
    }

    /// <summary>A snapshot of nm_node_stats_t.</summary>
    public sealed class NodeStats
    {
        /// <summary>Every field as Name=value, for logs.</summary>
        public override string ToString() => StatsText.Format(this);

        public ulong Sessions { get; }
        public ulong DatagramsReceived { get; }
        public ulong DatagramsSent { get; }
        public ulong HandshakesCompleted { get; }
        public ulong HeartbeatsSent { get; }
        public ulong HeartbeatsReceived { get; }
        public ulong DropMalformed { get; }
        public ulong DropUnknownSession { get; }
        public ulong DropAuthFailed { get; }
        public ulong DropReplay { get; }
        public ulong DropHandshakeRejected { get; }
        public ulong DropUnexpectedHandshake { get; }
        public ulong DropUnknownSubprotocol { get; }
        public ulong DropBadGrant { get; }
        /// <summary>Grants, ACKs, NACKs for streams that do not exist.</summary>
        public ulong DropUnknownStream { get; }
        /// <summary>Fragments that belong to no event in progress.</summary>
        public ulong DropBadFragment { get; }
        /// <summary>Data beyond the receiving stream's credit window.</summary>
        public ulong DropOverWindow { get; }
        /// <summary>Grants for more than was ever sent (applied up to it).</summary>
        public ulong GrantsClamped { get; }
        /// <summary>Keep-alives; pingwaves not from a live neighbour.</summary>
        public ulong IgnoredMeshPackets { get; }
        // mesh
        public ulong PingwavesSent { get; }
        public ulong PingwavesReceived { get; }
        /// <summary>Routed packets relayed for others (never decrypted).</summary>
        public ulong Forwarded { get; }
        public ulong ForwardNoRoute { get; }
        public ulong ForwardTtlExpired { get; }
        // hostile-network defences (SECURITY.md)
        /// <summary>UDP payload bytes taken off the socket.</summary>
        public ulong BytesReceived { get; }
        /// <summary>UDP payload bytes written to the socket.</summary>
        public ulong BytesSent { get; }
        /// <summary>Routed packets not from a neighbour's proven address, or larger than a packet.</summary>
        public ulong ForwardRefused { get; }
        /// <summary>New pingwave origins beyond a neighbour's allowance.</summary>
        public ulong PingwaveOriginsRefused { get; }
        /// <summary>Re-broadcasts of raw pingwaves over their byte budget.</summary>
        public ulong PingwaveRelaysSuppressed { get; }
        /// <summary>msg1s beyond HandshakeRatePerSec, unexamined.</summary>
        public ulong DropHandshakeRateLimited { get; }
        /// <summary>Handshakes refused at MaxSessions.</summary>
        public ulong DropSessionLimit { get; }
        /// <summary>Unconfirmed sessions expired or evicted, silent ones pruned.</summary>
        public ulong SessionsPruned { get; }
        /// <summary>Now: responder sessions the peer has not confirmed yet.</summary>
        public ulong SessionsUnconfirmed { get; }
        /// <summary>Retransmissions, ACKs, probe answers held back by a peer's response budget.</summary>
        public ulong ResponsesDeferred { get; }
        /// <summary>Data beyond MaxSessionBufferBytes / MaxBufferBytes.</summary>
        public ulong DropOverBudget { get; }
        /// <summary>Reliable packets unacknowledged when their session was replaced or pruned.</summary>
        public ulong TxAbandonedPackets { get; }
        /// <summary>Datagrams not sent to a peer's new address beyond 3x what arrived from it,
        /// before it answered a path challenge.</summary>
        public ulong TxRefusedUnprovenPath { get; }
        /// <summary>NAT traversal: introductions acted on (keep-alives sent to a peer).</summary>
        public ulong PunchesAttempted { get; }
        /// <summary>Relayed sessions moved to a direct path.</summary>
        public ulong PunchesSucceeded { get; }
        /// <summary>ConnectDirect calls that ended still relayed.</summary>
        public ulong RelayFallbacks { get; }
        /// <summary>Datagrams the local network stack refused for their destination (no route,
        /// a firewall, a family the socket cannot reach); the others still went.</summary>
        public ulong TxRefusedByNetwork { get; }

        internal NodeStats(nm_node_stats_t s)
        {
            Sessions = s.sessions;
            DatagramsReceived = s.datagrams_received;
            DatagramsSent = s.datagrams_sent;
            HandshakesCompleted = s.handshakes_completed;
            HeartbeatsSent = s.heartbeats_sent;
            HeartbeatsReceived = s.heartbeats_received;
            DropMalformed = s.drop_malformed;
            DropUnknownSession = s.drop_unknown_session;
            DropAuthFailed = s.drop_auth_failed;
            DropReplay = s.drop_replay;
            DropHandshakeRejected = s.drop_handshake_rejected;
            DropUnexpectedHandshake = s.drop_unexpected_handshake;
            DropUnknownSubprotocol = s.drop_unknown_subprotocol;
            DropBadGrant = s.drop_bad_grant;
            DropUnknownStream = s.drop_unknown_stream;
            DropBadFragment = s.drop_bad_fragment;
            DropOverWindow = s.drop_over_window;
            GrantsClamped = s.grants_clamped;
            IgnoredMeshPackets = s.ignored_mesh_packets;
            PingwavesSent = s.pingwaves_sent;
            PingwavesReceived = s.pingwaves_received;
            Forwarded = s.forwarded;
            ForwardNoRoute = s.forward_no_route;
            ForwardTtlExpired = s.forward_ttl_expired;
            BytesReceived = s.bytes_received;
            BytesSent = s.bytes_sent;
            ForwardRefused = s.forward_refused;
            PingwaveOriginsRefused = s.pingwave_origins_refused;
            PingwaveRelaysSuppressed = s.pingwave_relays_suppressed;
            DropHandshakeRateLimited = s.drop_handshake_rate_limited;
            DropSessionLimit = s.drop_session_limit;
            SessionsPruned = s.sessions_pruned;
            SessionsUnconfirmed = s.sessions_unconfirmed;
            ResponsesDeferred = s.responses_deferred;
            DropOverBudget = s.drop_over_budget;
            TxAbandonedPackets = s.tx_abandoned_packets;
            TxRefusedUnprovenPath = s.tx_refused_unproven_path;
            PunchesAttempted = s.punches_attempted;
            PunchesSucceeded = s.punches_succeeded;
            RelayFallbacks = s.relay_fallbacks;
            TxRefusedByNetwork = s.tx_refused_by_network;
        }
    }
}
