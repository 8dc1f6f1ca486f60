// Waiting for a condition instead of sleeping before an assertion: a fixed sleep flakes on a
// busy machine. The deadline is generous, so that only a broken library misses it; the poll
// returns as soon as the condition holds.
using System;
using System.Diagnostics;
using System.Threading;
using NUnit.Framework;

namespace Netmesh.Tests
{
    static class Poll
    {
        public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

        /// <summary>Polls cond every few milliseconds until it holds; fails the test naming what
        /// it waited for if it does not within timeout.</summary>
        public static void WaitUntil(Func<bool> cond, TimeSpan timeout, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!cond())
            {
                if (clock.Elapsed > timeout)
                    Assert.Fail("timed out after {0} ms waiting until {1}", (long)timeout.TotalMilliseconds, what);
                Thread.Sleep(2);
            }
        }

        /// <summary>WaitUntil with the generous default deadline.</summary>
        public static void WaitUntil(Func<bool> cond, string what) => WaitUntil(cond, Deadline, what);
    }
}
