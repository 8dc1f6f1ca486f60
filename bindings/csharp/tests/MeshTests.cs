// The mesh and the rest of the C API beyond the conformance list: identity files, routed
// handshakes through a relay, routes, peer liveness events, batch receive, session pacing.
// The mesh scenarios mirror tests/capi/mesh_test.c (link_nodes, connect_through,
// wait_for_route), with its short failure-detection timers.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Netmesh.Tests
{
    [TestFixture]
    public class MeshTests
    {
        static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

        /// <summary>mesh_test.c's mesh_node: heartbeats every 100 ms, Suspected after 300 ms
        /// without one, Failed after 600 ms.</summary>
        static NodeConfig MeshConfig()
        {
            return new NodeConfig
            {
                Psk = Enumerable.Repeat((byte)0x42, 32).ToArray(),
                HandshakeTimeout = TimeSpan.FromMilliseconds(1000),
                HandshakeRetries = 2,
                HeartbeatInterval = TimeSpan.FromMilliseconds(100),
                SuspectAfter = TimeSpan.FromMilliseconds(300),
                FailAfter = TimeSpan.FromMilliseconds(600),
            };
        }

        /// <summary>A direct session between two nodes: b allows a, a dials b.</summary>
        static void Link(Node a, Node b)
        {
            b.AllowPeer(a.Id);
            a.Connect(b.LocalAddress, b.PublicKey, b.Id);
        }

        /// <summary>A routed session from a to dest, whose handshake is handed to relay first.</summary>
        static void ConnectThrough(Node a, Node relay, Node dest)
        {
            dest.AllowPeer(a.Id);
            a.ConnectVia(relay.LocalAddress, dest.PublicKey, dest.Id);
        }

        static Route RouteTo(Node n, ulong dest) => n.Routes().FirstOrDefault(r => r.Dest == dest);

        /// <summary>Polls until n has a route of the given metric to dest.</summary>
        static Route WaitForRoute(Node n, ulong dest, uint metric)
        {
            Route found = null;
            Poll.WaitUntil(() => (found = RouteTo(n, dest)) != null && found.Metric == metric,
                           string.Format("{0} has a route of metric {1} to {2}", n.Id, metric, dest));
            return found;
        }

        static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

        static StreamConfig ReliableConfig(uint window = 65536) =>
            new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = window };

        /// <summary>n reliable events from -> to over whatever path their session takes, checked
        /// exactly once and in order. Each event leaves in its own packet (sends are 1 ms apart,
        /// not a burst), so every one crosses the relays.</summary>
        static void ReliableTransfer(Node from, Node to, ulong streamId, int n)
        {
            using (var tx = from.OpenStream(to.Id, streamId, ReliableConfig()))
            using (var rx = to.OpenStream(from.Id, streamId, ReliableConfig()))
            {
                int next = 0;
                byte[] ev;
                for (int i = 0; i < n; i++)
                {
                    tx.SendBlocking(TimeSpan.FromSeconds(5), BitConverter.GetBytes(i));
                    Thread.Sleep(1); // pacing, not a wait: sends 1 ms apart each get their own packet
                    while (rx.TryReceive(TimeSpan.Zero, out ev)) Assert.AreEqual(next++, BitConverter.ToInt32(ev, 0));
                }
                while (next < n) Assert.AreEqual(next++, BitConverter.ToInt32(rx.Receive(Wait), 0));
                Assert.IsFalse(rx.TryReceive(TimeSpan.FromMilliseconds(100), out ev)); // exactly once
            }
        }

        [Test]
        public void ConnectDirectMovesARelayedSession()
        {
            using (Node a = new Node(MeshConfig()), r = new Node(MeshConfig()), b = new Node(MeshConfig()))
            {
                Link(a, r);
                Link(b, r);
                ConnectThrough(a, r, b);
                Assert.IsTrue(a.SessionStats(b.Id).Routed);
                a.ConnectDirect(b.Id, r.Id, TimeSpan.FromSeconds(5));
                Assert.IsFalse(a.SessionStats(b.Id).Routed);
                Assert.AreEqual(1, a.Stats().PunchesSucceeded);
                ReliableTransfer(a, b, 41, 50);
            }
        }

        [Test]
        public void AutoDirectMovesARelayedSessionOnItsOwn()
        {
            var auto = MeshConfig();
            auto.AutoDirect = TimeSpan.FromSeconds(1);
            using (Node a = new Node(auto), r = new Node(MeshConfig()), b = new Node(MeshConfig()))
            {
                Link(a, r);
                Link(b, r);
                ConnectThrough(a, r, b); // nobody calls ConnectDirect
                Poll.WaitUntil(() => !a.SessionStats(b.Id).Routed, "a's session with b goes direct");
                Assert.AreEqual(1, a.Stats().PunchesSucceeded);
            }
            var bad = MeshConfig();
            bad.AutoDirect = TimeSpan.FromMilliseconds(999);
            Assert.Throws<NetmeshArgumentException>(() => new Node(bad).Dispose());
        }

        [Test]
        public void IdentityFileSurvivesRestart()
        {
            string dir = Path.Combine(Path.GetTempPath(), "netmesh-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var c = MeshConfig();
                c.IdentityFile = Path.Combine(dir, "node.identity");
                ulong id;
                byte[] key;
                using (var first = new Node(c)) // first start: random keys, saved to the file
                {
                    id = first.Id;
                    key = first.PublicKey;
                }
                Assert.IsTrue(File.Exists(c.IdentityFile));
                using (var again = new Node(c)) // restart: the same keys, loaded from it
                {
                    Assert.AreEqual(id, again.Id);
                    CollectionAssert.AreEqual(key, again.PublicKey);
                }
                using (var other = new Node(MeshConfig())) // without the file: a random identity
                    Assert.AreNotEqual(id, other.Id);

                // a file that is not a netmesh identity is refused, not overwritten
                string bad = Path.Combine(dir, "garbage");
                File.WriteAllBytes(bad, new byte[10]);
                c.IdentityFile = bad;
                var e = Assert.Throws<NetmeshArgumentException>(() => new Node(c));
                StringAssert.Contains(bad, e.Detail);
                Assert.AreEqual(10, new FileInfo(bad).Length);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Test]
        public void ThreeNodeChainConnectsThroughRelay()
        {
            using (Node a = new Node(MeshConfig()), b = new Node(MeshConfig()), c = new Node(MeshConfig()))
            {
                Link(a, b);
                Link(b, c);
                Assert.Throws<ArgumentNullException>(() => a.ConnectVia(null, c.PublicKey, c.Id));
                Assert.Throws<ArgumentException>(() => a.ConnectVia(b.LocalAddress, new byte[5], c.Id));
                // a reaches c through b: the routed handshake is relayed by b, which cannot read it
                ConnectThrough(a, b, c);
                ReliableTransfer(a, c, 8, 100);
                ReliableTransfer(c, a, 9, 20); // and back
                NodeStats relay = b.Stats(), end = c.Stats();
                Assert.GreaterOrEqual(relay.Forwarded, 120UL); // every data packet went through b
                Assert.AreEqual(0, relay.DropAuthFailed);
                Assert.AreEqual(2, relay.Sessions); // b has no session for the traffic it carries
                Assert.AreEqual(2, end.Sessions);
                Assert.AreEqual(2, a.Stats().Sessions);
            }
        }

        [Test]
        public void RoutesAreLearnedFromPingwaves()
        {
            using (Node a = new Node(MeshConfig()), b = new Node(MeshConfig()), c = new Node(MeshConfig()))
            {
                Link(a, b);
                Link(b, c);
                // c is two hops from a: metric = hop count + 2 at the receiver, through b
                Route toC = WaitForRoute(a, c.Id, 3);
                Assert.AreEqual(b.Id, toC.NextHop);
                Assert.Less(toC.Age, TimeSpan.FromSeconds(1)); // refreshed every heartbeat
                Assert.AreEqual(b.Id, WaitForRoute(c, a.Id, 3).NextHop);
                // a direct neighbour: metric 1, next hop itself
                Route toB = RouteTo(a, b.Id);
                Assert.IsNotNull(toB);
                Assert.AreEqual(1, toB.Metric);
                Assert.AreEqual(b.Id, toB.NextHop);
                Assert.IsNull(RouteTo(a, 12345));
                Assert.Greater(a.Stats().PingwavesReceived, 0UL);
                Assert.Greater(b.Stats().PingwavesSent, 0UL);
                // a snapshot: not writable through the interface
                IReadOnlyList<Route> routes = a.Routes();
                Assert.Throws<NotSupportedException>(() => ((IList<Route>)routes)[0] = null);
            }
        }

        [Test]
        public void PeerEventsReportConnectSuspectFail()
        {
            using (Node a = new Node(MeshConfig()))
            {
                Node b = new Node(MeshConfig());
                ulong bId = b.Id;
                Stopwatch clock = null;
                try
                {
                    Assert.IsFalse(a.WaitForPeerEvents(TimeSpan.Zero));
                    Link(a, b);
                    PeerEvent connected = a.NextPeerEvent(TimeSpan.FromSeconds(1));
                    Assert.AreEqual(PeerEventKind.Connected, connected.Kind);
                    Assert.AreEqual(bId, connected.PeerNodeId);
                    Assert.Greater(connected.AtNs, 0UL);
                    PeerEvent none;
                    Assert.IsFalse(a.TryNextPeerEvent(TimeSpan.Zero, out none));
                    Assert.IsNull(none);
                    Assert.Throws<NetmeshTimeoutException>(() => a.NextPeerEvent(TimeSpan.FromMilliseconds(20)));
                    Assert.GreaterOrEqual(a.PeerEventFd, 0);
                }
                finally
                {
                    clock = Stopwatch.StartNew();
                    b.Dispose(); // b goes silent: a misses its heartbeats
                }
                Assert.IsTrue(a.WaitForPeerEvents(Wait));
                PeerEvent suspected = a.NextPeerEvent(Wait);
                Assert.AreEqual(PeerEventKind.Suspected, suspected.Kind);
                Assert.AreEqual(bId, suspected.PeerNodeId);
                Task<PeerEvent> next = a.NextPeerEventAsync();
                Assert.IsTrue(next.Wait(Wait));
                PeerEvent failed = next.Result;
                Assert.AreEqual(PeerEventKind.Failed, failed.Kind);
                Assert.AreEqual(bId, failed.PeerNodeId);
                Assert.Greater(failed.AtNs, suspected.AtNs);
                // Failed comes FailAfter (600 ms) after the last heartbeat heard (<= 100 ms before)
                Assert.GreaterOrEqual(clock.Elapsed, TimeSpan.FromMilliseconds(600 - 100 - 50));
                Assert.IsNull(RouteTo(a, bId)); // routes through a failed neighbour are dropped

                // nothing more: the async wait can be cancelled
                var cts = new CancellationTokenSource();
                Task<PeerEvent> cancelled = a.NextPeerEventAsync(cts.Token);
                cts.CancelAfter(100);
                var agg = Assert.Throws<AggregateException>(() => cancelled.Wait(Wait));
                Assert.IsInstanceOf<OperationCanceledException>(agg.InnerException);
            }
        }

        [Test]
        public void DisposeWakesBlockedPeerEventWait()
        {
            var a = new Node(MeshConfig());
            var started = new ManualResetEventSlim();
            Task<PeerEvent> blocked = Task.Run(() =>
            {
                started.Set();
                return a.NextPeerEvent(Timeout.InfiniteTimeSpan);
            });
            // a busy machine can start the task late: wait for it rather than guess
            Assert.IsTrue(started.Wait(Poll.Deadline), "the waiting task never started");
            // Not a wait before an assertion: it gives NextPeerEvent time to block, so that
            // Dispose has a blocked call to wake. A call that starts after Dispose throws
            // InvalidHandleException (or, once Dispose has begun, ObjectDisposedException)
            // instead, which the check accepts too.
            Thread.Sleep(100);
            Assert.IsFalse(blocked.IsCompleted, "NextPeerEvent returned with no peer to report on");
            a.Dispose();
            var agg = Assert.Throws<AggregateException>(() => blocked.Wait(Wait));
            Assert.That(agg.InnerException, Is.InstanceOf<ShutdownException>().Or.InstanceOf<InvalidHandleException>()
                .Or.InstanceOf<ObjectDisposedException>());
            Assert.Throws<ObjectDisposedException>(() => a.NextPeerEvent(TimeSpan.Zero));
            Assert.Throws<ObjectDisposedException>(() => a.Routes());
            Assert.Throws<ObjectDisposedException>(() => a.AllowPeer(1));
        }

        [Test]
        public void ReceiveBatch()
        {
            var cfg = MeshConfig();
            cfg.DefaultWindowBytes = 1 << 20;
            using (Node a = new Node(cfg), b = new Node(cfg))
            {
                Link(a, b);
                using (var tx = a.OpenStream(b.Id, 40, ReliableConfig(1 << 20)))
                using (var rx = b.OpenStream(a.Id, 40, ReliableConfig(1 << 20)))
                {
                    Assert.Throws<NetmeshTimeoutException>(() => rx.ReceiveBatch(8, TimeSpan.Zero));
                    IReadOnlyList<byte[]> got;
                    Assert.IsFalse(rx.TryReceiveBatch(8, TimeSpan.FromMilliseconds(10), out got));
                    Assert.IsNull(got);
                    Assert.Throws<ArgumentOutOfRangeException>(() => rx.ReceiveBatch(0, Wait));

                    // small events sent in one call share one packet: one batch, in order
                    string[] words = { "one", "two", "", "three", "four" };
                    Assert.AreEqual(5, tx.Send(words.Select(Text).ToArray()));
                    got = rx.ReceiveBatch(16, Wait);
                    CollectionAssert.AreEqual(words, got.Select(e => Encoding.ASCII.GetString(e)).ToArray());

                    // at most maxEvents per call; the rest stays queued
                    tx.Send(Text("x1"), Text("x2"), Text("x3"));
                    got = rx.ReceiveBatch(2, Wait);
                    CollectionAssert.AreEqual(new[] { "x1", "x2" }, got.Select(e => Encoding.ASCII.GetString(e)).ToArray());
                    Assert.IsTrue(rx.TryReceiveBatch(2, Wait, out got));
                    CollectionAssert.AreEqual(new[] { "x3" }, got.Select(e => Encoding.ASCII.GetString(e)).ToArray());

                    // an event larger than the 64 KiB batch buffer: it grows (BufferTooSmall inside)
                    var big = Enumerable.Range(0, 100000).Select(i => (byte)(i * 13)).ToArray();
                    tx.SendBlocking(Wait, Text("before"), big, Text("after"));
                    var all = new List<byte[]>();
                    while (all.Count < 3) all.AddRange(rx.ReceiveBatch(16, Wait));
                    Assert.AreEqual(3, all.Count);
                    Assert.AreEqual("before", Encoding.ASCII.GetString(all[0]));
                    CollectionAssert.AreEqual(big, all[1]);
                    Assert.AreEqual("after", Encoding.ASCII.GetString(all[2]));
                    Assert.IsFalse(rx.TryReceiveBatch(16, TimeSpan.FromMilliseconds(50), out got));
                    Assert.AreEqual(11, rx.Stats().RxEvents);
                }
            }
        }

        [Test]
        public void ReceiveBatchIntoAReusedBatch()
        {
            var cfg = MeshConfig();
            cfg.DefaultWindowBytes = 1 << 20;
            using (Node a = new Node(cfg), b = new Node(cfg))
            {
                Link(a, b);
                using (var tx = a.OpenStream(b.Id, 41, ReliableConfig(1 << 20)))
                using (var rx = b.OpenStream(a.Id, 41, ReliableConfig(1 << 20)))
                {
                    var batch = new EventBatch(16, 1024);
                    Assert.Throws<NetmeshTimeoutException>(() => rx.ReceiveBatch(batch, TimeSpan.Zero));
                    Assert.IsFalse(rx.TryReceiveBatch(batch, TimeSpan.FromMilliseconds(10)));
                    Assert.AreEqual(0, batch.Count);
                    Assert.Throws<ArgumentOutOfRangeException>(() => new EventBatch(0));

                    string[] words = { "one", "two", "", "three" };
                    tx.Send(words.Select(Text).ToArray());
                    var got = new List<string>();
                    while (got.Count < words.Length)
                    {
                        rx.ReceiveBatch(batch, Wait);
                        for (int i = 0; i < batch.Count; i++) got.Add(Encoding.ASCII.GetString(batch.Span(i).ToArray()));
                    }
                    CollectionAssert.AreEqual(words, got);
                    Assert.Throws<ArgumentOutOfRangeException>(() => batch.Memory(batch.Count));

                    // larger than the batch's 1 KiB: the buffer grows and stays grown
                    var big = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
                    tx.Send(big);
                    Assert.AreEqual(1, rx.ReceiveBatch(batch, Wait));
                    CollectionAssert.AreEqual(big, batch.Span(0).ToArray());

                    // then, receiving allocates nothing (64-byte events, 16 per call)
                    var ev = new byte[64];
                    var sixteen = Enumerable.Repeat(ev, 16).ToArray();
                    tx.Send(sixteen);
                    for (int got16 = 0; got16 < 16;) got16 += rx.ReceiveBatch(batch, Wait); // warm
                    long allocated = 0;
                    for (int round = 0; round < 50; round++)
                    {
                        tx.Send(sixteen);
                        long before = GC.GetAllocatedBytesForCurrentThread();
                        for (int n = 0; n < 16;) n += rx.ReceiveBatch(batch, Wait);
                        allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                    }
                    Assert.AreEqual(0, allocated, "bytes allocated by 800 batch receives");
                }
            }
        }

        [Test]
        public void SessionPacing()
        {
            const ulong Rate = 10000000; // 10 MB/s
            var cfg = MeshConfig();
            cfg.SessionRateBytesPerSec = Rate;
            cfg.DefaultWindowBytes = 1 << 20;
            Assert.AreEqual(Rate, cfg.SessionRateBytesPerSec);
            using (Node a = new Node(cfg), b = new Node(cfg))
            {
                Link(a, b);
                using (var tx = a.OpenStream(b.Id, 41, ReliableConfig(1 << 20)))
                using (var rx = b.OpenStream(a.Id, 41, ReliableConfig(1 << 20)))
                {
                    // a small transfer is delivered as usual
                    tx.Send(Text("paced"), Text("and"), Text("delivered"));
                    Assert.AreEqual("paced", Encoding.ASCII.GetString(rx.Receive(Wait)));
                    Assert.AreEqual("and", Encoding.ASCII.GetString(rx.Receive(Wait)));
                    Assert.AreEqual("delivered", Encoding.ASCII.GetString(rx.Receive(Wait)));

                    // and the rate is applied: 100 full packets (8084 bytes each on the wire, 808 KB)
                    // cannot leave faster than 10 MB/s, less the 2 ms token bucket: >= 78 ms
                    const int N = 100;
                    var events = Enumerable.Range(0, N).Select(i => Enumerable.Repeat((byte)i, 8000).ToArray()).ToArray();
                    var clock = Stopwatch.StartNew();
                    Assert.AreEqual(N, tx.Send(events)); // queued by the pacer: within window and queue limit
                    for (int i = 0; i < N; i++)
                    {
                        byte[] ev = rx.Receive(Wait);
                        Assert.AreEqual(8000, ev.Length);
                        Assert.AreEqual((byte)i, ev[0]);
                    }
                    clock.Stop();
                    Assert.GreaterOrEqual(clock.Elapsed, TimeSpan.FromMilliseconds(60), "the session was not paced");
                }
            }
        }
    }
}
