using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>A netmesh node: one UDP socket, its sessions and streams.</summary>
    /// <remarks>Thread-safe, like the C API. Dispose stops the node; calls blocked on it (in any
    /// thread) then fail with <see cref="ShutdownException"/>. Using it after Dispose fails with
    /// <see cref="InvalidHandleException"/>: C handles are never-reused tokens, so the stale one
    /// is simply passed on and the library reports it.</remarks>
    public sealed class Node : IDisposable, IReleasable
    {
        static Node() { NativeLoader.Load(); } // before any P/Invoke

        readonly IntPtr handle;
        int disposed;
        // What WaitForEvents, WaitForPeerEvents and NextPeerEventAsync wait on: the binding's
        // duplicates of the event fd and the peer event fd, closed once the node is disposed and
        // no wait polls them.
        readonly ReadinessFds readiness;
        const int Events = 0, PeerEvents = 1;
        /// <summary>The C handle; ObjectDisposedException once this node was disposed.</summary>
        internal IntPtr Handle
        {
            get
            {
                if (Volatile.Read(ref disposed) != 0) throw new ObjectDisposedException(nameof(Node));
                return handle;
            }
        }

        public Node(NodeConfig config)
        {
            readiness = new ReadinessFds(2, LibraryEventFd, nameof(Node));
            if (config == null) throw new ArgumentNullException(nameof(config));
            using (var c = config.ToNative())
                Errors.Check(netmesh.nm_cs_node_new(c, config.BindAddress, config.IdentityFile, out handle), "nm_node_new");
        }

        public ulong Id
        {
            get
            {
                ulong id;
                Errors.Check(netmesh.nm_node_id(Handle, out id), "nm_node_id");
                GC.KeepAlive(this);
                return id;
            }
        }

        /// <summary>This node's X25519 public key (32 bytes), to hand to peers out of band.</summary>
        public byte[] PublicKey
        {
            get
            {
                var key = new byte[Library.KeySize];
                Errors.Check(netmesh.nm_node_public_key(Handle, key), "nm_node_public_key");
                GC.KeepAlive(this);
                return key;
            }
        }

        /// <summary>"ip:port" of the bound socket ("[v6]:port" for IPv6).</summary>
        public string LocalAddress
        {
            get
            {
                var buf = new byte[Library.AddressMax];
                Errors.Check(netmesh.nm_node_local_addr(Handle, buf, (ulong)buf.Length), "nm_node_local_addr");
                GC.KeepAlive(this);
                return AddressText(buf);
            }
        }

        /// <summary>A file descriptor readable while any stream has unread events (and once the
        /// node shuts down): the library's (nm_node_event_fd), for an event loop of your own;
        /// poll it, do not read or close it. Valid until Dispose, which closes it: take it out of
        /// your poll set first, for its number may then name another file.
        /// <see cref="WaitForEvents"/> polls a duplicate of its own instead.</summary>
        public int EventFd => LibraryEventFd(Events);

        int LibraryEventFd(int which)
        {
            int fd;
            nm_status s = which == Events ? netmesh.nm_node_event_fd(Handle, out fd)
                                          : netmesh.nm_node_peer_event_fd(Handle, out fd);
            Errors.Check(s, which == Events ? "nm_node_event_fd" : "nm_node_peer_event_fd");
            GC.KeepAlive(this);
            return fd;
        }

        /// <summary>Initiator: handshake with the peer at address, whose public key and node id
        /// are known out of band. Blocks up to HandshakeTimeout x HandshakeRetries.</summary>
        public void Connect(string address, byte[] peerPublicKey, ulong peerNodeId)
        {
            if (address == null) throw new ArgumentNullException(nameof(address));
            Library.CheckKey(peerPublicKey, nameof(peerPublicKey));
            Errors.Check(netmesh.nm_node_connect(Handle, address, peerPublicKey, peerNodeId), "nm_node_connect");
            GC.KeepAlive(this);
        }

        /// <summary>Initiator, routed form: the handshake travels behind a routing header to
        /// relayAddress, which forwards it towards peerNodeId over the mesh; relayAddress may be
        /// the peer itself (how a started net-mesh 0.23 node accepts new peers). The session's
        /// traffic follows the mesh's routes. Blocks like <see cref="Connect"/>.</summary>
        public void ConnectVia(string relayAddress, byte[] peerPublicKey, ulong peerNodeId)
        {
            if (relayAddress == null) throw new ArgumentNullException(nameof(relayAddress));
            Library.CheckKey(peerPublicKey, nameof(peerPublicKey));
            Errors.Check(netmesh.nm_node_connect_via(Handle, relayAddress, peerPublicKey, peerNodeId),
                         "nm_node_connect_via");
            GC.KeepAlive(this);
        }

        /// <summary>Responder: let peerNodeId handshake with this node from now on (also later
        /// re-handshakes), without waiting. A direct handshake does not name its sender, so only
        /// peers allowed here, by <see cref="Accept"/>, or dialled with <see cref="Connect"/> can
        /// open a session with this node.</summary>
        public void AllowPeer(ulong peerNodeId)
        {
            Errors.Check(netmesh.nm_node_allow_peer(Handle, peerNodeId), "nm_node_allow_peer");
            GC.KeepAlive(this);
        }

        /// <summary>Responder: allow handshakes from peerNodeId (the permission persists) and wait
        /// until a session with it exists. Throws <see cref="NetmeshTimeoutException"/> on timeout.
        /// Timeout.InfiniteTimeSpan waits forever.</summary>
        public void Accept(ulong peerNodeId, TimeSpan timeout)
        {
            Errors.Check(netmesh.nm_node_accept(Handle, peerNodeId, Library.TimeoutMs(timeout)), "nm_node_accept");
            GC.KeepAlive(this);
        }

        /// <summary>Asks the peer from which "ip:port" it sees this node's datagrams come: the
        /// node's reflexive address, what a NAT on the way made of its socket's address. The
        /// peer must be reached directly (NotConnectedException through relays); a net-mesh
        /// 0.23 peer answers too. TimeoutException without an answer within timeout, which must be
        /// finite (the requests are spread over it): InfiniteTimeSpan is a NetmeshArgumentException.</summary>
        public string ProbeReflex(ulong peerNodeId, TimeSpan timeout)
        {
            var buf = new byte[Library.AddressMax];
            Errors.Check(netmesh.nm_node_probe_reflex(Handle, peerNodeId, Library.TimeoutMs(timeout), buf,
                                                      (ulong)buf.Length), "nm_node_probe_reflex");
            GC.KeepAlive(this);
            return AddressText(buf);
        }

        /// <summary>Probes two peers reached directly at once and classifies the NAT (net-mesh
        /// 0.23's reclassify_nat); the node keeps the verdict (<see cref="NatType"/>,
        /// <see cref="ReflexAddress"/>). NotConnectedException with fewer than two direct
        /// peers, TimeoutException if neither answered. timeout as for <see cref="ProbeReflex"/>.</summary>
        public NatType ClassifyNat(TimeSpan timeout)
        {
            int type;
            Errors.Check(netmesh.nm_node_classify_nat(Handle, Library.TimeoutMs(timeout), out type), "nm_node_classify_nat");
            GC.KeepAlive(this);
            return (NatType)type;
        }

        /// <summary>Moves the session with the peer, reached through relays (ConnectVia), to a
        /// direct path through the NATs on the way: the coordinator, a node both reach directly
        /// (0: the relay the session goes through), times a hole punch, then a path challenge on the punched path moves the session itself
        /// (same streams: reliable data goes on exactly once and in order). Returns once direct
        /// (at once if it already was); TimeoutException if not within timeout: the session
        /// stays relayed and working.</summary>
        public void ConnectDirect(ulong peerNodeId, ulong coordinatorNodeId, TimeSpan timeout)
        {
            Errors.Check(netmesh.nm_node_connect_direct(Handle, peerNodeId, coordinatorNodeId, Library.TimeoutMs(timeout)),
                         "nm_node_connect_direct");
            GC.KeepAlive(this);
        }

        /// <summary>The last verdict of <see cref="ClassifyNat"/> (Unknown before one).</summary>
        public NatType NatType
        {
            get
            {
                int type;
                Errors.Check(netmesh.nm_node_nat_type(Handle, out type), "nm_node_nat_type");
                GC.KeepAlive(this);
                return (NatType)type;
            }
        }

        /// <summary>The reflexive address the last <see cref="ClassifyNat"/> saw ("" before one).</summary>
        public string ReflexAddress
        {
            get
            {
                var buf = new byte[Library.AddressMax];
                Errors.Check(netmesh.nm_node_reflex_addr(Handle, buf, (ulong)buf.Length), "nm_node_reflex_addr");
                GC.KeepAlive(this);
                return AddressText(buf);
            }
        }

        static string AddressText(byte[] buf)
        {
            int len = Array.IndexOf(buf, (byte)0);
            return Encoding.ASCII.GetString(buf, 0, len < 0 ? buf.Length : len);
        }

        /// <summary>Like <see cref="Accept"/>, but returns false on timeout. TryAccept(id,
        /// TimeSpan.Zero) only records the permission, e.g. before announcing the address.</summary>
        public bool TryAccept(ulong peerNodeId, TimeSpan timeout)
        {
            nm_status s = netmesh.nm_node_accept(Handle, peerNodeId, Library.TimeoutMs(timeout));
            GC.KeepAlive(this);
            if (s == nm_status.NM_ERR_TIMEOUT) return false;
            Errors.Check(s, "nm_node_accept");
            return true;
        }

        /// <summary>Opens (or returns the already open) stream to a connected peer. The first
        /// explicit config wins; null means defaults.</summary>
        public Stream OpenStream(ulong peerNodeId, ulong streamId, StreamConfig config = null)
        {
            IntPtr h;
            nm_status s;
            if (config == null)
            {
                s = netmesh.nm_node_open_stream(Handle, peerNodeId, streamId, null, out h);
            }
            else
            {
                using (var c = config.ToNative())
                    s = netmesh.nm_node_open_stream(Handle, peerNodeId, streamId, c, out h);
            }
            Errors.Check(s, "nm_node_open_stream");
            GC.KeepAlive(this);
            return new Stream(this, h, peerNodeId, streamId);
        }

        /// <summary>Fault injection for tests: applies impairment to datagrams exchanged with
        /// peerNodeId (0 = every peer without a setting of its own) in the given directions;
        /// null removes it. Counted in <see cref="ImpairmentStats"/>.</summary>
        public void SetImpairment(ulong peerNodeId, Direction directions, Impairment impairment)
        {
            if (impairment == null)
            {
                Errors.Check(netmesh.nm_node_set_impairment(Handle, peerNodeId, (uint)directions, null),
                             "nm_node_set_impairment");
            }
            else
            {
                using (var c = impairment.ToNative())
                    Errors.Check(netmesh.nm_node_set_impairment(Handle, peerNodeId, (uint)directions, c),
                                 "nm_node_set_impairment");
            }
            GC.KeepAlive(this);
        }

        /// <summary>Fault injection for tests: what this node's impairments did so far.</summary>
        public ImpairmentStats ImpairmentStats()
        {
            using (var s = new nm_impairment_stats_t())
            {
                Errors.Check(netmesh.nm_node_impairment_stats(Handle, s), "nm_node_impairment_stats");
                GC.KeepAlive(this);
                return new ImpairmentStats(s);
            }
        }

        public NodeStats Stats()
        {
            using (var s = new nm_node_stats_t())
            {
                Errors.Check(netmesh.nm_node_stats(Handle, s), "nm_node_stats");
                GC.KeepAlive(this);
                return new NodeStats(s);
            }
        }

        /// <summary>The path to peerNodeId as its session sees it: round-trip times, data in
        /// flight, losses. <see cref="NotConnectedException"/> without a session with that peer.</summary>
        public SessionStats SessionStats(ulong peerNodeId)
        {
            using (var s = new nm_session_stats_t())
            {
                Errors.Check(netmesh.nm_node_session_stats(Handle, peerNodeId, s), "nm_node_session_stats");
                GC.KeepAlive(this);
                return new SessionStats(s);
            }
        }

        /// <summary>Stats of every open stream of the node.</summary>
        public StreamStats[] AllStreamStats()
        {
            ulong count;
            Errors.Check(netmesh.nm_node_all_stream_stats(Handle, null, 0, out count), "nm_node_all_stream_stats");
            while (true)
            {
                // Streams may open between the sizing call and this one: retry until it fits.
                int capacity = (int)count + 4;
                var array = netmesh.new_nm_stream_stats_array(capacity);
                try
                {
                    Errors.Check(netmesh.nm_node_all_stream_stats(Handle, array, (ulong)capacity, out count),
                                 "nm_node_all_stream_stats");
                    GC.KeepAlive(this);
                    if (count > (ulong)capacity) continue;
                    var result = new StreamStats[count];
                    for (int i = 0; i < result.Length; i++)
                        using (var item = netmesh.nm_stream_stats_array_getitem(array, i))
                            result[i] = new StreamStats(item);
                    return result;
                }
                finally
                {
                    netmesh.delete_nm_stream_stats_array(array);
                }
            }
        }

        /// <summary>The routes the node knows (direct neighbours: metric 1, NextHop == Dest).</summary>
        public IReadOnlyList<Route> Routes()
        {
            ulong count;
            Errors.Check(netmesh.nm_node_routes(Handle, null, 0, out count), "nm_node_routes");
            while (true)
            {
                // Routes may appear between the sizing call and this one: retry until they fit.
                int capacity = (int)count + 4;
                var array = netmesh.new_nm_route_array(capacity);
                try
                {
                    Errors.Check(netmesh.nm_node_routes(Handle, array, (ulong)capacity, out count), "nm_node_routes");
                    GC.KeepAlive(this);
                    if (count > (ulong)capacity) continue;
                    var result = new Route[count];
                    for (int i = 0; i < result.Length; i++)
                        using (var item = netmesh.nm_route_array_getitem(array, i))
                            result[i] = new Route(item);
                    return Array.AsReadOnly(result);
                }
                finally
                {
                    netmesh.delete_nm_route_array(array);
                }
            }
        }

        /// <summary>The next peer event (connected, suspected, failed, recovered), oldest first; the
        /// node keeps the latest 1024. TimeSpan.Zero = don't wait, Timeout.InfiniteTimeSpan =
        /// forever; throws <see cref="NetmeshTimeoutException"/> when none comes in time.</summary>
        public PeerEvent NextPeerEvent(TimeSpan timeout)
        {
            using (var e = new nm_peer_event_t())
            {
                Errors.Check(netmesh.nm_node_next_peer_event(Handle, e, Library.TimeoutMs(timeout)),
                             "nm_node_next_peer_event");
                GC.KeepAlive(this);
                return new PeerEvent(e);
            }
        }

        /// <summary>Like <see cref="NextPeerEvent"/> but returns false (and null) on timeout.</summary>
        public bool TryNextPeerEvent(TimeSpan timeout, out PeerEvent peerEvent)
        {
            peerEvent = null;
            using (var e = new nm_peer_event_t())
            {
                nm_status s = netmesh.nm_node_next_peer_event(Handle, e, Library.TimeoutMs(timeout));
                GC.KeepAlive(this);
                if (s == nm_status.NM_ERR_TIMEOUT) return false;
                Errors.Check(s, "nm_node_next_peer_event");
                peerEvent = new PeerEvent(e);
                return true;
            }
        }

        /// <summary>The next peer event without blocking the caller: completes when one is queued,
        /// woken by <see cref="PeerEventFd"/> on the binding's reactor thread (no polling).</summary>
        public Task<PeerEvent> NextPeerEventAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return Reactor.Shared.Run(this, readiness, PeerEvents,
                                      (out PeerEvent ev) => TryNextPeerEvent(TimeSpan.Zero, out ev), cancellationToken);
        }

        /// <summary>A file descriptor readable while peer events are queued (and once the node
        /// shuts down): the library's (nm_node_peer_event_fd), as <see cref="EventFd"/>.
        /// <see cref="WaitForPeerEvents"/> and <see cref="NextPeerEventAsync"/> poll a duplicate
        /// of their own instead.</summary>
        public int PeerEventFd => LibraryEventFd(PeerEvents);

        /// <summary>Waits until a peer event is queued (or the node is shutting down: a Dispose
        /// on another thread ends the wait with true); false on timeout. Like poll() on the peer
        /// event fd in C. Linux only (libc poll).</summary>
        public bool WaitForPeerEvents(TimeSpan timeout) => WaitReadable(PeerEvents, timeout);

        /// <summary>Waits until some stream of this node has unread events (or the node is shutting
        /// down: a Dispose on another thread ends the wait with true); false on timeout. Lets one
        /// thread serve many streams, like poll() on the event fd in C. Linux only (libc poll).</summary>
        public bool WaitForEvents(TimeSpan timeout) => WaitReadable(Events, timeout);

        /// <summary>Polls the binding's duplicate of fd `which`: a Dispose meanwhile closes the
        /// library's fd (its number may then be reused), never this one, which the library's
        /// shutdown leaves readable.</summary>
        bool WaitReadable(int which, TimeSpan timeout)
        {
            int ms = Library.TimeoutMs(timeout);
            OwnedFd fd = readiness.Acquire(which);
            try
            {
                return Libc.WaitReadable(fd.Fd, ms);
            }
            finally
            {
                fd.Release();
                GC.KeepAlive(this); // no finalizer shuts the node down meanwhile
            }
        }


        public void Dispose()
        {
            Free();
            GC.SuppressFinalize(this);
            Reactor.Shared.Poke(this); // pending NextPeerEventAsync calls fail with ObjectDisposedException
        }

        // A forgotten node still owns a socket and threads. Freeing from the finalizer thread is
        // safe: every C function is thread-safe. GC.KeepAlive(this) after each native call above
        // keeps the finalizer from running while a call is still using the handle.
        ~Node() { Free(); }

        bool IReleasable.IsReleased => Volatile.Read(ref disposed) != 0;

        void Free()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            // First: waits for a wait duplicating one of the library's fds, which nm_node_free
            // closes (and the process may reuse) as soon as it runs.
            readiness.Close();
            // handle is zero if the constructor failed: nothing to free.
            if (handle != IntPtr.Zero) netmesh.nm_node_free(handle);
        }
    }
}
