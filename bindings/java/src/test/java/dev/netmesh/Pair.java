package dev.netmesh;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/** Two nodes on 127.0.0.1 with the conformance suite's short timers; a connects to b. */
final class Pair implements AutoCloseable {
  final Node a;
  final Node b;
  final long aId;
  final long bId;

  static NodeConfig config(int pskByte) {
    byte[] psk = new byte[Netmesh.KEY_SIZE];
    Arrays.fill(psk, (byte) pskByte);
    return new NodeConfig().psk(psk).handshakeTimeout(Duration.ofMillis(1000)).handshakeRetries(2)
        .heartbeatInterval(Duration.ofMillis(200));
  }

  /** Two nodes, not yet connected. */
  Pair(int pskA, int pskB) { this(config(pskA), config(pskB)); }

  /** Two nodes with these configs, not yet connected. */
  Pair(NodeConfig configA, NodeConfig configB) {
    a = new Node(configA);
    try {
      b = new Node(configB);
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    aId = a.id();
    bId = b.id();
  }

  /** Two connected nodes: b accepts on another thread while a connects. */
  static Pair connected() { return connected(config(0x42)); }

  /** Two connected nodes with this config. */
  static Pair connected(NodeConfig cfg) {
    Pair p = new Pair(cfg, cfg);
    CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> p.b.accept(p.aId, Duration.ofSeconds(5)));
    p.a.connect(p.b.localAddress(), p.b.publicKey(), p.bId);
    accepted.join();
    return p;
  }

  /** Opens stream id on both sides with the same config: {on a, on b}. */
  Stream[] open(long id, StreamConfig cfg) {
    return new Stream[] {a.openStream(bId, id, cfg), b.openStream(aId, id, cfg)};
  }

  @Override
  public void close() {
    a.close();
    b.close();
  }
}
