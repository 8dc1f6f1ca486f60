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
    public sealed class Stream : IDisposable, IReleasable
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

        // Per-thread receive buffer: one allocation per thread rather than per event; grown when
        // the library reports an event larger than it (NM_ERR_BUFFER_TOO_SMALL).
        [ThreadStatic] static byte[] scratch;
        const int ScratchMax = 64 * 1024;
        // The same for ReceiveBatch, which wants room for many events at once: starts at ScratchMax.
        [ThreadStatic] static EventBatch batchScratch;

        public Node Node { get; }
        public ulong PeerNodeId { get; }
        public ulong StreamId { get; }

        // What the async calls wait on: the binding's duplicates of the readable and writable fd
        // (indexed by nm_stream_readiness), closed once the handle is freed and no wait polls them.
        readonly ReadinessFds readiness;
        const int Readable = (int)nm_stream_readiness.NM_STREAM_READABLE;
        const int Writable = (int)nm_stream_readiness.NM_STREAM_WRITABLE;

        internal Stream(Node node, IntPtr handle, ulong peerNodeId, ulong streamId)
        {
            Node = node;
            this.handle = handle;
            PeerNodeId = peerNodeId;
            StreamId = streamId;
            readiness = new ReadinessFds(2, LibraryEventFd, nameof(Stream));
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
            byte[] frames = Frames(events, 0, out length);
            ulong sent;
            Errors.Check(SendPacked(frames, length, mode, arg, out sent), what, sent);
            return (int)sent;
        }

        /// <summary>nm_bind_send_frames of the first `length` bytes of frames (mode 0 = send,
        /// 1 = with retry, 2 = blocking; arg = retries or timeout). The caller checks the status
        /// on this thread.</summary>
        nm_status SendPacked(byte[] frames, int length, int mode, int arg, out ulong sent)
        {
            nm_status s = netmesh.nm_bind_send_frames(Handle, frames, (ulong)length, mode, arg, out sent);
            GC.KeepAlive(this);
            return s;
        }

        /// <summary>One event from a span, without waiting.</summary>
        nm_status SendOne(ReadOnlySpan<byte> ev, out ulong sent)
        {
            byte[] frames = FramesBuffer(checked(4 + ev.Length));
            return SendPacked(frames, PutFrame(frames, 0, ev), 0, 0, out sent);
        }

        /// <summary>Sends one event from a span (one copy, as for a byte[]), without waiting; throws
        /// <see cref="BackpressureException"/> when the credit window is exhausted.</summary>
        public void Send(ReadOnlySpan<byte> ev)
        {
            ulong sent;
            Errors.Check(SendOne(ev, out sent), "nm_stream_send", sent);
        }

        /// <summary>Sends the events in order, waiting for credit without blocking the caller: the
        /// task completes (with the number of events, all of them) once every event was accepted,
        /// woken by the stream's writable fd (<see cref="WritableFd"/>). Cancelling stops the
        /// wait; events accepted before it stay sent.</summary>
        public Task<int> SendAsync(byte[][] events, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (events == null) throw new ArgumentNullException(nameof(events));
            int done = 0;
            return Reactor.Shared.Run(this, readiness, Writable, (out int sent) =>
            {
                while (done < events.Length)
                {
                    int length;
                    byte[] frames = Frames(events, done, out length);
                    ulong n;
                    nm_status s = SendPacked(frames, length, 0, 0, out n);
                    done += (int)n;
                    if (s == nm_status.NM_ERR_BACKPRESSURE && done < events.Length)
                    {
                        sent = done;
                        return false; // wait for credit
                    }
                    Errors.Check(s, "nm_stream_send", n);
                }
                sent = done;
                return true;
            }, cancellationToken);
        }

        /// <summary>One event from memory: <see cref="SendAsync(byte[][], CancellationToken)"/>
        /// without a byte[]. The memory must stay unchanged until the task completes.</summary>
        public Task SendAsync(ReadOnlyMemory<byte> ev, CancellationToken cancellationToken = default(CancellationToken))
        {
            return Reactor.Shared.Run(this, readiness, Writable, (out bool sent) =>
            {
                ulong n;
                nm_status s = SendOne(ev.Span, out n);
                sent = s == nm_status.NM_OK;
                if (s == nm_status.NM_ERR_BACKPRESSURE) return false; // wait for credit
                Errors.Check(s, "nm_stream_send", n);
                return true;
            }, cancellationToken);
        }

        // Per-thread frames buffer, reused (a batch of large events would otherwise allocate a
        // large object per call); the call pins it only while it runs.
        [ThreadStatic] static byte[] framesScratch;

        /// <summary>events[from..] as nm_bind_send_frames wants them: u32le(len) || bytes, per
        /// event, in the first `length` bytes of the per-thread buffer.</summary>
        static byte[] Frames(byte[][] events, int from, out int length)
        {
            if (events == null) throw new ArgumentNullException(nameof(events));
            int total = 0;
            for (int i = from; i < events.Length; i++)
            {
                if (events[i] == null) throw new ArgumentNullException(nameof(events), "an event is null");
                total = checked(total + 4 + events[i].Length);
            }
            byte[] frames = FramesBuffer(total);
            length = total;
            int pos = 0;
            for (int i = from; i < events.Length; i++)
                pos = PutFrame(frames, pos, events[i]);
            return frames;
        }

        static byte[] FramesBuffer(int size)
        {
            byte[] frames = framesScratch;
            if (frames == null || frames.Length < size) framesScratch = frames = new byte[Math.Max(size, 4096)];
            return frames;
        }

        static unsafe int PutFrame(byte[] frames, int pos, ReadOnlySpan<byte> ev)
        {
            fixed (byte* src = &MemoryMarshal.GetReference(ev))
                return PutFrame(frames, pos, src, ev.Length);
        }

        static unsafe int PutFrame(byte[] frames, int pos, byte[] ev)
        {
            fixed (byte* src = ev)
                return PutFrame(frames, pos, src, ev.Length);
        }

        /// <summary>u32le(len) || src[0, len) at frames[pos] (FramesBuffer made room for it).</summary>
        static unsafe int PutFrame(byte[] frames, int pos, byte* src, int len)
        {
            if (frames.Length - pos < 4 + len) throw new ArgumentOutOfRangeException(nameof(pos));
            fixed (byte* dst = &frames[pos])
            {
                dst[0] = (byte)len;
                dst[1] = (byte)(len >> 8);
                dst[2] = (byte)(len >> 16);
                dst[3] = (byte)(len >> 24);
                // Small events in words: Mono's Span.CopyTo goes through a native memmove per
                // event, which costs more than the copy itself.
                byte* to = dst + 4;
                if (len > 256)
                {
                    Buffer.MemoryCopy(src, to, len, len);
                }
                else
                {
                    int i = 0;
                    for (; i + 8 <= len; i += 8) *(long*)(to + i) = *(long*)(src + i);
                    for (; i < len; i++) to[i] = src[i];
                }
            }
            return pos + 4 + len;
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
            EventBatch batch = batchScratch;
            if (batch == null || batch.Capacity < maxEvents) batchScratch = batch = new EventBatch(maxEvents, ScratchMax);
            nm_status s = batch.Receive(this, maxEvents, timeoutMs);
            if (s != nm_status.NM_OK) return s;
            var result = new byte[batch.Count][];
            for (int i = 0; i < result.Length; i++) result[i] = batch.Span(i).ToArray();
            events = Array.AsReadOnly(result);
            batch.Trim(ScratchMax); // fragmented events can be megabytes: not kept per thread
            return s;
        }

        /// <summary>Receives up to batch.Capacity events into batch, in order, without allocating
        /// once its buffer has grown to the stream's events: waits like
        /// <see cref="Receive(TimeSpan)"/> for the first, then takes what is queued after it.
        /// Returns how many (batch.Count); the events are batch[0 .. Count), valid until the next
        /// call. Throws <see cref="NetmeshTimeoutException"/> when nothing arrives in time.</summary>
        public int ReceiveBatch(EventBatch batch, TimeSpan timeout)
        {
            if (batch == null) throw new ArgumentNullException(nameof(batch));
            Errors.Check(batch.Receive(this, batch.Capacity, Library.TimeoutMs(timeout)), "nm_stream_recv_batch");
            return batch.Count;
        }

        /// <summary>Like <see cref="ReceiveBatch(EventBatch, TimeSpan)"/> but returns false (batch
        /// empty) on timeout.</summary>
        public bool TryReceiveBatch(EventBatch batch, TimeSpan timeout)
        {
            if (batch == null) throw new ArgumentNullException(nameof(batch));
            nm_status s = batch.Receive(this, batch.Capacity, Library.TimeoutMs(timeout));
            if (s == nm_status.NM_ERR_TIMEOUT) return false;
            Errors.Check(s, "nm_stream_recv_batch");
            return true;
        }

        /// <summary>Receives one event into destination without allocating; returns its length.
        /// If it does not fit, throws <see cref="BufferTooSmallException"/> (NeededSize) and the
        /// event stays queued.</summary>
        public int Receive(Span<byte> destination, TimeSpan timeout)
        {
            int len;
            Errors.Check(RecvInto(destination, Library.TimeoutMs(timeout), out len), "nm_stream_recv", (ulong)len);
            return len;
        }

        unsafe nm_status RecvInto(Span<byte> destination, int timeoutMs, out int len)
        {
            ulong n;
            nm_status s;
            fixed (byte* p = &MemoryMarshal.GetReference(destination))
                s = netmesh.nm_cs_stream_recv_raw(Handle, (IntPtr)p, (ulong)destination.Length, out n, timeoutMs);
            GC.KeepAlive(this);
            len = (int)n;
            return s;
        }

        /// <summary>Receives one event without blocking the caller: completes when one is queued,
        /// woken by the stream's readable fd (<see cref="ReadableFd"/>) on the binding's one
        /// reactor thread; no thread waits per call and nothing polls. Faults as
        /// <see cref="Receive(TimeSpan)"/> would (a closed stream, a disposed handle or node).</summary>
        public Task<byte[]> ReceiveAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return Reactor.Shared.Run(this, readiness, Readable,
                                      (out byte[] ev) => TryReceive(TimeSpan.Zero, out ev), cancellationToken);
        }

        /// <summary><see cref="ReceiveAsync(CancellationToken)"/> into destination, without
        /// allocating an event: completes with its length. If it does not fit, faults with
        /// <see cref="BufferTooSmallException"/> (NeededSize) and the event stays queued. The
        /// memory must not be used elsewhere until the task completes.</summary>
        public Task<int> ReceiveAsync(Memory<byte> destination,
                                      CancellationToken cancellationToken = default(CancellationToken))
        {
            return Reactor.Shared.Run(this, readiness, Readable, (out int len) =>
            {
                nm_status s = RecvInto(destination.Span, 0, out len);
                if (s == nm_status.NM_ERR_TIMEOUT) return false;
                Errors.Check(s, "nm_stream_recv", (ulong)len);
                return true;
            }, cancellationToken);
        }

        /// <summary>A file descriptor readable while a receive would not wait (events queued, or
        /// the stream closed): for an event loop of your own. The library's (nm_stream_event_fd),
        /// the same number on every call: poll it, do not read or close it. Valid while this
        /// handle is: after Dispose/Release the library may close it at any time, and its number
        /// then name another file, so take it out of your poll set first. The binding's own waits
        /// (ReceiveAsync, SendAsync) poll a duplicate of their own instead.</summary>
        public int ReadableFd => LibraryEventFd(Readable);

        /// <summary>A file descriptor readable while a send would find credit (or the stream is
        /// closed). As <see cref="ReadableFd"/>.</summary>
        public int WritableFd => LibraryEventFd(Writable);

        int LibraryEventFd(int which)
        {
            int fd;
            Errors.Check(netmesh.nm_stream_event_fd(Handle, (uint)which, out fd), "nm_stream_event_fd");
            GC.KeepAlive(this);
            return fd;
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
            Reactor.Shared.Poke(this); // pending async calls fail with ObjectDisposedException
        }

        ~Stream() { Free(); } // handles are registry entries in the library: don't leak them

        bool IReleasable.IsReleased => Volatile.Read(ref disposed) != 0;

        void Free()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            // First: waits for a ReceiveAsync or SendAsync duplicating the library's fd, which
            // nm_stream_free may close (and the process reuse) as soon as it runs.
            readiness.Close();
            netmesh.nm_stream_free(handle);
        }
    }
}
