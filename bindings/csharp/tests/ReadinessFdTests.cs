// The binding waits only on fds it owns: the reactor (ReceiveAsync, SendAsync,
// NextPeerEventAsync) and the synchronous waits (WaitForEvents, WaitForPeerEvents) poll
// duplicates of the library's readiness fds, taken while the handle is live and closed by the
// binding once nothing polls them, never the library's numbers, which the library closes with its
// handle and the process may then give to any file. And every wait ends when its handle, its
// node or its stream does.
using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Netmesh.Tests
{
    [TestFixture]
    public class ReadinessFdTests
    {
        static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

        static NodeConfig Config()
        {
            return new NodeConfig
            {
                Psk = Enumerable.Repeat((byte)0x42, 32).ToArray(),
                HandshakeTimeout = TimeSpan.FromMilliseconds(1000),
                HandshakeRetries = 2,
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            };
        }

        /// <summary>b allows a, a dials b.</summary>
        static void Link(Node a, Node b)
        {
            b.AllowPeer(a.Id);
            a.Connect(b.LocalAddress, b.PublicKey, b.Id);
        }

        static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

        /// <summary>The libc calls the tests need beyond the binding's.</summary>
        static class Fds
        {
            [DllImport("libc", SetLastError = true)]
            static extern int pipe2(int[] fds, int flags);

            [DllImport("libc", SetLastError = true)]
            internal static extern int dup(int fd);

            [DllImport("libc", SetLastError = true)]
            internal static extern int dup2(int from, int to);

            [DllImport("libc", SetLastError = true)]
            static extern IntPtr write(int fd, byte[] buf, UIntPtr count);

            const int ONonblock = 0x800, OCloexec = 0x80000, FGetfd = 1;

            /// <summary>A non-blocking pipe: [0] reads, [1] writes.</summary>
            internal static int[] Pipe()
            {
                var p = new int[2];
                Assert.AreEqual(0, pipe2(p, ONonblock | OCloexec), "pipe2");
                return p;
            }

            internal static void WriteByte(int fd) => Assert.AreEqual((IntPtr)1, write(fd, new byte[] { 1 }, (UIntPtr)1));

            /// <summary>Adds 1 to an eventfd: readable.</summary>
            internal static void Raise(int eventFd)
            {
                ulong one = 1;
                Assert.AreEqual((IntPtr)8, Libc.write(eventFd, ref one, (UIntPtr)8));
            }

            internal static bool IsOpen(int fd) => Libc.fcntl(fd, FGetfd, 0) >= 0;

            internal static void Close(params int[] fds)
            {
                foreach (int fd in fds) Libc.close(fd);
            }
        }

        /// <summary>Does to the library's fd `number` what the process does once the library
        /// closed it: gives the number to an unrelated file, here the read end of a fresh
        /// non-blocking pipe (returned: [0] reads, [1] writes; dup2 closes and reuses the number
        /// at once, so no other file of the process takes it in between). The library's file
        /// stays open in `library`, a duplicate: through it the test raises the readiness that the
        /// library's own writes, which now go to the pipe's read end and fail, would have.</summary>
        static int[] ReuseNumber(int number, out int library)
        {
            library = Fds.dup(number);
            Assert.GreaterOrEqual(library, 0, "dup");
            int[] pipe = Fds.Pipe();
            Assert.AreEqual(number, Fds.dup2(pipe[0], number), "dup2");
            return pipe;
        }

        /// <summary>A pipe that takes the numbers of the node's event fds, with data in it, wakes
        /// neither WaitForEvents nor WaitForPeerEvents: they poll the node's duplicates, taken at
        /// their first use. (Before, each polled the number the library gave, whatever file it
        /// named by then: true here, with no event.)</summary>
        [Test]
        public void SyncWaitsAreNotWokenByAFileThatTookTheLibrarysNumber()
        {
            var n = new Node(Config());
            int events = -1, peerEvents = -1;
            int[] p1 = null, p2 = null;
            try
            {
                Assert.IsFalse(n.WaitForEvents(TimeSpan.Zero));
                Assert.IsFalse(n.WaitForPeerEvents(TimeSpan.Zero));
                p1 = ReuseNumber(n.EventFd, out events);
                p2 = ReuseNumber(n.PeerEventFd, out peerEvents);
                Fds.WriteByte(p1[1]);
                Fds.WriteByte(p2[1]);
                Assert.IsFalse(n.WaitForEvents(TimeSpan.Zero), "woken by the pipe that took the event fd's number");
                Assert.IsFalse(n.WaitForPeerEvents(TimeSpan.Zero), "woken by the pipe that took the peer event fd's number");
                // What the library's own fd says still reaches them.
                Fds.Raise(peerEvents);
                Assert.IsTrue(n.WaitForPeerEvents(Wait));
                Assert.IsFalse(n.WaitForEvents(TimeSpan.Zero));
                Fds.Raise(events);
                Assert.IsTrue(n.WaitForEvents(Wait));
            }
            finally
            {
                n.Dispose(); // the library closes its numbers: the pipe's read ends it was given
                Fds.Close(events, peerEvents);
                if (p1 != null) Fds.Close(p1);
                if (p2 != null) Fds.Close(p2);
            }
        }

        /// <summary>A ReceiveAsync polls the stream handle's duplicate of the readable fd, taken
        /// by the first call that waited, not the number the library gives: a pipe that took
        /// that number neither hides the library's readiness from it nor stands in for it.
        /// (Before, each call duplicated the number as it then was: here the empty pipe, and
        /// the receive never ended.)</summary>
        [Test]
        public void AsyncWaitsPollTheirOwnFdNotANumberTheProcessReused()
        {
            using (var a = new Node(Config()))
            using (var b = new Node(Config()))
            {
                Link(a, b);
                using (Stream sa = a.OpenStream(b.Id, 1))
                using (Stream sb = b.OpenStream(a.Id, 1))
                {
                    Task<byte[]> first = sb.ReceiveAsync(); // nothing sent yet: it waits
                    Assert.IsFalse(first.IsCompleted);
                    sa.Send(Text("first"));
                    Assert.IsTrue(first.Wait(Wait));
                    int library = -1;
                    int[] pipe = ReuseNumber(sb.ReadableFd, out library);
                    try
                    {
                        Task<byte[]> second = sb.ReceiveAsync();
                        Assert.IsFalse(second.IsCompleted);
                        sa.Send(Text("second"));
                        Poll.WaitUntil(() => sb.Stats().InboundPending == 1, "'second' is queued");
                        Fds.Raise(library); // what the library wrote to the pipe instead
                        Assert.IsTrue(second.Wait(Poll.Deadline), "the receive polled the pipe that took the number");
                        Assert.AreEqual("second", Encoding.ASCII.GetString(second.Result));
                    }
                    finally
                    {
                        Fds.Close(library);
                        Fds.Close(pipe); // the stream's number, the pipe's read end, closes with it
                    }
                }
            }
        }

        sealed class Owner : IReleasable
        {
            internal volatile bool Released;
            public bool IsReleased => Released;
        }

        /// <summary>An attempt that counts its tries (its result: how many so far) and finishes
        /// once go says so.</summary>
        static Attempt<int> Counting(Func<int> count, Func<bool> go) => (out int r) =>
        {
            r = count();
            return go();
        };

        /// <summary>The reactor itself: a file that took the number of an fd it waits for, and is
        /// readable, makes it try nothing; the fd's own readiness makes it try each waiter once.
        /// (Before, the second call duplicated the pipe, and the reactor tried it at every pass.)
        /// It never closes a number it does not own.</summary>
        [Test]
        public void TheReactorIsNotWokenByAFileThatTookTheNumberOfItsFd()
        {
            int ev = Libc.eventfd(0, Libc.EfdCloexec | Libc.EfdNonblock);
            var fds = new ReadinessFds(1, _ => ev, "owner");
            var owner = new Owner();
            int go = 0, tries1 = 0, tries2 = 0;
            Func<bool> going = () => Volatile.Read(ref go) != 0;
            Task<int> t1 = Reactor.Shared.Run(owner, fds, 0, Counting(() => Interlocked.Increment(ref tries1), going),
                                              CancellationToken.None);
            OwnedFd own = fds.Peek(0);
            Assert.IsNotNull(own, "the first wait duplicates the fd");
            int library;
            int[] pipe = ReuseNumber(ev, out library);
            try
            {
                Fds.WriteByte(pipe[1]);
                Task<int> t2 = Reactor.Shared.Run(owner, fds, 0, Counting(() => Interlocked.Increment(ref tries2), going),
                                                  CancellationToken.None);
                Assert.AreSame(own, fds.Peek(0), "one duplicate per handle and kind");
                // A pass of the reactor's poll with t2 in it: a third call listed after t2, on an
                // fd readable at once. Had t2's fd been the pipe, it was tried in that pass too.
                int ready = Libc.eventfd(1, Libc.EfdCloexec | Libc.EfdNonblock);
                var readyFds = new ReadinessFds(1, _ => ready, "ready");
                int tries3 = 0;
                Task<int> t3 = Reactor.Shared.Run(new Owner(), readyFds, 0,
                                                  Counting(() => Interlocked.Increment(ref tries3), () => tries3 > 1),
                                                  CancellationToken.None);
                Assert.IsTrue(t3.Wait(Poll.Deadline), "the reactor polls");
                readyFds.Close();
                Libc.close(ready);
                Assert.AreEqual(1, Volatile.Read(ref tries2), "t2 was tried while only the pipe was readable");
                Volatile.Write(ref go, 1);
                Fds.Raise(library);
                Assert.IsTrue(Task.WaitAll(new Task[] { t1, t2 }, Poll.Deadline));
                Assert.AreEqual(2, t1.Result, "t1: its first try, then one when its fd became readable");
                Assert.AreEqual(2, t2.Result, "t2: its first try, then one when its fd became readable");
                fds.Close();
                Poll.WaitUntil(() => own.IsClosed, "the reactor let go of the duplicate");
                Assert.IsTrue(Fds.IsOpen(ev) && Fds.IsOpen(library) && Fds.IsOpen(pipe[0]) && Fds.IsOpen(pipe[1]),
                              "the binding closed a number it did not own");
            }
            finally
            {
                fds.Close();
                Fds.Close(ev, library);
                Fds.Close(pipe);
            }
        }

        /// <summary>Freeing a handle on another thread while the reactor polls its duplicate
        /// leaves the duplicate open until the reactor let go of it (it closes it then), and the
        /// pending call ends with ObjectDisposedException.</summary>
        [Test]
        public void AFreedHandlesDuplicateStaysOpenWhileTheReactorPollsIt()
        {
            int ev = Libc.eventfd(0, Libc.EfdCloexec | Libc.EfdNonblock);
            var fds = new ReadinessFds(1, _ => ev, "owner");
            var owner = new Owner();
            Task<int> t = Reactor.Shared.Run(owner, fds, 0, (out int r) =>
            {
                r = 0;
                if (owner.IsReleased) throw new ObjectDisposedException("owner");
                return false;
            }, CancellationToken.None);
            OwnedFd own = fds.Peek(0);
            // As Stream.Release and Node.Dispose do: released, the fds closed, then a Poke.
            owner.Released = true;
            fds.Close();
            Assert.IsFalse(own.IsClosed, "closed while the reactor still polls it");
            Assert.IsTrue(Fds.IsOpen(own.Fd));
            Assert.Throws<ObjectDisposedException>(() => fds.Acquire(0));
            Reactor.Shared.Poke(owner);
            var agg = Assert.Throws<AggregateException>(() => t.Wait(Wait));
            Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);
            Poll.WaitUntil(() => own.IsClosed, "the reactor let go of the duplicate");
            Libc.close(ev);
        }

        /// <summary>Dispose on another thread, at any point of a WaitForEvents, WaitForPeerEvents
        /// or NextPeerEventAsync, while the test then opens files that may take the numbers the
        /// library closed and writes into them: each wait ends, woken by the shutdown (true) or
        /// with ObjectDisposedException, never left waiting on such a file.</summary>
        [Test]
        public void WaitsRacingDisposeAllEnd()
        {
            var random = new Random(7);
            for (int i = 0; i < 20; i++)
            {
                var n = new Node(Config());
                var started = new CountdownEvent(2);
                Func<Func<bool>, Task<bool>> waiting = wait => Task.Factory.StartNew(() =>
                {
                    started.Signal();
                    return wait();
                }, TaskCreationOptions.LongRunning);
                Task<bool> events = waiting(() => n.WaitForEvents(Timeout.InfiniteTimeSpan));
                Task<bool> peerEvents = waiting(() => n.WaitForPeerEvents(Timeout.InfiniteTimeSpan));
                Task<PeerEvent> async = n.NextPeerEventAsync();
                Assert.IsTrue(started.Wait(Poll.Deadline), "the waiting threads never started");
                Thread.SpinWait(random.Next(20000)); // lands anywhere in their calls
                n.Dispose();
                var pipes = Enumerable.Range(0, 3).Select(_ => Fds.Pipe()).ToArray();
                try
                {
                    foreach (int[] p in pipes) Fds.WriteByte(p[1]);
                    foreach (Task<bool> t in new[] { events, peerEvents })
                    {
                        try
                        {
                            Assert.IsTrue(t.Wait(Poll.Deadline), "a wait outlived its node's Dispose");
                            Assert.IsTrue(t.Result, "woken by the shutdown");
                        }
                        catch (AggregateException agg)
                        {
                            Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);
                        }
                    }
                    var e = Assert.Throws<AggregateException>(() => async.Wait(Poll.Deadline));
                    Assert.IsInstanceOf<ObjectDisposedException>(e.InnerException);
                }
                finally
                {
                    foreach (int[] p in pipes) Fds.Close(p);
                }
            }
        }

        /// <summary>The node's shutdown raises every readiness fd for good: pending receives and
        /// sends end with ShutdownException, the node's waits return true, a pending
        /// NextPeerEventAsync ends with ObjectDisposedException; nothing goes on trying.</summary>
        [Test]
        public void EveryPendingWaitEndsWhenTheNodeShutsDown()
        {
            var a = new Node(Config());
            using (var b = new Node(Config()))
            {
                Link(a, b);
                var cfg = new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = 16384 };
                Stream sa = a.OpenStream(b.Id, 2, cfg);
                Stream sb = b.OpenStream(a.Id, 2, cfg);
                Task<byte[]> receiving = sa.ReceiveAsync();
                var events = Enumerable.Range(0, 64).Select(_ => new byte[1024]).ToArray();
                Task<int> sending = sa.SendAsync(events); // four windows: b reads none
                Assert.AreEqual(PeerEventKind.Connected, a.NextPeerEvent(Wait).Kind);
                Task<PeerEvent> peerEvent = a.NextPeerEventAsync(); // no other event comes: it waits
                Assert.IsFalse(receiving.IsCompleted || sending.IsCompleted);
                var started = new CountdownEvent(2);
                Task<bool> waitEvents = Task.Factory.StartNew(() => { started.Signal(); return a.WaitForEvents(Timeout.InfiniteTimeSpan); },
                                                              TaskCreationOptions.LongRunning);
                Task<bool> waitPeerEvents = Task.Factory.StartNew(() => { started.Signal(); return a.WaitForPeerEvents(Timeout.InfiniteTimeSpan); },
                                                                  TaskCreationOptions.LongRunning);
                Assert.IsTrue(started.Wait(Poll.Deadline), "the waiting threads never started");
                a.Dispose();
                var agg = Assert.Throws<AggregateException>(() => receiving.Wait(Poll.Deadline));
                Assert.IsInstanceOf<ShutdownException>(agg.InnerException);
                agg = Assert.Throws<AggregateException>(() => sending.Wait(Poll.Deadline));
                Assert.IsInstanceOf<ShutdownException>(agg.InnerException);
                agg = Assert.Throws<AggregateException>(() => peerEvent.Wait(Poll.Deadline));
                Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);
                foreach (Task<bool> t in new[] { waitEvents, waitPeerEvents })
                {
                    try
                    {
                        Assert.IsTrue(t.Wait(Poll.Deadline), "a wait outlived its node's Dispose");
                        Assert.IsTrue(t.Result);
                    }
                    catch (AggregateException e) // began after Dispose
                    {
                        Assert.IsInstanceOf<ObjectDisposedException>(e.InnerException);
                    }
                }
                // The stream handles outlive their node: new waits end at once.
                agg = Assert.Throws<AggregateException>(() => sa.ReceiveAsync().Wait(Wait));
                Assert.IsInstanceOf<ShutdownException>(agg.InnerException);
                sa.Dispose();
                sb.Dispose();
            }
        }

        /// <summary>A stream closed under pending calls because its peer restarted (a new
        /// session replaces the one the stream belonged to, whose used streams close) ends them
        /// with NotConnectedException: its readable and writable fds stay raised once it is
        /// closed.</summary>
        [Test]
        public void PendingCallsEndWhenThePeerRestarts()
        {
            var cfgA = Config();
            var cfgB = Config();
            // A restart within HandshakeTimeout x HandshakeRetries of the first handshake is taken
            // for a crossing dial, which may keep the old session: the restart comes after it.
            TimeSpan crossing = TimeSpan.FromTicks(cfgA.HandshakeTimeout.Ticks * cfgA.HandshakeRetries);
            cfgB.IdentitySeed = Enumerable.Repeat((byte)7, 32).ToArray();
            cfgB.StaticPrivateKey = Enumerable.Repeat((byte)9, 32).ToArray();
            using (var a = new Node(cfgA))
            {
                var b = new Node(cfgB);
                ulong bId = b.Id;
                Link(a, b);
                var linked = System.Diagnostics.Stopwatch.StartNew();
                var cfg = new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = 16384 };
                using (Stream sa = a.OpenStream(bId, 3, cfg))
                {
                    Task<byte[]> receiving = sa.ReceiveAsync();
                    Task<int> sending = sa.SendAsync(Enumerable.Range(0, 64).Select(_ => new byte[1024]).ToArray());
                    Assert.IsFalse(receiving.IsCompleted || sending.IsCompleted);
                    b.Dispose();
                    // Not a wait before an assertion: the restart must not count as a crossing dial.
                    TimeSpan left = crossing + TimeSpan.FromMilliseconds(100) - linked.Elapsed;
                    if (left > TimeSpan.Zero) Thread.Sleep(left);
                    using (var restarted = new Node(cfgB)) // the same node, back: a new session
                    {
                        Assert.AreEqual(bId, restarted.Id);
                        restarted.Connect(a.LocalAddress, a.PublicKey, a.Id);
                        var agg = Assert.Throws<AggregateException>(() => receiving.Wait(Poll.Deadline));
                        Assert.IsInstanceOf<NotConnectedException>(agg.InnerException);
                        agg = Assert.Throws<AggregateException>(() => sending.Wait(Poll.Deadline));
                        Assert.IsInstanceOf<NotConnectedException>(agg.InnerException);
                    }
                }
            }
        }

        /// <summary>The same for a stream the node evicts when idle.</summary>
        [Test]
        public void PendingCallsEndWhenTheirStreamIsEvicted()
        {
            var idle = Config();
            idle.StreamIdleTimeout = TimeSpan.FromMilliseconds(300);
            using (var a = new Node(idle))
            using (var b = new Node(Config()))
            {
                Link(a, b);
                using (Stream sa = a.OpenStream(b.Id, 4))
                {
                    Task<byte[]> receiving = sa.ReceiveAsync(); // nothing comes: evicted
                    var agg = Assert.Throws<AggregateException>(() => receiving.Wait(Poll.Deadline));
                    Assert.IsInstanceOf<NotConnectedException>(agg.InnerException);
                }
            }
        }
    }
}
