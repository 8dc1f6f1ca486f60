// netmesh sender, C# port of examples/c/sender.c (same command line and output).
//
//   Sender.exe --seed <64 hex> --print-id
//       prints the node id (decimal) this identity seed yields, and exits.
//   Sender.exe --seed <64 hex> --connect <addr> --key <64 hex> --id <node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
//       connects to the receiver (address, key and id from its READY line), opens streams 1..K
//       configured like the receiver's, sends N events "stream <id> event <i>" per stream
//       round-robin, 8 per call, waits until the receiver has read everything (all credit is
//       back) or 1 s, prints stats, exits 0.
using System;
using System.Linq;
using System.Threading;
using Netmesh;

static class Sender
{
    const int Batch = 8;                                              // events per SendBlocking call
    static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);  // longest wait for credit per call
    const int DrainWaitMs = 1000;                                     // longest wait for the receiver

    static int Usage()
    {
        Console.Error.WriteLine("usage: netmesh_sender --seed <hex> --print-id\n" +
                                "       netmesh_sender --seed <hex> --connect <addr> --key <hex> --id <node id>" +
                                " [--bind addr] [--streams K] [--events N]\n" +
                                "       (--bind 0.0.0.0:0 or [::]:0 to reach another host)");
        return 1;
    }

    static bool AllCreditBack(Stream[] streams) =>
        streams.All(s => { StreamStats st = s.Stats(); return st.TxCreditRemaining == st.TxWindow; });

    static int Main(string[] args) => Demo.Run(() => Run(args));

    static int Run(string[] args)
    {
        string seedHex = null, addr = null, keyHex = null, bind = "127.0.0.1:0";
        ulong peerId = 0, count = 3, events = 1000;
        bool printId = false, haveId = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--print-id") { printId = true; continue; }
            string arg = args[i], val = i + 1 < args.Length ? args[++i] : null;
            if (val == null) return Usage();
            switch (arg)
            {
                case "--seed": seedHex = val; break;
                case "--connect": addr = val; break;
                case "--bind": bind = val; break;
                case "--key": keyHex = val; break;
                case "--id": if (!Demo.ParseU64(val, out peerId)) return Usage(); haveId = true; break;
                case "--streams": if (!Demo.ParseU64(val, out count) || count == 0 || count > 1000) return Usage(); break;
                case "--events": if (!Demo.ParseU64(val, out events)) return Usage(); break;
                default: return Usage();
            }
        }
        if (seedHex == null || (!printId && (addr == null || keyHex == null || !haveId))) return Usage();

        var cfg = new NodeConfig { Psk = Demo.Psk(), IdentitySeed = Demo.HexDecodeKey(seedHex), BindAddress = bind };
        if (cfg.IdentitySeed == null)
        {
            Console.Error.WriteLine("error: --seed needs 64 hex characters");
            return 1;
        }
        using (var node = new Node(cfg))
        {
            ulong myId = node.Id;
            if (printId)
            {
                Console.WriteLine(myId);
                return 0;
            }
            byte[] peerKey = Demo.HexDecodeKey(keyHex);
            if (peerKey == null)
            {
                Console.Error.WriteLine("error: --key needs 64 hex characters");
                return 1;
            }
            node.Connect(addr, peerKey, peerId);

            var streams = new Stream[count];
            for (ulong k = 0; k < count; k++) streams[k] = node.OpenStream(peerId, k + 1, Demo.StreamConfig(k + 1));

            for (ulong from = 0; from < events; from += Batch)
            {
                ulong to = Math.Min(from + Batch, events);
                for (ulong k = 0; k < count; k++)
                {
                    ulong id = k + 1;
                    byte[][] batch = Enumerable.Range(0, (int)(to - from)).Select(j => Demo.EventBytes(id, from + (ulong)j)).ToArray();
                    streams[k].SendBlocking(SendTimeout, batch);
                }
            }

            for (int waited = 0; !AllCreditBack(streams) && waited < DrainWaitMs; waited += 10) Thread.Sleep(10);

            Console.WriteLine("sender: OK: node {0} sent {1} stream(s) x {2} event(s) to peer {3} (receiver drained: {4})",
                              myId, count, events, peerId, AllCreditBack(streams) ? "yes" : "not within 1 s");
            foreach (Stream s in streams)
            {
                Demo.PrintStreamStats(s.Stats());
                s.Dispose();
            }
            Demo.PrintNodeStats(node.Stats());
        }
        return 0;
    }
}
