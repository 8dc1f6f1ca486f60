// Per-language throughput through the C# binding: the same flow as ../flow.c (see there),
// with SendBlocking batches and a reused EventBatch (ReceiveBatch). Prints
//   RESULT csharp <size> <batch> <events> <seconds> <events per second>
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Netmesh;

static class Flow
{
    static void Main(string[] args)
    {
        int events = int.Parse(args[0]), size = int.Parse(args[1]), batch = int.Parse(args[2]);
        var psk = new byte[Library.KeySize];
        for (int i = 0; i < psk.Length; ++i) psk[i] = 0x5c;
        using (var a = new Node(new NodeConfig { Psk = psk }))
        using (var b = new Node(new NodeConfig { Psk = psk }))
        {
            b.AllowPeer(a.Id);
            Task accepted = Task.Run(() => b.Accept(a.Id, TimeSpan.FromSeconds(10)));
            a.Connect(b.LocalAddress, b.PublicKey, b.Id);
            accepted.Wait();
            var sc = new StreamConfig { Reliability = Reliability.Reliable, WindowBytes = 1 << 20 };
            Netmesh.Stream output = a.OpenStream(b.Id, 7, sc), input = b.OpenStream(a.Id, 7, sc);
            var evs = new byte[batch][];
            for (int i = 0; i < batch; ++i) evs[i] = new byte[size];
            int warm = events / 4, total = warm + events; // the warm-up is untimed, as in flow.c
            var sender = new Thread(() =>
            {
                for (int sent = 0; sent < total;)
                {
                    int n = Math.Min(batch, total - sent);
                    byte[][] chunk = evs;
                    if (n < batch) { chunk = new byte[n][]; Array.Copy(evs, chunk, n); }
                    sent += output.SendBlocking(TimeSpan.FromSeconds(30), chunk);
                }
            });
            sender.Start();
            var rx = new EventBatch(batch);
            Stopwatch clock = null;
            int timedFrom = 0;
            for (int got = 0; got < total;)
            {
                got += input.ReceiveBatch(rx, TimeSpan.FromSeconds(30));
                if (clock == null && got >= warm)
                {
                    clock = Stopwatch.StartNew();
                    timedFrom = got;
                }
            }
            double t = clock.Elapsed.TotalSeconds;
            sender.Join();
            Console.WriteLine("RESULT csharp {0} {1} {2} {3:F6} {4:F0}", size, batch, events, t, (total - timedFrom) / t);
        }
    }
}
