package netmesh

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReflexProbeAndNATClassification(t *testing.T) {
	a, b := testPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen, err := a.ProbeReflex(ctx, b.ID())
	if err != nil || seen != a.LocalAddr() {
		t.Fatalf("ProbeReflex = %q, %v; want %q", seen, err, a.LocalAddr())
	}
	if _, err := a.ClassifyNAT(ctx); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("ClassifyNAT with one peer: %v", err)
	}
	if typ, addr, err := a.NAT(); err != nil || typ != NATUnknown || addr != "" {
		t.Fatalf("NAT before a classification = %v %q %v", typ, addr, err)
	}
	c := testNode(t, 0x42)
	connectTo(t, a, c)
	typ, err := a.ClassifyNAT(ctx)
	if err != nil || typ != NATOpen {
		t.Fatalf("ClassifyNAT = %v, %v", typ, err)
	}
	if typ, addr, err := a.NAT(); err != nil || typ != NATOpen || addr != a.LocalAddr() || typ.String() != "open" {
		t.Fatalf("NAT = %v %q %v", typ, addr, err)
	}
	if _, err := a.ProbeReflex(ctx, 12345); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("ProbeReflex of a stranger: %v", err)
	}
	a.Close()
	if _, err := a.ProbeReflex(ctx, b.ID()); err == nil {
		t.Fatal("ProbeReflex on a closed node succeeded")
	}
}

func TestConnectDirectMovesARelayedSession(t *testing.T) {
	a, r, b := meshChain(t) // a and b reach r directly
	connectThrough(t, a, r, b)
	if st, err := a.SessionStats(b.ID()); err != nil || !st.Routed {
		t.Fatalf("before: %+v %v", st, err)
	}
	if err := a.ConnectDirect(within(t, 5*time.Second), b.ID(), r.ID()); err != nil {
		t.Fatal(err)
	}
	if st, err := a.SessionStats(b.ID()); err != nil || st.Routed {
		t.Fatalf("after: %+v %v", st, err)
	}
	if st := mustNodeStats(t, a); st.PunchesSucceeded != 1 || st.RelayFallbacks != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAutoDirectMovesARelayedSessionOnItsOwn(t *testing.T) {
	cfg := meshConfig()
	cfg.AutoDirect = time.Second
	a, r, b := testNodeWith(t, cfg), testNodeWith(t, meshConfig()), testNodeWith(t, meshConfig())
	linkNodes(t, a, r)
	linkNodes(t, r, b)
	connectThrough(t, a, r, b) // nobody calls ConnectDirect
	waitUntil(t, 10*time.Second, func() bool {
		st, err := a.SessionStats(b.ID())
		return err == nil && !st.Routed
	}, "a's session with b to go direct")
	if st := mustNodeStats(t, a); st.PunchesSucceeded != 1 {
		t.Fatalf("stats %+v", st)
	}
	bad := testConfig(0x42)
	bad.AutoDirect = 999 * time.Millisecond
	if n, err := NewNode(bad); err == nil {
		n.Close()
		t.Fatal("AutoDirect below a second was accepted")
	}
}
