import dev.netmesh.NetmeshException;
import dev.netmesh.NetmeshTimeoutException;
import dev.netmesh.Node;
import dev.netmesh.NodeConfig;
import dev.netmesh.Stream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * The accepting end of the netmesh demo; same command line and output as
 * examples/c/receiver.c:
 *
 *   Receiver --peer-id <sender node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
 *
 * Prints "READY <addr> <public-key-hex> <node-id>" first, accepts the sender, opens streams
 * 1..K (1 fire-and-forget, the rest reliable) and checks N events per stream arrive in
 * order. Streams are read round-robin, because the sender's credit on a stream only comes
 * back as we read it; when no stream has anything, it waits on the node's event fd.
 */
public final class Receiver {
  private static final Duration ACCEPT_TIMEOUT = Duration.ofSeconds(10);
  private static final int IDLE_TIMEOUT_MS = 10000;

  private static void usage() {
    System.err.println("usage: Receiver --peer-id <id> [--bind addr] [--streams K] [--events N]");
    System.exit(1);
  }

  public static void main(String[] args) {
    String bind = "127.0.0.1:0";
    Long peerId = null;
    long count = 3, events = 1000;
    for (int i = 0; i < args.length; i += 2) {
      String val = i + 1 < args.length ? args[i + 1] : null;
      if (val == null) usage();
      switch (args[i]) {
        case "--bind" -> bind = val;
        case "--peer-id" -> { peerId = DemoCommon.parseU64(val); if (peerId == null) usage(); }
        case "--streams" -> {
          Long v = DemoCommon.parseU64(val);
          if (v == null || v == 0 || v > 1000) usage();
          count = v;
        }
        case "--events" -> {
          Long v = DemoCommon.parseU64(val);
          if (v == null) usage();
          events = v;
        }
        default -> usage();
      }
    }
    if (peerId == null) usage();
    try {
      System.exit(run(bind, peerId, count, events) ? 0 : 1);
    } catch (NetmeshException e) {
      DemoCommon.fail("netmesh", e);
    }
  }

  private static boolean run(String bind, long peerId, long count, long events) {
    try (Node node = new Node(new NodeConfig().bindAddress(bind).psk(DemoCommon.demoPsk()))) {
      // Allow the sender before announcing ourselves (zero timeout only records the
      // permission), so its first handshake attempt cannot arrive too early.
      try {
        node.accept(peerId, Duration.ZERO);
      } catch (NetmeshTimeoutException expected) {
        // no session yet, as expected
      }
      System.out.println("READY " + node.localAddress() + " "
          + java.util.HexFormat.of().formatHex(node.publicKey()) + " " + DemoCommon.u(node.id()));
      System.out.flush();

      node.accept(peerId, ACCEPT_TIMEOUT);
      Stream[] streams = new Stream[(int) count];
      for (int k = 0; k < count; ++k) streams[k] = node.openStream(peerId, k + 1, DemoCommon.demoStreamConfig(k + 1));

      boolean ok = receiveAll(node, streams, events);
      System.out.println("receiver: " + (ok ? "OK" : "FAILED") + ": " + count + " stream(s) x " + events
          + " event(s) from peer " + DemoCommon.u(peerId));
      for (Stream s : streams) {
        DemoCommon.printStreamStats(s.stats());
        s.close();
      }
      DemoCommon.printNodeStats(node.stats());
      return ok;
    }
  }

  private static boolean receiveAll(Node node, Stream[] streams, long events) {
    long[] received = new long[streams.length];
    long remaining = streams.length * events;
    ByteBuffer buf = ByteBuffer.allocateDirect(dev.netmesh.Netmesh.MAX_EVENT_SIZE); // reused: no garbage
    while (remaining > 0) {
      boolean progress = false;
      for (int k = 0; k < streams.length; ++k) {
        long id = k + 1;
        while (true) { // take what is queued now, then move on to the next stream
          int len;
          try {
            len = streams[k].receive(buf, Duration.ZERO);
          } catch (NetmeshTimeoutException empty) {
            break;
          }
          progress = true;
          byte[] got = new byte[len];
          buf.get(0, got);
          if (received[k] == events) {
            System.err.println("error: stream " + id + ": unexpected event beyond " + events);
            return false;
          }
          byte[] want = DemoCommon.eventText(id, received[k]);
          if (!Arrays.equals(got, want)) {
            String shown = new String(got, 0, Math.min(len, 80), StandardCharsets.ISO_8859_1);
            System.err.println("error: stream " + id + ": expected \"" + new String(want, StandardCharsets.US_ASCII)
                + "\", got \"" + shown + "\" (" + len + " bytes)");
            return false;
          }
          ++received[k];
          --remaining;
        }
      }
      if (remaining == 0 || progress) continue;
      if (!node.awaitEvents(Duration.ofMillis(IDLE_TIMEOUT_MS))) {
        StringBuilder sb = new StringBuilder("error: no event for " + IDLE_TIMEOUT_MS + " ms; received per stream:");
        for (long r : received) sb.append(' ').append(r);
        System.err.println(sb.append(" of ").append(events));
        return false;
      }
    }
    return true;
  }
}
