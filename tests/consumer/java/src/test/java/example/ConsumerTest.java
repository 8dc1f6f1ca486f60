package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.netmesh.CloseBehaviour;
import dev.netmesh.Netmesh;
import dev.netmesh.Node;
import dev.netmesh.NodeConfig;
import dev.netmesh.Reliability;
import dev.netmesh.Stream;
import dev.netmesh.StreamConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Two nodes, a reliable stream, 1,000 numbered events: each arrives once, in order. */
class ConsumerTest {
  @Test
  void reliableStreamBetweenTwoNodes() {
    byte[] psk = new byte[Netmesh.KEY_SIZE];
    Arrays.fill(psk, (byte) 0x5c);
    NodeConfig cfg = new NodeConfig().psk(psk).bindAddress("127.0.0.1:0");
    try (Node a = new Node(cfg); Node b = new Node(cfg)) {
      b.allowPeer(a.id());
      CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> b.accept(a.id(), Duration.ofSeconds(10)));
      a.connect(b.localAddress(), b.publicKey(), b.id());
      accepted.join();
      StreamConfig sc = StreamConfig.defaults().withReliability(Reliability.RELIABLE)
          .withCloseBehaviour(CloseBehaviour.DRAIN_THEN_CLOSE);
      long id = Netmesh.streamIdFromKey("consumer".getBytes());
      try (Stream out = a.openStream(b.id(), id, sc); Stream in = b.openStream(a.id(), id, sc)) {
        CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
          for (int i = 0; i < 1000; ++i) {
            byte[] ev = new byte[256];
            ByteBuffer.wrap(ev).order(ByteOrder.LITTLE_ENDIAN).putInt(i);
            out.sendBlocking(Duration.ofSeconds(10), ev);
          }
        });
        for (int i = 0; i < 1000; ++i) {
          byte[] ev = in.receive(Duration.ofSeconds(10));
          assertEquals(256, ev.length);
          assertEquals(i, ByteBuffer.wrap(ev).order(ByteOrder.LITTLE_ENDIAN).getInt());
        }
        sent.join();
      }
    }
    System.out.println("consumer (Java): OK: 1000 reliable events in order, netmesh " + Netmesh.version());
  }
}
