using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Netmesh.Tests")] // the reactor's own tests

namespace Netmesh
{
    /// <summary>One non-blocking try of an async operation: true when it finished (result set),
    /// false when it would have waited. Throws when it failed.</summary>
    internal delegate bool Attempt<T>(out T result);

    /// <summary>An owner of async operations whose handle can be freed (Poke names it then).</summary>
    internal interface IReleasable
    {
        bool IsReleased { get; }
    }

    /// <summary>Waits for readiness fds (the binding's duplicates of nm_stream_event_fd's and of
    /// the peer event fd, <see cref="ReadinessFds"/>) on one background thread for the whole
    /// process, and finishes async operations when theirs become readable: no thread per pending
    /// operation and no polling loop. The C API never calls into the runtime; this thread is ours,
    /// and each try it makes is a non-blocking C call.</summary>
    internal sealed class Reactor
    {
        internal static readonly Reactor Shared = new Reactor();

        readonly object gate = new object();
        readonly List<Waiter> waiters = new List<Waiter>();
        int wakeFd = -1;

        /// <summary>Finishes with attempt's result: tries it once now, then each time the owner's
        /// readiness fd `which` is readable (and when poked), until it finishes, throws, or token
        /// is cancelled. owner is what <see cref="Poke"/> names. The fd is taken from fds only if
        /// the first try would wait: the binding's own duplicate, with a use the reactor holds
        /// until it no longer polls it, so the owner may be freed meanwhile (on any thread) and
        /// the library's fd closed, and its number reused, without the reactor noticing.</summary>
        internal Task<T> Run<T>(object owner, ReadinessFds fds, int which, Attempt<T> attempt, CancellationToken token)
        {
            if (token.IsCancellationRequested) return Task.FromCanceled<T>(token);
            try
            {
                T result;
                if (attempt(out result)) return Task.FromResult(result);
            }
            catch (Exception e)
            {
                return Task.FromException<T>(e);
            }
            lock (gate) Start(); // before the fd is taken: nothing to give back if it throws
            OwnedFd fd;
            try
            {
                fd = fds.Acquire(which); // ObjectDisposedException once the owner was freed
            }
            catch (Exception e)
            {
                return Task.FromException<T>(e);
            }
            var w = new Waiter<T>(this, owner, fd, attempt);
            w.Watch(token); // before the reactor sees it: a cancellation may finish it at once
            lock (gate)
            {
                waiters.Add(w);
                // Freed before it was listed, its Poke found nothing to wake: try it now.
                if (owner is IReleasable r && r.IsReleased) w.Poked = true;
            }
            Wake(); // to poll its fd (level-triggered: readable already if it became ready meanwhile)
            return w.Task;
        }

        /// <summary>Tries the pending operations of owner now, readable or not: its handle was freed,
        /// and the fd will not say so.</summary>
        internal void Poke(object owner)
        {
            lock (gate)
            {
                if (waiters.Count == 0) return;
                foreach (Waiter w in waiters)
                    if (w.Owner == owner) w.Poked = true;
            }
            Wake();
        }

        void Start()
        {
            if (wakeFd >= 0) return;
            int fd = Libc.eventfd(0, Libc.EfdCloexec | Libc.EfdNonblock);
            if (fd < 0) throw new InvalidOperationException("eventfd failed: errno " +
                                                            System.Runtime.InteropServices.Marshal.GetLastWin32Error());
            wakeFd = fd;
            new Thread(Loop) { IsBackground = true, Name = "netmesh reactor" }.Start();
        }

        internal void Wake()
        {
            ulong one = 1;
            Libc.write(wakeFd, ref one, (UIntPtr)8);
        }

        void Loop()
        {
            var pending = new List<Waiter>();
            var fds = new Libc.PollFd[8];
            while (true)
            {
                pending.Clear();
                lock (gate)
                {
                    waiters.RemoveAll(w =>
                    {
                        if (!w.Finished) return false;
                        // Out of the poll set first, then its use ends: the fd closes here (if the
                        // owner was freed) or later, never while this thread polls it.
                        w.Fd.Release();
                        return true;
                    });
                    pending.AddRange(waiters);
                }
                bool ended = false;
                foreach (Waiter w in pending)
                {
                    // Poked (its owner was freed): try once without waiting for the fd.
                    if (!w.Poked) continue;
                    w.Poked = false;
                    w.TryFinish();
                    ended |= w.Finished;
                }
                // Unlisted before polling: their uses of their fds end now (a freed owner's
                // duplicate closes), not at whatever wakes this thread next.
                if (ended) continue;
                if (fds.Length < pending.Count + 1) fds = new Libc.PollFd[pending.Count * 2 + 1];
                fds[0] = new Libc.PollFd { Fd = wakeFd, Events = Libc.PollIn };
                for (int i = 0; i < pending.Count; i++)
                    fds[i + 1] = new Libc.PollFd { Fd = pending[i].Fd.Fd, Events = Libc.PollIn };
                if (Libc.poll(fds, (ulong)(pending.Count + 1), -1) <= 0) continue; // EINTR
                if (fds[0].Revents != 0)
                {
                    ulong v = 0;
                    Libc.read(wakeFd, ref v, (UIntPtr)8);
                }
                for (int i = 0; i < pending.Count; i++)
                    if (fds[i + 1].Revents != 0) pending[i].TryFinish();
            }
        }

        internal abstract class Waiter
        {
            internal readonly object Owner;
            internal readonly OwnedFd Fd; // one use of the owner's duplicate, until unlisted
            internal volatile bool Poked;
            protected readonly Reactor reactor;
            bool finished; // under lock (this): an attempt and a cancellation never both finish it
            internal bool Finished { get { lock (this) return finished; } }

            protected Waiter(Reactor reactor, object owner, OwnedFd fd)
            {
                this.reactor = reactor;
                Owner = owner;
                Fd = fd;
            }

            /// <summary>On the reactor thread: one non-blocking try.</summary>
            internal void TryFinish()
            {
                Action complete;
                lock (this)
                {
                    if (finished) return;
                    complete = Try();
                    if (complete == null) return;
                    finished = true;
                }
                complete();
            }

            /// <summary>Completion to run once finished (outside the lock), or null to keep waiting.</summary>
            protected abstract Action Try();

            protected bool Cancel()
            {
                lock (this)
                {
                    if (finished) return false;
                    finished = true;
                }
                reactor.Wake(); // to unlist it and end its use of the fd
                return true;
            }
        }

        sealed class Waiter<T> : Waiter
        {
            readonly Attempt<T> attempt;
            // Continuations run on the thread pool, never on the reactor thread.
            readonly TaskCompletionSource<T> tcs =
                new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            CancellationTokenRegistration registration;

            internal Waiter(Reactor reactor, object owner, OwnedFd fd, Attempt<T> attempt) : base(reactor, owner, fd)
            {
                this.attempt = attempt;
            }

            internal Task<T> Task => tcs.Task;

            internal void Watch(CancellationToken token)
            {
                if (!token.CanBeCanceled) return;
                registration = token.Register(() =>
                {
                    if (Cancel()) tcs.TrySetCanceled(token);
                });
                if (tcs.Task.IsCompleted) registration.Dispose();
            }

            protected override Action Try()
            {
                try
                {
                    T result;
                    if (!attempt(out result)) return null;
                    return () => { registration.Dispose(); tcs.TrySetResult(result); };
                }
                catch (Exception e)
                {
                    return () => { registration.Dispose(); tcs.TrySetException(e); };
                }
            }
        }
    }
}
