// The bindings/CONFORMANCE.md scenarios, with the expectations of the C suite in tests/capi/,
// plus a few checks of what the C# layer adds (buffer growth, spans, async, exceptions).
using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Netmesh.Tests
{
    [TestFixture]
    public class ConformanceTests
    {
        static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

        static NodeConfig TestConfig(byte pskByte)
        {
            return new NodeConfig
            {
                Psk = Enumerable.Repeat(pskByte, 32).ToArray(),
                HandshakeTimeout = TimeSpan.FromMilliseconds(1000),
                HandshakeRetries = 2,
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            };
        }

        /// <summary>Two nodes on 127.0.0.1: A connects to B while B accepts on another thread.</summary>
        sealed class Pair : IDisposable
        {
            public readonly Node A, B;

            public Pair(NodeConfig a = null, NodeConfig b = null)
            {
                A = new Node(a ?? TestConfig(0x42));
                B = new Node(b ?? TestConfig(0x42));
            }

            public Pair Connected()
            {
                ulong aId = A.Id;
                // Allow A first: an accept thread that starts late would miss A's first msg1 and
                // cost a 1 s handshake retry.
                B.TryAccept(aId, TimeSpan.Zero);
                Task accept = Task.Run(() => B.Accept(aId, TimeSpan.FromSeconds(5)));
                A.Connect(B.LocalAddress, B.PublicKey, B.Id);
                accept.Wait();
                return this;
            }

            public void Open(ulong id, StreamConfig cfg, out Stream onA, out Stream onB)
            {
                onA = A.OpenStream(B.Id, id, cfg);
                onB = B.OpenStream(A.Id, id, cfg);
            }

            public void Dispose()
            {
                A.Dispose();
                B.Dispose();
            }
        }

        static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

        static void ExpectEvent(Stream s, string text) =>
            Assert.AreEqual(text, Encoding.ASCII.GetString(s.Receive(Wait)));

        static StreamConfig Mode(Reliability r) => new StreamConfig { Reliability = r };

        [Test]
        public void Handshake()
        {
            using (var p = new Pair().Connected())
            {
                Assert.AreNotEqual(p.A.Id, p.B.Id);
                Assert.AreEqual(32, p.A.PublicKey.Length);
                Assert.AreEqual(32, p.B.PublicKey.Length);
                StringAssert.IsMatch(@"^127\.0\.0\.1:\d+$", p.B.LocalAddress);
                NodeStats sa = p.A.Stats(), sb = p.B.Stats();
                Assert.AreEqual(1, sa.Sessions);
                Assert.AreEqual(1, sb.Sessions);
                Assert.AreEqual(1, sa.HandshakesCompleted);
                Assert.AreEqual(1, sb.HandshakesCompleted);
                p.B.Accept(p.A.Id, TimeSpan.Zero); // existing session: returns at once
            }
        }

        [Test]
        public void ReflexProbeAndNatClassification()
        {
            using (var p = new Pair().Connected())
            using (var c = new Node(TestConfig(0x42)))
            {
                Assert.AreEqual(p.A.LocalAddress, p.A.ProbeReflex(p.B.Id, Wait));
                Assert.AreEqual(p.B.LocalAddress, p.B.ProbeReflex(p.A.Id, Wait));
                Assert.Throws<NotConnectedException>(() => p.A.ClassifyNat(Wait));
                Assert.AreEqual(NatType.Unknown, p.A.NatType);
                Assert.AreEqual("", p.A.ReflexAddress);
                ulong aId = p.A.Id;
                c.TryAccept(aId, TimeSpan.Zero);
                Task accept = Task.Run(() => c.Accept(aId, TimeSpan.FromSeconds(5)));
                p.A.Connect(c.LocalAddress, c.PublicKey, c.Id);
                accept.Wait();
                Assert.AreEqual(NatType.Open, p.A.ClassifyNat(Wait));
                Assert.AreEqual(NatType.Open, p.A.NatType);
                Assert.AreEqual(p.A.LocalAddress, p.A.ReflexAddress);
                Assert.Throws<NotConnectedException>(() => p.A.ProbeReflex(12345, Wait));
            }
        }

        [Test]
        public void WrongPsk()
        {
            using (var p = new Pair(TestConfig(0x42), TestConfig(0x43)))
            {
                Assert.IsFalse(p.B.TryAccept(p.A.Id, TimeSpan.Zero)); // allow A, don't wait
                var e = Assert.Throws<HandshakeException>(() => p.A.Connect(p.B.LocalAddress, p.B.PublicKey, p.B.Id));
                Assert.AreEqual(Status.Handshake, e.Status);
                StringAssert.Contains("attempt", e.Detail); // nm_last_error_message, same thread
                Assert.AreEqual(0, p.A.Stats().Sessions);
                Assert.AreEqual(0, p.B.Stats().Sessions);
                Assert.AreEqual(2, p.B.Stats().DropHandshakeRejected); // one per attempt
                Assert.Throws<NetmeshTimeoutException>(() => p.B.Accept(p.A.Id, TimeSpan.Zero));
            }
        }

        void Exchange(Reliability mode)
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(10, Mode(mode), out a, out b);
                using (a)
                using (b)
                {
                    Assert.AreEqual(3, a.Send(Text("one"), Text("two"), new byte[0]));
                    ExpectEvent(b, "one");
                    ExpectEvent(b, "two");
                    ExpectEvent(b, "");
                    b.Send(Text("reply"));
                    ExpectEvent(a, "reply");
                    StreamStats st = a.Stats();
                    Assert.AreEqual(mode == Reliability.Reliable, st.Reliable);
                    Assert.AreEqual(1, st.TxSeq); // three small events share one packet
                    Assert.AreEqual(0, st.RxSeq); // highest sequence received
                    Assert.AreEqual(3, st.TxEvents);
                    Assert.AreEqual(1, st.RxEvents);
                    Assert.IsTrue(st.Active);
                    Assert.Greater(st.LastActivityNs, 0UL);
                }
            }
        }

        [Test]
        public void FireAndForget() => Exchange(Reliability.FireAndForget);

        [Test]
        public void Reliable() => Exchange(Reliability.Reliable);

        static byte[] Pattern(int size)
        {
            var ev = new byte[size];
            for (int i = 0; i < size; i++) ev[i] = (byte)(size * 31 + i * 7);
            return ev;
        }

        [Test]
        public void EventsOfEverySmallSizeArriveByteForByte()
        {
            // Frames are packed in words with a byte tail up to 256 bytes, by memcpy above.
            var sizes = Enumerable.Range(0, 300).Concat(new[] { 1000, 4099 }).ToArray();
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(15, Mode(Reliability.Reliable), out a, out b);
                using (a)
                using (b)
                {
                    Assert.AreEqual(sizes.Length, a.SendBlocking(Wait, sizes.Select(Pattern).ToArray()));
                    a.Send(new ReadOnlySpan<byte>(Pattern(77), 3, 70)); // from a span, offset 3
                    foreach (int size in sizes) CollectionAssert.AreEqual(Pattern(size), b.Receive(Wait));
                    CollectionAssert.AreEqual(Pattern(77).Skip(3).Take(70).ToArray(), b.Receive(Wait));
                }
            }
        }

        [Test]
        public void ManyEventsInOrder()
        {
            const int N = 2000;
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(12, Mode(Reliability.Reliable), out a, out b);
                using (a)
                using (b)
                {
                    int next = 0;
                    for (int i = 0; i < N; i++)
                    {
                        a.SendBlocking(TimeSpan.FromSeconds(5), BitConverter.GetBytes(i));
                        if (i % 64 == 63) // read as we go so credit comes back
                            for (; next <= i; next++) Assert.AreEqual(next, BitConverter.ToInt32(b.Receive(Wait), 0));
                    }
                    for (; next < N; next++) Assert.AreEqual(next, BitConverter.ToInt32(b.Receive(Wait), 0));
                    StreamStats st = b.Stats();
                    // back-to-back sends share packets: count events, and match the sender's last sequence
                    Assert.AreEqual(N, st.RxEvents);
                    Assert.AreEqual(a.Stats().TxSeq - 1, st.RxSeq);
                    Assert.AreEqual(0, st.RxGaps);
                    Assert.AreEqual(0, st.InboundPending);
                    Assert.Greater(st.CreditGrantsSent, 0UL);
                    Poll.WaitUntil(() => a.Stats().TxCreditRemaining == a.Stats().TxWindow,
                                   "the sender has its whole window of credit back");
                    st = a.Stats();
                    Assert.Greater(st.CreditGrantsReceived, 0UL);
                    Assert.AreEqual(st.TxWindow, st.TxCreditRemaining);
                }
            }
        }

        [Test]
        public void Backpressure()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(14, null, out a, out b); // window 65536
                using (a)
                using (b)
                {
                    var kb = new byte[1000];
                    int accepted = 0;
                    BackpressureException refused = null;
                    for (int i = 0; i < 200 && refused == null; i++)
                    {
                        try { accepted += a.Send(kb); }
                        catch (BackpressureException e) { refused = e; }
                        Thread.Sleep(1); // sends more than 20 µs apart each get their own packet
                    }
                    Assert.IsNotNull(refused);
                    Assert.AreEqual(0, refused.Sent);
                    // each 1000-byte event costs 4 + 1000 + 84 = 1088 bytes of credit
                    Assert.AreEqual(65536 / 1088, accepted);
                    StreamStats st = a.Stats();
                    Assert.AreEqual(1, st.BackpressureEvents);
                    // nobody reads, so the retry helper gives up
                    Assert.AreEqual(0, Assert.Throws<BackpressureException>(() => a.SendWithRetry(3, kb)).Sent);
                    for (int i = 0; i < 60; i++) b.Receive(TimeSpan.FromSeconds(1));
                    Assert.AreEqual(1, a.SendBlocking(Wait, kb));
                    Assert.AreEqual(1000, b.Receive(Wait).Length);
                    Assert.GreaterOrEqual(a.Stats().CreditGrantsReceived, 1UL);
                }
            }
        }

        [Test]
        public void PartialSendReportsProgress()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(15, null, out a, out b);
                using (a)
                using (b)
                {
                    var big = Enumerable.Repeat(new byte[8000], 10).ToArray();
                    // 8084-byte packets: 8 fit in the window, the 9th is refused
                    Assert.AreEqual(8, Assert.Throws<BackpressureException>(() => a.Send(big)).Sent);
                }
            }
        }

        [Test]
        public void Stats()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(14, null, out a, out b);
                using (a)
                using (b)
                {
                    var kb = new byte[1000];
                    for (int i = 0; i < 60; i++)
                    {
                        a.Send(kb);
                        Thread.Sleep(1); // sends more than 20 µs apart each get their own packet
                    }
                    StreamStats st = a.Stats();
                    Assert.AreEqual(p.B.Id, st.PeerNodeId);
                    Assert.AreEqual(14, st.StreamId);
                    Assert.AreEqual(60, st.TxSeq);
                    Assert.AreEqual(65536, st.TxWindow);
                    Assert.AreEqual(65536 - 60 * 1088, st.TxCreditRemaining);
                    Assert.AreEqual(0, st.BackpressureEvents);
                    Assert.IsTrue(st.Active);
                    Assert.IsFalse(st.Reliable);
                    Poll.WaitUntil(() => b.Stats().InboundPending == 60, "the receiver has the 60 events pending");
                    st = b.Stats();
                    Assert.AreEqual(60, st.InboundPending); // nothing read, nothing granted
                    Assert.AreEqual(59, st.RxSeq);
                    Assert.AreEqual(0, st.CreditGrantsSent);
                    for (int i = 0; i < 60; i++) b.Receive(Wait);
                    Assert.AreEqual(0, b.Stats().InboundPending);
                    Assert.Greater(b.Stats().CreditGrantsSent, 0UL);
                    Poll.WaitUntil(() => a.Stats().TxCreditRemaining == 65536, "the sender has its whole window of credit back");
                    st = a.Stats();
                    Assert.AreEqual(65536, st.TxCreditRemaining);
                    Assert.Greater(st.CreditGrantsReceived, 0UL);
                    // every open stream is listed by the node
                    Assert.IsTrue(p.A.AllStreamStats().Any(s => s.StreamId == 14 && s.PeerNodeId == p.B.Id));
                }
            }
        }

        [Test]
        public void SessionStats()
        {
            var cfg = TestConfig(0x42);
            cfg.CongestionControl = CongestionControl.NewReno;
            using (var p = new Pair(cfg, cfg).Connected())
            {
                // session acknowledgements are agreed on just after the handshake
                Poll.WaitUntil(() => p.A.SessionStats(p.B.Id).SessionAcks, "A's session with B has acknowledgements");
                Stream a, b;
                p.Open(26, Mode(Reliability.Reliable), out a, out b);
                using (a)
                using (b)
                {
                    for (int i = 0; i < 5; i++) a.Send(Text("event " + i));
                    for (int i = 0; i < 5; i++) ExpectEvent(b, "event " + i);
                    // the handshake's sample and at least one acknowledgement's; then nothing in flight
                    Poll.WaitUntil(() =>
                    {
                        var s = p.A.SessionStats(p.B.Id);
                        return s.RttSamples >= 2 && s.BytesInFlight == 0 && s.PmtuProbesSent >= 1;
                    }, "A has RTT samples from acknowledgements, a path MTU probe sent and nothing in flight");
                    var st = p.A.SessionStats(p.B.Id);
                    Assert.AreEqual(p.B.Id, st.PeerNodeId);
                    Assert.IsTrue(st.SessionAcks);
                    Assert.IsFalse(st.Routed);
                    Assert.Greater(st.SrttNs, 0UL);
                    Assert.Greater(st.MinRttNs, 0UL);
                    Assert.AreEqual(0, st.DatagramsInFlight);
                    Assert.Greater(st.DatagramsAcked, 0UL);
                    Assert.Greater(st.AcksReceived, 0UL);
                    Assert.AreEqual(CongestionControl.NewReno, st.CongestionControl);
                    Assert.Greater(st.CwndBytes, 0UL);
                    Assert.AreEqual(0, st.DatagramsLost); // loopback, no impairment
                    Assert.AreEqual(0, st.SpuriousRetransmissions);
                    Assert.AreEqual(0, st.CongestionEvents);
                    Assert.AreEqual(0, st.CongestionEventsUndone);
                    Assert.AreEqual(3, st.LossThresholdDatagrams); // RFC 9002's, nothing reordered
                    Assert.AreEqual(9, st.LossThresholdRttEighths);
                    Assert.AreEqual(0, st.PmtuBlackHoles);
                    Assert.Greater(p.B.SessionStats(p.A.Id).AcksSent, 0UL);
                }
                // no session with that peer
                Assert.Throws<NotConnectedException>(() => p.A.SessionStats(p.B.Id + 1));
            }
        }

        [Test]
        public void UnboundedWindow()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(16, new StreamConfig { WindowBytes = 0 }, out a, out b);
                using (a)
                using (b)
                {
                    for (int i = 0; i < 200; i++) a.Send(new byte[1000]);
                    Assert.AreEqual(ulong.MaxValue, a.Stats().TxCreditRemaining);
                    Assert.AreEqual(0, a.Stats().TxWindow);
                }
            }
        }

        [Test]
        public void IdempotentOpen()
        {
            using (var p = new Pair().Connected())
            using (var s1 = p.A.OpenStream(p.B.Id, 17, new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = 100000 }))
            using (var s2 = p.A.OpenStream(p.B.Id, 17, Mode(Reliability.FireAndForget)))
            {
                StreamStats st = s2.Stats();
                Assert.IsTrue(st.Reliable); // the first config wins
                Assert.AreEqual(100000, st.TxWindow);
                s1.Send(Text("x"));
                s2.Send(Text("x"));
                Assert.AreEqual(2, s1.Stats().TxEvents); // both handles are the same stream
                Assert.GreaterOrEqual(p.A.AllStreamStats().Length, 1);
            }
        }

        [Test]
        public void StaleHandle()
        {
            using (var p = new Pair().Connected())
            {
                Stream oldA, b;
                p.Open(19, null, out oldA, out b);
                using (oldA)
                using (b)
                {
                    oldA.CloseStream();
                    Assert.Throws<NotConnectedException>(() => oldA.CloseStream());
                    using (var newA = p.A.OpenStream(p.B.Id, 19))
                    {
                        Assert.Throws<NotConnectedException>(() => oldA.Send(Text("fresh")));
                        Assert.IsFalse(oldA.Stats().Active);
                        newA.Send(Text("fresh"));
                        Assert.AreEqual(1, newA.Stats().TxSeq); // sequence restarts
                        ExpectEvent(b, "fresh");
                        using (var again = p.A.OpenStream(p.B.Id, 19))
                        using (var other = p.A.OpenStream(p.B.Id, 19))
                        {
                            newA.Release(); // frees the handle; the stream stays open
                            Assert.Throws<ObjectDisposedException>(() => newA.Send(Text("x")));
                            again.Send(Text("still open"));
                            ExpectEvent(b, "still open");
                            again.Dispose(); // closes the stream: every handle to it is stale
                            Assert.Throws<NotConnectedException>(() => other.Send(Text("x")));
                            again.Dispose(); // idempotent
                        } // other.Dispose(): the stream is closed already, not an error
                    }
                }
            }
        }

        [Test]
        public void CloseBehaviours()
        {
            using (var p = new Pair().Connected())
            {
                Stream a1, b1, a2, b2;
                p.Open(20, new StreamConfig { CloseBehaviour = CloseBehaviour.DrainThenClose }, out a1, out b1);
                p.Open(21, new StreamConfig { CloseBehaviour = CloseBehaviour.DropAndClose }, out a2, out b2);
                using (a1)
                using (b1)
                using (a2)
                using (b2)
                {
                    a1.Send(Text("k1"), Text("k2"));
                    a2.Send(Text("k1"), Text("k2"));
                    Poll.WaitUntil(() => b1.Stats().InboundPending == 2 && b2.Stats().InboundPending == 2,
                                   "both receiving streams have k1 and k2 pending");
                    b1.CloseStream();
                    b2.CloseStream();
                    // drain-then-close: what arrived stays readable, then the handle is stale
                    ExpectEvent(b1, "k1");
                    ExpectEvent(b1, "k2");
                    Assert.Throws<NotConnectedException>(() => b1.Receive(TimeSpan.FromMilliseconds(100)));
                    Assert.Throws<NotConnectedException>(() => b1.Send(Text("no")));
                    // drop-and-close: queued events are gone at once
                    Assert.Throws<NotConnectedException>(() => b2.Receive(TimeSpan.Zero));
                    // the drained and dropped events were credited back to the sender
                    Poll.WaitUntil(() => a1.Stats().TxCreditRemaining == a1.Stats().TxWindow &&
                                         a2.Stats().TxCreditRemaining == a2.Stats().TxWindow,
                                   "both senders have their whole window of credit back");
                    Assert.AreEqual(a1.Stats().TxWindow, a1.Stats().TxCreditRemaining);
                    Assert.AreEqual(a2.Stats().TxWindow, a2.Stats().TxCreditRemaining);
                }
            }
        }

        [Test]
        public void BadInput()
        {
            // 8105 bytes is one more than fits a packet: a net-mesh 0.23 peer cannot take it (netmesh
            // peers get it fragmented, up to MaxEventBytes), so B runs in 0.23 compatibility mode.
            var compatB = TestConfig(0x42);
            compatB.Compat023 = true;
            var smallA = TestConfig(0x42);
            smallA.MaxEventBytes = 100000;
            using (var p = new Pair(smallA, compatB).Connected())
            {
                Stream a, b;
                p.Open(13, null, out a, out b);
                using (b)
                {
                    var big = new byte[Library.MaxEventSize + 1];
                    for (int i = 0; i < big.Length; i++) big[i] = (byte)(i * 7);
                    StringAssert.Contains("0.23", Assert.Throws<EventTooLargeException>(() => a.Send(big)).Detail);
                    Assert.Throws<EventTooLargeException>(() => a.Send(new byte[100001])); // > MaxEventBytes
                    var max = big.Take(Library.MaxEventSize).ToArray();
                    a.Send(max);
                    CollectionAssert.AreEqual(max, b.Receive(Wait)); // grows its buffer past 1 KiB
                    Assert.Throws<ArgumentNullException>(() => a.Send(Text("x"), null));
                    Assert.Throws<ArgumentException>(() => p.A.Connect("127.0.0.1:1", new byte[5], 1));

                    // use after close / dispose: errors, never a crash
                    a.CloseStream();
                    Assert.Throws<NotConnectedException>(() => a.Send(Text("x")));
                    a.Dispose();
                    a.Dispose(); // idempotent
                    Assert.Throws<ObjectDisposedException>(() => a.Send(Text("x")));
                    Assert.Throws<ObjectDisposedException>(() => a.Stats());
                }
                p.A.Dispose();
                Assert.Throws<ObjectDisposedException>(() => { var id = p.A.Id; });
                Assert.Throws<ObjectDisposedException>(() => p.A.OpenStream(p.B.Id, 1));
            }

            // bad addresses
            foreach (string bad in new[] { "", "127.0.0.1", "127.0.0.1:99999", "300.1.1.1:5", "host.invalid:80" })
            {
                var c = TestConfig(1);
                c.BindAddress = bad;
                Assert.Throws<AddressException>(() => new Node(c), bad);
            }
            using (var n = new Node(TestConfig(1)))
            {
                var e = Assert.Throws<AddressException>(() => n.Connect("not an address", new byte[32], 1));
                StringAssert.Contains("not an address", e.Detail);
                // no session: opening a stream is "not connected"
                Assert.Throws<NotConnectedException>(() => n.OpenStream(12345, 1));
            }
            Assert.Throws<NetmeshArgumentException>(() => new Node(TestConfig(0))); // all-zero PSK
            Assert.Throws<ArgumentException>(() => new Node(new NodeConfig { Psk = new byte[3] }));
        }

        [Test]
        public void RecvTimeout()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(22, null, out a, out b);
                using (a)
                using (b)
                {
                    var timeout = Assert.Throws<NetmeshTimeoutException>(() => b.Receive(TimeSpan.Zero));
                    Assert.IsInstanceOf<TimeoutException>(timeout); // .NET's convention
                    Assert.AreEqual(Status.Timeout, timeout.Status);
                    StringAssert.StartsWith("StreamStats { PeerNodeId=", b.Stats().ToString());
                    StringAssert.Contains(", TxSeq=", b.Stats().ToString());
                    Assert.Throws<NetmeshTimeoutException>(() => b.Receive(TimeSpan.FromMilliseconds(50)));
                    byte[] ev;
                    Assert.IsFalse(b.TryReceive(TimeSpan.FromMilliseconds(10), out ev));
                    Assert.IsNull(ev);
                }
            }
        }

        [Test]
        public void ReliableUnderLoss()
        {
            const int N = 1000;
            using (var p = new Pair().Connected())
            {
                // 20 % loss both ways (data and acknowledgements), seeded: reproducible
                p.A.SetImpairment(p.B.Id, Direction.Both, new Impairment { Loss = 0.2, Seed = 7 });
                Stream a, b;
                p.Open(30, Mode(Reliability.Reliable), out a, out b);
                using (a)
                using (b)
                {
                    Assert.IsTrue(a.Stats().Recovering); // both ends are netmesh
                    var sender = Task.Run(() =>
                    {
                        for (int i = 0; i < N; i++)
                        {
                            a.SendBlocking(TimeSpan.FromSeconds(10), BitConverter.GetBytes(i));
                            Thread.Sleep(1); // sends more than 20 µs apart each get their own packet: many packets to lose
                        }
                    });
                    for (int i = 0; i < N; i++)
                        Assert.AreEqual(i, BitConverter.ToInt32(b.Receive(TimeSpan.FromSeconds(10)), 0));
                    sender.Wait();
                    byte[] extra;
                    Assert.IsFalse(b.TryReceive(TimeSpan.FromMilliseconds(300), out extra)); // exactly once
                    Assert.Greater(p.A.ImpairmentStats().DroppedLoss, 0UL);
                    Assert.Greater(a.Stats().Retransmits, 0UL);
                    Assert.AreEqual(N, b.Stats().RxEvents);
                }
                p.A.SetImpairment(p.B.Id, Direction.Both, null);
                Assert.Throws<NetmeshArgumentException>(() => p.A.SetImpairment(0, Direction.Outbound, new Impairment { Loss = 1.5 }));
                Assert.Throws<NetmeshArgumentException>(() => p.A.SetImpairment(0, 0, new Impairment()));
            }
        }

        [Test]
        public void LargeEventIsFragmented()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(31, Mode(Reliability.Reliable), out a, out b);
                using (a)
                using (b)
                {
                    // Path MTU discovery starts at 1200-byte datagrams; on loopback its first
                    // probe reaches the largest packet, where 0.23's event limit fits one.
                    Poll.WaitUntil(() => p.A.SessionStats(p.B.Id).MaxDatagramBytes == 8192,
                                   "the session's datagrams have reached 8192 bytes");
                    // one byte more than fits a packet: between netmesh nodes it is fragmented
                    var max = new byte[Library.MaxEventSize];
                    var over = Enumerable.Range(0, Library.MaxEventSize + 1).Select(i => (byte)(i * 7)).ToArray();
                    a.Send(max);
                    a.Send(over);
                    Assert.AreEqual(Library.MaxEventSize, b.Receive(Wait).Length);
                    CollectionAssert.AreEqual(over, b.Receive(Wait));
                    Assert.AreEqual(3, a.Stats().TxSeq); // 1 + 2 fragments
                    var big = Enumerable.Range(0, 40000).Select(i => (byte)(i * 13)).ToArray();
                    a.SendBlocking(Wait, big);
                    CollectionAssert.AreEqual(big, b.Receive(Wait)); // the receive buffer grows to fit
                }
            }
        }

        // ---- beyond the conformance list: what the C# layer adds ----

        [Test]
        public void ConfigDefaults()
        {
            var c = new NodeConfig();
            Assert.AreEqual("127.0.0.1:0", c.BindAddress);
            Assert.AreEqual(TimeSpan.FromMilliseconds(5000), c.HeartbeatInterval);
            Assert.AreEqual(TimeSpan.FromMilliseconds(5000), c.HandshakeTimeout);
            Assert.AreEqual(3, c.HandshakeRetries);
            Assert.AreEqual(TimeSpan.FromMilliseconds(30000), c.SessionTimeout);
            Assert.AreEqual(TimeSpan.FromMilliseconds(300000), c.StreamIdleTimeout);
            Assert.AreEqual(4096, c.MaxStreams);
            Assert.AreEqual(65536, c.DefaultWindowBytes);
            Assert.AreEqual(16u << 20, c.MaxEventBytes);
            Assert.AreEqual(TimeSpan.FromMilliseconds(5000), c.DrainTimeout);
            Assert.IsFalse(c.Compat023);
            Assert.AreEqual(new byte[32], c.Psk);
            Assert.IsNull(c.IdentityFile);
            Assert.AreEqual(TimeSpan.FromMilliseconds(60000), c.SuspectAfter);
            Assert.AreEqual(TimeSpan.FromMilliseconds(90000), c.FailAfter);
            Assert.AreEqual(8, c.PingwaveTtl);
            Assert.AreEqual(0, c.SessionRateBytesPerSec);
            Assert.AreEqual(1024, c.MaxSessions);
            Assert.AreEqual(500, c.HandshakeRatePerSec);
            Assert.AreEqual(32UL << 20, c.MaxSessionBufferBytes);
            Assert.AreEqual(256UL << 20, c.MaxBufferBytes);
            Assert.AreEqual(CongestionControl.Cubic, c.CongestionControl);
            var tiny = TestConfig(1);
            tiny.MaxSessionBufferBytes = 1024;  // below one max-size event: the library refuses it
            Assert.Throws<NetmeshArgumentException>(() => new Node(tiny));
            // the new fields reach the library: it checks 0 < SuspectAfter <= FailAfter
            var swapped = TestConfig(1);
            swapped.SuspectAfter = TimeSpan.FromSeconds(2);
            swapped.FailAfter = TimeSpan.FromSeconds(1);
            StringAssert.Contains("suspect_after_ms", Assert.Throws<NetmeshArgumentException>(() => new Node(swapped)).Detail);
            var imp = new Impairment();
            Assert.AreEqual(0.0, imp.Loss);
            Assert.AreEqual(TimeSpan.FromMilliseconds(200), imp.RateQueueLimit);
            Assert.AreEqual(1, imp.Seed);
            var s = new StreamConfig();
            Assert.AreEqual(Reliability.FireAndForget, s.Reliability);
            Assert.AreEqual(65536, s.WindowBytes);
            Assert.AreEqual(1, s.FairnessWeight);
            Assert.AreEqual(CloseBehaviour.DropAndClose, s.CloseBehaviour);
            Assert.AreEqual("ok", Library.StatusName(Status.Ok));
            Assert.IsNotEmpty(Library.Version);
        }

        [Test]
        public void IdentityFromSeedAndStreamIdFromKey()
        {
            // RFC 8032 test 1 secret key; the wire spec's Appendix A.2 node id and key
            var c = TestConfig(1);
            c.IdentitySeed = Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
            c.StaticPrivateKey = Enumerable.Repeat((byte)0x11, 32).ToArray();
            c.BindAddress = "[::1]:0";
            using (var n = new Node(c))
            {
                Assert.AreEqual(0x652f03ba688dde03UL, n.Id);
                CollectionAssert.AreEqual(Hex("7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"), n.PublicKey);
                StringAssert.StartsWith("[::1]:", n.LocalAddress);
            }
            Assert.AreEqual(0x9555e8555c62dcfdUL, Library.StreamIdFromKey(Text("hello")));
            Assert.AreEqual(0x2d06800538d394c2UL, Library.StreamIdFromKey(new byte[0]));
        }

        static byte[] Hex(string h) =>
            Enumerable.Range(0, h.Length / 2).Select(i => Convert.ToByte(h.Substring(2 * i, 2), 16)).ToArray();

        [Test]
        public void SpanReceive()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(26, null, out a, out b);
                using (a)
                using (b)
                {
                    a.Send(Text("hello span"));
                    var small = new byte[4];
                    var e = Assert.Throws<BufferTooSmallException>(() => b.Receive(new Span<byte>(small), Wait));
                    Assert.AreEqual(10, e.NeededSize); // and the event stays queued
                    var buf = new byte[64];
                    int n = b.Receive(new Span<byte>(buf, 8, 32), TimeSpan.Zero);
                    Assert.AreEqual("hello span", Encoding.ASCII.GetString(buf, 8, n));
                }
            }
        }

        [Test]
        public void ReceiveAsyncAndCancellation()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(27, null, out a, out b);
                using (a)
                using (b)
                {
                    Task<byte[]> pending = b.ReceiveAsync();
                    a.Send(Text("async"));
                    Assert.IsTrue(pending.Wait(Wait));
                    Assert.AreEqual("async", Encoding.ASCII.GetString(pending.Result));

                    var cts = new CancellationTokenSource();
                    Task<byte[]> cancelled = b.ReceiveAsync(cts.Token);
                    cts.CancelAfter(100);
                    var agg = Assert.Throws<AggregateException>(() => cancelled.Wait(Wait));
                    Assert.IsInstanceOf<OperationCanceledException>(agg.InnerException);
                    Assert.IsTrue(cancelled.IsCanceled);
                }
            }
        }

        [Test]
        public void AsyncCallsWaitOnTheReactorNotOnThreads()
        {
            using (var p = new Pair().Connected())
            {
                const int count = 200;
                var pairs = new (Stream a, Stream b)[count];
                for (int i = 0; i < count; i++)
                {
                    Stream a, b;
                    p.Open(1000 + (ulong)i, null, out a, out b);
                    pairs[i] = (a, b);
                }
                // With the thread pool at its smallest, a pending receive that held a pool thread
                // (as a Task.Run wait loop would) would leave none for other work.
                int workers, io;
                ThreadPool.GetMaxThreads(out workers, out io);
                Assert.IsTrue(ThreadPool.SetMaxThreads(Environment.ProcessorCount, io));
                Task<byte[]>[] pending;
                try
                {
                    pending = pairs.Select(s => s.b.ReceiveAsync()).ToArray();
                    var ran = new ManualResetEventSlim(); // a work item cannot run inline in Wait
                    ThreadPool.QueueUserWorkItem(_ => ran.Set());
                    Assert.IsTrue(ran.Wait(TimeSpan.FromSeconds(10)), "the thread pool is held by waits");
                }
                finally
                {
                    ThreadPool.SetMaxThreads(workers, io);
                }
                Assert.IsFalse(pending.Any(t => t.IsCompleted));
                // Each completes with its own stream's event, in any order of arrival.
                for (int i = count - 1; i >= 0; i--) pairs[i].a.Send(Text("event " + i));
                Assert.IsTrue(Task.WaitAll(pending, TimeSpan.FromSeconds(10)));
                for (int i = 0; i < count; i++)
                    Assert.AreEqual("event " + i, Encoding.ASCII.GetString(pending[i].Result));
                foreach (var s in pairs) { s.a.Dispose(); s.b.Dispose(); }
            }
        }

        [Test]
        public void SendAsyncWaitsForCredit()
        {
            using (var p = new Pair().Connected())
            {
                var cfg = new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = 16384 };
                Stream a, b;
                p.Open(28, cfg, out a, out b);
                using (a)
                using (b)
                {
                    // 64 events of 1 KiB: four windows' worth, so the send must wait for grants.
                    var events = Enumerable.Range(0, 64).Select(i => { var e = new byte[1024]; e[0] = (byte)i; return e; })
                                           .ToArray();
                    Task<int> sending = a.SendAsync(events);
                    Assert.IsFalse(sending.IsCompleted, "the window cannot take all of it");
                    var buf = new byte[2048];
                    for (int i = 0; i < 64; i++)
                    {
                        Task<int> got = b.ReceiveAsync(new Memory<byte>(buf));
                        Assert.IsTrue(got.Wait(Wait), "event " + i);
                        Assert.AreEqual(1024, got.Result);
                        Assert.AreEqual((byte)i, buf[0]);
                    }
                    Assert.IsTrue(sending.Wait(Wait));
                    Assert.AreEqual(64, sending.Result);

                    // One event from memory; and a receive into a buffer too small faults, keeping it.
                    Assert.IsTrue(a.SendAsync(new ReadOnlyMemory<byte>(Text("memory"))).Wait(Wait));
                    var small = b.ReceiveAsync(new Memory<byte>(new byte[2]));
                    var agg = Assert.Throws<AggregateException>(() => small.Wait(Wait));
                    Assert.AreEqual(6, ((BufferTooSmallException)agg.InnerException).NeededSize);
                    Task<int> fits = b.ReceiveAsync(new Memory<byte>(buf));
                    Assert.IsTrue(fits.Wait(Wait));
                    Assert.AreEqual("memory", Encoding.ASCII.GetString(buf, 0, fits.Result));
                }
            }
        }

        /// <summary>The reactor itself, deterministically: an operation whose owner was released
        /// before it was listed is tried again at once, not left on an fd that never becomes
        /// readable (Release's Poke had found nothing to wake).</summary>
        [Test]
        public void TheReactorRetriesAnOperationWhoseOwnerWasReleasedBeforeItWasListed()
        {
            int neverReadable = Libc.eventfd(0, Libc.EfdCloexec | Libc.EfdNonblock);
            var fds = new ReadinessFds(1, _ => neverReadable, "owner");
            int tries = 0;
            Task<int> t = Reactor.Shared.Run(new ReleasedOwner(), fds, 0, (out int r) =>
            {
                r = 0;
                if (Interlocked.Increment(ref tries) == 1) return false; // the first try would wait
                throw new ObjectDisposedException("owner");
            }, CancellationToken.None);
            var agg = Assert.Throws<AggregateException>(() => t.Wait(Wait));
            Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);
            fds.Close();
            Libc.close(neverReadable);
        }

        sealed class ReleasedOwner : IReleasable
        {
            public bool IsReleased => true;
        }

        [Test]
        public void PendingAsyncCallsEndWithTheirHandleOrNode()
        {
            var p = new Pair().Connected();
            Stream a, b;
            p.Open(29, null, out a, out b);
            Task<byte[]> released = b.ReceiveAsync();
            b.Release();
            var agg = Assert.Throws<AggregateException>(() => released.Wait(Wait));
            Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);

            Stream a2, b2;
            p.Open(30, null, out a2, out b2);
            Task<byte[]> shutDown = b2.ReceiveAsync();
            p.B.Dispose();
            agg = Assert.Throws<AggregateException>(() => shutDown.Wait(Wait));
            Assert.IsInstanceOf<ShutdownException>(agg.InnerException);
            b2.Dispose();
            a2.Dispose();
            a.Dispose();
            p.A.Dispose();

            var alone = new Node(TestConfig(0x42)); // no peers: no peer event will come
            Task<PeerEvent> peerEvent = alone.NextPeerEventAsync();
            alone.Dispose();
            agg = Assert.Throws<AggregateException>(() => peerEvent.Wait(Wait));
            Assert.IsInstanceOf<ObjectDisposedException>(agg.InnerException);
        }

        [Test]
        public void DisposeWakesBlockedReceive()
        {
            var p = new Pair().Connected();
            Stream a, b;
            p.Open(7, null, out a, out b);
            Task<byte[]> blocked = Task.Run(() => b.Receive(Timeout.InfiniteTimeSpan));
            // Not a wait before an assertion: it gives Receive time to block, so that Dispose has
            // a blocked call to wake. A Receive that starts after Dispose throws ShutdownException
            // all the same (the stream handle outlives its node), so the checks hold either way.
            Thread.Sleep(100);
            p.B.Dispose();
            var agg = Assert.Throws<AggregateException>(() => blocked.Wait(Wait));
            Assert.IsInstanceOf<ShutdownException>(agg.InnerException);
            Assert.Throws<ShutdownException>(() => b.Send(Text("x"))); // the handle outlives its node
            b.Dispose();
            a.Dispose();
            p.A.Dispose();
        }

        [Test]
        public void WaitForEvents()
        {
            using (var p = new Pair().Connected())
            {
                Stream a, b;
                p.Open(23, null, out a, out b);
                using (a)
                using (b)
                {
                    Assert.IsFalse(p.B.WaitForEvents(TimeSpan.Zero));
                    a.Send(Text("ping"));
                    Assert.IsTrue(p.B.WaitForEvents(Wait));
                    ExpectEvent(b, "ping");
                    Assert.IsFalse(p.B.WaitForEvents(TimeSpan.Zero));
                }
            }
        }

        /// <summary>Mono's collector suspends threads with signals, which interrupt a poll in
        /// progress (EINTR): WaitForEvents and WaitForPeerEvents wait on, for what is left of
        /// their timeout. (They returned false, as on a timeout, at the first collection.)</summary>
        [Test]
        public void WaitsOutlastGarbageCollections()
        {
            var n = new Node(TestConfig(0x42)); // no peer, no stream: nothing wakes either wait
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                Task<bool> timed = Task.Factory.StartNew(() => n.WaitForEvents(TimeSpan.FromMilliseconds(500)),
                                                         TaskCreationOptions.LongRunning);
                Task<bool> endless = Task.Factory.StartNew(() => n.WaitForPeerEvents(Timeout.InfiniteTimeSpan),
                                                           TaskCreationOptions.LongRunning);
                while (!timed.IsCompleted) // collections all through the timed wait
                {
                    GC.Collect();
                    Thread.Sleep(10);
                }
                Assert.IsFalse(timed.Result);
                Assert.GreaterOrEqual(clock.ElapsedMilliseconds, 500, "the timed wait was cut short");
                Assert.IsFalse(endless.IsCompleted, "the endless wait ended with no peer event");
                n.Dispose();
                Assert.IsTrue(endless.Wait(Poll.Deadline), "Dispose did not end the endless wait");
                Assert.IsTrue(endless.Result, "woken by the shutdown");
            }
            finally
            {
                n.Dispose();
            }
        }
    }
}
