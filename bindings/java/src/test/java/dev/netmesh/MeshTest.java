package dev.netmesh;

import static dev.netmesh.Await.DEADLINE;
import static dev.netmesh.Await.awaitTrue;
import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The mesh from Java: routed handshakes, relaying, pingwave routes and peer liveness events,
 * with the helpers and short timers of tests/capi/mesh_test.c.
 */
class MeshTest {
  private static final Duration WAIT = Duration.ofSeconds(2);
  private final List<Node> nodes = new ArrayList<>();

  @AfterEach
  void closeNodes() {
    for (int i = nodes.size() - 1; i >= 0; --i) nodes.get(i).close();
  }

  /** mesh_node(): heartbeats every 100 ms, Suspected after 300 ms, Failed after 600 ms. */
  static NodeConfig meshConfig() {
    return Pair.config(0x42).heartbeatInterval(Duration.ofMillis(100))
        .suspectAfter(Duration.ofMillis(300)).failAfter(Duration.ofMillis(600));
  }

  private Node meshNode() { return meshNode(meshConfig()); }

  private Node meshNode(NodeConfig cfg) {
    Node n = new Node(cfg);
    nodes.add(n);
    return n;
  }

  /** link_nodes(): a direct session, b allows a and a dials b. */
  static void link(Node a, Node b) {
    b.allowPeer(a.id());
    a.connect(b.localAddress(), b.publicKey(), b.id());
  }

  /** connect_through(): a routed session from a to dest, handed to relay first. */
  static void connectThrough(Node a, Node relay, Node dest) {
    dest.allowPeer(a.id());
    a.connectVia(relay.localAddress(), dest.publicKey(), dest.id());
  }

  static Optional<Route> routeTo(Node n, long dest) {
    return n.routes().stream().filter(r -> r.dest() == dest).findFirst();
  }

  /** wait_for_route(): polls until n has a route of that metric to dest. */
  static Route waitForRoute(Node n, long dest, long metric) {
    awaitTrue(DEADLINE, () -> routeTo(n, dest).filter(r -> r.metric() == metric).isPresent(),
        Long.toUnsignedString(n.id()) + " has a route of metric " + metric + " to " + Long.toUnsignedString(dest));
    return routeTo(n, dest).orElseThrow();
  }

  /** reliable_transfer(): n events from a to dest over the mesh, exactly once and in order. */
  static void reliableTransfer(Node a, Node dest, long streamId, int n) {
    StreamConfig cfg = StreamConfig.defaults().withReliability(Reliability.RELIABLE);
    try (Stream tx = a.openStream(dest.id(), streamId, cfg); Stream rx = dest.openStream(a.id(), streamId, cfg)) {
      int next = 0;
      for (int i = 0; i < n; ++i) {
        tx.sendBlocking(Duration.ofSeconds(5), ConformanceTest.u32(i));
        LockSupport.parkNanos(50_000); // not a burst: one packet per event, each crossing the relay
      }
      while (next < n) assertEquals(next++, ConformanceTest.u32(rx.receive(Duration.ofSeconds(5))));
      assertThrows(NetmeshTimeoutException.class, () -> rx.receive(Duration.ofMillis(100)));
    }
  }

  @Test
  void connectDirectMovesARelayedSession() {
    Node a = meshNode(), r = meshNode(), b = meshNode();
    link(a, r);
    link(b, r);
    connectThrough(a, r, b);
    assertTrue(a.sessionStats(b.id()).routed());
    a.connectDirect(b.id(), r.id(), Duration.ofSeconds(5));
    assertFalse(a.sessionStats(b.id()).routed());
    assertEquals(1, a.stats().punchesSucceeded());
    reliableTransfer(a, b, 41, 50);
  }

  @Test
  void autoDirectMovesARelayedSessionOnItsOwn() {
    Node a = meshNode(meshConfig().autoDirect(Duration.ofSeconds(1))), r = meshNode(), b = meshNode();
    link(a, r);
    link(b, r);
    connectThrough(a, r, b); // nobody calls connectDirect
    awaitTrue(DEADLINE, () -> !a.sessionStats(b.id()).routed(), "a's session with b goes direct");
    assertEquals(1, a.stats().punchesSucceeded());
    assertThrows(InvalidArgumentException.class, () -> new Node(meshConfig().autoDirect(Duration.ofMillis(999))));
  }

  @Test
  void threeNodeChain() {
    Node a = meshNode(), b = meshNode(), c = meshNode();
    link(a, b);
    link(b, c);
    // a reaches c through b: the routed handshake is relayed by b, which cannot read it
    connectThrough(a, b, c);
    reliableTransfer(a, c, 8, 200);
    reliableTransfer(c, a, 9, 50); // and back
    NodeStats relay = b.stats(), end = c.stats();
    assertTrue(relay.forwarded() >= 250, relay.toString());
    assertEquals(0, relay.dropAuthFailed());
    assertEquals(2, relay.sessions()); // b has no session with the traffic it carries
    assertEquals(2, end.sessions());
    assertEquals(2, a.stats().sessions());
  }

  @Test
  void routedHandshakeStraightToThePeer() {
    // the degenerate one-hop form a started 0.23 node needs: relay == destination
    Node a = meshNode(), b = meshNode();
    connectThrough(a, b, b);
    reliableTransfer(a, b, 3, 50);
    assertEquals(1, b.stats().sessions());
    assertEquals(0, b.stats().forwarded());
  }

  @Test
  void connectViaReportsErrors() {
    Node a = meshNode(), b = meshNode();
    assertThrows(AddressException.class, () -> a.connectVia("no address", b.publicKey(), b.id()));
    assertThrows(IllegalArgumentException.class, () -> a.connectVia(b.localAddress(), new byte[5], b.id()));
  }

  @Test
  void pingwavesTeachRoutes() {
    Node a = meshNode(), b = meshNode(), c = meshNode();
    assertEquals(List.of(), a.routes());
    link(a, b);
    link(b, c);
    Route direct = waitForRoute(a, b.id(), 1);
    assertEquals(b.id(), direct.nextHop());
    Route viaB = waitForRoute(a, c.id(), 3); // two hops: learnt from c's pingwaves through b
    assertEquals(b.id(), viaB.nextHop());
    assertTrue(viaB.ageNs() >= 0 && viaB.ageNs() < 1_000_000_000L, viaB.toString());
    waitForRoute(c, a.id(), 3);
    assertTrue(b.stats().pingwavesReceived() > 0);
  }

  @Test
  void pingwaveTtlLimitsHowFarRoutesTravel() {
    // c's pingwaves have ttl 0: b hears them but does not pass them on, so a never learns
    // c, while a's (ttl 8) reach c through b
    Node a = meshNode(), b = meshNode(), c = meshNode(meshConfig().pingwaveTtl(0));
    link(a, b);
    link(b, c);
    waitForRoute(c, a.id(), 3);
    // Five more rounds of c's pingwaves, every one taken in by b (whose only sources are a's
    // and c's own pingwaves), then one more pingwave from b to a: a relay of c's by b would
    // have gone out before it, so a would know c by then.
    long b0 = b.stats().pingwavesReceived(); // first: in-flight ones only make the wait shorter
    long a0 = a.stats().pingwavesSent(), c0 = c.stats().pingwavesSent();
    awaitTrue(DEADLINE, () -> c.stats().pingwavesSent() >= c0 + 5, "c has sent five more pingwaves");
    long sent = a.stats().pingwavesSent() - a0 + c.stats().pingwavesSent() - c0;
    awaitTrue(DEADLINE, () -> b.stats().pingwavesReceived() - b0 >= sent,
        "b has received the " + sent + " pingwaves a and c sent meanwhile");
    long a1 = a.stats().pingwavesReceived();
    awaitTrue(DEADLINE, () -> a.stats().pingwavesReceived() > a1, "a has received b's next pingwave");
    assertEquals(Optional.empty(), routeTo(a, c.id()));
    assertTrue(routeTo(a, b.id()).isPresent());
  }

  @Test
  void peerEventsReportConnectSuspectFail() {
    Node a = meshNode(), b = meshNode();
    long bId = b.id();
    assertThrows(NetmeshTimeoutException.class, () -> a.nextPeerEvent(Duration.ZERO));
    assertFalse(a.awaitPeerEvents(Duration.ZERO));
    link(a, b);
    PeerEvent connected = a.nextPeerEvent(Duration.ofSeconds(1));
    assertEquals(PeerEventKind.CONNECTED, connected.kind());
    assertEquals(bId, connected.peerNodeId());
    assertFalse(a.awaitPeerEvents(Duration.ZERO)); // heartbeats flow: nothing more to say
    assertTrue(routeTo(a, bId).isPresent());

    b.close(); // b goes silent
    assertTrue(a.awaitPeerEvents(WAIT)); // the peer event fd becomes readable ...
    PeerEvent suspected = a.nextPeerEvent(Duration.ZERO); // ... so this does not wait
    assertEquals(new PeerEvent(bId, PeerEventKind.SUSPECTED, suspected.atNs()), suspected);
    PeerEvent failed = a.nextPeerEvent(WAIT);
    assertEquals(new PeerEvent(bId, PeerEventKind.FAILED, failed.atNs()), failed);
    // failAfter - suspectAfter = 300 ms later, give or take a 100 ms heartbeat tick
    assertTrue(failed.atNs() - suspected.atNs() >= 100_000_000L, (failed.atNs() - suspected.atNs()) + " ns");
    assertTrue(suspected.atNs() > connected.atNs());
    assertFalse(routeTo(a, bId).isPresent()); // routes through a failed neighbour go
    assertThrows(NetmeshTimeoutException.class, () -> a.nextPeerEvent(Duration.ZERO));
  }

  @Test
  void closingTheNodeWakesNextPeerEvent() throws Exception {
    Node a = meshNode();
    CompletableFuture<Throwable> blocked = CompletableFuture.supplyAsync(() -> {
      try {
        a.nextPeerEvent(Duration.ofSeconds(10));
        return null;
      } catch (RuntimeException e) {
        return e;
      }
    });
    // Not a wait before an assertion: it gives nextPeerEvent time to block, so that close has
    // a blocked call to wake; one that starts after close fails too, as the check accepts.
    Thread.sleep(100);
    a.close();
    Throwable t = blocked.get();
    assertTrue(t instanceof ShutdownException || t instanceof InvalidHandleException, String.valueOf(t));
    assertThrows(InvalidHandleException.class, () -> a.routes());
    assertThrows(InvalidHandleException.class, () -> a.allowPeer(1));
  }
}
