package dev.netmesh;

import dev.netmesh.internal.nm_reliability;

public enum Reliability {
  FIRE_AND_FORGET(nm_reliability.NM_FIRE_AND_FORGET),
  RELIABLE(nm_reliability.NM_RELIABLE);

  final int code;

  Reliability(int code) { this.code = code; }

  static Reliability of(int code) { return code == RELIABLE.code ? RELIABLE : FIRE_AND_FORGET; }
}
