package dev.netmesh;

import dev.netmesh.internal.nm_nat_type;

/**
 * What stands between a node and its peers, judged from the addresses two peers reached
 * directly see its datagrams come from (the C nm_nat_type; net-mesh 0.23's NatClass).
 */
public enum NatType {
  /** Not classified yet, or too few answers. */
  UNKNOWN(nm_nat_type.NM_NAT_UNKNOWN),
  /** The peers see one of this host's own addresses and our port. */
  OPEN(nm_nat_type.NM_NAT_OPEN),
  /** Every peer sees the same public address: one mapping for all destinations. */
  CONE(nm_nat_type.NM_NAT_CONE),
  /** Each peer sees another address or port: a mapping per destination. */
  SYMMETRIC(nm_nat_type.NM_NAT_SYMMETRIC);

  final int code;

  NatType(int code) { this.code = code; }

  static NatType of(int code) {
    for (NatType t : values()) if (t.code == code) return t;
    return UNKNOWN;
  }
}
