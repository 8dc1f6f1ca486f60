package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_impairment_t;

/**
 * Seeded, reproducible fault injection at a node's socket (testing), see
 * {@link Node#setImpairment}. Start from {@link #none()} (the C defaults: nothing impaired)
 * and change fields with the with* methods. Probabilities are per datagram, 0..1.
 */
public record Impairment(double loss, double burstEnter, double burstExit, double duplicate,
                         double reorder, long reorderWindowUs, long delayUs, long jitterUs,
                         long rateBytesPerSec, long rateQueueLimitUs, double corrupt,
                         long dropAboveBytes, long dropBelowBytes, long seed) {
  private static final Impairment NONE = readDefaults();

  public static Impairment none() { return NONE; }

  public Impairment withLoss(double p) { return new Impairment(p, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  /** Gilbert-Elliott burst loss: P(good to bad), P(bad to good); in bad state all drop. */
  public Impairment withBurst(double enter, double exit) { return new Impairment(loss, enter, exit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  public Impairment withDuplicate(double p) { return new Impairment(loss, burstEnter, burstExit, p, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  public Impairment withReorder(double p, long windowUs) { return new Impairment(loss, burstEnter, burstExit, duplicate, p, windowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  public Impairment withDelay(long delayUs, long jitterUs) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  public Impairment withRate(long bytesPerSec, long queueLimitUs) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, bytesPerSec, queueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, seed); }

  public Impairment withCorrupt(double p) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, p, dropAboveBytes, dropBelowBytes, seed); }

  /** Datagrams larger than this vanish (an MTU black hole); 0 = off. */
  public Impairment withDropAboveBytes(long bytes) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, bytes, dropBelowBytes, seed); }

  /** Datagrams shorter than this vanish (control traffic, not data); 0 = off. */
  public Impairment withDropBelowBytes(long bytes) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, bytes, seed); }

  /** Same seed, same decisions. */
  public Impairment withSeed(long s) { return new Impairment(loss, burstEnter, burstExit, duplicate, reorder, reorderWindowUs, delayUs, jitterUs, rateBytesPerSec, rateQueueLimitUs, corrupt, dropAboveBytes, dropBelowBytes, s); }

  /** The C struct; the caller deletes it. */
  nm_impairment_t toNative() {
    nm_impairment_t c = new nm_impairment_t();
    netmesh.nm_impairment_init(c);
    c.setLoss(loss);
    c.setBurst_enter(burstEnter);
    c.setBurst_exit(burstExit);
    c.setDuplicate(duplicate);
    c.setReorder(reorder);
    c.setReorder_window_us(reorderWindowUs);
    c.setDelay_us(delayUs);
    c.setJitter_us(jitterUs);
    c.setRate_bytes_per_sec(rateBytesPerSec);
    c.setRate_queue_limit_us(rateQueueLimitUs);
    c.setCorrupt(corrupt);
    c.setDrop_above_bytes(dropAboveBytes);
    c.setDrop_below_bytes(dropBelowBytes);
    c.setSeed(seed);
    return c;
  }

  private static Impairment readDefaults() {
    nm_impairment_t c = new nm_impairment_t();
    try {
      netmesh.nm_impairment_init(c);
      return new Impairment(c.getLoss(), c.getBurst_enter(), c.getBurst_exit(), c.getDuplicate(),
          c.getReorder(), c.getReorder_window_us(), c.getDelay_us(), c.getJitter_us(),
          c.getRate_bytes_per_sec(), c.getRate_queue_limit_us(), c.getCorrupt(),
          c.getDrop_above_bytes(), c.getDrop_below_bytes(), c.getSeed());
    } finally {
      c.delete();
    }
  }
}
