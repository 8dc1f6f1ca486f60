using System;
using Netmesh.Native;

namespace Netmesh
{
    /// <summary>nm_status, with the same values.</summary>
    public enum Status
    {
        Ok = 0,
        InvalidArgument = -1,
        InvalidHandle = -2,
        WrongNode = -3,
        NotConnected = -4,
        Backpressure = -5,
        Transport = -6,
        Timeout = -7,
        Handshake = -8,
        EventTooLarge = -9,
        BufferTooSmall = -10,
        Shutdown = -11,
        Address = -12,
        Crypto = -13,
        Internal = -14,
    }

    /// <summary>A failed netmesh call: the status, and the library's detail message for it.</summary>
    public class NetmeshException : Exception
    {
        public Status Status { get; }
        /// <summary>nm_last_error_message() right after the failing call.</summary>
        public string Detail { get; }

        public NetmeshException(Status status, string what, string detail)
            : base(Describe(status, what, detail))
        {
            Status = status;
            Detail = detail;
        }

        /// <summary>The message of a failed call: "what: status name (detail)".</summary>
        internal static string Describe(Status status, string what, string detail) =>
            string.Format("{0}: {1} ({2})", what, Library.StatusName(status), detail);
    }

    public class NetmeshArgumentException : NetmeshException { public NetmeshArgumentException(Status s, string w, string d) : base(s, w, d) { } }
    public class InvalidHandleException : NetmeshException { public InvalidHandleException(Status s, string w, string d) : base(s, w, d) { } }
    public class WrongNodeException : NetmeshException { public WrongNodeException(Status s, string w, string d) : base(s, w, d) { } }
    public class NotConnectedException : NetmeshException { public NotConnectedException(Status s, string w, string d) : base(s, w, d) { } }
    public class TransportException : NetmeshException { public TransportException(Status s, string w, string d) : base(s, w, d) { } }
    /// <summary>A blocking call's timeout ran out (nm_status Timeout). A <see cref="TimeoutException"/>,
    /// as .NET's blocking APIs report one, so not a <see cref="NetmeshException"/>; it carries the
    /// same <see cref="Status"/> and <see cref="Detail"/>.</summary>
    public class NetmeshTimeoutException : TimeoutException
    {
        public Status Status { get; }
        public string Detail { get; }
        public NetmeshTimeoutException(Status s, string what, string detail)
            : base(NetmeshException.Describe(s, what, detail))
        {
            Status = s;
            Detail = detail;
        }
    }
    public class HandshakeException : NetmeshException { public HandshakeException(Status s, string w, string d) : base(s, w, d) { } }
    public class EventTooLargeException : NetmeshException { public EventTooLargeException(Status s, string w, string d) : base(s, w, d) { } }
    public class ShutdownException : NetmeshException { public ShutdownException(Status s, string w, string d) : base(s, w, d) { } }
    public class AddressException : NetmeshException { public AddressException(Status s, string w, string d) : base(s, w, d) { } }
    public class CryptoException : NetmeshException { public CryptoException(Status s, string w, string d) : base(s, w, d) { } }

    /// <summary>The stream's credit window is exhausted; the first <see cref="Sent"/> events went out.</summary>
    public class BackpressureException : NetmeshException
    {
        public int Sent { get; }
        public BackpressureException(Status s, string w, string d, int sent) : base(s, w, d) { Sent = sent; }
    }

    /// <summary>The destination span is too small for the next event, which stays queued.</summary>
    public class BufferTooSmallException : NetmeshException
    {
        public int NeededSize { get; }
        public BufferTooSmallException(Status s, string w, string d, int needed) : base(s, w, d) { NeededSize = needed; }
    }

    internal static class Errors
    {
        /// <summary>Throws the typed exception for a failed status. Call it directly after the native
        /// call, on the same thread: the detail message is thread-local and the next failing call
        /// on this thread overwrites it.</summary>
        internal static void Check(nm_status native, string what, ulong sent = 0)
        {
            if (native == nm_status.NM_OK) return;
            string detail = netmesh.nm_last_error_message();
            var s = (Status)(int)native;
            switch (s)
            {
                case Status.InvalidArgument: throw new NetmeshArgumentException(s, what, detail);
                case Status.InvalidHandle: throw new InvalidHandleException(s, what, detail);
                case Status.WrongNode: throw new WrongNodeException(s, what, detail);
                case Status.NotConnected: throw new NotConnectedException(s, what, detail);
                case Status.Backpressure: throw new BackpressureException(s, what, detail, (int)sent);
                case Status.Transport: throw new TransportException(s, what, detail);
                case Status.Timeout: throw new NetmeshTimeoutException(s, what, detail);
                case Status.Handshake: throw new HandshakeException(s, what, detail);
                case Status.EventTooLarge: throw new EventTooLargeException(s, what, detail);
                case Status.BufferTooSmall: throw new BufferTooSmallException(s, what, detail, (int)sent);
                case Status.Shutdown: throw new ShutdownException(s, what, detail);
                case Status.Address: throw new AddressException(s, what, detail);
                case Status.Crypto: throw new CryptoException(s, what, detail);
                default: throw new NetmeshException(s, what, detail);
            }
        }
    }

    /// <summary>Library-wide functions and constants.</summary>
    public static class Library
    {
        static Library() { NativeLoader.Load(); } // before any P/Invoke

        public const int KeySize = 32;        // NM_KEY_SIZE
        public const int MaxEventSize = 8104; // NM_MAX_EVENT_SIZE
        public const int AddressMax = 64;     // NM_ADDR_MAX

        public static string Version => netmesh.nm_version();

        /// <summary>nm_strerror: the short name of a status.</summary>
        public static string StatusName(Status status) => netmesh.nm_strerror((int)status);

        /// <summary>net-mesh's stream_id_from_key (xxh3-64 of the key bytes).</summary>
        public static ulong StreamIdFromKey(byte[] key)
        {
            if (key == null) throw new ArgumentNullException(nameof(key));
            ulong id;
            Errors.Check(netmesh.nm_stream_id_from_key(key, (ulong)key.Length, out id), "nm_stream_id_from_key");
            return id;
        }

        /// <summary>TimeSpan to the C API's timeout_ms: InfiniteTimeSpan (or any negative) = -1,
        /// otherwise rounded up so a tiny positive timeout does not become "don't wait".</summary>
        internal static int TimeoutMs(TimeSpan timeout)
        {
            if (timeout < TimeSpan.Zero) return -1;
            double ms = Math.Ceiling(timeout.TotalMilliseconds);
            return ms >= int.MaxValue ? int.MaxValue : (int)ms;
        }

        internal static void CheckKey(byte[] key, string name)
        {
            if (key == null) throw new ArgumentNullException(name);
            if (key.Length != KeySize) throw new ArgumentException(name + " must be " + KeySize + " bytes", name);
        }
    }
}
