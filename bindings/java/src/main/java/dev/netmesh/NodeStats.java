package dev.netmesh;

import dev.netmesh.internal.nm_node_stats_t;

/**
 * A snapshot of a node's counters (the C nm_node_stats_t): traffic, drops by reason (nothing
 * hostile crashes the node), the mesh (pingwaves, packets relayed for others) and the
 * hostile-network defences. Fault injection has its own, {@link ImpairmentStats}.
 */
public record NodeStats(long sessions, long datagramsReceived, long datagramsSent, long handshakesCompleted,
                        long heartbeatsSent, long heartbeatsReceived, long dropMalformed,
                        long dropUnknownSession, long dropAuthFailed, long dropReplay,
                        long dropHandshakeRejected, long dropUnexpectedHandshake,
                        long dropUnknownSubprotocol, long dropBadGrant, long dropUnknownStream,
                        long dropBadFragment, long dropOverWindow, long grantsClamped,
                        long ignoredMeshPackets, long pingwavesSent, long pingwavesReceived,
                        long forwarded, long forwardNoRoute, long forwardTtlExpired,
                        // hostile-network defences (SECURITY.md)
                        long bytesReceived,
                        long bytesSent,
                        long forwardRefused,
                        long pingwaveOriginsRefused,
                        long pingwaveRelaysSuppressed,
                        long dropHandshakeRateLimited,
                        long dropSessionLimit,
                        long sessionsPruned,
                        long sessionsUnconfirmed,
                        long responsesDeferred,
                        long dropOverBudget,
                        long txAbandonedPackets,
                        long txRefusedUnprovenPath,
                        long punchesAttempted,
                        long punchesSucceeded,
                        long relayFallbacks,
                        long txRefusedByNetwork) {
  static NodeStats from(nm_node_stats_t s) {
    return new NodeStats(s.getSessions(), s.getDatagrams_received(), s.getDatagrams_sent(),
        s.getHandshakes_completed(), s.getHeartbeats_sent(), s.getHeartbeats_received(),
        s.getDrop_malformed(), s.getDrop_unknown_session(), s.getDrop_auth_failed(), s.getDrop_replay(),
        s.getDrop_handshake_rejected(), s.getDrop_unexpected_handshake(),
        s.getDrop_unknown_subprotocol(), s.getDrop_bad_grant(), s.getDrop_unknown_stream(),
        s.getDrop_bad_fragment(), s.getDrop_over_window(), s.getGrants_clamped(),
        s.getIgnored_mesh_packets(), s.getPingwaves_sent(), s.getPingwaves_received(),
        s.getForwarded(), s.getForward_no_route(), s.getForward_ttl_expired(),
        s.getBytes_received(), s.getBytes_sent(), s.getForward_refused(), s.getPingwave_origins_refused(), s.getPingwave_relays_suppressed(), s.getDrop_handshake_rate_limited(), s.getDrop_session_limit(), s.getSessions_pruned(), s.getSessions_unconfirmed(), s.getResponses_deferred(), s.getDrop_over_budget(), s.getTx_abandoned_packets(),
        s.getTx_refused_unproven_path(), s.getPunches_attempted(), s.getPunches_succeeded(),
        s.getRelay_fallbacks(), s.getTx_refused_by_network());
  }
}
