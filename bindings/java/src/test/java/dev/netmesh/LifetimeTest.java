package dev.netmesh;

import static dev.netmesh.Await.DEADLINE;
import static dev.netmesh.Await.awaitTrue;
import static org.junit.jupiter.api.Assertions.*;

import dev.netmesh.internal.netmesh;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.ToIntFunction;
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

  /**
   * close() on another thread ends awaitEvents with ShutdownException, and no poll runs on
   * the freed node's event fd: nm_node_free closes it, and the next file opened gets its
   * number (here /dev/zero, always readable). Without the lock that close() takes, the
   * wait's next 50 ms slice polled that number and returned true (the fd closed, or the
   * file that took its number).
   */
  @Test
  void closingTheNodeEndsAwaitEventsWithoutPollingItsFdAgain() throws Exception {
    closingTheNodeEndsTheWait(n -> netmesh.nm_node_event_fd(n.handle()), Node::awaitEvents);
  }

  /** The same for awaitPeerEvents and the peer event fd. */
  @Test
  void closingTheNodeEndsAwaitPeerEventsWithoutPollingItsFdAgain() throws Exception {
    closingTheNodeEndsTheWait(n -> netmesh.nm_node_peer_event_fd(n.handle()), Node::awaitPeerEvents);
  }

  private static void closingTheNodeEndsTheWait(ToIntFunction<Node> fdOf, BiFunction<Node, Duration, Boolean> await)
      throws Exception {
    Node node = new Node(Pair.config(0x42));
    int fd = fdOf.applyAsInt(node);
    CompletableFuture<Object> ended = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        ended.complete(await.apply(node, null)); // forever: no event will come
      } catch (Throwable e) {
        ended.complete(e);
      }
    });
    waiter.setDaemon(true); // (a waiter that never ends must not keep the VM alive)
    waiter.start();
    awaitTrue(DEADLINE, () -> inNative(waiter, "nm_java_poll_readable"), "the waiter polls the fd");
    node.close();
    List<FileInputStream> reused = takeFdNumber(fd, "/dev/zero");
    try {
      Object result = ended.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      assertInstanceOf(ShutdownException.class, result,
          "the wait ended with " + result + " (fd " + fd + " now: " + fdTarget(fd) + ")");
      // a call after close() polls nothing either (whatever the fd number is now)
      assertThrows(InvalidHandleException.class, () -> await.apply(node, Duration.ZERO));
    } finally {
      for (FileInputStream f : reused) f.close();
    }
    waiter.join(DEADLINE.toMillis());
  }

  /** thread is in the native method name (a JNI call of the binding). */
  static boolean inNative(Thread thread, String name) {
    return Arrays.stream(thread.getStackTrace()).anyMatch(f -> f.isNativeMethod() && f.getMethodName().equals(name));
  }

  /**
   * Opens path until one of the opened files has the fd number fd (a new fd takes the lowest
   * free number): returns them all, to be closed. Gives up after 64 files, in case another
   * thread took the number; the caller's checks do not depend on it.
   */
  private static List<FileInputStream> takeFdNumber(int fd, String path) throws IOException {
    List<FileInputStream> opened = new ArrayList<>();
    while (opened.size() < 64 && !fdTarget(fd).equals(path)) opened.add(new FileInputStream(path));
    return opened;
  }

  /** What fd is open on (/proc/self/fd's link), or "closed". */
  private static String fdTarget(int fd) {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    } catch (IOException closed) {
      return "closed";
    }
  }
}
