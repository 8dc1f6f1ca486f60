package dev.netmesh;

import dev.netmesh.internal.nm_peer_event_kind;

/** What happened to a peer, see {@link PeerEvent}. */
public enum PeerEventKind {
  /** A session was established (either role, direct or routed). */
  CONNECTED(nm_peer_event_kind.NM_PEER_CONNECTED),
  /** A neighbour missed heartbeats for suspectAfter. */
  SUSPECTED(nm_peer_event_kind.NM_PEER_SUSPECTED),
  /** ... and for failAfter: routes through it were dropped. */
  FAILED(nm_peer_event_kind.NM_PEER_FAILED),
  /** A Suspected or Failed neighbour is heard again. */
  RECOVERED(nm_peer_event_kind.NM_PEER_RECOVERED);

  final int code;

  PeerEventKind(int code) { this.code = code; }

  static PeerEventKind of(int code) {
    for (PeerEventKind k : values()) if (k.code == code) return k;
    throw new IllegalStateException("unknown nm_peer_event_kind " + code);
  }
}
