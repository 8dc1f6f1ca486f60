// Per-language throughput through the Java binding: the same flow as ../flow.c (see there),
// with sendBlocking batches and the zero-copy batch receive into a direct buffer. Prints
//   RESULT java <size> <batch> <events> <seconds> <events per second>
import dev.netmesh.Netmesh;
import dev.netmesh.Node;
import dev.netmesh.NodeConfig;
import dev.netmesh.Reliability;
import dev.netmesh.Stream;
import dev.netmesh.StreamConfig;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

public final class Flow {
  public static void main(String[] args) {
    int events = Integer.parseInt(args[0]), size = Integer.parseInt(args[1]), batch = Integer.parseInt(args[2]);
    byte[] psk = new byte[Netmesh.KEY_SIZE];
    Arrays.fill(psk, (byte) 0x5c);
    NodeConfig cfg = new NodeConfig().psk(psk);
    try (Node a = new Node(cfg); Node b = new Node(cfg)) {
      b.allowPeer(a.id());
      CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> b.accept(a.id(), Duration.ofSeconds(10)));
      a.connect(b.localAddress(), b.publicKey(), b.id());
      accepted.join();
      StreamConfig sc = StreamConfig.defaults().withReliability(Reliability.RELIABLE).withWindowBytes(1 << 20);
      Stream out = a.openStream(b.id(), 7, sc);
      Stream in = b.openStream(a.id(), 7, sc);
      byte[][] evs = new byte[batch][];
      for (int i = 0; i < batch; ++i) evs[i] = new byte[size];
      ByteBuffer rx = ByteBuffer.allocateDirect(batch * (size + 64));
      int[] lengths = new int[batch];
      int warm = events / 4, total = warm + events; // the warm-up is untimed, as in flow.c
      Thread sender = new Thread(() -> {
        for (int sent = 0; sent < total;) {
          int n = Math.min(batch, total - sent);
          sent += out.sendBlocking(Duration.ofSeconds(30), n == batch ? evs : Arrays.copyOf(evs, n));
        }
      });
      sender.start();
      long t0 = 0;
      int timedFrom = 0;
      for (int got = 0; got < total;) {
        got += in.receiveBatch(rx, lengths, Duration.ofSeconds(30));
        if (t0 == 0 && got >= warm) {
          t0 = System.nanoTime();
          timedFrom = got;
        }
      }
      double t = (System.nanoTime() - t0) / 1e9;
      System.out.printf("RESULT java %d %d %d %.6f %.0f%n", size, batch, events, t, (total - timedFrom) / t);
    }
  }
}
