import dev.netmesh.NetmeshException;
import dev.netmesh.NodeStats;
import dev.netmesh.Reliability;
import dev.netmesh.StreamConfig;
import dev.netmesh.StreamStats;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * What the Java sender and receiver share, mirroring examples/c/common.c so the programs
 * interoperate with every other language's: the demo PSK, stream layout, event text and
 * the stats lines.
 */
final class DemoCommon {
  private DemoCommon() {}

  /** DEMO ONLY: a fixed, publicly known PSK (every byte 0x42). A real mesh needs a secret one. */
  static byte[] demoPsk() {
    byte[] psk = new byte[32];
    Arrays.fill(psk, (byte) 0x42);
    return psk;
  }

  /** Stream 1 is fire-and-forget, every other stream reliable; the rest are library defaults. */
  static StreamConfig demoStreamConfig(long streamId) {
    return StreamConfig.defaults().withReliability(streamId == 1 ? Reliability.FIRE_AND_FORGET : Reliability.RELIABLE);
  }

  /** The text of event i on a stream: "stream <id> event <i>". */
  static byte[] eventText(long streamId, long i) {
    return ("stream " + Long.toUnsignedString(streamId) + " event " + Long.toUnsignedString(i))
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Exactly 64 hex characters, or exit 1 with the C examples' message. */
  static byte[] decodeKey(String hex, String what) {
    try {
      if (hex.length() == 64) return HexFormat.of().parseHex(hex);
    } catch (IllegalArgumentException e) {
      // fall through to the error below
    }
    System.err.println("error: " + what + " needs 64 hex characters");
    System.exit(1);
    return null;
  }

  /** A decimal unsigned 64-bit integer (the whole string, no sign), or null. */
  static Long parseU64(String text) {
    if (text == null || text.isEmpty() || text.charAt(0) < '0' || text.charAt(0) > '9') return null;
    try {
      return Long.parseUnsignedLong(text);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Like the C check(): prints "error: <what>: <status name> (<detail>)" and exits 1. */
  static void fail(String what, NetmeshException e) {
    System.err.println("error: " + what + ": " + e.statusName() + " (" + e.detail() + ")");
    System.exit(1);
  }

  static String u(long v) { return Long.toUnsignedString(v); }

  static void printStreamStats(StreamStats s) {
    System.out.println("  stream " + u(s.streamId()) + ": peer_node_id=" + u(s.peerNodeId())
        + " reliable=" + (s.reliable() ? 1 : 0) + " active=" + (s.active() ? 1 : 0)
        + " tx_seq=" + u(s.txSeq()) + " rx_seq=" + u(s.rxSeq()) + " tx_events=" + u(s.txEvents())
        + " rx_events=" + u(s.rxEvents()) + " inbound_pending=" + u(s.inboundPending())
        + " rx_gaps=" + u(s.rxGaps()) + " rx_duplicates_dropped=" + u(s.rxDuplicatesDropped())
        + " backpressure_events=" + u(s.backpressureEvents())
        + " tx_credit_remaining=" + u(s.txCreditRemaining()) + " tx_window=" + u(s.txWindow())
        + " credit_grants_received=" + u(s.creditGrantsReceived())
        + " credit_grants_sent=" + u(s.creditGrantsSent()) + " last_activity_ns=" + u(s.lastActivityNs()));
  }

  static void printNodeStats(NodeStats s) {
    System.out.println("  node traffic: sessions=" + u(s.sessions()) + " handshakes_completed="
        + u(s.handshakesCompleted()) + " datagrams_sent=" + u(s.datagramsSent())
        + " datagrams_received=" + u(s.datagramsReceived()) + " heartbeats_sent=" + u(s.heartbeatsSent())
        + " heartbeats_received=" + u(s.heartbeatsReceived()));
    System.out.println("  node drops: malformed=" + u(s.dropMalformed()) + " unknown_session="
        + u(s.dropUnknownSession()) + " auth_failed=" + u(s.dropAuthFailed()) + " replay="
        + u(s.dropReplay()) + " handshake_rejected=" + u(s.dropHandshakeRejected())
        + " unexpected_handshake=" + u(s.dropUnexpectedHandshake()) + " unknown_subprotocol="
        + u(s.dropUnknownSubprotocol()) + " bad_grant=" + u(s.dropBadGrant()));
  }
}
