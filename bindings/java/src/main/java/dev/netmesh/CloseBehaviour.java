package dev.netmesh;

import dev.netmesh.internal.nm_close_behaviour;

/** What closing a stream does with events received but not yet read. */
public enum CloseBehaviour {
  /** They stay readable through the (now stale) handles until drained. */
  DRAIN_THEN_CLOSE(nm_close_behaviour.NM_DRAIN_THEN_CLOSE),
  /** They are dropped at once. */
  DROP_AND_CLOSE(nm_close_behaviour.NM_DROP_AND_CLOSE);

  final int code;

  CloseBehaviour(int code) { this.code = code; }

  static CloseBehaviour of(int code) { return code == DROP_AND_CLOSE.code ? DROP_AND_CLOSE : DRAIN_THEN_CLOSE; }
}
