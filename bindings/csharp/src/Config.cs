using System;
using Netmesh.Native;

namespace Netmesh
{
    public enum Reliability { FireAndForget = 0, Reliable = 1 }
    public enum CloseBehaviour { DrainThenClose = 0, DropAndClose = 1 }
    /// <summary>The congestion controller of a session towards a netmesh peer: CUBIC with
    /// HyStart++ (the default), NewReno or BBR version 1.</summary>
    public enum CongestionControl { Cubic = 0, NewReno = 1, Bbr = 2 }
    /// <summary>What stands between a node and its peers (nm_nat_type; net-mesh 0.23's
    /// NatClass): Unknown (too few answers), Open (the peers see one of this host's own
    /// addresses), Cone (every peer sees the same public address), Symmetric (a mapping per
    /// destination).</summary>
    public enum NatType { Unknown = 0, Open = 1, Cone = 2, Symmetric = 3 }

    /// <summary>nm_node_config_t. A new instance holds the C defaults (read from
    /// nm_node_config_init, not duplicated here); Psk must be set before creating a node.</summary>
    public sealed class NodeConfig
    {
        static NodeConfig() { NativeLoader.Load(); } // before any P/Invoke

        /// <summary>"ip:port" to bind: "127.0.0.1:0" by default (reaches this host only),
        /// "0.0.0.0:0" for IPv4 peers, "[::]:0" for IPv4 and IPv6 peers.</summary>
        public string BindAddress { get; set; }
        public byte[] Psk { get; set; }
        /// <summary>ed25519 seed; all-zero = random identity.</summary>
        public byte[] IdentitySeed { get; set; }
        /// <summary>X25519 private key; all-zero = random.</summary>
        public byte[] StaticPrivateKey { get; set; }
        /// <summary>null (the default) = none. A path: both keys are loaded from it, or on first
        /// start saved to it (mode 0600), so the node id and public key peers know survive
        /// restarts. An existing file wins over IdentitySeed and StaticPrivateKey.</summary>
        public string IdentityFile { get; set; }
        public TimeSpan HeartbeatInterval { get; set; }
        /// <summary>Per attempt.</summary>
        public TimeSpan HandshakeTimeout { get; set; }
        /// <summary>Attempts in all.</summary>
        public uint HandshakeRetries { get; set; }
        public TimeSpan SessionTimeout { get; set; }
        public TimeSpan StreamIdleTimeout { get; set; }
        public uint MaxStreams { get; set; }
        public uint DefaultWindowBytes { get; set; }
        /// <summary>Largest event sent or accepted; above Library.MaxEventSize events are
        /// fragmented (netmesh peers only).</summary>
        public uint MaxEventBytes { get; set; }
        /// <summary>How long DrainThenClose waits for acknowledgements.</summary>
        public TimeSpan DrainTimeout { get; set; }
        /// <summary>Behave exactly like a net-mesh 0.23 node (no netmesh extensions).</summary>
        public bool Compat023 { get; set; }
        /// <summary>A neighbour without heartbeats this long is Suspected (a
        /// <see cref="PeerEvent"/>) ...</summary>
        public TimeSpan SuspectAfter { get; set; }
        /// <summary>... and Failed after this long (at least SuspectAfter): routes through it are
        /// dropped.</summary>
        public TimeSpan FailAfter { get; set; }
        /// <summary>Hops our route announcements (pingwaves) travel.</summary>
        public byte PingwaveTtl { get; set; }
        /// <summary>0 = unpaced. Otherwise each session sends at most this many bytes per second,
        /// shared by its backlogged streams in proportion to their FairnessWeight; a stream queues
        /// at most 1 MiB before backpressure.</summary>
        public ulong SessionRateBytesPerSec { get; set; }
        /// <summary>Sessions plus unconfirmed handshakes (1024); see SECURITY.md.</summary>
        public uint MaxSessions { get; set; }
        /// <summary>msg1s examined per second (500; 0 = unlimited); beyond, dropped unexamined.</summary>
        public uint HandshakeRatePerSec { get; set; }
        /// <summary>Memory held for one peer's unread, early and large events (32 MiB).</summary>
        public ulong MaxSessionBufferBytes { get; set; }
        /// <summary>The same for all peers together (256 MiB).</summary>
        public ulong MaxBufferBytes { get; set; }
        /// <summary>The congestion controller of sessions towards netmesh peers.</summary>
        public CongestionControl CongestionControl { get; set; }
        /// <summary>Zero (default): off, the application calls ConnectDirect. Otherwise (at
        /// least a second) a session relayed to a netmesh peer tries for a direct path on its
        /// own, when the peer's hello arrives and then this often while it stays relayed (each
        /// try still relayed when the next is due is a relay fallback).</summary>
        public TimeSpan AutoDirect { get; set; }

        public NodeConfig()
        {
            using (var c = new nm_node_config_t())
            {
                Errors.Check(netmesh.nm_node_config_init(c), "nm_node_config_init");
                BindAddress = c.bind_addr;
                Psk = c.psk;
                IdentitySeed = c.identity_seed;
                StaticPrivateKey = c.static_private_key;
                IdentityFile = c.identity_file;
                HeartbeatInterval = TimeSpan.FromMilliseconds(c.heartbeat_interval_ms);
                HandshakeTimeout = TimeSpan.FromMilliseconds(c.handshake_timeout_ms);
                HandshakeRetries = c.handshake_retries;
                SessionTimeout = TimeSpan.FromMilliseconds(c.session_timeout_ms);
                StreamIdleTimeout = TimeSpan.FromMilliseconds(c.stream_idle_timeout_ms);
                MaxStreams = c.max_streams;
                DefaultWindowBytes = c.default_window_bytes;
                MaxEventBytes = c.max_event_bytes;
                DrainTimeout = TimeSpan.FromMilliseconds(c.drain_timeout_ms);
                Compat023 = c.compat_0_23 != 0;
                SuspectAfter = TimeSpan.FromMilliseconds(c.suspect_after_ms);
                FailAfter = TimeSpan.FromMilliseconds(c.fail_after_ms);
                PingwaveTtl = c.pingwave_ttl;
                SessionRateBytesPerSec = c.session_rate_bytes_per_sec;
                MaxSessions = c.max_sessions;
                HandshakeRatePerSec = c.handshake_rate_per_sec;
                MaxSessionBufferBytes = c.max_session_buffer_bytes;
                MaxBufferBytes = c.max_buffer_bytes;
                CongestionControl = (CongestionControl)c.congestion_control;
                AutoDirect = TimeSpan.FromMilliseconds(c.auto_direct_ms);
            }
        }

        /// <summary>The native struct; the caller disposes it. bind_addr and identity_file are
        /// passed separately (see nm_cs_node_new in netmesh_csharp.i).</summary>
        internal nm_node_config_t ToNative()
        {
            var c = new nm_node_config_t();
            try
            {
                Errors.Check(netmesh.nm_node_config_init(c), "nm_node_config_init");
                c.psk = Psk;   // the setters check the 32-byte length
                c.identity_seed = IdentitySeed;
                c.static_private_key = StaticPrivateKey;
                c.heartbeat_interval_ms = Ms(HeartbeatInterval);
                c.handshake_timeout_ms = Ms(HandshakeTimeout);
                c.handshake_retries = HandshakeRetries;
                c.session_timeout_ms = Ms(SessionTimeout);
                c.stream_idle_timeout_ms = Ms(StreamIdleTimeout);
                c.max_streams = MaxStreams;
                c.default_window_bytes = DefaultWindowBytes;
                c.max_event_bytes = MaxEventBytes;
                c.drain_timeout_ms = Ms(DrainTimeout);
                c.compat_0_23 = (byte)(Compat023 ? 1 : 0);
                c.suspect_after_ms = Ms(SuspectAfter);
                c.fail_after_ms = Ms(FailAfter);
                c.pingwave_ttl = PingwaveTtl;
                c.session_rate_bytes_per_sec = SessionRateBytesPerSec;
                c.max_sessions = MaxSessions;
                c.handshake_rate_per_sec = HandshakeRatePerSec;
                c.max_session_buffer_bytes = MaxSessionBufferBytes;
                c.max_buffer_bytes = MaxBufferBytes;
                c.congestion_control = (uint)CongestionControl;
                c.auto_direct_ms = Ms(AutoDirect);
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }

        static uint Ms(TimeSpan t) => checked((uint)t.TotalMilliseconds);
    }

    /// <summary>nm_stream_config_t, holding the C defaults when new.</summary>
    public sealed class StreamConfig
    {
        static StreamConfig() { NativeLoader.Load(); } // before any P/Invoke

        public Reliability Reliability { get; set; }
        /// <summary>0 = unbounded (no credit).</summary>
        public uint WindowBytes { get; set; }
        public byte FairnessWeight { get; set; }
        public CloseBehaviour CloseBehaviour { get; set; }

        public StreamConfig()
        {
            using (var c = new nm_stream_config_t())
            {
                Errors.Check(netmesh.nm_stream_config_init(c), "nm_stream_config_init");
                Reliability = (Reliability)(int)c.reliability;
                WindowBytes = c.window_bytes;
                FairnessWeight = c.fairness_weight;
                CloseBehaviour = (CloseBehaviour)(int)c.close_behaviour;
            }
        }

        internal nm_stream_config_t ToNative()
        {
            var c = new nm_stream_config_t();
            Errors.Check(netmesh.nm_stream_config_init(c), "nm_stream_config_init");
            c.reliability = (byte)Reliability;
            c.window_bytes = WindowBytes;
            c.fairness_weight = FairnessWeight;
            c.close_behaviour = (byte)CloseBehaviour;
            return c;
        }
    }
}
