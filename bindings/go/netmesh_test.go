package netmesh

// The binding conformance suite (bindings/CONFORMANCE.md): two nodes in one process on
// 127.0.0.1, PSK 32 x 0x42, short timers. Expectations mirror tests/capi/*.c.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testConfig(psk byte) Config {
	c := DefaultConfig()
	for i := range c.PSK {
		c.PSK[i] = psk
	}
	c.HandshakeTimeout = time.Second
	c.HandshakeRetries = 2
	c.HeartbeatInterval = 200 * time.Millisecond
	return c
}

func testNode(t *testing.T, psk byte) *Node {
	t.Helper()
	return testNodeWith(t, testConfig(psk))
}

func testNodeWith(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// testPair connects a to b while b accepts on another goroutine.
func testPair(t *testing.T) (a, b *Node) {
	t.Helper()
	return testPairWith(t, testConfig(0x42))
}

func testPairWith(t *testing.T, cfg Config) (a, b *Node) {
	t.Helper()
	a, b = testNodeWith(t, cfg), testNodeWith(t, cfg)
	connectTo(t, a, b)
	return a, b
}

// connectTo makes a dial b while b accepts on another goroutine.
func connectTo(t *testing.T, a, b *Node) {
	t.Helper()
	// Allow a first: a msg1 arriving before b's Accept would be dropped and only the retry
	// (after HandshakeTimeout) would connect.
	if err := b.Allow(a.ID()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	accepted := make(chan error, 1)
	go func() { accepted <- b.Accept(ctx, a.ID()) }()
	if err := a.Connect(ctx, b.LocalAddr(), b.PublicKey(), b.ID()); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
}

func openBoth(t *testing.T, a, b *Node, id uint64, cfg StreamConfig) (sa, sb *Stream) {
	t.Helper()
	sa, err := a.OpenStream(b.ID(), id, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sb, err = b.OpenStream(a.ID(), id, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Close(); sb.Close() })
	return sa, sb
}

// within is a context for one call of test t. Its timer is stopped when t ends: a timer left
// to fire later starts a goroutine in whatever test runs then, which would count against
// TestRecvIntoAndBatchesAllocateNothing's process-wide allocation count.
func streamStats(t *testing.T, s *Stream) StreamStats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func expectEvent(t *testing.T, s *Stream, want string) {
	t.Helper()
	got, err := s.Recv(within(t, 2*time.Second))
	if err != nil {
		t.Fatalf("recv %q: %v", want, err)
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// waitLong is the deadline of waitUntil in these tests: generous, so that only a broken
// library misses it, however busy the machine (polls return as soon as the condition holds).
const waitLong = 10 * time.Second

// waitUntil polls cond every few milliseconds until it holds, and fails the test naming
// what it waited for if it does not within timeout. The rule of these tests: never sleep,
// then assert; wait for the condition the assertion checks, with a deadline.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// streamExists: n has an open stream id with peer (one the peer's data auto-created, say).
func streamExists(t *testing.T, n *Node, peer, id uint64) bool {
	t.Helper()
	all, err := n.AllStreamStats()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.PeerNodeID == peer && s.StreamID == id {
			return true
		}
	}
	return false
}

func mustStats(t *testing.T, s *Stream) StreamStats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustNodeStats(t *testing.T, n *Node) NodeStats {
	t.Helper()
	st, err := n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func expectErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func TestHandshake(t *testing.T) {
	a, b := testPair(t)
	if a.ID() == 0 || b.ID() == 0 || a.ID() == b.ID() {
		t.Fatalf("node ids %d, %d", a.ID(), b.ID())
	}
	if a.PublicKey() == ([KeySize]byte{}) || a.PublicKey() == b.PublicKey() {
		t.Fatal("public keys missing or equal")
	}
	for _, n := range []*Node{a, b} {
		if !strings.HasPrefix(n.LocalAddr(), "127.0.0.1:") || n.LocalAddr() == "127.0.0.1:0" {
			t.Fatalf("local address %q", n.LocalAddr())
		}
		st := mustNodeStats(t, n)
		if st.Sessions != 1 || st.HandshakesCompleted != 1 {
			t.Fatalf("stats %+v", st)
		}
	}
	// accept on an existing session returns at once, even with no time left
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Accept(expired, a.ID()); err != nil {
		t.Fatal(err)
	}
}

func TestWrongPSK(t *testing.T) {
	a, b := testNode(t, 0x42), testNode(t, 0x43)
	if err := b.Allow(a.ID()); err != nil {
		t.Fatal(err)
	}
	err := a.Connect(context.Background(), b.LocalAddr(), b.PublicKey(), b.ID())
	expectErr(t, err, ErrHandshake)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Detail, "attempt") {
		t.Fatalf("error detail: %v", err)
	}
	sa, sb := mustNodeStats(t, a), mustNodeStats(t, b)
	if sa.Sessions != 0 || sb.Sessions != 0 {
		t.Fatalf("sessions %d, %d", sa.Sessions, sb.Sessions)
	}
	if sb.DropHandshakeRejected != 2 { // one per attempt
		t.Fatalf("drop_handshake_rejected = %d, want 2", sb.DropHandshakeRejected)
	}
}

func exchange(t *testing.T, id uint64, mode Reliability) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = mode
	sa, sb := openBoth(t, a, b, id, cfg)
	n, err := sa.Send([]byte("one"), []byte("two"), []byte{})
	if err != nil || n != 3 {
		t.Fatalf("send: %d, %v", n, err)
	}
	expectEvent(t, sb, "one")
	expectEvent(t, sb, "two")
	expectEvent(t, sb, "")
	if _, err := sb.Send([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, sa, "reply")
	st := mustStats(t, sa)
	if st.Reliable != (mode == Reliable) || st.TxSeq != 1 || st.RxSeq != 0 || st.TxEvents != 3 ||
		st.RxEvents != 1 || !st.Active || st.LastActivityNs == 0 {
		t.Fatalf("stats %+v", st) // three small events share one packet: tx_seq 1
	}
}

func TestFireAndForget(t *testing.T) { exchange(t, 10, FireAndForget) }

func TestReliable(t *testing.T) { exchange(t, 11, Reliable) }

func TestManyEventsInOrder(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	sa, sb := openBoth(t, a, b, 12, cfg)
	const total = 2000
	next := uint32(0)
	readUpTo := func(end uint32) {
		for ; next < end; next++ {
			got, err := sb.Recv(within(t, 2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if v := binary.LittleEndian.Uint32(got); v != next {
				t.Fatalf("got event %d, want %d", v, next)
			}
		}
	}
	for i := uint32(0); i < total; i++ {
		if _, err := sa.SendBlocking(within(t, 5*time.Second), binary.LittleEndian.AppendUint32(nil, i)); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 { // read as we go so credit comes back
			readUpTo(i + 1)
		}
	}
	readUpTo(total)
	st := mustStats(t, sb)
	// back-to-back sends share packets: count events, and match the sender's last sequence
	if tx := mustStats(t, sa); st.RxEvents != total || st.RxSeq != tx.TxSeq-1 || st.RxGaps != 0 ||
		st.InboundPending != 0 || st.CreditGrantsSent == 0 {
		t.Fatalf("receiver stats %+v, sender tx_seq %d", st, tx.TxSeq)
	}
	// everything was read, so all credit comes back (the last grant may be in flight)
	waitUntil(t, waitLong, func() bool { st = mustStats(t, sa); return st.TxCreditRemaining == st.TxWindow },
		"the sender has its whole window of credit back")
	if st.CreditGrantsReceived == 0 || st.TxCreditRemaining != st.TxWindow {
		t.Fatalf("sender stats %+v", st)
	}
}

func TestBackpressure(t *testing.T) {
	a, b := testPair(t)
	sa, sb := openBoth(t, a, b, 14, DefaultStreamConfig()) // window 65536
	kb := make([]byte, 1000)
	accepted := 0
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		if _, err = sa.Send(kb); err == nil {
			accepted++
		}
		time.Sleep(time.Millisecond) // sends more than 20 µs apart each get their own packet
	}
	expectErr(t, err, ErrBackpressure)
	// each 1000-byte event costs 4 + 1000 + 84 = 1088 bytes of credit: 60 fit in 65536
	if accepted != 65536/1088 {
		t.Fatalf("accepted %d events, want %d", accepted, 65536/1088)
	}
	st := mustStats(t, sa)
	if st.BackpressureEvents != 1 || st.TxCreditRemaining != 65536-60*1088 || st.TxWindow != 65536 {
		t.Fatalf("sender stats %+v", st)
	}
	// the retry helper gives up after its retries: nobody reads, so no credit comes
	n, err := sa.SendWithRetry(3, kb)
	expectErr(t, err, ErrBackpressure)
	if n != 0 {
		t.Fatalf("sent %d", n)
	}
	waitUntil(t, waitLong, func() bool { return mustStats(t, sb).InboundPending == 60 },
		"the receiver has the 60 accepted events pending")
	if st = mustStats(t, sb); st.InboundPending != 60 || st.CreditGrantsSent != 0 {
		t.Fatalf("receiver stats %+v", st) // nothing dropped, nothing granted
	}
	for i := 0; i < 60; i++ {
		if _, err := sb.Recv(within(t, time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err = sa.SendBlocking(within(t, 2*time.Second), kb); err != nil || n != 1 {
		t.Fatalf("blocking send: %d, %v", n, err)
	}
	if _, err := sb.Recv(within(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st = mustStats(t, sa); st.CreditGrantsReceived < 1 {
		t.Fatalf("sender stats %+v", st)
	}
}

func TestStats(t *testing.T) {
	a, b := testPair(t)
	sa, sb := openBoth(t, a, b, 15, DefaultStreamConfig())
	if _, err := sa.Send(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, waitLong, func() bool { return mustStats(t, sb).InboundPending == 1 }, "the receiver has the event pending")
	st := mustStats(t, sa)
	if st.TxSeq != 1 || st.TxEvents != 1 || st.TxWindow != 65536 || st.TxCreditRemaining != 65536-(4+100+84) ||
		!st.Active || st.PeerNodeID != b.ID() || st.StreamID != 15 {
		t.Fatalf("sender stats %+v", st)
	}
	if st = mustStats(t, sb); st.RxSeq != 0 || st.InboundPending != 1 || st.CreditGrantsSent != 0 {
		t.Fatalf("receiver stats %+v", st)
	}

	// unbounded window: no credit, no grants
	unbounded := DefaultStreamConfig()
	unbounded.WindowBytes = 0
	ua, ub := openBoth(t, a, b, 16, unbounded)
	for i := 0; i < 200; i++ {
		if _, err := ua.Send(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if st = mustStats(t, ua); st.TxCreditRemaining != math.MaxUint64 || st.TxWindow != 0 {
		t.Fatalf("unbounded sender stats %+v", st)
	}
	waitUntil(t, waitLong, func() bool { return mustStats(t, ub).InboundPending == 200 },
		"the unbounded receiver has all 200 events pending")
	if st = mustStats(t, ub); st.InboundPending != 200 || st.CreditGrantsSent != 0 {
		t.Fatalf("unbounded receiver stats %+v", st)
	}

	// every open stream of the node is listed
	all, err := a.AllStreamStats()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, s := range all {
		if s.PeerNodeID != b.ID() {
			t.Fatalf("foreign stream %+v", s)
		}
		if s.StreamID == 15 || s.StreamID == 16 {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("AllStreamStats: %+v", all)
	}
	if ns := mustNodeStats(t, a); ns.DatagramsSent == 0 || ns.DropAuthFailed != 0 || ns.DropReplay != 0 {
		t.Fatalf("node stats %+v", ns)
	}
}

func mustSessionStats(t *testing.T, n *Node, peer uint64) SessionStats {
	t.Helper()
	st, err := n.SessionStats(peer)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSessionStats(t *testing.T) {
	cfg := testConfig(0x42)
	cfg.CongestionControl = NewReno
	a, b := testPairWith(t, cfg)
	// session acknowledgements are agreed on just after the handshake
	waitUntil(t, waitLong, func() bool { return mustSessionStats(t, a, b.ID()).SessionAcks },
		"a's session with b has acknowledgements")
	scfg := DefaultStreamConfig()
	scfg.Reliability = Reliable
	sa, sb := openBoth(t, a, b, 26, scfg)
	for i := 0; i < 5; i++ {
		if _, err := sa.Send([]byte(fmt.Sprintf("event %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		expectEvent(t, sb, fmt.Sprintf("event %d", i))
	}
	// the handshake's sample and at least one acknowledgement's; then nothing left in flight
	waitUntil(t, waitLong, func() bool {
		st := mustSessionStats(t, a, b.ID())
		return st.RTTSamples >= 2 && st.BytesInFlight == 0 && st.PMTUProbesSent >= 1
	}, "a has RTT samples from acknowledgements, a path MTU probe sent and nothing in flight")
	st := mustSessionStats(t, a, b.ID())
	if st.PeerNodeID != b.ID() || !st.SessionAcks || st.Routed || st.SRTT <= 0 || st.MinRTT <= 0 ||
		st.DatagramsInFlight != 0 || st.DatagramsAcked == 0 || st.AcksReceived == 0 ||
		st.CongestionControl != NewReno || st.CwndBytes == 0 ||
		st.DatagramsLost != 0 || st.SpuriousRetransmissions != 0 || st.CongestionEvents != 0 ||
		st.CongestionEventsUndone != 0 || st.LossThresholdDatagrams != 3 || st.LossThresholdRTTEighths != 9 ||
		st.PMTUBlackHoles != 0 { // loopback, no impairment: RFC 9002's loss thresholds
		t.Fatalf("sender session stats %+v", st)
	}
	if rx := mustSessionStats(t, b, a.ID()); rx.AcksSent == 0 {
		t.Fatalf("receiver session stats %+v", rx)
	}
	// no session with that peer
	_, err := a.SessionStats(b.ID() + 1)
	expectErr(t, err, ErrNotConnected)
}

func TestIdempotentOpen(t *testing.T) {
	a, b := testPair(t)
	rel := DefaultStreamConfig()
	rel.Reliability = Reliable
	rel.WindowBytes = 100000
	s1, err := a.OpenStream(b.ID(), 17, rel)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := a.OpenStream(b.ID(), 17, DefaultStreamConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st := mustStats(t, s2); !st.Reliable || st.TxWindow != 100000 {
		t.Fatalf("second open did not return the first stream: %+v", st)
	}
	for _, s := range []*Stream{s1, s2} { // both handles are the same stream
		if _, err := s.Send([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if st := mustStats(t, s1); st.TxEvents != 2 {
		t.Fatalf("tx_events = %d, want 2", st.TxEvents)
	}

	// a stream the peer started takes the first explicit config (the zero config is not one)
	early, err := a.OpenStream(b.ID(), 18, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if _, err := early.Send([]byte("early")); err != nil {
		t.Fatal(err)
	}
	// b auto-creates the stream with defaults when "early" arrives
	waitUntil(t, waitLong, func() bool { return streamExists(t, b, a.ID(), 18) }, "b has auto-created stream 18")
	late, err := b.OpenStream(a.ID(), 18, rel)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	expectEvent(t, late, "early")
	if st := mustStats(t, late); !st.Reliable {
		t.Fatalf("peer-started stream: %+v", st)
	}
}

func TestStaleHandle(t *testing.T) {
	a, b := testPair(t)
	old, sb := openBoth(t, a, b, 19, DefaultStreamConfig())
	if err := old.CloseStream(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, old.CloseStream(), ErrNotConnected)
	fresh, err := a.OpenStream(b.ID(), 19, DefaultStreamConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Send([]byte("fresh"))
	expectErr(t, err, ErrNotConnected)
	if st := mustStats(t, old); st.Active {
		t.Fatalf("stale stream still active: %+v", st)
	}
	if _, err := fresh.Send([]byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if st := mustStats(t, fresh); st.TxSeq != 1 { // sequence restarts with the new stream
		t.Fatalf("tx_seq = %d", st.TxSeq)
	}
	expectEvent(t, sb, "fresh")
	// a released handle is invalid; the stream itself stays open
	again, err := a.OpenStream(b.ID(), 19, DefaultStreamConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Release(); err != nil {
		t.Fatal(err)
	}
	_, err = fresh.Send([]byte("x"))
	expectErr(t, err, ErrInvalidHandle)
	expectErr(t, fresh.Close(), ErrInvalidHandle)
	expectErr(t, fresh.Release(), ErrInvalidHandle)
	if _, err := again.Send([]byte("still open")); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, sb, "still open")
	// Close closes the stream (every handle to it is stale), then frees the handle
	other, err := a.OpenStream(b.ID(), 19, DefaultStreamConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = other.Send([]byte("x"))
	expectErr(t, err, ErrNotConnected)
	expectErr(t, again.Close(), ErrInvalidHandle)
	if err := old.Close(); err != nil { // already closed: not an error, the handle is freed
		t.Fatal(err)
	}
}

func TestCloseBehaviours(t *testing.T) {
	a, b := testPair(t)
	drop := DefaultStreamConfig() // DropAndClose, net-mesh's default
	drain := DefaultStreamConfig()
	drain.CloseBehaviour = DrainThenClose
	a1, b1 := openBoth(t, a, b, 20, drain)
	a2, b2 := openBoth(t, a, b, 21, drop)
	for _, s := range []*Stream{a1, a2} {
		if _, err := s.Send([]byte("k1"), []byte("k2")); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, waitLong, func() bool {
		return mustStats(t, b1).InboundPending == 2 && mustStats(t, b2).InboundPending == 2
	}, "both receiving streams have k1 and k2 pending")
	for _, s := range []*Stream{b1, b2} {
		if err := s.CloseStream(); err != nil {
			t.Fatal(err)
		}
	}
	// drain-then-close: what arrived stays readable, then the handle is stale
	expectEvent(t, b1, "k1")
	expectEvent(t, b1, "k2")
	_, err := b1.Recv(within(t, 100*time.Millisecond))
	expectErr(t, err, ErrNotConnected)
	_, err = b1.Send([]byte("no"))
	expectErr(t, err, ErrNotConnected)
	// drop-and-close: queued events are gone at once
	_, err = b2.Recv(context.Background())
	expectErr(t, err, ErrNotConnected)
	// the dropped and drained events were credited back to the sender
	waitUntil(t, waitLong, func() bool {
		for _, s := range []*Stream{a1, a2} {
			if st := mustStats(t, s); st.TxCreditRemaining != st.TxWindow {
				return false
			}
		}
		return true
	}, "both senders have their whole window of credit back")
	for _, s := range []*Stream{a1, a2} {
		if st := mustStats(t, s); st.TxCreditRemaining != st.TxWindow {
			t.Fatalf("credit not returned: %+v", st)
		}
	}
}

func TestBadInput(t *testing.T) {
	// MaxEventBytes = MaxEventSize: the single-packet limit of net-mesh 0.23 peers
	cfg := testConfig(0x42)
	cfg.MaxEventBytes = MaxEventSize
	a, b := testPairWith(t, cfg)
	sa, sb := openBoth(t, a, b, 13, DefaultStreamConfig())
	big := make([]byte, MaxEventSize+1)
	for i := range big {
		big[i] = byte(i * 7)
	}
	n, err := sa.Send(big)
	expectErr(t, err, ErrEventTooLarge)
	if n != 0 {
		t.Fatalf("sent %d", n)
	}
	// the largest event goes through, and Recv grows its buffer for it
	if _, err := sa.Send(big[:MaxEventSize]); err != nil {
		t.Fatal(err)
	}
	got, err := sb.Recv(within(t, 2*time.Second))
	if err != nil || !bytes.Equal(got, big[:MaxEventSize]) {
		t.Fatalf("largest event: %d bytes, %v", len(got), err)
	}

	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:99999", "300.1.1.1:5", "[::1:5", "host.invalid:80"} {
		cfg := testConfig(1)
		cfg.BindAddr = addr
		_, err := NewNode(cfg)
		expectErr(t, err, ErrAddress)
	}
	err = a.Connect(context.Background(), "not an address", b.PublicKey(), b.ID())
	expectErr(t, err, ErrAddress)
	if !strings.Contains(err.Error(), "not an address") {
		t.Fatalf("error lacks the library's detail: %v", err)
	}
	_, err = NewNode(testConfig(0)) // all-zero PSK
	expectErr(t, err, ErrInvalidArgument)
	cfg = testConfig(1)
	cfg.HeartbeatInterval = 0
	_, err = NewNode(cfg)
	expectErr(t, err, ErrInvalidArgument)
	cfg = testConfig(1)
	cfg.SuspectAfter = 0
	_, err = NewNode(cfg)
	expectErr(t, err, ErrInvalidArgument)
	cfg = testConfig(1)
	cfg.FailAfter = cfg.SuspectAfter - time.Millisecond // need SuspectAfter <= FailAfter
	_, err = NewNode(cfg)
	expectErr(t, err, ErrInvalidArgument)
	bad := DefaultStreamConfig()
	bad.Reliability = Reliability(7)
	_, err = a.OpenStream(b.ID(), 30, bad)
	expectErr(t, err, ErrInvalidArgument)
	zero := DefaultStreamConfig()
	zero.FairnessWeight = 0 // taken as 1, as net-mesh does
	if _, err = a.OpenStream(b.ID(), 31, zero); err != nil {
		t.Fatalf("weight 0: %v", err)
	}
	_, err = a.OpenStream(12345, 1, DefaultStreamConfig()) // no session with that node
	expectErr(t, err, ErrNotConnected)

	// use after close is an error, never a crash
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, b.Close(), ErrInvalidHandle)
	_, err = b.Stats()
	expectErr(t, err, ErrInvalidHandle)
	_, err = b.OpenStream(a.ID(), 1, DefaultStreamConfig())
	expectErr(t, err, ErrInvalidHandle)
	_, err = sb.Send([]byte("x")) // a live stream handle of a freed node
	expectErr(t, err, ErrShutdown)
	_, err = sb.Stats()
	expectErr(t, err, ErrShutdown)
	expectErr(t, sb.CloseStream(), ErrShutdown)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = sb.Recv(context.Background())
	expectErr(t, err, ErrInvalidHandle)
}

func TestRecvTimeout(t *testing.T) {
	a, b := testPair(t)
	_, sb := openBoth(t, a, b, 22, DefaultStreamConfig())
	start := time.Now()
	_, err := sb.Recv(within(t, 50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 45*time.Millisecond || d > time.Second {
		t.Fatalf("recv returned after %v", d)
	}
	// an ended context polls once without blocking
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sb.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// cancellation from another goroutine wakes a blocked Recv within a slice
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start = time.Now()
	if _, err := sb.Recv(ctx); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestReliableUnderLoss(t *testing.T) {
	a, b := testPair(t)
	loss := DefaultImpairment()
	loss.Loss = 0.2
	loss.Seed = 7
	if err := a.SetImpairment(b.ID(), Both, &loss); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	sa, sb := openBoth(t, a, b, 40, cfg)
	const total = 500
	sendErr := make(chan error, 1)
	go func() {
		for i := uint32(0); i < total; i++ {
			if _, err := sa.SendBlocking(within(t, 20*time.Second), binary.LittleEndian.AppendUint32(nil, i)); err != nil {
				sendErr <- err
				return
			}
			// sends more than 20 µs apart each get their own packet: many packets to lose
			time.Sleep(100 * time.Microsecond)
		}
		sendErr <- nil
	}()
	for i := uint32(0); i < total; i++ {
		got, err := sb.Recv(within(t, 20*time.Second))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if v := binary.LittleEndian.Uint32(got); v != i {
			t.Fatalf("got event %d, want %d", v, i)
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	// exactly once: nothing beyond the last event
	if got, err := sb.Recv(within(t, 300*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("extra event %x, %v", got, err)
	}
	if is, err := a.ImpairmentStats(); err != nil || is.DroppedLoss == 0 || is.Seen == 0 {
		t.Fatalf("nothing was dropped: %+v, %v", is, err)
	}
	if st := mustStats(t, sa); !st.Recovering || st.Retransmits == 0 {
		t.Fatalf("sender stats %+v", st)
	}
	bad := DefaultImpairment()
	bad.Loss = 2
	expectErr(t, a.SetImpairment(b.ID(), Both, &bad), ErrInvalidArgument)
	if err := a.SetImpairment(b.ID(), Both, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLargeEvent(t *testing.T) {
	a, b := testPair(t) // default MaxEventBytes: events above MaxEventSize are fragmented
	sa, sb := openBoth(t, a, b, 41, DefaultStreamConfig())
	big := make([]byte, 20000)
	for i := range big {
		big[i] = byte(i * 13)
	}
	if _, err := sa.SendBlocking(within(t, 2*time.Second), big); err != nil {
		t.Fatal(err)
	}
	got, err := sb.Recv(within(t, 2*time.Second))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("large event: %d bytes, %v", len(got), err)
	}
	_, err = sa.Send(make([]byte, DefaultConfig().MaxEventBytes+1))
	expectErr(t, err, ErrEventTooLarge)
}

// Beyond the conformance list: the rest of the C suite that the Go layer touches.

func TestIdentityFromSeed(t *testing.T) {
	cfg := testConfig(1)
	// RFC 8032 test 1 secret key; its node id is the wire spec's Appendix A.2 value
	seed := "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	for i := range cfg.IdentitySeed {
		var v byte
		for _, c := range seed[2*i : 2*i+2] {
			v = v<<4 | byte(strings.IndexRune("0123456789abcdef", c))
		}
		cfg.IdentitySeed[i] = v
	}
	for i := range cfg.StaticPrivateKey {
		cfg.StaticPrivateKey[i] = 0x11
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.ID() != 0x652f03ba688dde03 {
		t.Fatalf("node id %#x", n.ID())
	}
	pub := n.PublicKey()
	if want := []byte{0x7b, 0x4e, 0x90, 0x9b}; !bytes.HasPrefix(pub[:], want) {
		t.Fatalf("public key %x", pub)
	}
}

func TestDefaultsAndVersion(t *testing.T) {
	c := DefaultConfig()
	if c.BindAddr != "127.0.0.1:0" || c.HeartbeatInterval != 5*time.Second || c.HandshakeTimeout != 5*time.Second ||
		c.HandshakeRetries != 3 || c.StreamIdleTimeout != 300*time.Second || c.MaxStreams != 4096 || c.DefaultWindowBytes != 65536 ||
		c.IdentityFile != "" || c.SuspectAfter != 60*time.Second || c.FailAfter != 90*time.Second || c.PingwaveTTL != 8 ||
		c.SessionRateBytesPerSec != 0 || c.MaxSessions != 1024 || c.HandshakeRatePerSec != 500 ||
		c.MaxSessionBufferBytes != 32<<20 || c.MaxBufferBytes != 256<<20 || c.CongestionControl != Cubic {
		t.Fatalf("node defaults %+v", c)
	}
	tiny := c
	tiny.PSK[0] = 1
	tiny.MaxSessionBufferBytes = 1024 // below one max-size event: the library refuses it
	if _, err := NewNode(tiny); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("tiny session budget: %v", err)
	}
	if s := DefaultStreamConfig(); s != (StreamConfig{FireAndForget, 65536, 1, DropAndClose}) {
		t.Fatalf("stream defaults %+v", s)
	}
	if Version() == "" {
		t.Fatal("empty version")
	}
}

func TestStreamIDFromKey(t *testing.T) {
	if id := StreamIDFromKey([]byte("hello")); id != 0x9555e8555c62dcfd {
		t.Fatalf("xxh3(hello) = %#x", id)
	}
	if id := StreamIDFromKey(nil); id != 0x2d06800538d394c2 {
		t.Fatalf("xxh3() = %#x", id)
	}
}

// fdReadable says whether fd becomes readable within timeout (0: is readable now).
func fdReadable(fd int, timeout time.Duration) bool {
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.NsecToTimeval(int64(timeout))
	n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
	return err == nil && n == 1
}

func TestEventFD(t *testing.T) {
	a, b := testPair(t)
	sa, sb := openBoth(t, a, b, 23, DefaultStreamConfig())
	fd, err := b.EventFD()
	if err != nil {
		t.Fatal(err)
	}
	readable := func(timeout time.Duration) bool { return fdReadable(fd, timeout) }
	if readable(0) {
		t.Fatal("readable before any event")
	}
	if _, err := sa.Send([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !readable(2*time.Second) || !readable(0) { // level-triggered
		t.Fatal("not readable with an event pending")
	}
	t.Logf("event fd readable after %v", time.Since(start))
	expectEvent(t, sb, "ping")
	if readable(0) {
		t.Fatal("readable after the event was read")
	}
}

func TestStreamFDs(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.WindowBytes = 16384
	sa, sb := openBoth(t, a, b, 24, cfg)
	in, err := sb.ReadableFD()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sa.WritableFD()
	if err != nil {
		t.Fatal(err)
	}
	if fdReadable(in, 0) || !fdReadable(out, 0) {
		t.Fatal("want: nothing to read, credit to send")
	}
	ev := make([]byte, 1024)
	sent := 0
	for {
		if _, err := sa.Send(ev); errors.Is(err, ErrBackpressure) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		sent++
	}
	if fdReadable(out, 0) {
		t.Fatal("writable with the window spent")
	}
	if !fdReadable(in, 2*time.Second) {
		t.Fatal("not readable with events sent")
	}
	for i := 0; i < sent; i++ {
		if _, err := sb.Recv(within(t, 2*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if fdReadable(in, 0) {
		t.Fatal("readable with every event read")
	}
	if !fdReadable(out, 5*time.Second) {
		t.Fatal("not writable after the reader's grants")
	}
}

func TestConnectContext(t *testing.T) {
	a, b := testNode(t, 1), testNode(t, 1)
	addr, key := b.LocalAddr(), b.PublicKey()
	b.Close() // its port is closed now: the handshake would take 2 x 1 s
	start := time.Now()
	err := a.Connect(within(t, 100*time.Millisecond), addr, key, 99)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	expectErr(t, a.Connect(context.Background(), addr, key, 99), ErrHandshake)
}

func TestConcurrentStreams(t *testing.T) {
	a, b := testPair(t)
	const streams, events = 4, 3000
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams)
	for k := uint64(0); k < streams; k++ {
		sa, sb := openBoth(t, a, b, 100+k, DefaultStreamConfig())
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := uint32(1); i <= events; i++ {
				if _, err := sa.SendBlocking(within(t, 10*time.Second), binary.LittleEndian.AppendUint32(nil, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := uint32(1); i <= events; i++ {
				got, err := sb.Recv(within(t, 10*time.Second))
				if err == nil && binary.LittleEndian.Uint32(got) != i {
					err = errors.New("out of order")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := mustNodeStats(t, b); st.DropReplay != 0 || st.DropAuthFailed != 0 {
		t.Fatalf("node stats %+v", st)
	}
}

func TestCloseWakesBlockedRecv(t *testing.T) {
	a, b := testPair(t)
	_, sb := openBoth(t, a, b, 7, DefaultStreamConfig())
	done := make(chan error, 1)
	go func() {
		_, err := sb.Recv(context.Background())
		done <- err
	}()
	// Not a wait before an assertion: it gives Recv time to block, so that Close has a
	// blocked call to wake. A Recv that starts after Close gets ErrShutdown all the same
	// (the stream handle outlives its node), so the check holds whatever the scheduling.
	time.Sleep(100 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, woken(t, done, "Recv still blocked after Close"), ErrShutdown)
}

// A receive waiting in the netpoller (wait.go) returns when its context is cancelled, and
// when its handle is released (the handle is then closed).
func TestParkedRecvWakes(t *testing.T) {
	a, b := testPair(t)
	_, sb := openBoth(t, a, b, 8, DefaultStreamConfig())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sb.Recv(ctx)
		done <- err
	}()
	// As in TestCloseWakesBlockedRecv: time for Recv to park; a Recv that starts after the
	// cancel (or the Release below) returns the same error, so the checks hold regardless.
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := woken(t, done, "Recv still parked after its context was cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	go func() {
		_, err := sb.Recv(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := sb.Release(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, woken(t, done, "Recv still parked after Release"), ErrInvalidHandle)
}

// A SendBlocking waiting for credit: the reader's grants let it finish, its context's end
// stops it (with the count of what went), and Release wakes it.
func TestBlockedSendWakes(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 65536
	sa, sb := openBoth(t, a, b, 9, cfg)
	kb := make([]byte, 1024)
	events := make([][]byte, 200) // three windows' worth
	for i := range events {
		events[i] = kb
	}
	got := make(chan int, 1)
	go func() { // the reader, slower than the sender
		n := 0
		for ; n < len(events); n++ {
			if _, err := sb.Recv(within(t, 10*time.Second)); err != nil {
				break
			}
		}
		got <- n
	}()
	if n, err := sa.SendBlocking(within(t, 10*time.Second), events...); err != nil || n != len(events) {
		t.Fatalf("blocking send: %d, %v", n, err)
	}
	if n := <-got; n != len(events) {
		t.Fatalf("received %d of %d", n, len(events))
	}
	// Nobody reads now: the window fills, and the send waits until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sent := make(chan int, 1)
	go func() {
		n, err := sa.SendBlocking(ctx, events...)
		sent <- n
		done <- err
	}()
	// (A failure once, in a stressed fresh clone, was not reproduced: if the send ends or the
	// credit stays, say what it was.)
	start := time.Now()
	waitUntil(t, waitLong, func() bool {
		select {
		case err := <-done:
			t.Fatalf("SendBlocking returned before the window was spent: %d events, %v", <-sent, err)
		default:
		}
		st := mustStats(t, sa)
		if time.Since(start) > waitLong/2 {
			t.Logf("still waiting: %+v", st)
			start = time.Now()
		}
		return st.TxCreditRemaining < 1088
	}, "the window is spent")
	cancel()
	err := woken(t, done, "SendBlocking still waiting after its context was cancelled")
	if n := <-sent; !errors.Is(err, context.Canceled) || n >= len(events) {
		t.Fatalf("got %d events, %v; want fewer than all, context.Canceled", n, err)
	}
	// A stream never read: once its window is spent nothing lets a send through.
	sc, _ := openBoth(t, a, b, 10, cfg)
	for {
		if _, err := sc.Send(kb); err != nil {
			expectErr(t, err, ErrBackpressure)
			break
		}
	}
	go func() {
		_, err := sc.SendBlocking(context.Background(), kb)
		done <- err
	}()
	// A send that starts after the Release fails the same way, so the check holds regardless.
	time.Sleep(50 * time.Millisecond)
	if err := sc.Release(); err != nil {
		t.Fatal(err)
	}
	expectErr(t, woken(t, done, "SendBlocking still waiting after Release"), ErrInvalidHandle)
}

// woken is what a blocked call sent on done once something was meant to wake it; t fails
// with what if the call is still blocked 2 s later.
func woken(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Second):
		t.Fatal(what)
		return nil
	}
}

// The mesh (mirrors tests/capi/mesh_test.c): short heartbeat and failure-detector timers.
func meshConfig() Config {
	c := testConfig(0x42)
	c.HeartbeatInterval = 100 * time.Millisecond
	c.SuspectAfter = 300 * time.Millisecond
	c.FailAfter = 600 * time.Millisecond
	return c
}

// linkNodes makes a direct session between two nodes: b allows a, a dials b.
func linkNodes(t *testing.T, a, b *Node) {
	t.Helper()
	if err := b.Allow(a.ID()); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(within(t, 5*time.Second), b.LocalAddr(), b.PublicKey(), b.ID()); err != nil {
		t.Fatal(err)
	}
}

// connectThrough makes a routed session from a to dest, handing the handshake to relay.
// dest allows a first, as a responder does (the routed msg1 names its initiator, so the
// library would also answer without it: mesh_test.c does not allow).
func connectThrough(t *testing.T, a, relay, dest *Node) {
	t.Helper()
	if err := dest.Allow(a.ID()); err != nil {
		t.Fatal(err)
	}
	if err := a.ConnectVia(within(t, 5*time.Second), relay.LocalAddr(), dest.PublicKey(), dest.ID()); err != nil {
		t.Fatal(err)
	}
}

// meshChain is a - b - c: direct sessions a-b and b-c only.
func meshChain(t *testing.T) (a, b, c *Node) {
	t.Helper()
	cfg := meshConfig()
	a, b, c = testNodeWith(t, cfg), testNodeWith(t, cfg), testNodeWith(t, cfg)
	linkNodes(t, a, b)
	linkNodes(t, b, c)
	return a, b, c
}

func routeTo(t *testing.T, n *Node, dest uint64) (Route, bool) {
	t.Helper()
	routes, err := n.Routes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dest == dest {
			return r, true
		}
	}
	return Route{}, false
}

// waitForRoute polls n's routes until it has one to dest of the given metric.
func waitForRoute(t *testing.T, n *Node, dest uint64, metric uint32) Route {
	t.Helper()
	var r Route
	waitUntil(t, waitLong, func() bool {
		var ok bool
		r, ok = routeTo(t, n, dest)
		return ok && r.Metric == metric
	}, fmt.Sprintf("node %d has a route of metric %d to %d", n.ID(), metric, dest))
	return r
}

// TestConnectVia: a reaches c through relay b (the routed handshake, which b relays without
// being able to read it), then a reliable stream a -> c delivers every event once, in order.
func TestConnectVia(t *testing.T) {
	a, b, c := meshChain(t)
	connectThrough(t, a, b, c)
	cfgStream := DefaultStreamConfig()
	cfgStream.Reliability = Reliable
	sa, sc := openBoth(t, a, c, 5, cfgStream)
	if _, err := sa.Send([]byte("through b")); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, sc, "through b")
	const total = 200
	next := uint32(0)
	for i := uint32(0); i < total; i++ {
		if _, err := sa.SendBlocking(within(t, 5*time.Second), binary.LittleEndian.AppendUint32(nil, i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Microsecond) // not a burst: one packet per event, each relayed by b
		for {
			got, err := sc.Recv(expired)
			if err != nil {
				break
			}
			if v := binary.LittleEndian.Uint32(got); v != next {
				t.Fatalf("got event %d, want %d", v, next)
			}
			next++
		}
	}
	for ; next < total; next++ {
		got, err := sc.Recv(within(t, 5*time.Second))
		if err != nil {
			t.Fatalf("event %d: %v", next, err)
		}
		if v := binary.LittleEndian.Uint32(got); v != next {
			t.Fatalf("got event %d, want %d", v, next)
		}
	}
	if got, err := sc.Recv(within(t, 100*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("extra event %x, %v", got, err)
	}
	relay, end := mustNodeStats(t, b), mustNodeStats(t, c)
	if relay.Sessions != 2 || relay.Forwarded < total || relay.DropAuthFailed != 0 {
		t.Fatalf("relay stats %+v: want 2 sessions (a and c only), >= %d forwarded", relay, total)
	}
	if end.Sessions != 2 { // b and a
		t.Fatalf("end stats %+v", end)
	}
}

// expired is a context that has already ended: Recv and NextPeerEvent poll once with it.
var expired = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func TestRoutes(t *testing.T) {
	a, b, c := meshChain(t)
	// pingwaves: a learns c two hops away through b, and c learns a (as the C suite expects)
	r := waitForRoute(t, a, c.ID(), 3)
	if r.NextHop != b.ID() || r.Age < 0 || r.Age > 3*time.Second {
		t.Fatalf("route a -> c: %+v (b is %d)", r, b.ID())
	}
	if r = waitForRoute(t, c, a.ID(), 3); r.NextHop != b.ID() {
		t.Fatalf("route c -> a: %+v (b is %d)", r, b.ID())
	}
	// neighbours: metric 1, next hop the neighbour itself
	for _, link := range [][2]*Node{{a, b}, {b, a}, {b, c}, {c, b}} {
		r, ok := routeTo(t, link[0], link[1].ID())
		if !ok || r.Metric != 1 || r.NextHop != link[1].ID() {
			t.Fatalf("neighbour route %d -> %d: %+v, %v", link[0].ID(), link[1].ID(), r, ok)
		}
	}
	if _, ok := routeTo(t, a, a.ID()); ok {
		t.Fatal("a has a route to itself")
	}
	if st := mustNodeStats(t, a); st.PingwavesSent == 0 || st.PingwavesReceived == 0 {
		t.Fatalf("node stats %+v", st)
	}
	// a lone node knows no routes; a closed one fails
	lone := testNodeWith(t, meshConfig())
	if routes, err := lone.Routes(); err != nil || len(routes) != 0 {
		t.Fatalf("lone node routes %+v, %v", routes, err)
	}
	lone.Close()
	_, err := lone.Routes()
	expectErr(t, err, ErrInvalidHandle)
}

func TestPeerEvents(t *testing.T) {
	cfg := meshConfig()
	a, b := testNodeWith(t, cfg), testNodeWith(t, cfg)
	fd, err := a.PeerEventFD()
	if err != nil || fd < 0 {
		t.Fatalf("peer event fd %d, %v", fd, err)
	}
	if fdReadable(fd, 0) {
		t.Fatal("peer event fd readable before any event")
	}
	if _, err := a.NextPeerEvent(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll with nothing queued: %v", err)
	}
	linkNodes(t, a, b)
	if !fdReadable(fd, 2*time.Second) {
		t.Fatal("peer event fd not readable after the session came up")
	}
	ev, err := a.NextPeerEvent(within(t, time.Second))
	if err != nil || ev.Kind != PeerConnected || ev.PeerNodeID != b.ID() || ev.AtNs == 0 {
		t.Fatalf("first event %+v, %v: want Connected for %d", ev, err, b.ID())
	}
	if fdReadable(fd, 0) {
		t.Fatal("peer event fd readable with the queue empty")
	}
	start := time.Now()
	if _, err := a.NextPeerEvent(within(t, 50*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) ||
		time.Since(start) > time.Second {
		t.Fatalf("got %v after %v, want context.DeadlineExceeded", err, time.Since(start))
	}
	if _, ok := routeTo(t, a, b.ID()); !ok {
		t.Fatal("no route to the neighbour")
	}

	// b goes away: a suspects it (SuspectAfter 300 ms), then declares it failed (600 ms)
	b.Close()
	closed := time.Now()
	var kinds []PeerEventKind
	var failedAt time.Duration
	for len(kinds) < 2 {
		ev, err := a.NextPeerEvent(within(t, 3*time.Second))
		if err != nil {
			t.Fatalf("after %v, events %v: %v", time.Since(closed), kinds, err)
		}
		if ev.PeerNodeID != b.ID() {
			t.Fatalf("event for unknown peer: %+v", ev)
		}
		kinds = append(kinds, ev.Kind)
		failedAt = time.Since(closed)
	}
	if kinds[0] != PeerSuspected || kinds[1] != PeerFailed {
		t.Fatalf("events %v, want [Suspected Failed]", kinds)
	}
	t.Logf("failure declared %v after close", failedAt)
	// from the last heartbeat heard, at most one interval before the close (as the C suite)
	if failedAt < cfg.FailAfter-cfg.HeartbeatInterval-50*time.Millisecond {
		t.Fatalf("failed after only %v", failedAt)
	}
	if _, ok := routeTo(t, a, b.ID()); ok {
		t.Fatal("route through the failed neighbour kept")
	}
	if PeerFailed.String() != "Failed" || PeerEventKind(9).String() != "PeerEventKind(9)" {
		t.Fatalf("kind names %v, %v", PeerFailed, PeerEventKind(9))
	}
}

// TestPeerEventsShutdown: a blocked NextPeerEvent returns ErrShutdown when the node closes.
func TestPeerEventsShutdown(t *testing.T) {
	a := testNodeWith(t, meshConfig())
	done := make(chan error, 1)
	go func() {
		_, err := a.NextPeerEvent(context.Background())
		done <- err
	}()
	// Not a wait before an assertion: it gives NextPeerEvent time to block, so that Close
	// has a blocked call to wake; one that starts after Close fails with ErrInvalidHandle,
	// which the check accepts too.
	time.Sleep(100 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := woken(t, done, "NextPeerEvent still blocked after Close"); !errors.Is(err, ErrShutdown) && !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("got %v, want ErrShutdown or ErrInvalidHandle", err)
	}
	_, err := a.PeerEventFD()
	expectErr(t, err, ErrInvalidHandle)
}

func TestIdentityFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.identity")
	cfg := testConfig(0x42)
	cfg.IdentityFile = path
	cfg.BindAddr = strings.Clone(cfg.BindAddr) // strings in Go memory, as from flags or files
	first, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, key := first.ID(), first.PublicKey()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v, %v", fi, err)
	}
	again := testNodeWith(t, cfg) // same file: same identity
	if again.ID() != id || again.PublicKey() != key {
		t.Fatalf("after restart: id %d key %x, want id %d key %x", again.ID(), again.PublicKey(), id, key)
	}
	other := testNode(t, 0x42) // no file: a fresh random identity
	if other.ID() == id || other.PublicKey() == key {
		t.Fatal("a node without the file has the same identity")
	}
	// the restored identity is the one peers know: they handshake with the remembered key
	if err := again.Allow(other.ID()); err != nil {
		t.Fatal(err)
	}
	if err := other.Connect(within(t, 5*time.Second), again.LocalAddr(), key, id); err != nil {
		t.Fatal(err)
	}
	// a file that is not an identity is refused, not overwritten
	bad := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.IdentityFile = bad
	_, err = NewNode(cfg)
	expectErr(t, err, ErrInvalidArgument)
	if data, _ := os.ReadFile(bad); string(data) != "not a key" {
		t.Fatalf("bad identity file rewritten: %q", data)
	}
}

func TestRecvBatch(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 1 << 20 // room for the large events below while nothing reads them
	sa, sb := openBoth(t, a, b, 50, cfg)
	waitPending := func(n uint64) {
		t.Helper()
		waitUntil(t, waitLong, func() bool { return mustStats(t, sb).InboundPending >= n },
			fmt.Sprintf("the receiver has %d events pending", n))
		if st := mustStats(t, sb); st.InboundPending != n {
			t.Fatalf("pending %d, want %d", st.InboundPending, n)
		}
	}
	want := []string{"alpha", "be", "", "delta", "epsilon"}
	var events [][]byte
	for _, w := range want {
		events = append(events, []byte(w))
	}
	if n, err := sa.Send(events...); err != nil || n != len(want) {
		t.Fatalf("send: %d, %v", n, err)
	}
	waitPending(uint64(len(want)))
	got, err := sb.RecvBatch(within(t, 2*time.Second), 3) // at most 3
	if err != nil || len(got) != 3 {
		t.Fatalf("batch of 3: %q, %v", got, err)
	}
	rest, err := sb.RecvBatch(within(t, 2*time.Second), 16) // what is left, no more
	if err != nil || len(rest) != 2 {
		t.Fatalf("rest: %q, %v", rest, err)
	}
	for i, e := range append(got, rest...) {
		if string(e) != want[i] {
			t.Fatalf("event %d: %q, want %q", i, e, want[i])
		}
	}
	got[0] = append(got[0], "!!!"...) // events do not share capacity
	if string(got[1]) != "be" {
		t.Fatalf("append to one event overwrote the next: %q", got[1])
	}

	// larger than the initial buffer (64 KiB): the batch stops before an event that does not
	// fit, and one that does not fit alone gets a buffer of its size
	small, big := bytes.Repeat([]byte{1}, 100), bytes.Repeat([]byte{2}, 100_000)
	if _, err := sa.SendBlocking(within(t, 5*time.Second), small, big, small); err != nil {
		t.Fatal(err)
	}
	waitPending(3)
	got, err = sb.RecvBatch(within(t, 2*time.Second), 2)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], small) {
		t.Fatalf("first batch: %d events, %v", len(got), err)
	}
	got, err = sb.RecvBatch(within(t, 2*time.Second), 1) // grown to 100,000
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], big) {
		t.Fatalf("big event: %d events, %v", len(got), err)
	}
	got, err = sb.RecvBatch(within(t, 2*time.Second), 8)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], small) {
		t.Fatalf("last event: %d events, %v", len(got), err)
	}

	// grown for a batch of events that size, not for one: three 70 KB events come in one call
	if _, err := sa.SendBlocking(within(t, 5*time.Second), big[:70_000], big[:70_000], big[:70_000]); err != nil {
		t.Fatal(err)
	}
	waitPending(3)
	if got, err = sb.RecvBatch(within(t, 2*time.Second), 4); err != nil || len(got) != 3 {
		t.Fatalf("batch of large events: %d events, %v", len(got), err)
	}

	// waits like Recv; an ended context polls; at least one event must be asked for
	start := time.Now()
	if _, err := sb.RecvBatch(within(t, 50*time.Millisecond), 4); !errors.Is(err, context.DeadlineExceeded) ||
		time.Since(start) < 45*time.Millisecond {
		t.Fatalf("got %v after %v, want context.DeadlineExceeded", err, time.Since(start))
	}
	if _, err := sb.RecvBatch(expired, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	go func() {
		// Not a wait: RecvBatch should be blocked when "late" is sent; if it is not yet, it
		// finds the event queued and returns it all the same.
		time.Sleep(30 * time.Millisecond)
		sa.Send([]byte("late"))
	}()
	if got, err := sb.RecvBatch(within(t, 2*time.Second), 4); err != nil || len(got) != 1 || string(got[0]) != "late" {
		t.Fatalf("blocking batch: %q, %v", got, err)
	}
	_, err = sb.RecvBatch(within(t, time.Second), 0)
	expectErr(t, err, ErrInvalidArgument)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = sb.RecvBatch(within(t, time.Second), 4)
	expectErr(t, err, ErrInvalidHandle)
}

// TestSessionPacing: a paced session (10 MB/s) still delivers, in order, and no faster than
// its rate allows.
func TestSessionPacing(t *testing.T) {
	const rate = 10_000_000
	cfg := testConfig(0x42)
	cfg.SessionRateBytesPerSec = rate
	cfg.DefaultWindowBytes = 1 << 20
	a, b := testPairWith(t, cfg)
	sc := DefaultStreamConfig()
	sc.Reliability = Reliable
	sc.WindowBytes = 1 << 20
	sa, sb := openBoth(t, a, b, 60, sc)
	const total, size = 300, 1000
	events := make([][]byte, total)
	for i := range events {
		events[i] = make([]byte, size)
		binary.LittleEndian.PutUint32(events[i], uint32(i))
	}
	start := time.Now()
	if n, err := sa.SendBlocking(within(t, 5*time.Second), events...); err != nil || n != total {
		t.Fatalf("send: %d, %v", n, err)
	}
	for next := 0; next < total; {
		got, err := sb.RecvBatch(within(t, 4*time.Second), 64)
		if err != nil {
			t.Fatalf("after %d events: %v", next, err)
		}
		for _, e := range got {
			if len(e) != size || binary.LittleEndian.Uint32(e) != uint32(next) {
				t.Fatalf("event %d: %d bytes, number %d", next, len(e), binary.LittleEndian.Uint32(e))
			}
			next++
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d bytes paced at %d B/s in %v", total*size, rate, elapsed)
	// the pacer starts with a full bucket of 2 ms of rate; the rest waits for tokens
	if floor := time.Duration(float64(total*size-rate*2/1000) / rate * float64(time.Second)); elapsed < floor {
		t.Fatalf("%d bytes took %v: faster than %d B/s allows (%v)", total*size, elapsed, rate, floor)
	}
}

// A SendBlocking that waits for credit parks in the netpoller on the writable fd and is
// woken by the reader's grants, allocating nothing on the way.
func TestSendBlockingThatWaitsAllocatesNothing(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 16384
	sa, sb := openBoth(t, a, b, 41, cfg)
	ctx := within(t, 20*time.Second)
	events := make([][]byte, 4) // 32 KiB: twice the window, so every batch waits for credit
	for i := range events {
		events[i] = make([]byte, 8192)
	}
	const runs = 50
	readerDone := make(chan error, 1)
	go func() { // reads every event (AllocsPerRun makes one more call than runs), so grants keep coming
		buf := make([]byte, 8192)
		for i := 0; i < (runs+1)*len(events); i++ {
			if _, err := sb.RecvInto(ctx, buf); err != nil {
				readerDone <- err
				return
			}
		}
		readerDone <- nil
	}()
	before := streamStats(t, sa).BackpressureEvents
	allocs := testing.AllocsPerRun(runs, func() {
		if n, err := sa.SendBlocking(ctx, events...); err != nil || n != len(events) {
			t.Fatal(n, err)
		}
	})
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	if waited := streamStats(t, sa).BackpressureEvents - before; waited < runs {
		t.Fatalf("%d backpressure events in %d sends of twice the window: the sends did not wait", waited, runs)
	}
	if allocs >= 1 {
		t.Fatalf("SendBlocking waiting for credit: %.1f allocations per call, want none", allocs)
	}
}

// osThreads is the process's thread count (/proc/self/status).
func osThreads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if n, ok := strings.CutPrefix(line, "Threads:"); ok {
			var threads int
			fmt.Sscan(n, &threads)
			return threads
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// Goroutines waiting in SendBlocking hold no OS thread each (they wait in the netpoller,
// not in a cgo call): 64 of them add a few threads, not 64.
func TestBlockedSendsHoldNoThreads(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 16384
	sa, _ := openBoth(t, a, b, 42, cfg) // nobody reads: the credit (nearly all) never returns
	ev := make([]byte, 8192)
	for {
		if _, err := sa.Send(ev); errors.Is(err, ErrBackpressure) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	before, refused := osThreads(t), streamStats(t, sa).BackpressureEvents
	ctx, cancel := context.WithCancel(within(t, 20*time.Second))
	const senders = 64
	errs := make(chan error, senders)
	for i := 0; i < senders; i++ {
		go func() {
			_, err := sa.SendBlocking(ctx, ev)
			errs <- err
		}()
	}
	// Each sender was refused once before it began to wait.
	for deadline := time.Now().Add(10 * time.Second); streamStats(t, sa).BackpressureEvents < refused+senders; {
		if time.Now().After(deadline) {
			t.Fatal("the senders did not all try")
		}
		time.Sleep(time.Millisecond)
	}
	after := osThreads(t)
	cancel()
	for i := 0; i < senders; i++ {
		// nil is possible: a large event is taken once its first piece has credit, and the
		// receiver returns, without a read, the credit of framing it does not hold.
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("SendBlocking: %v, want context.Canceled (or nil)", err)
		}
	}
	if after-before >= senders/4 {
		t.Fatalf("%d goroutines waiting in SendBlocking: %d threads before, %d while they wait", senders, before, after)
	}
}

func TestRecvIntoAndBatchesAllocateNothing(t *testing.T) {
	a, b := testPair(t)
	sa, sb := openBoth(t, a, b, 40, DefaultStreamConfig())
	ctx := context.Background()
	ev := make([]byte, 64)
	buf := make([]byte, 64)
	// One event queued per run, read into the caller's buffer.
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := sa.Send(ev); err != nil {
			t.Fatal(err)
		}
		if n, err := sb.RecvInto(ctx, buf); err != nil || n != 64 {
			t.Fatal(n, err)
		}
	})
	if allocs >= 1 {
		t.Fatalf("Send + RecvInto: %.1f allocations per event, want none", allocs)
	}
	blockingAllocs := testing.AllocsPerRun(200, func() {
		if _, err := sa.SendBlocking(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if n, err := sb.RecvInto(ctx, buf); err != nil || n != 64 {
			t.Fatal(n, err)
		}
	})
	if blockingAllocs >= 1 {
		t.Fatalf("SendBlocking + RecvInto: %.1f allocations per event, want none", blockingAllocs)
	}
	batch := NewBatch(16)
	batchAllocs := testing.AllocsPerRun(100, func() {
		if _, err := sa.Send(ev, ev, ev, ev); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < 4; {
			n, err := sb.RecvBatchInto(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if batchAllocs >= 1 {
		t.Fatalf("Send + RecvBatchInto: %.1f allocations per 4 events, want none", batchAllocs)
	}
	// A too-small buffer: the event stays queued, and n says what it needs.
	if _, err := sa.Send(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	n, err := sb.RecvInto(ctx, buf)
	expectErr(t, err, ErrBufferTooSmall)
	if n != 100 {
		t.Fatalf("needed %d, want 100", n)
	}
	if n, err := sb.RecvInto(ctx, make([]byte, 100)); err != nil || n != 100 {
		t.Fatal(n, err)
	}
}

// A batch of large events arrives intact, an empty event and events sharing one array
// included, and a blocking send of 8 KiB events allocates nothing (the frames buffer is
// reused).
func TestLargeEventsArriveIntactAndTheirSendsAllocateNothing(t *testing.T) {
	a, b := testPair(t)
	cfg := DefaultStreamConfig()
	cfg.Reliability = Reliable
	cfg.WindowBytes = 1 << 20
	sa, sb := openBoth(t, a, b, 41, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shared := make([]byte, 3*8192)
	for i := range shared {
		shared[i] = byte(i * 7)
	}
	events := [][]byte{shared[:8192], shared[8192:16384], {}, shared[16384:], bytes.Repeat([]byte{0xab}, 5000)}
	if n, err := sa.SendBlocking(ctx, events...); err != nil || n != len(events) {
		t.Fatalf("sent %d of %d: %v", n, len(events), err)
	}
	for i, want := range events {
		got, err := sb.Recv(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d: %d bytes arrived, %d sent, or different bytes", i, len(got), len(want))
		}
	}
	big, buf := make([]byte, 8192), make([]byte, 8192)
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := sa.SendBlocking(ctx, big, big); err != nil || n != 2 {
			t.Fatal(n, err)
		}
		for i := 0; i < 2; i++ {
			if n, err := sb.RecvInto(ctx, buf); err != nil || n != len(big) {
				t.Fatal(n, err)
			}
		}
	})
	if allocs >= 1 {
		t.Fatalf("SendBlocking of 8 KiB events + RecvInto: %.1f allocations per call, want none", allocs)
	}
}
