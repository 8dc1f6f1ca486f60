package dev.netmesh;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Waiting for a condition instead of sleeping before an assertion: a fixed sleep flakes on a
 * busy machine. The deadline is generous, so that only a broken library misses it; polls
 * return as soon as the condition holds.
 */
final class Await {
  static final Duration DEADLINE = Duration.ofSeconds(10);

  private Await() {}

  /** Polls cond every few milliseconds until it holds; fails naming what after timeout. */
  static void awaitTrue(Duration timeout, BooleanSupplier cond, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) fail("timed out after " + timeout.toMillis() + " ms waiting until " + what);
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting until " + what, e);
      }
    }
  }

  /** awaitTrue(DEADLINE, value() == want), the failure naming the last value seen. */
  static void awaitEquals(long want, LongSupplier value, String what) {
    long[] last = {value.getAsLong()};
    try {
      awaitTrue(DEADLINE, () -> (last[0] = value.getAsLong()) == want, what + " is " + want);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + " (last seen: " + last[0] + ")", e);
    }
  }
}
