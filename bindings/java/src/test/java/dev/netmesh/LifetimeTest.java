package dev.netmesh;

import static org.junit.jupiter.api.Assertions.*;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** What a call's objects must outlive: the node it runs on, the memory it writes. */
class LifetimeTest {
  /**
   * A node reached only through a blocking call (`new Node(cfg).connect(...)`) is not freed
   * by its Cleaner while the call waits. Without Node's reachability fences the compiled
   * connect has no use of `this` once it has read handle: a GC finds the node phantom
   * reachable, and the Cleaner's nm_node_free ends the handshake with ShutdownException
   * instead of HandshakeException (no answer from the silent socket).
   */
  @Test
  void aNodeReachedOnlyThroughItsCallLivesUntilTheCallReturns() throws Exception {
    NodeConfig cfg = Pair.config(0x42).handshakeTimeout(Duration.ofMillis(500)).handshakeRetries(2);
    byte[] key = new byte[Netmesh.KEY_SIZE];
    AtomicReference<Node> only = new AtomicReference<>();
    try (Node warm = new Node(cfg)) {
      // Compiled code keeps only live references (an interpreted caller keeps the receiver
      // on its stack): get connectTheOnly compiled, with connect inlined.
      for (int i = 0; i < 30_000; ++i) {
        only.set(warm);
        try {
          connectTheOnly(only, "not an address", key);
        } catch (AddressException expected) {
          // refused at once: what compiles the call
        }
      }
    }
    AtomicBoolean done = new AtomicBoolean();
    Thread collector = new Thread(() -> {
      while (!done.get()) {
        System.gc();
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    collector.setDaemon(true);
    try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      collector.start();
      only.set(new Node(cfg));
      assertThrows(HandshakeException.class, () -> connectTheOnly(only, "127.0.0.1:" + silent.getLocalPort(), key));
    } finally {
      done.set(true);
      collector.join();
    }
  }

  /** connect on the node in `only`, with nothing but the call referring to it. */
  private static void connectTheOnly(AtomicReference<Node> only, String address, byte[] key) {
    only.getAndSet(null).connect(address, key, 1);
  }
}
