package dev.netmesh;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The rest of the C suite's checks that make sense from Java (tests/capi/*.c). */
class ApiTest {
  private static final Duration WAIT = Duration.ofSeconds(2);

  @Test
  void defaultsComeFromTheLibrary() {
    assertFalse(Netmesh.version().isEmpty());
    NodeConfig c = new NodeConfig();
    assertEquals("127.0.0.1:0", c.bindAddress());
    assertEquals(Duration.ofMillis(5000), c.heartbeatInterval());
    assertEquals(Duration.ofMillis(5000), c.handshakeTimeout());
    assertEquals(3, c.handshakeRetries());
    assertEquals(Duration.ofMillis(300000), c.streamIdleTimeout());
    assertEquals(4096, c.maxStreams());
    assertEquals(65536, c.defaultWindowBytes());
    StreamConfig s = StreamConfig.defaults();
    assertEquals(new StreamConfig(Reliability.FIRE_AND_FORGET, 65536, 1, CloseBehaviour.DRAIN_THEN_CLOSE), s);
    assertThrows(InvalidArgumentException.class, () -> new Node(Pair.config(1).heartbeatInterval(Duration.ZERO)));
  }

  @Test
  void identityIsDerivedFromTheSeed() {
    // RFC 8032 test 1 secret key; its node id is the wire spec's Appendix A.2 value.
    HexFormat hex = HexFormat.of();
    byte[] seed = hex.parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    byte[] x25519 = new byte[32];
    java.util.Arrays.fill(x25519, (byte) 0x11);
    try (Node n = new Node(Pair.config(1).identitySeed(seed).staticPrivateKey(x25519))) {
      assertEquals(0x652f03ba688dde03L, n.id());
      assertEquals("7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13", hex.formatHex(n.publicKey()));
    }
  }

  @Test
  void streamIdFromKeyIsXxh3() {
    assertEquals(0x9555e8555c62dcfdL, Netmesh.streamIdFromKey("hello".getBytes(UTF_8)));
    assertEquals(0x2d06800538d394c2L, Netmesh.streamIdFromKey(new byte[0]));
  }

  @Test
  void ipv6() {
    try (Node n = new Node(Pair.config(1).bindAddress("[::1]:0"))) {
      assertTrue(n.localAddress().startsWith("[::1]:"), n.localAddress());
    }
  }

  @Test
  void largestEventGrowsTheReceiveBuffer() {
    try (Pair p = Pair.connected()) {
      Stream[] s = p.open(13, null);
      byte[] big = new byte[Netmesh.MAX_EVENT_SIZE];
      for (int i = 0; i < big.length; ++i) big[i] = (byte) (i * 7);
      s[0].send(big, big);
      assertArrayEquals(big, s[1].receive(WAIT)); // bigger than the initial 2 KiB buffer
      ByteBuffer small = ByteBuffer.allocateDirect(10);
      BufferTooSmallException e = assertThrows(BufferTooSmallException.class, () -> s[1].receive(small, WAIT));
      assertEquals(Netmesh.MAX_EVENT_SIZE, e.needed()); // ... and the event stays queued
      ByteBuffer direct = ByteBuffer.allocateDirect(Netmesh.MAX_EVENT_SIZE);
      assertEquals(big.length, s[1].receive(direct, Duration.ZERO));
      assertEquals(ByteBuffer.wrap(big), direct);
      assertThrows(IllegalArgumentException.class, () -> s[1].receive(ByteBuffer.allocate(10), Duration.ZERO));
    }
  }

  @Test
  void sendReportsPartialProgress() {
    try (Pair p = Pair.connected()) {
      Stream a = p.open(15, null)[0];
      byte[][] batch = new byte[10][];
      for (int i = 0; i < batch.length; ++i) batch[i] = new byte[8000];
      // 8084-byte packets: 8 fit in the window, the 9th is refused
      assertEquals(8, assertThrows(BackpressureException.class, () -> a.send(batch)).sent());
    }
  }

  @Test
  void unboundedWindow() throws InterruptedException {
    try (Pair p = Pair.connected()) {
      Stream[] s = p.open(16, StreamConfig.defaults().withWindowBytes(0));
      for (int i = 0; i < 200; ++i) s[0].send(new byte[1000]);
      StreamStats st = s[0].stats();
      assertEquals(-1L, st.txCreditRemaining()); // UINT64_MAX
      assertEquals(0, st.txWindow());
      ConformanceTest.eventually(200, () -> s[1].stats().inboundPending());
      assertEquals(0, s[1].stats().creditGrantsSent()); // a window-0 receiver never grants
    }
  }

  @Test
  void peerStartedStreamTakesTheFirstExplicitConfig() throws InterruptedException {
    try (Pair p = Pair.connected()) {
      p.a.openStream(p.bId, 18).send("early".getBytes(UTF_8));
      Thread.sleep(100); // b has auto-created the stream with defaults
      Stream b = p.b.openStream(p.aId, 18, StreamConfig.defaults().withReliability(Reliability.RELIABLE));
      assertEquals("early", new String(b.receive(WAIT), UTF_8));
      assertTrue(b.stats().reliable());
    }
  }

  @Test
  void awaitEventsFollowsTheEventFd() {
    try (Pair p = Pair.connected()) {
      Stream[] s = p.open(23, null);
      assertFalse(p.b.awaitEvents(Duration.ZERO));
      s[0].send("ping".getBytes(UTF_8));
      assertTrue(p.b.awaitEvents(WAIT));
      assertTrue(p.b.awaitEvents(Duration.ZERO)); // level-triggered
      s[1].receive(WAIT);
      assertFalse(p.b.awaitEvents(Duration.ZERO));
    }
  }

  @Test
  void allStreamStatsListsOpenStreams() {
    try (Pair p = Pair.connected()) {
      p.open(24, null);
      p.open(28, null);
      List<StreamStats> all = p.a.allStreamStats();
      assertTrue(all.stream().allMatch(x -> x.peerNodeId() == p.bId));
      assertTrue(all.stream().anyMatch(x -> x.streamId() == 24));
      assertTrue(all.stream().anyMatch(x -> x.streamId() == 28));
    }
  }

  @Test
  void closingTheNodeWakesBlockedCalls() throws Exception {
    Pair p = Pair.connected();
    Stream b = p.open(29, null)[1];
    CompletableFuture<Throwable> blocked = CompletableFuture.supplyAsync(() -> {
      try {
        b.receive(Duration.ofSeconds(10));
        return null;
      } catch (RuntimeException e) {
        return e;
      }
    });
    Thread.sleep(100);
    p.close();
    Throwable t = blocked.get();
    assertTrue(t instanceof ShutdownException || t instanceof InvalidHandleException, String.valueOf(t));
  }

  @Test
  void concurrentStreamsFromManyThreads() {
    final int threads = 4, events = 1000;
    try (Pair p = Pair.connected()) {
      List<CompletableFuture<Long>> work = new ArrayList<>();
      for (int t = 0; t < threads; ++t) {
        long id = 100 + t;
        work.add(CompletableFuture.supplyAsync(() -> {
          try (Stream s = p.b.openStream(p.aId, id)) {
            long sum = 0;
            for (int i = 1; i <= events; ++i) {
              int v = ConformanceTest.u32(s.receive(Duration.ofSeconds(10)));
              assertEquals(i, v); // in order
              sum += v;
            }
            return sum;
          }
        }));
        work.add(CompletableFuture.supplyAsync(() -> {
          try (Stream s = p.a.openStream(p.bId, id)) {
            for (int i = 1; i <= events; ++i) s.sendBlocking(Duration.ofSeconds(10), ConformanceTest.u32(i));
            return 0L;
          }
        }));
      }
      long total = 0;
      for (CompletableFuture<Long> f : work) total += f.join();
      assertEquals((long) threads * events * (events + 1) / 2, total);
      assertEquals(0, p.b.stats().dropReplay());
    }
  }
}
