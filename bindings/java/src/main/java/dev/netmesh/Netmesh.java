package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.netmeshConstants;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/** Library-wide constants and functions. */
public final class Netmesh {
  /** Size of PSKs, seeds and public keys. */
  public static final int KEY_SIZE = netmeshConstants.NM_KEY_SIZE;
  /** Largest event a stream can carry (what a net-mesh 0.23 peer accepts). */
  public static final int MAX_EVENT_SIZE = netmeshConstants.NM_MAX_EVENT_SIZE;

  private Netmesh() {}

  public static String version() { return netmesh.nm_version(); }

  /** net-mesh's stream_id_from_key: xxh3-64 of the key bytes. */
  public static long streamIdFromKey(byte[] key) { return netmesh.nm_stream_id_from_key(key); }

  /** A Duration as the C API's timeout_ms: null = forever (-1), sub-millisecond rounds up. */
  static int timeoutMillis(Duration timeout) {
    if (timeout == null) return -1;
    if (timeout.isNegative()) throw new IllegalArgumentException("negative timeout: " + timeout);
    if (timeout.getSeconds() >= Integer.MAX_VALUE / 1000) return Integer.MAX_VALUE;
    long ms = timeout.toMillis();
    return (int) (ms == 0 && !timeout.isZero() ? 1 : ms);
  }

  /** The longest one native wait lasts: Thread.interrupt() ends a blocking call within it. */
  static final int SLICE_MS = 50;

  /** One native wait of up to ms milliseconds; NetmeshTimeoutException if it ran out. */
  interface Slice<T> {
    T call(int ms);
  }

  /**
   * A blocking call of up to timeout (null = forever, zero = one attempt that does not wait),
   * cut into native waits of at most SLICE_MS so that an interrupt ends it: the thread's
   * interrupt status stays set and CancellationException is thrown.
   */
  static <T> T interruptibly(Duration timeout, Slice<T> slice) {
    Slices slices = new Slices(timeout);
    while (true) {
      if (Thread.interrupted()) {
        Thread.currentThread().interrupt();
        throw new CancellationException("interrupted while waiting");
      }
      try {
        return slice.call(slices.next());
      } catch (NetmeshTimeoutException e) {
        if (slices.over()) throw e;
      }
    }
  }

  /** A timeout (null = forever) as native waits of at most SLICE_MS. */
  private static final class Slices {
    private final int total;
    private final long deadline;

    Slices(Duration timeout) {
      total = timeoutMillis(timeout);
      deadline = total < 0 ? Long.MAX_VALUE : System.nanoTime() + total * 1_000_000L;
    }

    /** The next wait, in milliseconds: what is left, at most SLICE_MS. */
    int next() {
      long left = total < 0 ? SLICE_MS : Math.max(0, (deadline - System.nanoTime() + 999_999) / 1_000_000);
      return (int) Math.min(SLICE_MS, left);
    }

    /** The timeout ran out (never, for null). */
    boolean over() { return total >= 0 && System.nanoTime() - deadline >= 0; }
  }

  /** Runs the *Async variants' blocking calls: daemon threads, made as needed, reused. */
  private static final ExecutorService ASYNC = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "netmesh-async");
    t.setDaemon(true);
    return t;
  });

  /**
   * call on an async thread. Cancelling the future (cancel(true) or cancel(false)) interrupts
   * that thread, which ends the blocking call within SLICE_MS.
   */
  static <T> CompletableFuture<T> async(Supplier<T> call) {
    Thread[] runner = new Thread[1];
    CompletableFuture<T> future = new CompletableFuture<>() {
      @Override
      public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        synchronized (runner) {
          if (runner[0] != null) runner[0].interrupt();
        }
        return cancelled;
      }
    };
    ASYNC.execute(() -> {
      synchronized (runner) {
        if (future.isDone()) return;
        runner[0] = Thread.currentThread();
      }
      try {
        future.complete(call.get());
      } catch (Throwable e) {
        future.completeExceptionally(e);
      } finally {
        synchronized (runner) {
          runner[0] = null;
          Thread.interrupted(); // a late cancel's interrupt must not leak into the next task
        }
      }
    });
    return future;
  }

  /**
   * A receive on an async thread, in native waits of at most SLICE_MS (timeout as for
   * interruptibly), that never loses what it took: each wait, and the completion with what it
   * returned, runs under one lock that cancelling and completing the future from outside take
   * too. A cancel waits for the slice in progress (at most SLICE_MS); after it, no slice
   * begins. (A cancel racing an interrupted runner could otherwise drop the event the runner
   * had just taken from the stream.)
   */
  static <T> CompletableFuture<T> asyncTake(Duration timeout, Slice<T> slice) {
    Object lock = new Object();
    CompletableFuture<T> future = new CompletableFuture<>() {
      @Override
      public boolean cancel(boolean mayInterruptIfRunning) {
        synchronized (lock) { return super.cancel(mayInterruptIfRunning); }
      }
      @Override
      public boolean complete(T value) {
        synchronized (lock) { return super.complete(value); }
      }
      @Override
      public boolean completeExceptionally(Throwable e) {
        synchronized (lock) { return super.completeExceptionally(e); }
      }
    };
    Slices slices = new Slices(timeout);
    ASYNC.execute(() -> {
      while (true) {
        synchronized (lock) {
          if (future.isDone()) return; // cancelled (or completed from outside): take nothing
          try {
            future.complete(slice.call(slices.next()));
            return;
          } catch (NetmeshTimeoutException e) {
            if (slices.over()) {
              future.completeExceptionally(e);
              return;
            }
          } catch (Throwable e) {
            future.completeExceptionally(e);
            return;
          }
        }
      }
    });
    return future;
  }

  /** A Duration as one of the config's uint32 millisecond fields. */
  static long u32Millis(String what, Duration d) {
    long ms = d.toMillis();
    if (ms < 0 || ms > 0xFFFF_FFFFL) throw new IllegalArgumentException(what + " out of range: " + d);
    return ms;
  }
}
