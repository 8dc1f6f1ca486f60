// netmesh receiver, C# port of examples/c/receiver.c (same command line and output).
//
//   Receiver.exe --peer-id <sender node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
//
// Prints and flushes "READY <addr> <public-key-hex> <node-id>", accepts the sender, opens
// streams 1..K (1 fire-and-forget, the rest reliable), receives N events per stream checking
// each is "stream <id> event <i>" in order, prints stream and node stats; exits 0, or 1 on failure.
//
// Streams are read round-robin: draining one to the end while ignoring the others would stall
// the sender, whose credit on those only comes back as we read. When no stream has an event,
// Node.WaitForEvents sleeps on the node's event fd.
using System;
using System.Linq;
using System.Text;
using Netmesh;

static class Receiver
{
    static readonly TimeSpan AcceptTimeout = TimeSpan.FromSeconds(10);
    const int IdleTimeoutMs = 10000; // give up when no event arrives on any stream this long

    static int Usage()
    {
        Console.Error.WriteLine("usage: netmesh_receiver --peer-id <id> [--bind addr] [--streams K] [--events N]");
        return 1;
    }

    static bool Verify(ulong id, ulong index, byte[] got)
    {
        string want = Demo.EventText(id, index), text = Encoding.ASCII.GetString(got);
        if (text == want) return true;
        Console.Error.WriteLine("error: stream {0}: expected \"{1}\", got \"{2}\" ({3} bytes)", id, want,
                                text.Length > 80 ? text.Substring(0, 80) : text, got.Length);
        return false;
    }

    static bool ReceiveAll(Node node, Stream[] streams, ulong events)
    {
        var received = new ulong[streams.Length];
        ulong remaining = (ulong)streams.Length * events;
        while (remaining > 0)
        {
            bool progress = false;
            for (int k = 0; k < streams.Length; k++)
            {
                ulong id = (ulong)k + 1;
                byte[] ev;
                // TimeSpan.Zero: take what is queued now, then move on to the next stream
                while (streams[k].TryReceive(TimeSpan.Zero, out ev))
                {
                    progress = true;
                    if (received[k] == events)
                    {
                        Console.Error.WriteLine("error: stream {0}: unexpected event beyond {1}", id, events);
                        return false;
                    }
                    if (!Verify(id, received[k], ev)) return false;
                    received[k]++;
                    remaining--;
                }
            }
            if (remaining == 0 || progress) continue;
            if (!node.WaitForEvents(TimeSpan.FromMilliseconds(IdleTimeoutMs)))
            {
                Console.Error.WriteLine("error: no event for {0} ms; received per stream: {1} of {2}", IdleTimeoutMs,
                                        string.Join(" ", received), events);
                return false;
            }
        }
        return true;
    }

    static int Main(string[] args) => Demo.Run(() => Run(args));

    static int Run(string[] args)
    {
        string bind = "127.0.0.1:0";
        ulong peerId = 0, count = 3, events = 1000;
        bool havePeer = false;
        for (int i = 0; i < args.Length; i += 2)
        {
            string arg = args[i], val = i + 1 < args.Length ? args[i + 1] : null;
            if (val == null) return Usage();
            switch (arg)
            {
                case "--bind": bind = val; break;
                case "--peer-id": if (!Demo.ParseU64(val, out peerId)) return Usage(); havePeer = true; break;
                case "--streams": if (!Demo.ParseU64(val, out count) || count == 0 || count > 1000) return Usage(); break;
                case "--events": if (!Demo.ParseU64(val, out events)) return Usage(); break;
                default: return Usage();
            }
        }
        if (!havePeer) return Usage();

        using (var node = new Node(new NodeConfig { BindAddress = bind, Psk = Demo.Psk() }))
        {
            // Allow the sender before announcing ourselves (a zero timeout only records the
            // permission), so its first handshake attempt cannot arrive too early.
            node.TryAccept(peerId, TimeSpan.Zero);
            Console.WriteLine("READY {0} {1} {2}", node.LocalAddress, Demo.HexEncode(node.PublicKey), node.Id);
            Console.Out.Flush();

            node.Accept(peerId, AcceptTimeout);
            var streams = new Stream[count];
            for (ulong k = 0; k < count; k++) streams[k] = node.OpenStream(peerId, k + 1, Demo.StreamConfig(k + 1));

            bool ok = ReceiveAll(node, streams, events);
            Console.WriteLine("receiver: {0}: {1} stream(s) x {2} event(s) from peer {3}", ok ? "OK" : "FAILED", count,
                              events, peerId);
            foreach (Stream s in streams)
            {
                Demo.PrintStreamStats(s.Stats());
                s.Dispose();
            }
            Demo.PrintNodeStats(node.Stats());
            return ok ? 0 : 1;
        }
    }
}
