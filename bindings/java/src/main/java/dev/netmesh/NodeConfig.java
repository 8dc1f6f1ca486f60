package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_node_config_t;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings for a {@link Node}, with fluent setters; a new NodeConfig holds the C library's
 * defaults (read from nm_node_config_init, so they cannot drift). Only the PSK is required.
 * Keys are copied in and out, so later changes to a caller's array do not leak in.
 */
public final class NodeConfig {
  private String bindAddress;
  private byte[] psk;
  private byte[] identitySeed;
  private byte[] staticPrivateKey;
  private Path identityFile;
  private Duration heartbeatInterval;
  private Duration handshakeTimeout;
  private long handshakeRetries;
  private Duration sessionTimeout;
  private Duration streamIdleTimeout;
  private long maxStreams;
  private long defaultWindowBytes;
  private long maxEventBytes;
  private Duration drainTimeout;
  private boolean compat023;
  private Duration suspectAfter;
  private Duration failAfter;
  private int pingwaveTtl;
  private long sessionRateBytesPerSec;
  private long maxSessions;
  private long handshakeRatePerSec;
  private long maxSessionBufferBytes;
  private long maxBufferBytes;
  private CongestionControl congestionControl;
  private Duration autoDirect;

  public NodeConfig() {
    nm_node_config_t c = new nm_node_config_t();
    try {
      netmesh.nm_node_config_init(c);
      bindAddress = c.getBind_addr();
      psk = c.getPsk();
      identitySeed = c.getIdentity_seed();
      staticPrivateKey = c.getStatic_private_key();
      String file = c.getIdentity_file();
      identityFile = file == null ? null : Path.of(file);
      heartbeatInterval = Duration.ofMillis(c.getHeartbeat_interval_ms());
      handshakeTimeout = Duration.ofMillis(c.getHandshake_timeout_ms());
      handshakeRetries = c.getHandshake_retries();
      sessionTimeout = Duration.ofMillis(c.getSession_timeout_ms());
      streamIdleTimeout = Duration.ofMillis(c.getStream_idle_timeout_ms());
      maxStreams = c.getMax_streams();
      defaultWindowBytes = c.getDefault_window_bytes();
      maxEventBytes = c.getMax_event_bytes();
      drainTimeout = Duration.ofMillis(c.getDrain_timeout_ms());
      compat023 = c.getCompat_0_23() != 0;
      suspectAfter = Duration.ofMillis(c.getSuspect_after_ms());
      failAfter = Duration.ofMillis(c.getFail_after_ms());
      pingwaveTtl = c.getPingwave_ttl();
      sessionRateBytesPerSec = c.getSession_rate_bytes_per_sec();
      maxSessions = c.getMax_sessions();
      handshakeRatePerSec = c.getHandshake_rate_per_sec();
      maxSessionBufferBytes = c.getMax_session_buffer_bytes();
      maxBufferBytes = c.getMax_buffer_bytes();
      congestionControl = CongestionControl.of(c.getCongestion_control());
      autoDirect = Duration.ofMillis(c.getAuto_direct_ms());
    } finally {
      c.delete();
    }
  }

  /** "ip:port" to bind; "127.0.0.1:0" by default (reaches this host only), "0.0.0.0:0" for
   *  IPv4 peers, "[::]:0" for IPv4 and IPv6 peers. */
  public NodeConfig bindAddress(String v) { bindAddress = Objects.requireNonNull(v); return this; }
  /** Mesh-wide pre-shared key, 32 bytes, required (all-zero is refused). */
  public NodeConfig psk(byte[] v) { psk = key(v); return this; }
  /** ed25519 seed that fixes the node id; all-zero (the default) = random identity. */
  public NodeConfig identitySeed(byte[] v) { identitySeed = key(v); return this; }
  /** X25519 private key; all-zero (the default) = random. */
  public NodeConfig staticPrivateKey(byte[] v) { staticPrivateKey = key(v); return this; }
  /**
   * Where the node keeps its identity (null, the default: nowhere). Both keys are loaded
   * from the file, or on first start saved to it (mode 0600) from identitySeed and
   * staticPrivateKey (random if all-zero), so the node id and public key survive restarts.
   * A file that is not a netmesh identity makes the Node constructor throw
   * InvalidArgumentException.
   */
  public NodeConfig identityFile(Path v) { identityFile = v; return this; }
  public NodeConfig heartbeatInterval(Duration v) { heartbeatInterval = Objects.requireNonNull(v); return this; }
  /** Per handshake attempt. */
  public NodeConfig handshakeTimeout(Duration v) { handshakeTimeout = Objects.requireNonNull(v); return this; }
  /** Handshake attempts in all. */
  public NodeConfig handshakeRetries(long v) { handshakeRetries = v; return this; }
  /** A peer silent this long is no longer active. */
  public NodeConfig sessionTimeout(Duration v) { sessionTimeout = Objects.requireNonNull(v); return this; }
  public NodeConfig streamIdleTimeout(Duration v) { streamIdleTimeout = Objects.requireNonNull(v); return this; }
  /** Per session; beyond, the least recently used stream goes. */
  public NodeConfig maxStreams(long v) { maxStreams = v; return this; }
  /** Window of streams a peer opens towards us. */
  public NodeConfig defaultWindowBytes(long v) { defaultWindowBytes = v; return this; }
  /** Largest event sent or accepted; above Netmesh.MAX_EVENT_SIZE events are fragmented
   *  (netmesh peers only). */
  public NodeConfig maxEventBytes(long v) { maxEventBytes = v; return this; }
  /** How long DRAIN_THEN_CLOSE waits for acknowledgements. */
  public NodeConfig drainTimeout(Duration v) { drainTimeout = Objects.requireNonNull(v); return this; }
  /** Behave exactly like a net-mesh 0.23 node: no netmesh extensions offered or accepted. */
  public NodeConfig compat023(boolean v) { compat023 = v; return this; }
  /** A neighbour without heartbeats for this long is Suspected (a {@link PeerEvent}). */
  public NodeConfig suspectAfter(Duration v) { suspectAfter = Objects.requireNonNull(v); return this; }
  /**
   * ... and Failed after this long (at least suspectAfter, else the Node constructor throws
   * InvalidArgumentException): routes through it are dropped.
   */
  public NodeConfig failAfter(Duration v) { failAfter = Objects.requireNonNull(v); return this; }
  /** Hops our route announcements (pingwaves) travel, 0..255. */
  public NodeConfig pingwaveTtl(int v) {
    if (v < 0 || v > 255) throw new IllegalArgumentException("pingwaveTtl out of range: " + v);
    pingwaveTtl = v;
    return this;
  }
  /**
   * 0 (the default) = unpaced. Otherwise each session sends at most this many bytes per
   * second, its backlogged streams sharing the rate in proportion to their fairness weight;
   * a stream queues at most 1 MiB before backpressure.
   */
  public NodeConfig sessionRateBytesPerSec(long v) {
    if (v < 0) throw new IllegalArgumentException("sessionRateBytesPerSec out of range: " + v);
    sessionRateBytesPerSec = v;
    return this;
  }

  /** Sessions plus unconfirmed handshakes (1024); see SECURITY.md. */
  public NodeConfig maxSessions(long v) { maxSessions = u32("maxSessions", v); return this; }
  /** msg1s examined per second (500; 0 = unlimited); beyond, dropped unexamined. */
  public NodeConfig handshakeRatePerSec(long v) { handshakeRatePerSec = u32("handshakeRatePerSec", v); return this; }
  /** Memory held for one peer's unread, early and large events (32 MiB). */
  public NodeConfig maxSessionBufferBytes(long v) {
    if (v < 0) throw new IllegalArgumentException("maxSessionBufferBytes out of range: " + v);
    maxSessionBufferBytes = v;
    return this;
  }
  /** The same for all peers together (256 MiB). */
  public NodeConfig maxBufferBytes(long v) {
    if (v < 0) throw new IllegalArgumentException("maxBufferBytes out of range: " + v);
    maxBufferBytes = v;
    return this;
  }

  /** The congestion controller of sessions towards netmesh peers (CUBIC by default). */
  public NodeConfig congestionControl(CongestionControl v) { congestionControl = Objects.requireNonNull(v); return this; }
  /**
   * Zero (default): off, the application calls {@link Node#connectDirect}. Otherwise (at least
   * a second) a session relayed to a netmesh peer tries for a direct path on its own, when the
   * peer's hello arrives and then this often while it stays relayed (each try still relayed
   * when the next is due is a relay fallback).
   */
  public NodeConfig autoDirect(Duration v) { autoDirect = Objects.requireNonNull(v); return this; }

  public String bindAddress() { return bindAddress; }
  public byte[] psk() { return psk.clone(); }
  public byte[] identitySeed() { return identitySeed.clone(); }
  public byte[] staticPrivateKey() { return staticPrivateKey.clone(); }
  public Path identityFile() { return identityFile; }
  public Duration heartbeatInterval() { return heartbeatInterval; }
  public Duration handshakeTimeout() { return handshakeTimeout; }
  public long handshakeRetries() { return handshakeRetries; }
  public Duration sessionTimeout() { return sessionTimeout; }
  public Duration streamIdleTimeout() { return streamIdleTimeout; }
  public long maxStreams() { return maxStreams; }
  public long defaultWindowBytes() { return defaultWindowBytes; }
  public long maxEventBytes() { return maxEventBytes; }
  public Duration drainTimeout() { return drainTimeout; }
  public boolean compat023() { return compat023; }
  public Duration suspectAfter() { return suspectAfter; }
  public Duration failAfter() { return failAfter; }
  public int pingwaveTtl() { return pingwaveTtl; }
  public long sessionRateBytesPerSec() { return sessionRateBytesPerSec; }
  public long maxSessions() { return maxSessions; }
  public long handshakeRatePerSec() { return handshakeRatePerSec; }
  public long maxSessionBufferBytes() { return maxSessionBufferBytes; }
  public long maxBufferBytes() { return maxBufferBytes; }
  public CongestionControl congestionControl() { return congestionControl; }
  public Duration autoDirect() { return autoDirect; }

  private static byte[] key(byte[] v) {
    if (v.length != Netmesh.KEY_SIZE) throw new IllegalArgumentException("keys are " + Netmesh.KEY_SIZE + " bytes, got " + v.length);
    return v.clone();
  }

  private static long u32(String what, long v) {
    if (v < 0 || v > 0xFFFF_FFFFL) throw new IllegalArgumentException(what + " out of range: " + v);
    return v;
  }

  /** The C struct; the caller deletes it. */
  nm_node_config_t toNative() {
    nm_node_config_t c = new nm_node_config_t();
    try {
      netmesh.nm_node_config_init(c);
      c.setBind_addr(bindAddress);
      c.setPsk(psk);
      c.setIdentity_seed(identitySeed);
      c.setStatic_private_key(staticPrivateKey);
      c.setIdentity_file(identityFile == null ? null : identityFile.toString());
      c.setHeartbeat_interval_ms(Netmesh.u32Millis("heartbeatInterval", heartbeatInterval));
      c.setHandshake_timeout_ms(Netmesh.u32Millis("handshakeTimeout", handshakeTimeout));
      c.setHandshake_retries(u32("handshakeRetries", handshakeRetries));
      c.setSession_timeout_ms(Netmesh.u32Millis("sessionTimeout", sessionTimeout));
      c.setStream_idle_timeout_ms(Netmesh.u32Millis("streamIdleTimeout", streamIdleTimeout));
      c.setMax_streams(u32("maxStreams", maxStreams));
      c.setDefault_window_bytes(u32("defaultWindowBytes", defaultWindowBytes));
      c.setMax_event_bytes(u32("maxEventBytes", maxEventBytes));
      c.setDrain_timeout_ms(Netmesh.u32Millis("drainTimeout", drainTimeout));
      c.setCompat_0_23((short) (compat023 ? 1 : 0));
      c.setSuspect_after_ms(Netmesh.u32Millis("suspectAfter", suspectAfter));
      c.setFail_after_ms(Netmesh.u32Millis("failAfter", failAfter));
      c.setPingwave_ttl((short) pingwaveTtl);
      c.setSession_rate_bytes_per_sec(sessionRateBytesPerSec);
      c.setMax_sessions(maxSessions);
      c.setHandshake_rate_per_sec(handshakeRatePerSec);
      c.setMax_session_buffer_bytes(maxSessionBufferBytes);
      c.setMax_buffer_bytes(maxBufferBytes);
      c.setCongestion_control(congestionControl.code);
      c.setAuto_direct_ms(Netmesh.u32Millis("autoDirect", autoDirect));
      return c;
    } catch (RuntimeException e) {
      c.delete();
      throw e;
    }
  }
}
