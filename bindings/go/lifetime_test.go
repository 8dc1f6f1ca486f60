package netmesh

// Lifetimes of stream handles: what their finalizers free (and only that), and that a
// handle that waited in the netpoller is still finalized.

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// handleLive: h is still a live stream handle (nm_stream_stats fails with
// NM_ERR_INVALID_HANDLE only once it was freed; tokens are never reused).
func handleLive(h uintptr) bool {
	c := capi.NewNm_stream_stats_t()
	defer capi.DeleteNm_stream_stats_t(c)
	return capi.Nm_stream_stats(h, c) != capi.NM_ERR_INVALID_HANDLE
}

// collectUntil runs the GC until cond holds or d passes; false if it never held. (Finalizers
// run on their own goroutine after the collection that found the object unreachable: cond
// is polled, not asserted once.)
func collectUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		runtime.GC()
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

// forgetStream opens a handle to stream id from a to b and forgets it (only its token is
// returned), after making a receive wait in the netpoller on it (recv), and a blocking send
// (send, which needs a reliable stream whose window the peer does not read).
func forgetStream(t *testing.T, a, b *Node, id uint64, cfg StreamConfig, recv, send bool) uintptr {
	t.Helper()
	s, err := a.OpenStream(b.ID(), id, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if recv {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := s.RecvInto(ctx, make([]byte, 16)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("RecvInto: %v, want DeadlineExceeded", err)
		}
		if s.ready.f == nil {
			t.Fatal("the receive did not open the readable fd")
		}
	}
	if send {
		ev := make([]byte, 4096)
		for {
			if _, err := s.Send(ev); err != nil {
				expectErr(t, err, ErrBackpressure)
				break
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := s.SendBlocking(ctx, ev); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SendBlocking: %v, want DeadlineExceeded", err)
		}
		if s.writable.f == nil {
			t.Fatal("the send did not open the writable fd")
		}
	}
	return s.h.Load()
}

func smallWindow() StreamConfig {
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 16384
	return cfg
}

// A forgotten handle whose receive and blocking send waited in the netpoller is finalized
// like one that never waited. (The readiness state was a field of the Stream and held a
// method value of itself, so the Stream reached itself and its finalizer never ran.)
func TestAForgottenStreamThatWaitedIsFinalized(t *testing.T) {
	a, b := testPair(t)
	never := forgetStream(t, a, b, 501, DefaultStreamConfig(), false, false)
	recv := forgetStream(t, a, b, 502, DefaultStreamConfig(), true, false)
	both := forgetStream(t, a, b, 503, smallWindow(), true, true)
	if !collectUntil(waitLong, func() bool { return !handleLive(never) }) {
		t.Fatal("control: the handle that never waited was not freed")
	}
	if !collectUntil(waitLong, func() bool { return !handleLive(recv) }) {
		t.Fatal("the forgotten handle whose receive waited was never freed")
	}
	if !collectUntil(waitLong, func() bool { return !handleLive(both) }) {
		t.Fatal("the forgotten handle whose receive and send waited was never freed")
	}
}

// A forgotten node is freed (its socket closed) also when a forgotten stream of it waited:
// the stream, once finalized, no longer keeps the node.
func TestAForgottenNodeWhoseForgottenStreamWaitedIsFreed(t *testing.T) {
	for _, wait := range []bool{false, true} {
		var addr string
		func() {
			a, err := NewNode(testConfig(0x42)) // no Cleanup: a is forgotten
			if err != nil {
				t.Fatal(err)
			}
			b := testNode(t, 0x42)
			connectTo(t, a, b)
			forgetStream(t, a, b, 510, smallWindow(), wait, wait)
			addr = a.LocalAddr()
		}()
		if !collectUntil(waitLong, func() bool {
			c, err := net.ListenPacket("udp", addr) // possible once a's socket is closed
			if err == nil {
				c.Close()
			}
			return err == nil
		}) {
			t.Fatalf("a forgotten node whose forgotten stream waited (%v) was never freed", wait)
		}
	}
}

// A forgotten handle's finalizer frees that handle only (Release): the stream stays open
// for its other handles and the peer, and a DrainThenClose stream with unacknowledged data
// does not hold the finalizer for its drain. (The finalizer was Close: it closed the stream
// for every handle and the peer, after draining up to DrainTimeout on the process's one
// finalizer goroutine.)
func TestAForgottenHandlesFinalizerFreesOnlyThatHandle(t *testing.T) {
	cfg := testConfig(0x42)
	cfg.DrainTimeout = 30 * time.Second // longer than the test waits
	a, b := testPairWith(t, cfg)
	sc := DefaultStreamConfig()
	sc.Reliability = Reliable
	sc.CloseBehaviour = DrainThenClose
	kept, peer := openBoth(t, a, b, 520, sc)
	if _, err := kept.Send([]byte("first")); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, peer, "first")
	imp := DefaultImpairment()
	imp.Loss = 1 // what a sends now is not acknowledged: a drain would wait for it
	if err := a.SetImpairment(0, Outbound, &imp); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Send([]byte("second")); err != nil {
		t.Fatal(err)
	}
	h := forgetStream(t, a, b, 520, sc, false, false)
	if !collectUntil(waitLong, func() bool { return !handleLive(h) }) {
		t.Fatal("the forgotten handle was not freed (its finalizer blocked, or never ran)")
	}
	if !mustStats(t, kept).Active || !mustStats(t, peer).Active {
		t.Fatal("the stream was closed when the GC freed one of its handles")
	}
	if err := a.SetImpairment(0, Outbound, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Send([]byte("third")); err != nil {
		t.Fatalf("Send on the handle that was kept, after the GC freed another handle to its stream: %v", err)
	}
	for _, want := range []string{"second", "third"} { // "second" once it is resent
		if got, err := peer.Recv(within(t, waitLong)); err != nil || string(got) != want {
			t.Fatalf("the peer received %q, %v; want %q", got, err, want)
		}
	}
}
