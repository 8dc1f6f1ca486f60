package netmesh

// What Stream.Close reports: a DrainThenClose drain cut short is an error (what was sent may
// not have arrived); a stream that was already closed is not; the handle is freed either way.

import (
	"errors"
	"testing"
	"time"
)

// drainingStream is a DrainThenClose stream from a to b holding data b never acknowledges
// (everything a sends is lost, and with inbound too (both) everything it receives), and a
// second handle to it, to watch it.
func drainingStream(t *testing.T, a, b *Node, id uint64, both bool) (s, other *Stream) {
	t.Helper()
	sc := DefaultStreamConfig()
	sc.Reliability = Reliable
	sc.CloseBehaviour = DrainThenClose
	s, err := a.OpenStream(b.ID(), id, sc)
	if err != nil {
		t.Fatal(err)
	}
	other, err = a.OpenStream(b.ID(), id, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Release() })
	imp := DefaultImpairment()
	imp.Loss = 1
	dir := Outbound
	if both {
		dir = Both
	}
	if err := a.SetImpairment(0, dir, &imp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send([]byte("never acknowledged")); err != nil {
		t.Fatal(err)
	}
	return s, other
}

// closeInBackground runs s.Close and waits until it drains (the stream no longer active,
// Close not returned).
func closeInBackground(t *testing.T, s, other *Stream) <-chan error {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitUntil(t, waitLong, func() bool {
		select {
		case err := <-closed:
			t.Fatalf("Close returned before its drain was cut short: %v", err)
		default:
		}
		st, err := other.Stats()
		return err == nil && !st.Active
	}, "the stream drains")
	return closed
}

func closeResult(t *testing.T, closed <-chan error) error {
	t.Helper()
	select {
	case err := <-closed:
		return err
	case <-time.After(waitLong):
		t.Fatal("Close still draining")
		return nil
	}
}

// The node stops during Close's drain: Close returns ErrShutdown (it returned nil), and its
// handle is freed.
func TestCloseReportsADrainCutShortByTheNodeStopping(t *testing.T) {
	cfg := testConfig(0x42)
	cfg.DrainTimeout = 30 * time.Second
	a, b := testPairWith(t, cfg)
	s, other := drainingStream(t, a, b, 530, false)
	h := s.h.Load()
	closed := closeInBackground(t, s, other)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, closeResult(t, closed), ErrShutdown)
	if handleLive(h) {
		t.Fatal("Close left its handle live")
	}
}

// A Close of a stream closed before it (evicted, closed by another handle or the node's shutdown)
// returns nil and frees the handle; a second Close is ErrInvalidHandle.
func TestCloseOfAnAlreadyClosedStreamIsQuiet(t *testing.T) {
	cfg := testConfig(0x42)
	cfg.StreamIdleTimeout = 300 * time.Millisecond
	a, b := testPairWith(t, cfg)
	sc := DefaultStreamConfig()
	sc.Reliability = Reliable
	sc.CloseBehaviour = DrainThenClose
	// evicted (idle, holding nothing), as a stream closed by its session's end is
	s, err := a.OpenStream(b.ID(), 532, sc)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, waitLong, func() bool { return !mustStats(t, s).Active }, "the idle stream is evicted")
	h := s.h.Load()
	if err := s.Close(); err != nil {
		t.Fatalf("Close of an evicted stream: %v", err)
	}
	if handleLive(h) {
		t.Fatal("Close left its handle live")
	}
	expectErr(t, s.Close(), ErrInvalidHandle)
	// closed by another handle
	s, _ = openBoth(t, a, b, 533, sc)
	other, err := a.OpenStream(b.ID(), 533, sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a stream another handle closed: %v", err)
	}
	// closed by the node's shutdown
	s, _ = openBoth(t, a, b, 534, sc)
	h = s.h.Load()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a stream of a closed node: %v", err)
	}
	if handleLive(h) {
		t.Fatal("Close left its handle live")
	}
}

// Close racing the node's Close always frees its handle (Close returned early, the handle
// live, when the node was freed between its loading the node's handle and the C call).
func TestCloseRacingTheNodesCloseFreesItsHandle(t *testing.T) {
	for i := 0; i < 10; i++ {
		a, b := testPair(t)
		s, err := a.OpenStream(b.ID(), 535, DefaultStreamConfig())
		if err != nil {
			t.Fatal(err)
		}
		h := s.h.Load()
		done := make(chan error, 1)
		go func() { done <- s.Close() }()
		a.Close()
		if err := closeResult(t, done); err != nil && !errors.Is(err, ErrShutdown) {
			t.Fatalf("Close: %v", err)
		}
		if handleLive(h) {
			t.Fatalf("iteration %d: Close left its handle live", i)
		}
	}
}
