package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_status;
import dev.netmesh.internal.nm_impairment_stats_t;
import dev.netmesh.internal.nm_impairment_t;
import dev.netmesh.internal.nm_node_stats_t;
import dev.netmesh.internal.nm_peer_event_t;
import dev.netmesh.internal.nm_route_t;
import dev.netmesh.internal.nm_session_stats_t;
import dev.netmesh.internal.nm_stream_config_t;
import dev.netmesh.internal.nm_stream_stats_t;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A netmesh node: one UDP socket, its sessions and streams. Thread-safe. close() stops it;
 * calls blocked on it then fail with ShutdownException (awaitEvents and awaitPeerEvents
 * too), later calls with InvalidHandleException (the C handle is a token, so a stale one is
 * safe to pass on).
 * Timeouts: a Duration, or null to wait forever.
 */
public final class Node implements AutoCloseable {
  /** Frees handles nobody closed; close() is the contract, this is the safety net. */
  static final Cleaner CLEANER = Cleaner.create();

  /**
   * Every method that passes handle to a native call ends it with
   * Reference.reachabilityFence(this), as Stream's do: once handle is read the JIT may drop
   * `this`, and a node reached through no other reference (`new Node(cfg).stats()`, or a
   * local whose last use is the call) could then be freed by its Cleaner mid-call, which
   * would fail the call with ShutdownException or InvalidHandleException.
   */
  private final long handle;
  private final Cleaner.Cleanable cleanable;
  /**
   * Each poll of the node's event fds holds it shared, close() exclusively while it frees the
   * node: nm_node_free closes those fds, and a poll after it would poll a closed fd number,
   * or one the process has reused for another file. Fair: a close() waiting for it keeps
   * new polls from starting, so it waits for the slices in progress only (SLICE_MS at most).
   * The Cleaner needs none of it: it runs once nothing refers to the node, so no poll runs
   * (awaitEvents and awaitPeerEvents keep the node reachable until they return).
   */
  private final ReentrantReadWriteLock pollLock = new ReentrantReadWriteLock(true);
  private boolean closed; // guarded by pollLock

  public Node(NodeConfig config) {
    var c = config.toNative();
    try {
      handle = netmesh.nm_node_new(c);
    } finally {
      c.delete();
    }
    long h = handle; // the cleaning action must not capture `this`
    cleanable = CLEANER.register(this, () -> quietly(() -> netmesh.nm_node_free(h)));
  }

  /** The node id: derived from the identity seed, announced to peers out of band. */
  public long id() {
    try {
      return netmesh.nm_node_id(handle);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The X25519 public key peers need to connect (32 bytes). */
  public byte[] publicKey() {
    try {
      return netmesh.nm_node_public_key(handle);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** "ip:port" of the bound socket, e.g. "127.0.0.1:40123" or "[::1]:40123". */
  public String localAddress() {
    try {
      return netmesh.nm_node_local_addr(handle);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Initiator: handshakes with the peer; blocks up to handshake timeout x retries. */
  public void connect(String address, byte[] peerPublicKey, long peerNodeId) {
    try {
      netmesh.nm_node_connect(handle, address, peerPublicKey, peerNodeId);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Initiator, routed form: the handshake travels behind a routing header to relayAddress,
   * which forwards it towards peerNodeId over the mesh (relayAddress may be the peer
   * itself: how a started net-mesh 0.23 node accepts new peers). The session's traffic then
   * follows the mesh's routes. Blocks up to handshake timeout x retries.
   */
  public void connectVia(String relayAddress, byte[] peerPublicKey, long peerNodeId) {
    try {
      netmesh.nm_node_connect_via(handle, relayAddress, peerPublicKey, peerNodeId);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Responder: lets peerNodeId handshake with us from now on (also later re-handshakes),
   * without waiting; {@link #accept} also waits for the session. A direct handshake does not
   * name its sender, so only peers allowed here, accepted, or dialled by us get a session.
   */
  public void allowPeer(long peerNodeId) {
    try {
      netmesh.nm_node_allow_peer(handle, peerNodeId);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Responder: allows peerNodeId to handshake with us from now on, and waits up to timeout
   * (null = forever, zero = only allow) for the session. Throws NetmeshTimeoutException if
   * there is none by then; the permission stays. Thread.interrupt() ends the wait
   * (CancellationException, the interrupt status kept).
   */
  public void accept(long peerNodeId, Duration timeout) {
    try {
      Netmesh.interruptibly(timeout, ms -> {
        netmesh.nm_node_accept(handle, peerNodeId, ms);
        return null;
      });
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Asks peerNodeId from which "ip:port" it sees this node's datagrams come: the node's
   * reflexive address, what a NAT on the way made of its socket's address. The peer must be
   * reached directly (NotConnectedException through relays); a net-mesh 0.23 peer answers
   * too. Waits up to timeout (null = until answered); Thread.interrupt() ends the wait
   * (CancellationException).
   */
  public String probeReflex(long peerNodeId, Duration timeout) {
    try {
      return Netmesh.interruptibly(timeout, ms -> netmesh.nm_node_probe_reflex(handle, peerNodeId, ms));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Probes two peers reached directly at once and classifies the NAT (net-mesh 0.23's
   * reclassify_nat); the node keeps the verdict ({@link #natType()}, {@link
   * #reflexAddress()}). NotConnectedException with fewer than two direct peers,
   * NetmeshTimeoutException if neither answered within timeout.
   */
  public NatType classifyNat(Duration timeout) {
    try {
      return NatType.of(Netmesh.interruptibly(timeout, ms -> netmesh.nm_node_classify_nat(handle, ms)));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Moves the session with peerNodeId, reached through relays ({@link #connectVia}), to a
   * direct path through the NATs on the way: coordinator, a node both reach directly (0: the
   * relay the session goes through), times a hole punch, then a path challenge on the punched path moves the session itself (same
   * streams: reliable data goes on exactly once and in order). Returns once direct (at once
   * if it already was); NetmeshTimeoutException if not within timeout: the session stays
   * relayed and working. One native call (a hole punch cannot be cut into slices), so
   * Thread.interrupt() does not end it: give it a timeout (null waits until direct or until
   * the node is closed).
   */
  public void connectDirect(long peerNodeId, long coordinatorNodeId, Duration timeout) {
    try {
      netmesh.nm_node_connect_direct(handle, peerNodeId, coordinatorNodeId, Netmesh.timeoutMillis(timeout));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The last verdict of {@link #classifyNat} (UNKNOWN before one). */
  public NatType natType() {
    try {
      return NatType.of(netmesh.nm_node_nat_type(handle));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The reflexive address the last {@link #classifyNat} saw ("" before one). */
  public String reflexAddress() {
    try {
      return netmesh.nm_node_reflex_addr(handle);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Fault injection (testing): applies impairment to datagrams exchanged with peerNodeId
   * (0 = every peer without a setting of its own) in the given directions; null removes it.
   * Counted in {@link #impairmentStats()}.
   */
  public void setImpairment(long peerNodeId, Direction directions, Impairment impairment) {
    nm_impairment_t c = impairment == null ? null : impairment.toNative();
    try {
      netmesh.nm_node_set_impairment(handle, peerNodeId, directions.code, c);
    } finally {
      if (c != null) c.delete();
      Reference.reachabilityFence(this);
    }
  }

  /** Fault injection (testing): what this node's impairments did so far. */
  public ImpairmentStats impairmentStats() {
    nm_impairment_stats_t s = new nm_impairment_stats_t();
    try {
      netmesh.nm_node_impairment_stats(handle, s);
      return ImpairmentStats.from(s);
    } finally {
      s.delete();
      Reference.reachabilityFence(this);
    }
  }

  /** Opens (or returns the already open) stream; the first explicit config wins. */
  public Stream openStream(long peerNodeId, long streamId, StreamConfig config) {
    nm_stream_config_t c = config == null ? null : config.toNative();
    try {
      return new Stream(this, netmesh.nm_node_open_stream(handle, peerNodeId, streamId, c), peerNodeId, streamId);
    } finally {
      if (c != null) c.delete();
      Reference.reachabilityFence(this);
    }
  }

  /** Opens a stream with the default config. */
  public Stream openStream(long peerNodeId, long streamId) { return openStream(peerNodeId, streamId, null); }

  public NodeStats stats() {
    nm_node_stats_t s = new nm_node_stats_t();
    try {
      netmesh.nm_node_stats(handle, s);
      return NodeStats.from(s);
    } finally {
      s.delete();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * The path to peerNodeId as its session sees it: round-trip times, data in flight, losses.
   * NotConnectedException without a session with that peer.
   */
  public SessionStats sessionStats(long peerNodeId) {
    nm_session_stats_t s = new nm_session_stats_t();
    try {
      netmesh.nm_node_session_stats(handle, peerNodeId, s);
      return SessionStats.from(s);
    } finally {
      s.delete();
      Reference.reachabilityFence(this);
    }
  }

  /** Stats of every open stream of the node. */
  public List<StreamStats> allStreamStats() {
    try {
      while (true) {
        long count = netmesh.nm_node_all_stream_stats(handle, null, 0);
        nm_stream_stats_t array = netmesh.new_nm_stream_stats_array((int) Math.max(count, 1));
        try {
          long now = netmesh.nm_node_all_stream_stats(handle, array, count);
          if (now > count) continue; // streams were opened in between: size again
          List<StreamStats> out = new ArrayList<>((int) now);
          for (int i = 0; i < now; ++i) {
            nm_stream_stats_t item = netmesh.nm_stream_stats_array_getitem(array, i);
            out.add(StreamStats.from(item));
            item.delete();
          }
          return out;
        } finally {
          netmesh.delete_nm_stream_stats_array(array);
        }
      }
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The routes this node knows: its live neighbours and what pingwaves taught it. */
  public List<Route> routes() {
    try {
      while (true) {
        long count = netmesh.nm_node_routes(handle, null, 0);
        nm_route_t array = netmesh.new_nm_route_array((int) Math.max(count, 1));
        try {
          long now = netmesh.nm_node_routes(handle, array, count);
          if (now > count) continue; // routes were learnt in between: size again
          List<Route> out = new ArrayList<>((int) now);
          for (int i = 0; i < now; ++i) {
            nm_route_t item = netmesh.nm_route_array_getitem(array, i);
            out.add(Route.from(item));
            item.delete();
          }
          return out;
        } finally {
          netmesh.delete_nm_route_array(array);
        }
      }
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * The next peer event (connected, suspected, failed, recovered), waiting up to timeout
   * (zero = don't wait, null = forever). The node queues the latest 1024.
   * @throws NetmeshTimeoutException if there was none in time
   * @throws ShutdownException if the node is closed meanwhile
   * @throws java.util.concurrent.CancellationException if the thread is interrupted (its
   *     interrupt status kept)
   */
  public PeerEvent nextPeerEvent(Duration timeout) {
    nm_peer_event_t e = new nm_peer_event_t();
    try {
      Netmesh.interruptibly(timeout, ms -> {
        netmesh.nm_node_next_peer_event(handle, e, ms);
        return null;
      });
      return PeerEvent.from(e);
    } finally {
      e.delete();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Waits until a peer event is queued, without taking it: Java's stand-in for polling
   * nm_node_peer_event_fd. Returns false on timeout. Ends as {@link #awaitEvents} does.
   */
  public boolean awaitPeerEvents(Duration timeout) {
    try {
      return pollReadable(netmesh.nm_node_peer_event_fd(handle), timeout);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Waits until some stream of this node has unread events: Java's stand-in for polling
   * nm_node_event_fd. Returns false on timeout.
   * @throws ShutdownException if the node is closed meanwhile (close() waits for the
   *     native poll in progress, at most 50 ms; no poll follows it)
   * @throws InvalidHandleException if the node was closed before
   * @throws java.util.concurrent.CancellationException if the thread is interrupted (its
   *     interrupt status kept)
   */
  public boolean awaitEvents(Duration timeout) {
    try {
      return pollReadable(netmesh.nm_node_event_fd(handle), timeout);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Interruptible as every blocking call here: polls in slices (an interrupt sends no signal),
   * each under pollLock, and none once the node is closed (the fd may be another file's).
   */
  private boolean pollReadable(int fd, Duration timeout) {
    try {
      return Netmesh.interruptibly(timeout, ms -> {
        int r;
        pollLock.readLock().lock();
        try {
          if (closed) throw new ShutdownException(nm_status.NM_ERR_SHUTDOWN, "node closed while waiting");
          r = netmesh.nm_java_poll_readable(fd, ms);
        } finally {
          pollLock.readLock().unlock();
        }
        if (r < 0) throw new IllegalStateException("poll() on the node's event fd failed");
        if (r == 0) throw new NetmeshTimeoutException(nm_status.NM_ERR_TIMEOUT, "not readable yet");
        return true;
      });
    } catch (NetmeshTimeoutException e) {
      return false;
    }
  }

  long handle() { return handle; }

  /**
   * Stops the node and frees it. Idempotent. Waits for an awaitEvents or awaitPeerEvents
   * slice in progress on another thread (at most 50 ms), which then ends with
   * ShutdownException.
   */
  @Override
  public void close() {
    pollLock.writeLock().lock();
    try {
      closed = true;
      cleanable.clean();
    } finally {
      pollLock.writeLock().unlock();
    }
  }

  /** Runs a free call whose failure (an already stale handle) changes nothing. */
  static void quietly(Runnable free) {
    try {
      free.run();
    } catch (NetmeshException ignored) {
      // already freed or never valid: nothing left to release
    }
  }
}
