package netmesh

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// A receive waits in Go's netpoller on the stream's readable fd, and a blocking send on its
// writable fd, not inside a cgo call: a goroutine blocked in C holds an OS thread, and the
// scheduler hands its P to another thread and takes it back at every return (three times
// the context switches of the C flow in bench/bindings). The C calls made here never block.

// maxPark bounds one wait in the netpoller: the fd is a level (readable while events are
// queued) and the poller wakes on its rising edge, so a wait that began while the level was
// stale is retried rather than trusted. It also bounds how late a cancellation that races
// with the start of a wait is seen.
const maxPark = 100 * time.Millisecond

// readiness is one of a stream handle's fds (readable or writable), dup'd into a file the
// netpoller watches, and the call parked on it. No closures: the parked call's arguments
// are fields, so a receive or a send allocates nothing.
type readiness struct {
	once sync.Once
	f    *os.File
	rc   syscall.RawConn
	err  error
	turn chan struct{} // one call parks at a time (the file has one read deadline)

	// The parked call (set while holding turn): a receive into buf (out: its length) or into
	// batch, or a send of events (sent: how many went).
	s         *Stream
	buf       []byte
	out       *uint64
	batch     *Batch
	events    [][]byte
	eventsBuf [][]byte // where events points (reused)
	sent      int
	done      bool
	result    error
	check     func(uintptr) bool // r.attemptRecv or r.attemptSend, bound once
}

func (s *Stream) readiness(writable bool) (*readiness, error) {
	r, which := &s.ready, uint(capi.NM_STREAM_READABLE)
	if writable {
		r, which = &s.writable, uint(capi.NM_STREAM_WRITABLE)
	}
	r.once.Do(func() {
		fd, err := s.eventFD(which)
		if err != nil {
			r.err = err
			return
		}
		dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			r.err = errno
			return
		}
		r.f = os.NewFile(dup, "netmesh stream readiness") // non-blocking: the netpoller takes it
		if r.rc, r.err = r.f.SyscallConn(); r.err != nil {
			r.f.Close()
			r.f = nil
			return
		}
		r.turn = make(chan struct{}, 1)
		r.check = r.attemptRecv
		if writable {
			r.check = r.attemptSend
		}
	})
	return r, r.err
}

// closeReadiness wakes parked calls and drops the files (the handle is being freed).
func (s *Stream) closeReadiness() {
	for _, r := range []*readiness{&s.ready, &s.writable} {
		r.once.Do(func() { r.err = errors.New("stream handle freed") })
		if r.f != nil {
			r.f.Close()
		}
	}
}

func (r *readiness) attemptRecv(uintptr) bool {
	r.done, r.result = r.s.tryRecv(r.buf, r.out, r.batch)
	return r.done
}

func (r *readiness) attemptSend(uintptr) bool {
	n, blocked, err := r.s.trySend(r.events)
	r.sent += n
	r.events = r.events[n:]
	r.done, r.result = !blocked || err != nil, err
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
	r, rerr := s.readiness(false)
	if rerr != nil {
		return false, s.recvCall(buf, out, batch, sliceTimeout(ctx)) // no fd to park on
	}
	if !r.take(ctx) {
		return true, ctx.Err()
	}
	r.s, r.buf, r.out, r.batch = s, buf, out, batch
	how, err := r.park(ctx)
	r.s, r.buf, r.out, r.batch = nil, nil, nil, nil
	r.release()
	switch how {
	case parkDone:
		return false, err
	case parkCtx:
		return true, err
	}
	return false, s.recvCall(buf, out, batch, sliceTimeout(ctx)) // the handle is being freed
}

// sendOnce sends some of events: at once what credit and the pacer take, else parked in
// the netpoller until the stream is writable, else one slice blocked in C. n is how many
// went; ended is true if ctx ended first (err is then ctx.Err()).
func (s *Stream) sendOnce(ctx context.Context, events [][]byte) (n int, ended bool, err error) {
	n, blocked, err := s.trySend(events)
	if !blocked || err != nil {
		return n, false, err
	}
	if ctx.Err() != nil {
		return n, true, ctx.Err()
	}
	r, rerr := s.readiness(true)
	if rerr != nil {
		more, err := s.sendFrames("nm_stream_send_blocking", events[n:], modeBlocking, sliceTimeout(ctx))
		return n + more, false, err
	}
	if !r.take(ctx) {
		return n, true, ctx.Err()
	}
	// A copy of the slice headers: the caller's slice (SendBlocking's variadic) must not
	// escape into the heap, or every call would allocate it.
	r.eventsBuf = append(r.eventsBuf[:0], events[n:]...)
	r.s, r.events, r.sent = s, r.eventsBuf, n
	how, err := r.park(ctx)
	n = r.sent
	clear(r.eventsBuf)
	r.s, r.events, r.sent = nil, nil, 0
	r.release()
	switch how {
	case parkDone:
		return n, false, err
	case parkCtx:
		return n, true, err
	}
	more, err := s.sendFrames("nm_stream_send_blocking", events[n:], modeBlocking, sliceTimeout(ctx))
	return n + more, false, err
}

type parkResult int

const (
	parkDone        parkResult = iota // the call got through, or failed (its error is returned)
	parkCtx                           // ctx ended first (ctx.Err() is returned)
	parkUnavailable                   // the handle was freed meanwhile: block in C
)

// take waits for the turn to park (false if ctx ended first); release gives it back.
func (r *readiness) take(ctx context.Context) bool {
	select {
	case r.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *readiness) release() {
	r.result = nil
	<-r.turn
}

// park waits in the netpoller until the parked call (r.check) gets through or fails, or
// ctx ends.
func (r *readiness) park(ctx context.Context) (parkResult, error) {
	r.done = false
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
