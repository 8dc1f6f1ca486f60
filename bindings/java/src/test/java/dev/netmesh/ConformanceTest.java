package dev.netmesh;

import static dev.netmesh.Await.awaitEquals;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scenarios of bindings/CONFORMANCE.md, with the expectations of the C suite
 * (tests/capi/session_test.c and stream_test.c). Every test gets fresh nodes.
 */
class ConformanceTest {
  private static final Duration WAIT = Duration.ofSeconds(2);
  private Pair p;

  @AfterEach
  void closeNodes() {
    if (p != null) p.close();
  }

  static byte[] text(String s) { return s.getBytes(UTF_8); }

  static void expect(Stream s, String text) { assertEquals(text, new String(s.receive(WAIT), UTF_8)); }

  @Test
  void handshake() {
    p = Pair.connected();
    for (Node n : new Node[] {p.a, p.b}) {
      NodeStats st = n.stats();
      assertEquals(1, st.sessions());
      assertEquals(1, st.handshakesCompleted());
      assertEquals(32, n.publicKey().length);
      assertTrue(n.localAddress().matches("127\\.0\\.0\\.1:[1-9][0-9]*"), n.localAddress());
    }
    assertNotEquals(p.aId, p.bId);
    p.b.accept(p.aId, Duration.ZERO); // the session exists: returns at once
  }

  @Test
  void wrongPsk() {
    p = new Pair(0x42, 0x43);
    assertThrows(NetmeshTimeoutException.class, () -> p.b.accept(p.aId, Duration.ZERO)); // allows a
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> p.a.connect(p.b.localAddress(), p.b.publicKey(), p.bId));
    assertTrue(e.detail().contains("attempt"), e.detail());
    assertEquals(-8, e.status());
    assertEquals(0, p.a.stats().sessions());
    assertEquals(0, p.b.stats().sessions());
    assertEquals(2, p.b.stats().dropHandshakeRejected()); // one per attempt
    assertThrows(NetmeshTimeoutException.class, () -> p.b.accept(p.aId, Duration.ZERO));
  }

  private void exchangeInMode(long id, Reliability mode) {
    p = Pair.connected();
    Stream[] s = p.open(id, StreamConfig.defaults().withReliability(mode));
    try (Stream a = s[0]; Stream b = s[1]) {
      assertEquals(3, a.send(text("one"), text("two"), text("")));
      expect(b, "one");
      expect(b, "two");
      expect(b, "");
      b.send(text("reply"));
      expect(a, "reply");
      StreamStats st = a.stats();
      assertEquals(mode == Reliability.RELIABLE, st.reliable());
      assertEquals(1, st.txSeq()); // three small events share one packet
      assertEquals(0, st.rxSeq()); // highest sequence received
      assertEquals(3, st.txEvents());
      assertEquals(1, st.rxEvents());
      assertTrue(st.active());
      assertTrue(st.lastActivityNs() > 0);
    }
  }

  @Test
  void fireAndForget() { exchangeInMode(10, Reliability.FIRE_AND_FORGET); }

  @Test
  void reliable() { exchangeInMode(11, Reliability.RELIABLE); }

  @Test
  void manyEventsInOrder() {
    p = Pair.connected();
    Stream[] s = p.open(12, StreamConfig.defaults().withReliability(Reliability.RELIABLE));
    try (Stream a = s[0]; Stream b = s[1]) {
      final int n = 2000;
      int next = 0;
      for (int i = 0; i < n; ++i) {
        a.sendBlocking(Duration.ofSeconds(5), u32(i));
        if (i % 64 == 63) { // read as we go so credit comes back
          for (; next <= i; ++next) assertEquals(next, u32(b.receive(WAIT)));
        }
      }
      for (; next < n; ++next) assertEquals(next, u32(b.receive(WAIT)));
      StreamStats rx = b.stats();
      // back-to-back sends share packets: count events, and match the sender's last sequence
      assertEquals(n, rx.rxEvents());
      assertEquals(a.stats().txSeq() - 1, rx.rxSeq());
      assertEquals(0, rx.rxGaps());
      assertEquals(0, rx.inboundPending());
      assertTrue(rx.creditGrantsSent() > 0);
      // everything was read, so all credit comes back (the last grant may be in flight)
      awaitEquals(a.stats().txWindow(), () -> a.stats().txCreditRemaining(), "the sender's credit");
      assertTrue(a.stats().creditGrantsReceived() > 0);
    }
  }

  @Test
  void backpressure() throws InterruptedException {
    p = Pair.connected();
    Stream[] s = p.open(14, null); // window 65536
    try (Stream a = s[0]; Stream b = s[1]) {
      byte[] kb = new byte[1000];
      int accepted = 0;
      BackpressureException refused = null;
      for (int i = 0; i < 200 && refused == null; ++i) {
        try {
          accepted += a.send(kb);
        } catch (BackpressureException e) {
          refused = e;
        }
        Thread.sleep(1); // sends more than 20 µs apart each get their own packet
      }
      assertNotNull(refused, "sending never hit backpressure");
      assertEquals(0, refused.sent());
      // each 1000-byte event costs 4 + 1000 + 84 = 1088 bytes of credit: 60 fit in 65536
      assertEquals(65536 / 1088, accepted);
      StreamStats st = a.stats();
      assertEquals(1, st.backpressureEvents());
      assertEquals(65536 - 60 * 1088, st.txCreditRemaining());
      assertEquals(65536, st.txWindow());
      // the retry helper gives up: nobody reads, so no credit comes
      BackpressureException e = assertThrows(BackpressureException.class, () -> a.sendWithRetry(3, kb));
      assertEquals(0, e.sent());
      awaitEquals(60, () -> b.stats().inboundPending(), "the receiver's pending events"); // nothing dropped
      assertEquals(0, b.stats().creditGrantsSent()); // nothing read, nothing granted
      // the reader drains: credit flows back and the blocking send completes
      for (int i = 0; i < 60; ++i) assertEquals(1000, b.receive(Duration.ofSeconds(1)).length);
      assertEquals(1, a.sendBlocking(WAIT, kb));
      assertEquals(1000, b.receive(WAIT).length);
      assertTrue(a.stats().creditGrantsReceived() >= 1);
    }
  }

  @Test
  void stats() {
    p = Pair.connected();
    Stream[] s = p.open(25, null);
    try (Stream a = s[0]; Stream b = s[1]) {
      StreamStats st = a.stats();
      assertEquals(p.bId, st.peerNodeId());
      assertEquals(25, st.streamId());
      assertEquals(0, st.txSeq());
      assertEquals(65536, st.txWindow());
      assertEquals(65536, st.txCreditRemaining());
      assertTrue(st.active());
      assertFalse(st.reliable());
      a.send(new byte[1000]);
      awaitEquals(1, () -> b.stats().inboundPending(), "the receiver's pending events");
      st = a.stats();
      assertEquals(1, st.txSeq());
      assertEquals(1, st.txEvents());
      assertEquals(65536 - 1088, st.txCreditRemaining()); // 4 + 1000 + 84
      StreamStats rx = b.stats();
      assertEquals(0, rx.rxSeq());
      assertEquals(0, rx.creditGrantsSent()); // nothing read yet
      b.receive(WAIT);
      rx = b.stats();
      assertEquals(0, rx.inboundPending());
      assertEquals(1, rx.rxEvents());
      // read empty: the consumed bytes are granted (within a recovery tick, 5 ms)
      awaitEquals(1, () -> b.stats().creditGrantsSent(), "the receiver's grants sent");
      awaitEquals(65536, () -> a.stats().txCreditRemaining(), "the sender's credit");
      assertEquals(1, a.stats().creditGrantsReceived());
      assertEquals(0, a.stats().backpressureEvents());
    }
  }

  @Test
  void sessionStats() {
    p = Pair.connected(Pair.config(0x42).congestionControl(CongestionControl.NEW_RENO));
    // session acknowledgements are agreed on just after the handshake
    Await.awaitTrue(Await.DEADLINE, () -> p.a.sessionStats(p.bId).sessionAcks(), "a's session with b has acknowledgements");
    Stream[] s = p.open(26, StreamConfig.defaults().withReliability(Reliability.RELIABLE));
    try (Stream a = s[0]; Stream b = s[1]) {
      for (int i = 0; i < 5; ++i) a.send(text("event " + i));
      for (int i = 0; i < 5; ++i) expect(b, "event " + i);
      // the handshake's sample and at least one acknowledgement's; then nothing left in flight
      Await.awaitTrue(Await.DEADLINE, () -> {
        SessionStats st = p.a.sessionStats(p.bId);
        return st.rttSamples() >= 2 && st.bytesInFlight() == 0 && st.pmtuProbesSent() >= 1;
      }, "a has RTT samples from acknowledgements, a path MTU probe sent and nothing in flight");
      SessionStats st = p.a.sessionStats(p.bId);
      assertEquals(p.bId, st.peerNodeId());
      assertTrue(st.sessionAcks());
      assertFalse(st.routed());
      assertTrue(st.srttNs() > 0);
      assertTrue(st.minRttNs() > 0);
      assertEquals(0, st.datagramsInFlight());
      assertTrue(st.datagramsAcked() >= 1);
      assertTrue(st.acksReceived() >= 1);
      assertEquals(CongestionControl.NEW_RENO, st.congestionControl());
      assertTrue(st.cwndBytes() > 0);
      assertEquals(0, st.datagramsLost()); // loopback, no impairment
      assertEquals(0, st.spuriousRetransmissions());
      assertEquals(0, st.congestionEvents());
      assertEquals(0, st.congestionEventsUndone());
      assertEquals(3, st.lossThresholdDatagrams()); // RFC 9002's, nothing reordered
      assertEquals(9, st.lossThresholdRttEighths());
      assertEquals(0, st.pmtuBlackHoles());
      assertTrue(p.b.sessionStats(p.aId).acksSent() >= 1);
    }
    // no session with that peer
    assertThrows(NotConnectedException.class, () -> p.a.sessionStats(p.bId + 1));
  }

  @Test
  void idempotentOpen() {
    p = Pair.connected();
    StreamConfig rel = StreamConfig.defaults().withReliability(Reliability.RELIABLE).withWindowBytes(100000);
    try (Stream s1 = p.a.openStream(p.bId, 17, rel);
         Stream s2 = p.a.openStream(p.bId, 17, StreamConfig.defaults())) {
      StreamStats st = s2.stats();
      assertTrue(st.reliable());
      assertEquals(100000, st.txWindow());
      s1.send(text("x")); // both handles are the same stream
      s2.send(text("x"));
      assertEquals(2, s1.stats().txEvents());
      assertTrue(p.a.allStreamStats().stream().anyMatch(x -> x.streamId() == 17));
    }
  }

  @Test
  void staleHandle() {
    p = Pair.connected();
    Stream[] s = p.open(19, null);
    try (Stream oldA = s[0]; Stream b = s[1]) {
      oldA.closeStream();
      assertThrows(NotConnectedException.class, oldA::closeStream);
      try (Stream newA = p.a.openStream(p.bId, 19)) {
        assertThrows(NotConnectedException.class, () -> oldA.send(text("fresh")));
        assertFalse(oldA.stats().active());
        newA.send(text("fresh"));
        assertEquals(1, newA.stats().txSeq()); // sequence restarts with the new stream
        expect(b, "fresh");
        try (Stream again = p.a.openStream(p.bId, 19); Stream other = p.a.openStream(p.bId, 19)) {
          newA.release(); // frees the handle; the stream stays open
          assertThrows(InvalidHandleException.class, () -> newA.send(text("fresh")));
          newA.close(); // idempotent
          again.send(text("still open"));
          expect(b, "still open");
          again.close(); // closes the stream: every handle to it is stale
          assertThrows(NotConnectedException.class, () -> other.send(text("x")));
          again.close(); // idempotent
        } // other.close(): the stream is closed already, not an error
      }
    }
  }

  @Test
  void closeBehaviours() {
    p = Pair.connected();
    Stream[] s1 = p.open(20, StreamConfig.defaults().withCloseBehaviour(CloseBehaviour.DRAIN_THEN_CLOSE));
    Stream[] s2 = p.open(21, StreamConfig.defaults());  // DROP_AND_CLOSE, net-mesh's default
    try (Stream a1 = s1[0]; Stream b1 = s1[1]; Stream a2 = s2[0]; Stream b2 = s2[1]) {
      a1.send(text("k1"), text("k2"));
      a2.send(text("k1"), text("k2"));
      awaitEquals(2, () -> b1.stats().inboundPending(), "drain-then-close receiver's pending events");
      awaitEquals(2, () -> b2.stats().inboundPending(), "drop-and-close receiver's pending events");
      b1.closeStream();
      b2.closeStream();
      // drain-then-close: what arrived stays readable, then the handle is stale
      expect(b1, "k1");
      expect(b1, "k2");
      assertThrows(NotConnectedException.class, () -> b1.receive(Duration.ofMillis(100)));
      assertThrows(NotConnectedException.class, () -> b1.send(text("no")));
      // drop-and-close: queued events are gone at once
      assertThrows(NotConnectedException.class, () -> b2.receive(Duration.ZERO));
      // the dropped and drained events were credited back to the sender
      awaitEquals(a1.stats().txWindow(), () -> a1.stats().txCreditRemaining(), "drain-then-close sender's credit");
      awaitEquals(a2.stats().txWindow(), () -> a2.stats().txCreditRemaining(), "drop-and-close sender's credit");
    }
  }

  @Test
  void badInput() {
    p = Pair.connected();
    Stream[] s = p.open(13, null);
    try (Stream a = s[0]; Stream b = s[1]) {
      // events above the node's max_event_bytes (16 MiB by default) are refused
      int max = (int) new NodeConfig().maxEventBytes();
      EventTooLargeException e = assertThrows(EventTooLargeException.class, () -> a.send(new byte[max + 1]));
      assertEquals(-9, e.status());
      assertThrows(NullPointerException.class, () -> a.send((byte[]) null));
      assertThrows(IllegalArgumentException.class, () -> p.a.connect("127.0.0.1:1", new byte[31], 1));
    }
    // with max_event_bytes = NM_MAX_EVENT_SIZE (one packet, the net-mesh 0.23 limit), 8105 is too large
    try (Node small = new Node(Pair.config(0x42).maxEventBytes(Netmesh.MAX_EVENT_SIZE))) {
      CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> p.b.accept(small.id(), WAIT));
      small.connect(p.b.localAddress(), p.b.publicKey(), p.bId);
      accepted.join();
      try (Stream s1 = small.openStream(p.bId, 13)) {
        assertThrows(EventTooLargeException.class, () -> s1.send(new byte[Netmesh.MAX_EVENT_SIZE + 1]));
        assertEquals(1, s1.send(new byte[Netmesh.MAX_EVENT_SIZE]));
      }
    }
    // addresses: unparsable bind and connect addresses
    assertThrows(AddressException.class, () -> new Node(Pair.config(1).bindAddress("127.0.0.1:99999")));
    AddressException bad = assertThrows(AddressException.class,
        () -> p.a.connect("not an address", new byte[32], 1));
    assertTrue(bad.getMessage().contains("not an address"), bad.getMessage());
    assertThrows(InvalidArgumentException.class, () -> new Node(Pair.config(0))); // all-zero PSK
    // use after close: an error, never a crash
    Stream gone = p.a.openStream(p.bId, 26);
    gone.close();
    assertThrows(InvalidHandleException.class, () -> gone.send(text("x")));
    assertThrows(InvalidHandleException.class, gone::stats);
    Node dead = new Node(Pair.config(1));
    dead.close();
    dead.close(); // idempotent
    assertThrows(InvalidHandleException.class, dead::id);
    assertThrows(InvalidHandleException.class, () -> dead.openStream(1, 1));
    Stream orphan = p.a.openStream(p.bId, 27);
    p.a.close();
    assertThrows(ShutdownException.class, () -> orphan.send(text("x"))); // "node was freed"
    orphan.close();
  }

  @Test
  void recvTimeout() {
    p = Pair.connected();
    Stream[] s = p.open(22, null);
    try (Stream a = s[0]; Stream b = s[1]) {
      assertThrows(NetmeshTimeoutException.class, () -> b.receive(Duration.ZERO));
      long t0 = System.nanoTime();
      assertThrows(NetmeshTimeoutException.class, () -> b.receive(Duration.ofMillis(50)));
      assertTrue(System.nanoTime() - t0 >= 40_000_000L, "returned before the timeout");
    }
  }

  @Test
  void reliableUnderLoss() throws InterruptedException {
    p = Pair.connected();
    // 20% loss both ways between a and b: data, acknowledgements and grants alike
    Impairment lossy = Impairment.none().withLoss(0.2).withSeed(7);
    p.a.setImpairment(p.bId, Direction.BOTH, lossy);
    Stream[] s = p.open(30, StreamConfig.defaults().withReliability(Reliability.RELIABLE));
    try (Stream a = s[0]; Stream b = s[1]) {
      final int n = 500;
      CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
        for (int i = 0; i < n; ++i) assertEquals(i, u32(b.receive(Duration.ofSeconds(10)))); // in order
      });
      for (int i = 0; i < n; ++i) {
        a.sendBlocking(Duration.ofSeconds(10), u32(i));
        Thread.sleep(1); // sends more than 20 µs apart each get their own packet: many packets to lose
      }
      reader.join();
      // exactly once: nothing more arrives, even from retransmissions still in flight
      assertThrows(NetmeshTimeoutException.class, () -> b.receive(Duration.ofMillis(300)));
      assertTrue(a.stats().recovering());
      assertTrue(a.stats().retransmits() > 0, a.stats().toString());
      assertTrue(p.a.impairmentStats().droppedLoss() > 0);
      assertEquals(n, b.stats().rxEvents());
    }
  }

  static byte[] u32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(); }

  static int u32(byte[] b) {
    assertEquals(4, b.length);
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }
}
