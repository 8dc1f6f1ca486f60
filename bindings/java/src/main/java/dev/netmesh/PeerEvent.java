package dev.netmesh;

import dev.netmesh.internal.nm_peer_event_t;

/**
 * A peer liveness event (the C nm_peer_event_t), from {@link Node#nextPeerEvent}. atNs is
 * the CLOCK_MONOTONIC time it happened, like StreamStats.lastActivityNs.
 */
public record PeerEvent(long peerNodeId, PeerEventKind kind, long atNs) {
  static PeerEvent from(nm_peer_event_t e) {
    return new PeerEvent(e.getPeer_node_id(), PeerEventKind.of((int) e.getKind()), e.getAt_ns());
  }
}
