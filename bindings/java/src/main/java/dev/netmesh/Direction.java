package dev.netmesh;

import dev.netmesh.internal.nm_direction;

/** Which datagrams an {@link Impairment} applies to. */
public enum Direction {
  OUTBOUND(nm_direction.NM_OUTBOUND),
  INBOUND(nm_direction.NM_INBOUND),
  BOTH(nm_direction.NM_BOTH_DIRECTIONS);

  final int code;

  Direction(int code) { this.code = code; }
}
