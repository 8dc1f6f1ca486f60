package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_stream_stats_t;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A handle to one stream of a {@link Node}. Thread-safe. close() closes the stream with its
 * close behaviour and frees the handle; {@link #closeStream()} closes the stream and keeps
 * the handle (to read what already arrived); {@link #release()} frees the handle only (the
 * stream stays open for other handles and the peer). Events are byte arrays, empty ones included; one batch goes out in order,
 * packed into as few packets as fit.
 */
public final class Stream implements AutoCloseable {
  // modes of nm_bind_send_frames (bindings/netmesh.i)
  private static final int SEND = 0, SEND_WITH_RETRY = 1, SEND_BLOCKING = 2;
  /** Receive buffers are per thread: direct, so the C library writes straight into them. */
  private static final ThreadLocal<ByteBuffer> RECV_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(2048));
  /** Batches get their own, larger buffer: a batch stops before an event that does not fit,
   *  and 64 KiB (the default window) holds all a default stream can have unread. */
  private static final ThreadLocal<ByteBuffer> BATCH_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(64 * 1024));
  /** A batch's frames are packed here, per thread, and C reads them in place. */
  private static final ThreadLocal<ByteBuffer> SEND_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(16 * 1024).order(ByteOrder.LITTLE_ENDIAN));

  private final Node node;
  private final long handle;
  private final long peerNodeId;
  private final long id;
  private final Cleaner.Cleanable cleanable;
  private final AtomicBoolean released = new AtomicBoolean();

  Stream(Node node, long handle, long peerNodeId, long id) {
    this.node = node; // keeps the node reachable (and so unfreed) while the stream is
    this.handle = handle;
    this.peerNodeId = peerNodeId;
    this.id = id;
    cleanable = Node.CLEANER.register(this, () -> Node.quietly(() -> netmesh.nm_stream_free(handle)));
  }

  public long peerNodeId() { return peerNodeId; }

  public long id() { return id; }

  /**
   * Sends the events without waiting; returns how many were sent (all of them).
   * @throws BackpressureException when the window is exhausted; its sent() says how many
   *     of the batch went out before
   */
  public int send(byte[]... events) { return sendFrames(SEND, 0, pack(events), 0); }

  /** send, each event being a buffer's remaining bytes (positions are not changed). */
  public int send(ByteBuffer... events) { return sendFrames(SEND, 0, pack(events), 0); }

  /** Like send, retrying on backpressure up to maxRetries times (5 ms to 200 ms backoff). */
  public int sendWithRetry(int maxRetries, byte[]... events) {
    if (maxRetries < 0) throw new IllegalArgumentException("maxRetries: " + maxRetries);
    return sendFrames(SEND_WITH_RETRY, maxRetries, pack(events), 0);
  }

  /**
   * Like send, waiting for credit up to timeout (null = forever). Thread.interrupt() ends the
   * wait (CancellationException, the interrupt status kept; the events before it went out).
   * @throws NetmeshTimeoutException if credit did not come in time; its sent() says how many
   *     of the batch went out
   */
  public int sendBlocking(Duration timeout, byte[]... events) { return sendBlocking(timeout, pack(events)); }

  /** sendBlocking, each event being a buffer's remaining bytes (positions are not changed). */
  public int sendBlocking(Duration timeout, ByteBuffer... events) { return sendBlocking(timeout, pack(events)); }

  /** sendBlocking on another thread; cancelling the future interrupts it. */
  public CompletableFuture<Integer> sendAsync(Duration timeout, byte[]... events) {
    return Netmesh.async(() -> sendBlocking(timeout, events));
  }

  private int sendBlocking(Duration timeout, ByteBuffer frames) {
    int[] sent = {0};
    try {
      return Netmesh.interruptibly(timeout, ms -> {
        try {
          sent[0] += sendFrames(SEND_BLOCKING, ms, frames, skipFrames(frames, sent[0]));
          return sent[0];
        } catch (NetmeshTimeoutException e) {
          sent[0] += e.sent(); // the next slice sends the rest
          throw e;
        }
      });
    } catch (NetmeshTimeoutException e) {
      throw new NetmeshTimeoutException(e.status(), e.detail(), sent[0]);
    }
  }

  /**
   * Receives the next event, waiting up to timeout (zero = don't wait, null = forever).
   * @throws NetmeshTimeoutException if none arrived in time
   * @throws NotConnectedException once the stream is closed (and, for DRAIN_THEN_CLOSE,
   *     drained)
   * @throws java.util.concurrent.CancellationException if the thread is interrupted while
   *     waiting (its interrupt status kept; every blocking call of this binding does this)
   */
  public byte[] receive(Duration timeout) { return Netmesh.interruptibly(timeout, this::receiveOnce); }

  /**
   * receive on another thread. Cancelling the future ends the wait within 50 ms (cancel
   * waits for the native wait in progress); an event is never taken from the stream by a
   * cancelled future: it stays for the next receive.
   */
  public CompletableFuture<byte[]> receiveAsync(Duration timeout) {
    return Netmesh.asyncTake(timeout, this::receiveOnce);
  }

  private byte[] receiveOnce(int ms) {
    ByteBuffer buf = RECV_BUFFER.get();
    while (true) {
      try {
        int n;
        try {
          n = (int) netmesh.nm_stream_recv(handle, buf, ms);
        } finally {
          Reference.reachabilityFence(this); // as in sendFrames
        }
        byte[] out = new byte[n];
        buf.get(0, out);
        return out;
      } catch (BufferTooSmallException e) { // the event stays queued: grow and read it
        buf = ByteBuffer.allocateDirect(Math.max(e.needed(), 2 * buf.capacity()));
        RECV_BUFFER.set(buf);
      }
    }
  }

  /**
   * Zero-copy receive into a direct buffer, from index 0 up to its capacity (position and
   * limit are ignored, then set to 0 and the event's length). Returns the length. dst's
   * memory must stay allocated until this returns: do not close the shared Arena of a
   * segment whose asByteBuffer() it is meanwhile (JNI cannot hold the Arena open).
   * @throws BufferTooSmallException if the next event needs more than dst's capacity; it
   *     stays queued
   * @throws java.nio.ReadOnlyBufferException if dst is read-only (the library would write
   *     through it: into a read-only mapping, a crash)
   */
  public int receive(ByteBuffer dst, Duration timeout) {
    writable(dst);
    int n;
    try {
      n = Netmesh.interruptibly(timeout, ms -> (int) netmesh.nm_stream_recv(handle, dst, ms));
    } finally {
      Reference.reachabilityFence(this); // as in sendFrames
    }
    dst.clear().limit(n);
    return n;
  }

  /**
   * Receives up to maxEvents events in one call (one JNI crossing, one lock round trip):
   * waits up to timeout (zero = don't wait, null = forever) for the first, then takes what
   * is queued after it, in order. The per-thread buffer grows as needed; a batch also stops
   * early before an event that does not fit in it (the next call returns that event).
   * @throws NetmeshTimeoutException if none arrived in time
   * @throws NotConnectedException once the stream is closed (and, for DRAIN_THEN_CLOSE,
   *     drained)
   */
  public List<byte[]> receiveBatch(int maxEvents, Duration timeout) {
    if (maxEvents < 1) throw new IllegalArgumentException("maxEvents: " + maxEvents);
    return Netmesh.interruptibly(timeout, ms -> receiveBatchOnce(maxEvents, ms));
  }

  private List<byte[]> receiveBatchOnce(int maxEvents, int ms) {
    int[] lengths = new int[maxEvents];
    ByteBuffer buf = BATCH_BUFFER.get();
    while (true) {
      try {
        int n;
        try {
          n = (int) netmesh.nm_stream_recv_batch(handle, buf, lengths, ms);
        } finally {
          Reference.reachabilityFence(this); // as in sendFrames
        }
        List<byte[]> out = new ArrayList<>(n);
        int pos = 0;
        for (int i = 0; i < n; ++i) {
          byte[] e = new byte[lengths[i]];
          buf.get(pos, e);
          pos += e.length;
          out.add(e);
        }
        return out;
      } catch (BufferTooSmallException e) { // the first event stays queued: grow and read it
        buf = ByteBuffer.allocateDirect(Math.max(e.needed(), 2 * buf.capacity()));
        BATCH_BUFFER.set(buf);
      }
    }
  }

  /**
   * Zero-copy batch receive into a direct buffer: up to lengths.length events, back to back
   * from index 0 (position and limit are ignored, then set to 0 and the bytes received);
   * their sizes go to lengths[0..count). Returns the count. Waits like {@link #receiveBatch}.
   * @throws BufferTooSmallException if the first event needs more than dst's capacity; it
   *     stays queued
   */
  public int receiveBatch(ByteBuffer dst, int[] lengths, Duration timeout) {
    writable(dst);
    if (lengths.length == 0) throw new IllegalArgumentException("lengths must hold at least one entry");
    int n;
    try {
      n = Netmesh.interruptibly(timeout, ms -> (int) netmesh.nm_stream_recv_batch(handle, dst, lengths, ms));
    } finally {
      Reference.reachabilityFence(this); // as in sendFrames
    }
    int total = 0;
    for (int i = 0; i < n; ++i) total += lengths[i];
    dst.clear().limit(total);
    return n;
  }

  private static void writable(ByteBuffer dst) {
    if (dst.isReadOnly()) throw new java.nio.ReadOnlyBufferException();
  }

  public StreamStats stats() {
    nm_stream_stats_t s = new nm_stream_stats_t();
    try {
      netmesh.nm_stream_stats(handle, s);
      return StreamStats.from(s);
    } finally {
      s.delete();
      Reference.reachabilityFence(this); // as in sendFrames
    }
  }

  /**
   * Closes the stream with its close behaviour: every handle to it becomes stale
   * (NotConnectedException). This handle still needs close() or release().
   */
  public void closeStream() {
    try {
      netmesh.nm_node_close_stream(node.handle(), handle);
    } finally {
      Reference.reachabilityFence(this); // as in sendFrames
    }
  }

  /**
   * Closes the stream with its close behaviour, as closeStream() (DrainThenClose waits, up to
   * the node's drain timeout, until what was sent is acknowledged), and frees this handle. A
   * stream already closed (by the peer, another handle or the node's shutdown) is not an
   * error. Idempotent; later calls of anything else fail with InvalidHandleException.
   * @throws NetmeshTimeoutException if the drain timed out (the stream is closed and the
   *     handle freed all the same)
   */
  @Override
  public void close() {
    if (released.get()) return;
    try {
      closeStream();
    } catch (NotConnectedException | ShutdownException | InvalidHandleException closedAlready) {
      // nothing left to close (InvalidHandleException: the node was freed)
    } finally {
      release();
    }
  }

  /** Frees this handle only (the stream stays open). Idempotent; later calls of anything else
   *  fail with InvalidHandleException. */
  public void release() {
    released.set(true);
    cleanable.clean();
  }

  /** Sends the frames in frames[offset, limit) (a direct buffer, read in place by C). */
  private int sendFrames(int mode, int arg, ByteBuffer frames, int offset) {
    ByteBuffer rest = frames.slice(offset, frames.limit() - offset);
    try {
      return (int) netmesh.nm_jbind_send_direct(handle, rest, rest.capacity(), mode, arg);
    } finally {
      // Reachable until the call returns: else the Cleaner may free the handle mid-call
      // (`openStream(...).sendWithRetry(...)` holds no other reference), and since the free
      // wakes the call, it would fail with InvalidHandleException.
      Reference.reachabilityFence(this);
    }
  }

  /** The offset of frame `count` in packed frames. */
  private static int skipFrames(ByteBuffer frames, int count) {
    int pos = 0;
    for (int i = 0; i < count; ++i) pos += 4 + frames.getInt(pos);
    return pos;
  }

  /** The per-thread direct buffer with room for `size` bytes of frames, limit set to size. */
  private static ByteBuffer sendBuffer(int size) {
    ByteBuffer b = SEND_BUFFER.get();
    if (b.capacity() < size) {
      b = ByteBuffer.allocateDirect(Math.max(size, 2 * b.capacity())).order(ByteOrder.LITTLE_ENDIAN);
      SEND_BUFFER.set(b);
    }
    return b.clear().limit(size);
  }

  /** The batch as u32le(len) || bytes frames in the per-thread direct buffer: one copy. */
  static ByteBuffer pack(byte[][] events) {
    int total = 0;
    for (byte[] e : events) total = Math.addExact(total, 4 + Objects.requireNonNull(e, "event").length);
    ByteBuffer b = sendBuffer(total);
    for (byte[] e : events) b.putInt(e.length).put(e);
    return b.flip();
  }

  static ByteBuffer pack(ByteBuffer[] events) {
    int total = 0;
    for (ByteBuffer e : events) total = Math.addExact(total, 4 + Objects.requireNonNull(e, "event").remaining());
    ByteBuffer b = sendBuffer(total);
    for (ByteBuffer e : events) b.putInt(e.remaining()).put(e.duplicate());
    return b.flip();
  }
}
