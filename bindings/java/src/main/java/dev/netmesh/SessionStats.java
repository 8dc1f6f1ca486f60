package dev.netmesh;

import dev.netmesh.internal.nm_session_stats_t;

/**
 * The path to one peer as its session sees it (the C nm_session_stats_t). Round-trip figures
 * are nanoseconds, 0 before the first sample: a dialled session has one from its handshake;
 * after that, samples come from session acknowledgements, which netmesh peers exchange
 * (sessionAcks) and a net-mesh 0.23 peer does not. routed: reached through relays. The flight
 * and loss counters count data datagrams; datagramsLost: lossThresholdDatagrams later ones
 * acknowledged, or lossThresholdRttEighths / 8 of the RTT older; probeTimeouts: nothing acknowledged for a probe timeout with data in flight.
 * congestionControl, cwndBytes, pacingRateBytesPerSec (1.25 x cwnd / srtt), maxDatagramBytes,
 * congestionEvents (window reductions): congestion control, 0 towards a net-mesh 0.23 peer.
 * spuriousRetransmissions: datagrams declared lost that the peer acknowledged later (the
 * resend of their reliable data was needless; each is also in datagramsLost). pmtuProbesSent,
 * pmtuProbesLost, pmtuBlackHoles: path MTU discovery (padded pings of the size tried; each
 * lost one is a "no" for its size; fallbacks to the base size, 1200 bytes or 1232 over IPv6). pathMigrations, pathValidations,
 * pathReverts: path migration (moves to the peer's new address, e.g. a NAT rebinding; new
 * addresses that answered a challenge; challenges unanswered, back to the validated address).
 * pathRestarts: new paths (a relayed session gone direct, a validated address at a new IP):
 * congestion window, RTT estimate and path MTU started again. congestionEventsUndone: congestion
 * events whose losses all proved spurious (the path reordered; the window went back);
 * lossThresholdDatagrams, lossThresholdRttEighths: the loss thresholds, which spurious losses
 * raise to what the path's reordering needs (from 3 and 9/8 RTT, to at most 256 and 2 RTTs).
 */
public record SessionStats(long peerNodeId, boolean sessionAcks, boolean routed,
                           CongestionControl congestionControl, long srttNs, long rttvarNs,
                           long minRttNs, long latestRttNs, long rttSamples, long bytesInFlight,
                           long datagramsInFlight, long datagramsAcked, long datagramsLost,
                           long probeTimeouts, long acksSent, long acksReceived, long cwndBytes,
                           long pacingRateBytesPerSec, long maxDatagramBytes, long congestionEvents,
                           long spuriousRetransmissions, long pmtuProbesSent, long pmtuProbesLost,
                           long pmtuBlackHoles, long pathMigrations, long pathValidations,
                           long pathReverts, long pathRestarts, long congestionEventsUndone,
                           long lossThresholdDatagrams, long lossThresholdRttEighths) {
  static SessionStats from(nm_session_stats_t s) {
    return new SessionStats(s.getPeer_node_id(), s.getSession_acks() != 0, s.getRouted() != 0,
        CongestionControl.of(s.getCongestion_control()), s.getSrtt_ns(),
        s.getRttvar_ns(), s.getMin_rtt_ns(), s.getLatest_rtt_ns(), s.getRtt_samples(), s.getBytes_in_flight(),
        s.getDatagrams_in_flight(), s.getDatagrams_acked(), s.getDatagrams_lost(), s.getProbe_timeouts(),
        s.getAcks_sent(), s.getAcks_received(), s.getCwnd_bytes(), s.getPacing_rate_bytes_per_sec(),
        s.getMax_datagram_bytes(), s.getCongestion_events(), s.getSpurious_retransmissions(),
        s.getPmtu_probes_sent(), s.getPmtu_probes_lost(), s.getPmtu_black_holes(),
        s.getPath_migrations(), s.getPath_validations(), s.getPath_reverts(),
        s.getPath_restarts(), s.getCongestion_events_undone(), s.getLoss_threshold_datagrams(),
        s.getLoss_threshold_rtt_eighths());
  }
}
