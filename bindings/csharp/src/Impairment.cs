using System;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>nm_direction: which datagrams an impairment applies to.</summary>
    [Flags]
    public enum Direction { Outbound = 1, Inbound = 2, Both = 3 }

    // Fault injection for tests (the C API's netmesh_testing.h): everything in this file is
    // test tooling, not needed to use netmesh.

    /// <summary>nm_impairment_t: seeded, reproducible fault injection at a node's socket, for
    /// tests (see <see cref="Node.SetImpairment"/>). A new instance holds the C defaults (no
    /// impairment, seed 1). Durations have microsecond resolution in the library.</summary>
    public sealed class Impairment
    {
        static Impairment() { NativeLoader.Load(); } // before any P/Invoke

        /// <summary>P(drop) per datagram.</summary>
        public double Loss { get; set; }
        /// <summary>Gilbert-Elliott burst loss: P(good -> bad) per datagram; in bad state all are dropped.</summary>
        public double BurstEnter { get; set; }
        /// <summary>P(bad -> good) per datagram.</summary>
        public double BurstExit { get; set; }
        public double Duplicate { get; set; }
        /// <summary>P(held back by up to ReorderWindow).</summary>
        public double Reorder { get; set; }
        public TimeSpan ReorderWindow { get; set; }
        public TimeSpan Delay { get; set; }
        /// <summary>Extra uniform [0, Jitter] on top of Delay.</summary>
        public TimeSpan Jitter { get; set; }
        /// <summary>0 = unlimited.</summary>
        public ulong RateBytesPerSec { get; set; }
        /// <summary>Datagrams that would queue longer are dropped.</summary>
        public TimeSpan RateQueueLimit { get; set; }
        /// <summary>P(one byte flipped).</summary>
        public double Corrupt { get; set; }
        /// <summary>0 = off: larger datagrams vanish (MTU black hole).</summary>
        public uint DropAboveBytes { get; set; }
        /// <summary>0 = off: shorter datagrams vanish (control traffic, not data).</summary>
        public uint DropBelowBytes { get; set; }
        /// <summary>Same seed, same decisions.</summary>
        public ulong Seed { get; set; }

        public Impairment()
        {
            using (var c = new nm_impairment_t())
            {
                Errors.Check(netmesh.nm_impairment_init(c), "nm_impairment_init");
                Loss = c.loss;
                BurstEnter = c.burst_enter;
                BurstExit = c.burst_exit;
                Duplicate = c.duplicate;
                Reorder = c.reorder;
                ReorderWindow = Us(c.reorder_window_us);
                Delay = Us(c.delay_us);
                Jitter = Us(c.jitter_us);
                RateBytesPerSec = c.rate_bytes_per_sec;
                RateQueueLimit = Us(c.rate_queue_limit_us);
                Corrupt = c.corrupt;
                DropAboveBytes = c.drop_above_bytes;
                DropBelowBytes = c.drop_below_bytes;
                Seed = c.seed;
            }
        }

        internal nm_impairment_t ToNative()
        {
            var c = new nm_impairment_t();
            Errors.Check(netmesh.nm_impairment_init(c), "nm_impairment_init");
            c.loss = Loss;
            c.burst_enter = BurstEnter;
            c.burst_exit = BurstExit;
            c.duplicate = Duplicate;
            c.reorder = Reorder;
            c.reorder_window_us = Us(ReorderWindow);
            c.delay_us = Us(Delay);
            c.jitter_us = Us(Jitter);
            c.rate_bytes_per_sec = RateBytesPerSec;
            c.rate_queue_limit_us = Us(RateQueueLimit);
            c.corrupt = Corrupt;
            c.drop_above_bytes = DropAboveBytes;
            c.drop_below_bytes = DropBelowBytes;
            c.seed = Seed;
            return c;
        }

        static TimeSpan Us(uint us) => TimeSpan.FromTicks(us * 10L);
        static uint Us(TimeSpan t) => checked((uint)(t.Ticks / 10));
    }

    /// <summary>nm_impairment_stats_t: what a node's impairments did, every peer and both
    /// directions summed (fault injection, for tests; see <see cref="Node.ImpairmentStats"/>).</summary>
    public sealed class ImpairmentStats
    {
        /// <summary>Every field as Name=value, for logs.</summary>
        public override string ToString() => StatsText.Format(this);

        /// <summary>Datagrams that went through an impairment.</summary>
        public ulong Seen { get; }
        public ulong DroppedLoss { get; }
        public ulong DroppedBurst { get; }
        public ulong DroppedRate { get; }
        public ulong DroppedOversize { get; }
        public ulong DroppedUndersize { get; }
        public ulong Duplicated { get; }
        public ulong Reordered { get; }
        public ulong Delayed { get; }
        public ulong Corrupted { get; }

        internal ImpairmentStats(nm_impairment_stats_t s)
        {
            Seen = s.seen;
            DroppedLoss = s.dropped_loss;
            DroppedBurst = s.dropped_burst;
            DroppedRate = s.dropped_rate;
            DroppedOversize = s.dropped_oversize;
            DroppedUndersize = s.dropped_undersize;
            Duplicated = s.duplicated;
            Reordered = s.reordered;
            Delayed = s.delayed;
            Corrupted = s.corrupted;
        }
    }
}
