package dev.netmesh;

import dev.netmesh.internal.nm_node_stats_t;

/**
 * A snapshot of a node's counters (the C nm_node_stats_t): traffic, drops by reason (nothing
 * hostile crashes the node) and fault injection, both directions summed.
 */
public record NodeStats(long sessions, long datagramsReceived, long datagramsSent, long handshakesCompleted,
                        long heartbeatsSent, long heartbeatsReceived, long dropMalformed,
                        long dropUnknownSession, long dropAuthFailed, long dropReplay,
                        long dropHandshakeRejected, long dropUnexpectedHandshake,
                        long dropUnknownSubprotocol, long dropBadGrant, long impairSeen,
                        long impairDroppedLoss, long impairDroppedBurst, long impairDroppedRate,
                        long impairDroppedOversize, long impairDuplicated, long impairReordered,
                        long impairDelayed, long impairCorrupted) {
  static NodeStats from(nm_node_stats_t s) {
    return new NodeStats(s.getSessions(), s.getDatagrams_received(), s.getDatagrams_sent(),
        s.getHandshakes_completed(), s.getHeartbeats_sent(), s.getHeartbeats_received(),
        s.getDrop_malformed(), s.getDrop_unknown_session(), s.getDrop_auth_failed(), s.getDrop_replay(),
        s.getDrop_handshake_rejected(), s.getDrop_unexpected_handshake(),
        s.getDrop_unknown_subprotocol(), s.getDrop_bad_grant(), s.getImpair_seen(),
        s.getImpair_dropped_loss(), s.getImpair_dropped_burst(), s.getImpair_dropped_rate(),
        s.getImpair_dropped_oversize(), s.getImpair_duplicated(), s.getImpair_reordered(),
        s.getImpair_delayed(), s.getImpair_corrupted());
  }
}
