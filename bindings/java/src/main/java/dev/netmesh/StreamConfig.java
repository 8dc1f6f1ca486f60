package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_stream_config_t;
import java.util.Objects;

/**
 * How a stream behaves; start from {@link #defaults()} (the C library's) and change fields
 * with the with* methods. windowBytes 0 means unbounded (no credit flow control).
 */
public record StreamConfig(Reliability reliability, long windowBytes, int fairnessWeight,
                           CloseBehaviour closeBehaviour) {
  private static final StreamConfig DEFAULTS = readDefaults();

  public StreamConfig {
    Objects.requireNonNull(reliability, "reliability");
    Objects.requireNonNull(closeBehaviour, "closeBehaviour");
  }

  public static StreamConfig defaults() { return DEFAULTS; }

  public StreamConfig withReliability(Reliability r) { return new StreamConfig(r, windowBytes, fairnessWeight, closeBehaviour); }

  public StreamConfig withWindowBytes(long w) { return new StreamConfig(reliability, w, fairnessWeight, closeBehaviour); }

  public StreamConfig withFairnessWeight(int w) { return new StreamConfig(reliability, windowBytes, w, closeBehaviour); }

  public StreamConfig withCloseBehaviour(CloseBehaviour c) { return new StreamConfig(reliability, windowBytes, fairnessWeight, c); }

  /** The C struct; the caller deletes it. */
  nm_stream_config_t toNative() {
    if (windowBytes < 0 || windowBytes > 0xFFFF_FFFFL) throw new IllegalArgumentException("windowBytes: " + windowBytes);
    if (fairnessWeight < 0 || fairnessWeight > 255) throw new IllegalArgumentException("fairnessWeight: " + fairnessWeight);
    nm_stream_config_t c = new nm_stream_config_t();
    netmesh.nm_stream_config_init(c);
    c.setReliability((short) reliability.code);
    c.setWindow_bytes(windowBytes);
    c.setFairness_weight((short) fairnessWeight);
    c.setClose_behaviour((short) closeBehaviour.code);
    return c;
  }

  private static StreamConfig readDefaults() {
    nm_stream_config_t c = new nm_stream_config_t();
    try {
      netmesh.nm_stream_config_init(c);
      return new StreamConfig(Reliability.of(c.getReliability()), c.getWindow_bytes(),
          c.getFairness_weight(), CloseBehaviour.of(c.getClose_behaviour()));
    } finally {
      c.delete();
    }
  }
}
