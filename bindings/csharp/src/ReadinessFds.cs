using System;
using System.Runtime.InteropServices;

namespace Netmesh
{
    /// <summary>A duplicate (F_DUPFD_CLOEXEC) of one of the library's readiness fds, owned by the
    /// binding: what the reactor and the synchronous waits poll instead of the library's number.
    /// The library closes its fd when the handle goes, and the process may then give the number
    /// to an unrelated file (a socket, a pipe); this one is closed only by the binding, once
    /// nothing polls it. Counted: the handle holds one use until it is freed, each wait one while
    /// it polls; the last to let go closes it.</summary>
    internal sealed class OwnedFd
    {
        readonly int fd;
        int uses = 1; // under lock (this); the handle's own

        OwnedFd(int fd) { this.fd = fd; }

        internal int Fd => fd;

        /// <summary>Closed: every use was released.</summary>
        internal bool IsClosed { get { lock (this) return uses == 0; } }

        /// <summary>A duplicate of libraryFd, which must be open for the call (its owner not
        /// freed meanwhile): see <see cref="ReadinessFds.Acquire"/>.</summary>
        internal static OwnedFd Duplicate(int libraryFd)
        {
            // Above the standard streams: a process that closed stdin must not find it here.
            int own = Libc.fcntl(libraryFd, Libc.FDupfdCloexec, 3);
            if (own < 0)
                throw new InvalidOperationException("fcntl(F_DUPFD_CLOEXEC) of fd " + libraryFd + " failed: errno " +
                                                    Marshal.GetLastWin32Error());
            return new OwnedFd(own);
        }

        internal void AddUse()
        {
            lock (this)
            {
                if (uses == 0) throw new InvalidOperationException("readiness fd already closed");
                uses++;
            }
        }

        /// <summary>Ends one use; the last closes the fd (nothing polls it any more).</summary>
        internal void Release()
        {
            lock (this)
            {
                if (uses == 0) throw new InvalidOperationException("readiness fd released once too often");
                if (--uses > 0) return;
            }
            Libc.close(fd);
        }
    }

    /// <summary>The readiness fds of one handle (a stream's readable and writable fd, a node's
    /// event and peer event fd), each duplicated on first use and kept until the handle is freed.
    /// <see cref="Acquire"/> and <see cref="Close"/> exclude each other, and the owner calls
    /// Close before it frees its handle: the library's fd is therefore open, not yet a reused
    /// number, from the moment it is read until its duplicate exists.</summary>
    internal sealed class ReadinessFds
    {
        readonly object gate = new object();
        readonly OwnedFd[] fds;
        readonly Func<int, int> libraryFd;
        readonly string ownerName;
        bool closed; // under gate

        /// <param name="count">How many kinds of fd (`which` is 0 .. count-1).</param>
        /// <param name="libraryFd">The library's fd `which` of the live handle (throws
        /// ObjectDisposedException once the handle is disposed); called under the gate.</param>
        internal ReadinessFds(int count, Func<int, int> libraryFd, string ownerName)
        {
            fds = new OwnedFd[count];
            this.libraryFd = libraryFd;
            this.ownerName = ownerName;
        }

        /// <summary>The binding's fd `which`, with one use taken: Release it when done polling.
        /// ObjectDisposedException once the handle was freed (or is being freed).</summary>
        internal OwnedFd Acquire(int which)
        {
            lock (gate)
            {
                if (closed) throw new ObjectDisposedException(ownerName);
                OwnedFd fd = fds[which];
                if (fd == null) fds[which] = fd = OwnedFd.Duplicate(libraryFd(which));
                fd.AddUse();
                return fd;
            }
        }

        /// <summary>The handle's uses end (before it is freed): each fd closes now, or when the
        /// last wait still polling it lets go. Waits for an Acquire in progress. Idempotent.</summary>
        internal void Close()
        {
            OwnedFd[] taken;
            lock (gate)
            {
                if (closed) return;
                closed = true;
                taken = (OwnedFd[])fds.Clone();
                Array.Clear(fds, 0, fds.Length);
            }
            foreach (OwnedFd fd in taken)
                fd?.Release();
        }

        /// <summary>For tests: fd `which` as the handle holds it, or null (not duplicated yet, or closed).</summary>
        internal OwnedFd Peek(int which)
        {
            lock (gate) return fds[which];
        }
    }
}
