// Helpers shared by the netmesh C# examples, mirroring examples/c/common.c: hex keys, the demo
// PSK, the demo stream layout and event text, and stats lines in the C examples' format.
using System;
using System.Globalization;
using System.Linq;
using System.Text;
using Netmesh;

static class Demo
{
    /// <summary>DEMO ONLY: a fixed, publicly known pre-shared key (every byte 0x42). It
    /// authenticates nothing; a real mesh must distribute a secret PSK out of band.</summary>
    public static byte[] Psk() => Enumerable.Repeat((byte)0x42, Library.KeySize).ToArray();

    /// <summary>Identical on both ends: stream 1 is fire-and-forget, every other stream reliable.</summary>
    public static StreamConfig StreamConfig(ulong streamId) => new StreamConfig
    {
        Reliability = streamId == 1 ? Reliability.FireAndForget : Reliability.Reliable,
    };

    public static string EventText(ulong streamId, ulong i) => "stream " + streamId + " event " + i;

    public static byte[] EventBytes(ulong streamId, ulong i) => Encoding.ASCII.GetBytes(EventText(streamId, i));

    public static string HexEncode(byte[] key) => string.Concat(key.Select(b => b.ToString("x2")));

    /// <summary>Exactly 64 hex characters, or null.</summary>
    public static byte[] HexDecodeKey(string hex)
    {
        if (hex == null || hex.Length != 2 * Library.KeySize) return null;
        var key = new byte[Library.KeySize];
        for (int i = 0; i < key.Length; i++)
            if (!byte.TryParse(hex.Substring(2 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out key[i]))
                return null;
        return key;
    }

    /// <summary>A decimal unsigned integer, digits only (like the C examples' parse_u64).</summary>
    public static bool ParseU64(string text, out ulong value)
    {
        value = 0;
        return !string.IsNullOrEmpty(text) && text.All(c => c >= '0' && c <= '9') &&
               ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    public static void PrintStreamStats(StreamStats st)
    {
        Console.WriteLine(
            "  stream {0}: peer_node_id={1} reliable={2} active={3} tx_seq={4} rx_seq={5} tx_events={6} rx_events={7}" +
            " inbound_pending={8} rx_gaps={9} rx_duplicates_dropped={10} backpressure_events={11} tx_credit_remaining={12}" +
            " tx_window={13} credit_grants_received={14} credit_grants_sent={15} last_activity_ns={16}",
            st.StreamId, st.PeerNodeId, st.Reliable ? 1 : 0, st.Active ? 1 : 0, st.TxSeq, st.RxSeq, st.TxEvents,
            st.RxEvents, st.InboundPending, st.RxGaps, st.RxDuplicatesDropped, st.BackpressureEvents,
            st.TxCreditRemaining, st.TxWindow, st.CreditGrantsReceived, st.CreditGrantsSent, st.LastActivityNs);
    }

    public static void PrintNodeStats(NodeStats st)
    {
        Console.WriteLine(
            "  node traffic: sessions={0} handshakes_completed={1} datagrams_sent={2} datagrams_received={3}" +
            " heartbeats_sent={4} heartbeats_received={5}",
            st.Sessions, st.HandshakesCompleted, st.DatagramsSent, st.DatagramsReceived, st.HeartbeatsSent,
            st.HeartbeatsReceived);
        Console.WriteLine(
            "  node drops: malformed={0} unknown_session={1} auth_failed={2} replay={3} handshake_rejected={4}" +
            " unexpected_handshake={5} unknown_subprotocol={6} bad_grant={7}",
            st.DropMalformed, st.DropUnknownSession, st.DropAuthFailed, st.DropReplay, st.DropHandshakeRejected,
            st.DropUnexpectedHandshake, st.DropUnknownSubprotocol, st.DropBadGrant);
    }

    /// <summary>Runs main; a netmesh failure prints "error: &lt;call&gt;: &lt;status&gt; (&lt;detail&gt;)"
    /// like the C examples' check(), and exits 1.</summary>
    public static int Run(Func<int> main)
    {
        try { return main(); }
        catch (NetmeshException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }
}
