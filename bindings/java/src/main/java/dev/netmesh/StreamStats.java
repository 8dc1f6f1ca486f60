package dev.netmesh;

import dev.netmesh.internal.nm_stream_stats_t;

/**
 * A snapshot of one stream's counters (the C nm_stream_stats_t). Counters are unsigned
 * 64-bit values in Java longs: txCreditRemaining is -1 (UINT64_MAX) on an unbounded stream;
 * print with Long.toUnsignedString. lastActivityNs is the last send/receive in nanoseconds
 * since the Unix epoch (as net-mesh). recovering: reliable with loss recovery (netmesh peer).
 */
public record StreamStats(long peerNodeId, long streamId, long txSeq, long rxSeq, long inboundPending,
                          long lastActivityNs, boolean active, long backpressureEvents,
                          long txCreditRemaining, long txWindow, long creditGrantsReceived,
                          long creditGrantsSent, long txEvents, long rxEvents, long rxDuplicatesDropped,
                          long rxGaps, boolean reliable, boolean recovering, long retransmits,
                          long nacksSent, long nacksReceived, long txUnackedPackets, long srttNs,
                          long rxBufferedBytes, long rxReorderPackets, long rxIncompleteDropped,
                          long rxOversizeDropped, long rxRestarts) {
  static StreamStats from(nm_stream_stats_t s) {
    return new StreamStats(s.getPeer_node_id(), s.getStream_id(), s.getTx_seq(), s.getRx_seq(),
        s.getInbound_pending(), s.getLast_activity_ns(), s.getActive() != 0, s.getBackpressure_events(),
        s.getTx_credit_remaining(), s.getTx_window(), s.getCredit_grants_received(),
        s.getCredit_grants_sent(), s.getTx_events(), s.getRx_events(), s.getRx_duplicates_dropped(),
        s.getRx_gaps(), s.getReliable() != 0, s.getRecovering() != 0, s.getRetransmits(),
        s.getNacks_sent(), s.getNacks_received(), s.getTx_unacked_packets(), s.getSrtt_ns(),
        s.getRx_buffered_bytes(), s.getRx_reorder_packets(), s.getRx_incomplete_dropped(),
        s.getRx_oversize_dropped(), s.getRx_restarts());
  }
}
