using System;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Netmesh
{
    /// <summary>The few libc calls the binding waits with (Linux).</summary>
    static class Libc
    {
        internal const short PollIn = 1;

        [StructLayout(LayoutKind.Sequential)]
        internal struct PollFd { public int Fd; public short Events; public short Revents; }

        [DllImport("libc", SetLastError = true)]
        internal static extern int poll([In, Out] PollFd[] fds, ulong nfds, int timeout);

        // fcntl is variadic; its third argument is an int for F_DUPFD_CLOEXEC.
        [DllImport("libc", SetLastError = true)]
        internal static extern int fcntl(int fd, int cmd, int arg);

        internal const int FDupfdCloexec = 1030; // F_DUPFD_CLOEXEC (Linux)

        [DllImport("libc", SetLastError = true)]
        internal static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        internal static extern int eventfd(uint initval, int flags);

        [DllImport("libc", SetLastError = true)]
        internal static extern IntPtr read(int fd, ref ulong value, UIntPtr count);

        [DllImport("libc", SetLastError = true)]
        internal static extern IntPtr write(int fd, ref ulong value, UIntPtr count);

        internal const int EfdCloexec = 0x80000, EfdNonblock = 0x800;

        const int Eintr = 4;

        /// <summary>Waits until fd is readable; false on timeout (timeoutMs -1: none). A signal
        /// does not end the wait (Mono's collector suspends threads with signals, which interrupt
        /// a poll in progress): it polls again for what is left of the timeout.</summary>
        internal static bool WaitReadable(int fd, int timeoutMs)
        {
            var p = new[] { new PollFd { Fd = fd, Events = PollIn } };
            long deadline = timeoutMs > 0 ? Stopwatch.GetTimestamp() + timeoutMs * Stopwatch.Frequency / 1000 : 0;
            while (true)
            {
                int r = poll(p, 1, timeoutMs);
                if (r >= 0) return r > 0;
                if (Marshal.GetLastWin32Error() != Eintr) return false;
                if (timeoutMs <= 0) continue; // 0: one look; -1: no deadline
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0) return false;
                timeoutMs = (int)Math.Min(int.MaxValue, (left * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
            }
        }
    }
}
