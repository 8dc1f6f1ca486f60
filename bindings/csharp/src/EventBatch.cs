using System;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>Reusable state of <see cref="Stream.ReceiveBatch(EventBatch, TimeSpan)"/>: events
    /// land back to back in its buffer, which grows to what the stream needs and is kept, so
    /// receiving batches allocates nothing once it has. The events of the last call are views of
    /// that buffer, valid until the next call. Not for concurrent use.</summary>
    public sealed class EventBatch
    {
        byte[] buffer;
        readonly ulong[] lens;
        readonly int[] offsets; // event i is buffer[offsets[i] .. offsets[i + 1])

        /// <summary>A batch of up to capacity events per call, starting with bufferBytes of room
        /// (grown when a single event needs more).</summary>
        public EventBatch(int capacity, int bufferBytes = 64 * 1024)
        {
            if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), "must be at least 1");
            if (bufferBytes < 1) throw new ArgumentOutOfRangeException(nameof(bufferBytes), "must be at least 1");
            lens = new ulong[capacity];
            offsets = new int[capacity + 1];
            buffer = new byte[bufferBytes];
        }

        // What the buffer grows to at most for a batch of large events (one larger event
        // still gets its own size).
        const ulong MaxGrown = 1 << 20;

        /// <summary>The most events one call receives.</summary>
        public int Capacity => lens.Length;
        /// <summary>How many events the last call received.</summary>
        public int Count { get; private set; }
        /// <summary>Event i of the last call, in place (a method, not an indexer: Mono's mcs
        /// refuses span-typed properties).</summary>
        public ReadOnlySpan<byte> Span(int i)
        {
            return Memory(i).Span;
        }

        /// <summary>Event i of the last call, in place (valid until the next call).</summary>
        public ReadOnlyMemory<byte> Memory(int i)
        {
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i));
            return new ReadOnlyMemory<byte>(buffer, offsets[i], offsets[i + 1] - offsets[i]);
        }

        /// <summary>One nm_stream_recv_batch of up to max events; the buffer grows (and stays
        /// grown) when the first event does not fit.</summary>
        internal nm_status Receive(Stream stream, int max, int timeoutMs)
        {
            Count = 0;
            while (true)
            {
                ulong count;
                nm_status s = netmesh.nm_cs_stream_recv_batch(stream.Handle, buffer, (ulong)buffer.Length, lens,
                                                              (ulong)max, out count, timeoutMs);
                GC.KeepAlive(stream);
                if (s == nm_status.NM_ERR_BUFFER_TOO_SMALL)
                {
                    // The first event stayed queued: again, with room for a batch of events its
                    // size (room for one alone would make every later call return one event).
                    buffer = new byte[(int)Math.Max(lens[0], Math.Min(lens[0] * (ulong)lens.Length, MaxGrown))];
                    continue;
                }
                if (s == nm_status.NM_OK)
                {
                    Count = (int)count;
                    for (int i = 0; i < Count; i++) offsets[i + 1] = offsets[i] + (int)lens[i];
                }
                return s; // the caller reads the error detail next, still on this thread
            }
        }

        /// <summary>Gives back a buffer grown past max (a thread's scratch batch after a large event).</summary>
        internal void Trim(int max)
        {
            if (buffer.Length > max) buffer = new byte[max];
        }
    }
}
