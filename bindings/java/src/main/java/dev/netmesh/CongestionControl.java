package dev.netmesh;

import dev.netmesh.internal.nm_congestion_control;

/** The congestion controller of a session towards a netmesh peer. */
public enum CongestionControl {
  /** CUBIC with HyStart++ (RFC 9438, RFC 9406): the default. */
  CUBIC(nm_congestion_control.NM_CC_CUBIC),
  /** NewReno (RFC 9002 section 7). */
  NEW_RENO(nm_congestion_control.NM_CC_NEW_RENO),
  /** BBR version 1: paced at its bandwidth estimate; random loss does not slow it. */
  BBR(nm_congestion_control.NM_CC_BBR);

  final int code;

  CongestionControl(int code) { this.code = code; }

  static CongestionControl of(long code) {
    for (CongestionControl c : values()) if (c.code == code) return c;
    return CUBIC;
  }
}
