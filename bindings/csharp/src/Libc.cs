using System;
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

        [DllImport("libc", SetLastError = true)]
        internal static extern int dup(int fd);

        [DllImport("libc", SetLastError = true)]
        internal static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        internal static extern int eventfd(uint initval, int flags);

        [DllImport("libc", SetLastError = true)]
        internal static extern IntPtr read(int fd, ref ulong value, UIntPtr count);

        [DllImport("libc", SetLastError = true)]
        internal static extern IntPtr write(int fd, ref ulong value, UIntPtr count);

        internal const int EfdCloexec = 0x80000, EfdNonblock = 0x800;

        /// <summary>Waits until fd is readable; false on timeout.</summary>
        internal static bool WaitReadable(int fd, int timeoutMs)
        {
            var p = new[] { new PollFd { Fd = fd, Events = PollIn } };
            return poll(p, 1, timeoutMs) > 0;
        }
    }
}
