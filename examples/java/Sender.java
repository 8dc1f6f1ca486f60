import dev.netmesh.NetmeshException;
import dev.netmesh.Node;
import dev.netmesh.NodeConfig;
import dev.netmesh.Stream;
import dev.netmesh.StreamStats;
import java.time.Duration;

/**
 * The connecting end of the netmesh demo; same command line and output as
 * examples/c/sender.c:
 *
 *   Sender --seed <64 hex> --print-id
 *   Sender --seed <64 hex> --connect <addr> --key <64 hex> --id <node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
 *
 * Connects, opens streams 1..K like the receiver, sends N events "stream <id> event <i>" per
 * stream round-robin, BATCH per call, waits until the receiver has read everything (all
 * credit back) or 1 s, prints stats and exits 0.
 */
public final class Sender {
  private static final int BATCH = 8;
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(10);
  private static final int DRAIN_WAIT_MS = 1000;

  private static void usage() {
    System.err.println("usage: Sender --seed <hex> --print-id\n"
        + "       Sender --seed <hex> --connect <addr> --key <hex> --id <node id> [--bind addr] [--streams K] [--events N]\n"
        + "       (--bind 0.0.0.0:0 or [::]:0 to reach another host)");
    System.exit(1);
  }

  public static void main(String[] args) {
    String seedHex = null, addr = null, keyHex = null, bind = "127.0.0.1:0";
    Long peerId = null;
    long count = 3, events = 1000;
    boolean printId = false;
    for (int i = 0; i < args.length; ++i) {
      String arg = args[i];
      if (arg.equals("--print-id")) {
        printId = true;
        continue;
      }
      String val = i + 1 < args.length ? args[++i] : null;
      if (val == null) usage();
      switch (arg) {
        case "--seed" -> seedHex = val;
        case "--connect" -> addr = val;
        case "--bind" -> bind = val;
        case "--key" -> keyHex = val;
        case "--id" -> { peerId = DemoCommon.parseU64(val); if (peerId == null) usage(); }
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
    if (seedHex == null || (!printId && (addr == null || keyHex == null || peerId == null))) usage();
    try {
      run(seedHex, printId, addr, bind, keyHex, peerId == null ? 0 : peerId, count, events);
    } catch (NetmeshException e) {
      DemoCommon.fail("netmesh", e);
    }
  }

  private static void run(String seedHex, boolean printId, String addr, String bind, String keyHex,
                          long peerId, long count, long events) {
    NodeConfig cfg = new NodeConfig().psk(DemoCommon.demoPsk()).bindAddress(bind)
        .identitySeed(DemoCommon.decodeKey(seedHex, "--seed"));
    try (Node node = new Node(cfg)) {
      long myId = node.id();
      if (printId) {
        System.out.println(Long.toUnsignedString(myId));
        return;
      }
      byte[] peerKey = DemoCommon.decodeKey(keyHex, "--key");
      node.connect(addr, peerKey, peerId);

      Stream[] streams = new Stream[(int) count];
      for (int k = 0; k < count; ++k) streams[k] = node.openStream(peerId, k + 1, DemoCommon.demoStreamConfig(k + 1));

      for (long from = 0; from < events; from += BATCH) {
        long to = Math.min(from + BATCH, events);
        for (int k = 0; k < count; ++k) {
          byte[][] batch = new byte[(int) (to - from)][];
          for (long i = from; i < to; ++i) batch[(int) (i - from)] = DemoCommon.eventText(k + 1, i);
          streams[k].sendBlocking(SEND_TIMEOUT, batch);
        }
      }

      for (int waited = 0; !allCreditBack(streams) && waited < DRAIN_WAIT_MS; waited += 10) sleep(10);

      System.out.println("sender: OK: node " + DemoCommon.u(myId) + " sent " + count + " stream(s) x "
          + events + " event(s) to peer " + DemoCommon.u(peerId) + " (receiver drained: "
          + (allCreditBack(streams) ? "yes" : "not within 1 s") + ")");
      for (Stream s : streams) {
        DemoCommon.printStreamStats(s.stats());
        s.close();
      }
      DemoCommon.printNodeStats(node.stats());
    }
  }

  /** True once the receiver has read everything: every stream has its whole window back. */
  private static boolean allCreditBack(Stream[] streams) {
    for (Stream s : streams) {
      StreamStats st = s.stats();
      if (st.txCreditRemaining() != st.txWindow()) return false;
    }
    return true;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
