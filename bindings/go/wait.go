package netmesh

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// A receive waits in Go's netpoller on the stream's readable fd, and a blocking send on its
// writable fd, not inside a cgo call: a goroutine blocked in C holds an OS thread, and the
// scheduler hands its P to another thread and takes it back at every return (three times the
// context switches of the C flow in bench/bindings), and keeps its sysmon thread waking every
// 20 us to do so. The C calls made here never block.

// maxPark bounds one wait in the netpoller: the fd is a level (readable while events are
// queued, or while a send would be taken) and the poller wakes on its rising edge, so a wait
// that began while the level was stale is retried rather than trusted. It also bounds how
// late a cancellation is seen: nothing wakes a parked wait on ctx.Done() (a context's
// deadline is the park's own deadline, so deadlines are seen on time), so a receive or send
// parked when its context is cancelled returns up to maxPark later. Waking it would take a
// context.AfterFunc per park, an allocation, and receives and sends that wait allocate
// nothing.
const maxPark = 100 * time.Millisecond

// readiness is one of a stream handle's readiness fds (readable or writable), dup'd into a
// file the netpoller watches, and the call parked on it. No closures: the parked call's
// arguments are fields, so a receive or send allocates nothing. A readiness is allocated on
// its own (Stream.ready, .writable) and must never point into its Stream between calls
// (s is set only while a call is parked): check, a method value, points to r, and were r a
// field of the Stream the Stream would reach itself and never be finalized.
type readiness struct {
	mu    sync.Mutex    // held while opening or closing f
	state atomic.Uint32 // readinessNone, readinessOpen (f, rc, turn, check set), readinessFreed
	f     *os.File
	rc    syscall.RawConn
	turn  chan struct{} // one call parks at a time (the file has one read deadline)

	// The parked call (set while holding turn): a receive into buf (out: its length) or into
	// batch, or a send of the frames left in frames (sent: how many went out so far).
	s      *Stream
	buf    []byte
	out    *uint64
	batch  *Batch
	frames []byte
	sent   int
	done   bool
	result error
	check  func(uintptr) bool // r.attempt, bound once
}

const (
	readinessNone  = iota // not opened yet, or the last try failed: the next wait tries again
	readinessOpen         // f is the netpoller's
	readinessFreed        // the handle was freed: no wait parks again
)

// readiness returns r, the stream's readiness fd `which` (NM_STREAM_READABLE or _WRITABLE),
// opening it on first use. A failure is not kept: it may be transient (EMFILE, ENFILE), and
// the next wait tries again (until then, waits block in C in slices).
func (s *Stream) readiness(r *readiness, which uint) (*readiness, error) {
	if r.state.Load() == readinessOpen {
		return r, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state.Load() {
	case readinessOpen:
		return r, nil
	case readinessFreed:
		return r, errHandleFreed
	}
	fd, err := s.eventFD(which)
	if err != nil {
		return r, err
	}
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return r, errno
	}
	f := os.NewFile(dup, "netmesh stream readiness") // non-blocking: the netpoller takes it
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return r, err
	}
	r.f, r.rc = f, rc
	r.turn = make(chan struct{}, 1)
	r.check = r.attempt
	r.state.Store(readinessOpen)
	return r, nil
}

var errHandleFreed = errors.New("stream handle freed")

// closeReadiness wakes a parked call and drops the files (the handle is being freed).
func (s *Stream) closeReadiness() {
	for _, r := range [...]*readiness{s.ready, s.writable} {
		r.mu.Lock()
		r.state.Store(readinessFreed)
		if r.f != nil {
			r.f.Close()
		}
		r.mu.Unlock()
	}
}

func (r *readiness) attempt(uintptr) bool {
	if r.frames != nil {
		r.done, r.result = r.s.trySend(&r.frames, &r.sent)
	} else {
		r.done, r.result = r.s.tryRecv(r.buf, r.out, r.batch)
	}
	return r.done
}

// recvOnce is one receive into buf (out: its length), or into batch if not nil: at once if
// events are queued, else parked in the netpoller, else one slice blocked in C. ended is
// true if ctx ended first (err is then ctx.Err()); ErrTimeout means nothing yet.
func (s *Stream) recvOnce(ctx context.Context, buf []byte, out *uint64, batch *Batch) (ended bool, err error) {
	done, err := s.tryRecv(buf, out, batch)
	if done {
		return false, err
	}
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	switch how, err := s.parkRecv(ctx, buf, out, batch); how {
	case parkDone:
		return false, err
	case parkCtx:
		return true, err
	}
	// No fd to park on: one slice blocked in C (non-blocking if ctx ended meanwhile).
	err = s.recvCall(buf, out, batch, sliceTimeout(ctx))
	if errors.Is(err, errNothingQueued) { // the slice was 0: ctx has ended, or is about to
		if err := ctx.Err(); err != nil {
			return true, err
		}
		return true, context.DeadlineExceeded
	}
	return false, err
}

type parkResult int

const (
	parkDone        parkResult = iota // the call got events, sent them, or failed (its error is returned)
	parkCtx                           // ctx ended first (ctx.Err() is returned)
	parkUnavailable                   // no fd, or the handle was freed meanwhile: block in C
)

// parkRecv waits in the netpoller until a non-blocking receive (into buf, or into batch if
// not nil) gets events or an error, or ctx ends.
func (s *Stream) parkRecv(ctx context.Context, buf []byte, out *uint64, batch *Batch) (parkResult, error) {
	r, err := s.readiness(s.ready, uint(capi.NM_STREAM_READABLE))
	if err != nil {
		return parkUnavailable, nil
	}
	if !r.take(ctx) {
		return parkCtx, ctx.Err()
	}
	defer r.release()
	r.s, r.buf, r.out, r.batch = s, buf, out, batch
	return r.wait(ctx)
}

// parkSend waits in the netpoller until non-blocking sends have taken every frame of *frames
// or one failed with an error other than backpressure, or ctx ends. *sent counts the events
// taken; *frames is left with those not taken.
func (s *Stream) parkSend(ctx context.Context, frames *[]byte, sent *int) (parkResult, error) {
	r, err := s.readiness(s.writable, uint(capi.NM_STREAM_WRITABLE))
	if err != nil {
		return parkUnavailable, nil
	}
	if !r.take(ctx) {
		return parkCtx, ctx.Err()
	}
	defer r.release()
	r.s, r.frames, r.sent = s, *frames, *sent
	how, err := r.wait(ctx)
	*frames, *sent = r.frames, r.sent
	return how, err
}

// take waits for r's turn; false if ctx ended first.
func (r *readiness) take(ctx context.Context) bool {
	select {
	case r.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// release clears the parked call's arguments and gives up the turn.
func (r *readiness) release() {
	r.s, r.buf, r.out, r.batch, r.frames, r.sent, r.done, r.result = nil, nil, nil, nil, nil, 0, false, nil
	<-r.turn
}

// wait parks until the call's attempt is done, ctx ends, or the file is closed.
func (r *readiness) wait(ctx context.Context) (parkResult, error) {
	for ctx.Err() == nil {
		deadline := time.Now().Add(maxPark)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		r.f.SetReadDeadline(deadline)
		err := r.rc.Read(r.check)
		if r.done {
			return parkDone, r.result
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return parkUnavailable, nil // the file was closed: the handle is being freed
		}
	}
	return parkCtx, ctx.Err()
}

// tryRecv is one non-blocking receive: done is false, with no error built, if nothing was
// queued.
func (s *Stream) tryRecv(buf []byte, out *uint64, batch *Batch) (done bool, err error) {
	err = s.recvCall(buf, out, batch, 0)
	if errors.Is(err, errNothingQueued) {
		return false, nil
	}
	return true, err
}

// errNothingQueued stands for a non-blocking receive's NM_ERR_TIMEOUT: no Error is built
// (with the thread's detail message) for the common case of an empty queue.
var errNothingQueued = errors.New("nothing queued")

// recvCall is one nm_stream_recv into buf, or nm_stream_recv_batch into batch if not nil,
// waiting up to timeoutMS in C.
func (s *Stream) recvCall(buf []byte, out *uint64, batch *Batch, timeoutMS int) error {
	empty := false
	f := func(h uintptr) capi.Enum_SS_nm_status {
		var st capi.Enum_SS_nm_status
		if batch != nil {
			st = capi.Nm_stream_recv_batch(h, batch.buf, batch.lens, batch.count, timeoutMS)
		} else {
			st = capi.Nm_stream_recv(h, buf, out, timeoutMS)
		}
		if st == capi.NM_ERR_TIMEOUT && timeoutMS == 0 {
			empty = true
			return capi.NM_OK
		}
		return st
	}
	op := "nm_stream_recv"
	if batch != nil {
		op = "nm_stream_recv_batch"
	}
	if err := s.do(op, f); err != nil || !empty {
		return err
	}
	return errNothingQueued
}
