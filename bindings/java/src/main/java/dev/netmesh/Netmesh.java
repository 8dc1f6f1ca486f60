package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.netmeshConstants;
import java.time.Duration;

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

  /** A Duration as one of the config's uint32 millisecond fields. */
  static long u32Millis(String what, Duration d) {
    long ms = d.toMillis();
    if (ms < 0 || ms > 0xFFFF_FFFFL) throw new IllegalArgumentException(what + " out of range: " + d);
    return ms;
  }
}
