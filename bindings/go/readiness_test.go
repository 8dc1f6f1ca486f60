package netmesh

// Receives when the stream's readiness fd cannot be opened (the process out of descriptors):
// they block in C in slices, end with their context's error, and park again once an fd can
// be opened.

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// withoutFreeFDs runs f with RLIMIT_NOFILE at the lowest free descriptor number: nothing can
// be opened meanwhile. (No other test runs in parallel with this one.)
func withoutFreeFDs(t *testing.T, f func()) {
	t.Helper()
	lowestFree, err := syscall.Dup(0)
	if err != nil {
		t.Skip(err)
	}
	syscall.Close(lowestFree)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	low := lim
	low.Cur = uint64(lowestFree)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}()
	f()
}

// With no fd to park on, a receive whose deadline passes returns DeadlineExceeded (it
// returned the internal "nothing queued" when the last slice's timeout came out 0 before the
// context's timer fired), and once descriptors are free again a receive parks in the
// netpoller (the failure to open the fd was kept for good).
func TestAReceiveWithoutAReadinessFdEndsWithItsContextsErrorAndParksOnceItCan(t *testing.T) {
	a, b := testPair(t)
	_, sb := openBoth(t, a, b, 540, DefaultStreamConfig())
	buf := make([]byte, 16)
	withoutFreeFDs(t, func() {
		if _, err := sb.ReadableFD(); err == nil {
			t.Skip("the eventfd was made with no descriptor free")
		}
		for i := 0; i < 300; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*100*time.Microsecond)
			_, err := sb.RecvInto(ctx, buf)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("receive %d without a readiness fd: %v, want DeadlineExceeded", i, err)
			}
		}
		if sb.ready.f != nil {
			t.Fatal("a readiness fd was opened with no descriptor free")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := sb.RecvInto(ctx, buf); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RecvInto: %v, want DeadlineExceeded", err)
	}
	if sb.ready.f == nil {
		t.Fatal("the receive did not open the readiness fd once descriptors were free")
	}
}
