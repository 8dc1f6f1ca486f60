using System;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>A snapshot of nm_route_t: a route the node knows (see <see cref="Node.Routes"/>).
    /// Direct neighbours have metric 1 and NextHop == Dest.</summary>
    public sealed class Route
    {
        public ulong Dest { get; }
        /// <summary>The neighbour traffic for Dest is handed to.</summary>
        public ulong NextHop { get; }
        public uint Metric { get; }
        /// <summary>Time since the route was last confirmed.</summary>
        public TimeSpan Age { get; }

        internal Route(nm_route_t r)
        {
            Dest = r.dest;
            NextHop = r.next_hop;
            Metric = r.metric;
            Age = TimeSpan.FromTicks((long)(r.age_ns / 100));
        }

        public override string ToString() =>
            string.Format("{0} via {1} (metric {2}, age {3})", Dest, NextHop, Metric, Age);
    }

    /// <summary>nm_peer_event_kind, with the same values.</summary>
    public enum PeerEventKind
    {
        /// <summary>A session was established (either role, direct or routed).</summary>
        Connected = 1,
        /// <summary>A neighbour missed heartbeats for SuspectAfter.</summary>
        Suspected = 2,
        /// <summary>... for FailAfter: routes through it were dropped.</summary>
        Failed = 3,
        /// <summary>A Suspected or Failed neighbour is heard again.</summary>
        Recovered = 4,
    }

    /// <summary>A snapshot of nm_peer_event_t: a change in a peer's liveness (see
    /// <see cref="Node.NextPeerEvent"/>).</summary>
    public sealed class PeerEvent
    {
        public ulong PeerNodeId { get; }
        public PeerEventKind Kind { get; }
        /// <summary>CLOCK_MONOTONIC nanoseconds of the event.</summary>
        public ulong AtNs { get; }

        internal PeerEvent(nm_peer_event_t e)
        {
            PeerNodeId = e.peer_node_id;
            Kind = (PeerEventKind)(int)e.kind;
            AtNs = e.at_ns;
        }

        public override string ToString() => string.Format("{0} {1} at {2} ns", Kind, PeerNodeId, AtNs);
    }
}
