// A program outside the netmesh tree that uses the Netmesh NuGet package as a Mono user
// would: two nodes, a reliable stream, 1,000 numbered events that must arrive once each,
// in order. Exit status 0 on success.
using System;
using System.Threading.Tasks;
using Netmesh;

static class Consumer
{
    static int Main()
    {
        var psk = new byte[Library.KeySize];
        for (int i = 0; i < psk.Length; ++i) psk[i] = 0x5c;
        using (var a = new Node(new NodeConfig { BindAddress = "127.0.0.1:0", Psk = psk }))
        using (var b = new Node(new NodeConfig { BindAddress = "127.0.0.1:0", Psk = psk }))
        {
            b.AllowPeer(a.Id);
            Task accepted = Task.Run(() => b.Accept(a.Id, TimeSpan.FromSeconds(10)));
            a.Connect(b.LocalAddress, b.PublicKey, b.Id);
            accepted.Wait();
            var sc = new StreamConfig { Reliability = Reliability.Reliable, CloseBehaviour = CloseBehaviour.DrainThenClose };
            ulong id = Library.StreamIdFromKey(System.Text.Encoding.UTF8.GetBytes("consumer"));
            using (Netmesh.Stream output = a.OpenStream(b.Id, id, sc))
            using (Netmesh.Stream input = b.OpenStream(a.Id, id, sc))
            {
                Task sent = Task.Run(() =>
                {
                    for (int i = 0; i < 1000; ++i)
                    {
                        var ev = new byte[256];
                        BitConverter.GetBytes(i).CopyTo(ev, 0);
                        output.SendBlocking(TimeSpan.FromSeconds(10), ev);
                    }
                });
                for (int i = 0; i < 1000; ++i)
                {
                    byte[] ev = input.Receive(TimeSpan.FromSeconds(10));
                    if (ev.Length != 256 || BitConverter.ToInt32(ev, 0) != i)
                    {
                        Console.Error.WriteLine($"consumer (C#): event {i}: {ev.Length} bytes numbered {BitConverter.ToInt32(ev, 0)}");
                        return 1;
                    }
                }
                sent.Wait();
            }
        }
        Console.WriteLine("consumer (C#): OK: 1000 reliable events in order, netmesh " + Library.Version);
        return 0;
    }
}
