using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>A handle to a stream of a <see cref="Node"/>, from <see cref="Node.OpenStream"/>.</summary>
    /// <remarks>Dispose closes the stream with its close behaviour and frees the handle;
    /// <see cref="CloseStream"/> closes the stream and keeps the handle (to read what already
    /// arrived); <see cref="Release"/> frees the handle only (the stream stays open, and other
    /// handles to it keep working). Thread-safe.</remarks>
    public sealed class Stream : IDisposable
    {
        readonly IntPtr handle;
        int disposed;
        /// <summary>The C handle; ObjectDisposedException once this handle was disposed or
        /// released.</summary>
        internal IntPtr Handle
        {
            get
            {
                if (Volatile.Read(ref disposed) != 0) throw new ObjectDisposedException(nameof(Stream));
                return handle;
            }
        }

        /// <summary>How often <see cref="ReceiveAsync"/> looks at its cancellation token.</summary>
        static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

        // Per-thread receive buffer: one allocation per thread rather than per event; grown when
        // the library reports an event larger than it (NM_ERR_BUFFER_TOO_SMALL).
        [ThreadStatic] static byte[] scratch;
        const int ScratchMax = 64 * 1024;
        // The same for ReceiveBatch, which wants room for many events at once: starts at ScratchMax.
        [ThreadStatic] static byte[] batchScratch;

        public Node Node { get; }
        public ulong PeerNodeId { get; }
        public ulong StreamId { get; }

        internal Stream(Node node, IntPtr handle, ulong peerNodeId, ulong streamId)
        {
            Node = node;
            this.handle = handle;
            PeerNodeId = peerNodeId;
            StreamId = streamId;
        }

        /// <summary>Sends the events in order, packed into as few packets as fit, without waiting.
        /// Returns the number sent (all of them). When the credit window runs out, throws
        /// <see cref="BackpressureException"/> whose Sent says how many went out first.</summary>
        public int Send(params byte[][] events) => SendFrames(events, 0, 0, "nm_stream_send");

        /// <summary>Send, retrying on backpressure up to maxRetries times (5 ms .. 200 ms backoff,
        /// woken early when credit arrives).</summary>
        public int SendWithRetry(int maxRetries, params byte[][] events)
        {
            if (maxRetries < 0) throw new ArgumentOutOfRangeException(nameof(maxRetries));
            return SendFrames(events, 1, maxRetries, "nm_stream_send_with_retry");
        }

        /// <summary>Send, waiting for credit up to timeout (Timeout.InfiniteTimeSpan = forever).</summary>
        public int SendBlocking(TimeSpan timeout, params byte[][] events) =>
            SendFrames(events, 2, Library.TimeoutMs(timeout), "nm_stream_send_blocking");

        int SendFrames(byte[][] events, int mode, int arg, string what)
        {
            int length;
            byte[] frames = Frames(events, out length);
            ulong sent;
            nm_status s = netmesh.nm_bind_send_frames(Handle, frames, (ulong)length, mode, arg, out sent);
            Errors.Check(s, what, sent);
            GC.KeepAlive(this);
            return (int)sent;
        }

        // Per-thread frames buffer, reused (a batch of large events would otherwise allocate a
        // large object per call); the call pins it only while it runs.
        [ThreadStatic] static byte[] framesScratch;

        /// <summary>The batch as nm_bind_send_frames wants it: u32le(len) || bytes, per event, in
        /// the first `length` bytes of the per-thread buffer.</summary>
        static byte[] Frames(byte[][] events, out int length)
        {
            if (events == null) throw new ArgumentNullException(nameof(events));
            int total = 0;
            foreach (byte[] e in events)
            {
                if (e == null) throw new ArgumentNullException(nameof(events), "an event is null");
                total = checked(total + 4 + e.Length);
            }
            byte[] frames = framesScratch;
            if (frames == null || frames.Length < total) framesScratch = frames = new byte[Math.Max(total, 4096)];
            length = total;
            int pos = 0;
            foreach (byte[] e in events)
            {
                frames[pos] = (byte)e.Length;
                frames[pos + 1] = (byte)(e.Length >> 8);
                frames[pos + 2] = (byte)(e.Length >> 16);
                frames[pos + 3] = (byte)(e.Length >> 24);
                Buffer.BlockCopy(e, 0, frames, pos + 4, e.Length);
                pos += 4 + e.Length;
            }
            return frames;
        }

        /// <summary>Receives one event. TimeSpan.Zero = don't wait, Timeout.InfiniteTimeSpan =
        /// forever; throws <see cref="NetmeshTimeoutException"/> when nothing arrives in time.</summary>
        public byte[] Receive(TimeSpan timeout)
        {
            byte[] ev;
            Errors.Check(Recv(Library.TimeoutMs(timeout), out ev), "nm_stream_recv");
            return ev;
        }

        /// <summary>Like <see cref="Receive(TimeSpan)"/> but returns false on timeout: cheaper than
        /// an exception in polling loops.</summary>
        public bool TryReceive(TimeSpan timeout, out byte[] ev)
        {
            nm_status s = Recv(Library.TimeoutMs(timeout), out ev);
            if (s == nm_status.NM_ERR_TIMEOUT) return false;
            Errors.Check(s, "nm_stream_recv");
            return true;
        }

        nm_status Recv(int timeoutMs, out byte[] ev)
        {
            ev = null;
            byte[] buf = scratch ?? (scratch = new byte[1024]);
            while (true)
            {
                ulong len;
                nm_status s = netmesh.nm_stream_recv(Handle, buf, (ulong)buf.Length, out len, timeoutMs);
                GC.KeepAlive(this);
                if (s != nm_status.NM_ERR_BUFFER_TOO_SMALL)
                {
                    if (s == nm_status.NM_OK)
                    {
                        if (buf != scratch && len == (ulong)buf.Length)
                        {
                            ev = buf; // a one-off buffer sized for this event: no copy
                        }
                        else
                        {
                            ev = new byte[len];
                            Buffer.BlockCopy(buf, 0, ev, 0, (int)len);
                        }
                    }
                    return s; // the caller reads the error detail next, still on this thread
                }
                // The event stayed queued: read it again into a buffer of its size. Keep that as
                // the thread's scratch only up to ScratchMax; fragmented events can be megabytes.
                buf = new byte[(int)len];
                if (len <= ScratchMax) scratch = buf;
            }
        }

        /// <summary>Receives up to maxEvents events in one call (one lock round trip, one credit
        /// decision), in order: waits like <see cref="Receive(TimeSpan)"/> for the first, then takes
        /// what is queued after it. Throws <see cref="NetmeshTimeoutException"/> when nothing
        /// arrives in time. Events of any size are returned (the receive buffer grows as needed).</summary>
        public IReadOnlyList<byte[]> ReceiveBatch(int maxEvents, TimeSpan timeout)
        {
            IReadOnlyList<byte[]> events;
            Errors.Check(RecvBatch(maxEvents, Library.TimeoutMs(timeout), out events), "nm_stream_recv_batch");
            return events;
        }

        /// <summary>Like <see cref="ReceiveBatch"/> but returns false (and null) on timeout.</summary>
        public bool TryReceiveBatch(int maxEvents, TimeSpan timeout, out IReadOnlyList<byte[]> events)
        {
            nm_status s = RecvBatch(maxEvents, Library.TimeoutMs(timeout), out events);
            if (s == nm_status.NM_ERR_TIMEOUT) return false;
            Errors.Check(s, "nm_stream_recv_batch");
            return true;
        }

        nm_status RecvBatch(int maxEvents, int timeoutMs, out IReadOnlyList<byte[]> events)
        {
            if (maxEvents < 1) throw new ArgumentOutOfRangeException(nameof(maxEvents), "must be at least 1");
            events = null;
            var lens = new ulong[maxEvents];
            byte[] buf = batchScratch ?? (batchScratch = new byte[ScratchMax]);
            while (true)
            {
                ulong count;
                nm_status s = netmesh.nm_cs_stream_recv_batch(Handle, buf, (ulong)buf.Length, lens, (ulong)maxEvents,
                                                              out count, timeoutMs);
                GC.KeepAlive(this);
                if (s != nm_status.NM_ERR_BUFFER_TOO_SMALL)
                {
                    if (s == nm_status.NM_OK)
                    {
                        var result = new byte[count][];
                        int pos = 0;
                        for (int i = 0; i < result.Length; i++)
                        {
                            int len = (int)lens[i];
                            if (buf != batchScratch && result.Length == 1 && len == buf.Length)
                            {
                                result[i] = buf; // a one-off buffer sized for this event: no copy
                            }
                            else
                            {
                                result[i] = new byte[len];
                                Buffer.BlockCopy(buf, pos, result[i], 0, len);
                            }
                            pos += len;
                        }
                        events = Array.AsReadOnly(result);
                    }
                    return s; // the caller reads the error detail next, still on this thread
                }
                // The first event does not fit and stayed queued: read it again into a buffer of
                // its size (the batch then holds just that event). Fragmented events can be
                // megabytes, so such a buffer is never kept as the thread's scratch.
                buf = new byte[(int)lens[0]];
            }
        }

        /// <summary>Receives one event into destination without allocating; returns its length.
        /// If it does not fit, throws <see cref="BufferTooSmallException"/> (NeededSize) and the
        /// event stays queued.</summary>
        public unsafe int Receive(Span<byte> destination, TimeSpan timeout)
        {
            ulong len;
            nm_status s;
            fixed (byte* p = &MemoryMarshal.GetReference(destination))
                s = netmesh.nm_cs_stream_recv_raw(Handle, (IntPtr)p, (ulong)destination.Length, out len,
                                                  Library.TimeoutMs(timeout));
            GC.KeepAlive(this);
            Errors.Check(s, "nm_stream_recv", len);
            return (int)len;
        }

        /// <summary>Receives one event without blocking the caller. The C API has no callbacks, so
        /// this occupies a thread-pool thread, waiting in short slices so that cancellation is
        /// noticed within about 50 ms.</summary>
        public Task<byte[]> ReceiveAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return Task.Run(() =>
            {
                byte[] ev;
                while (!TryReceive(PollInterval, out ev)) cancellationToken.ThrowIfCancellationRequested();
                return ev;
            }, cancellationToken);
        }

        public StreamStats Stats()
        {
            using (var s = new nm_stream_stats_t())
            {
                Errors.Check(netmesh.nm_stream_stats(Handle, s), "nm_stream_stats");
                GC.KeepAlive(this);
                return new StreamStats(s);
            }
        }

        /// <summary>Closes the stream (nm_node_close_stream) with its close behaviour. Every handle
        /// to it becomes stale (<see cref="NotConnectedException"/>); with DrainThenClose, events
        /// already received stay readable until drained. Dispose or Release is still needed.</summary>
        public void CloseStream()
        {
            Errors.Check(netmesh.nm_node_close_stream(Node.Handle, Handle), "nm_node_close_stream");
            GC.KeepAlive(this);
            GC.KeepAlive(Node);
        }

        /// <summary>Closes the stream with its close behaviour, as <see cref="CloseStream"/>
        /// (DrainThenClose waits, up to the node's drain timeout, until what was sent is
        /// acknowledged), and frees the handle. A stream already closed (by the peer, another
        /// handle or the node's shutdown) is not an error. Idempotent.</summary>
        /// <exception cref="NetmeshTimeoutException">The drain timed out; the stream is closed
        /// and the handle freed all the same (as a FileStream's Dispose reports a failed flush).</exception>
        public void Dispose()
        {
            if (Volatile.Read(ref disposed) != 0) return;
            try
            {
                CloseStream();
            }
            catch (NotConnectedException) { } // nothing left to close
            catch (ShutdownException) { }
            catch (InvalidHandleException) { } // released meanwhile by another thread
            catch (ObjectDisposedException) { } // the same, or its node disposed
            finally
            {
                Release();
            }
        }

        /// <summary>Frees the handle only (nm_stream_free): the stream stays open, and other
        /// handles to it keep working. Idempotent.</summary>
        public void Release()
        {
            Free();
            GC.SuppressFinalize(this);
        }

        ~Stream() { Free(); } // handles are registry entries in the library: don't leak them

        void Free()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) netmesh.nm_stream_free(handle);
        }
    }
}
