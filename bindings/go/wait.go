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

// A receive waits in Go's netpoller on the stream's readable fd, not inside a cgo call: a
// goroutine blocked in C holds an OS thread, and the scheduler hands its P to another thread
// and takes it back at every return (three times the context switches of the C flow in
// bench/bindings). The C calls made here never block.

// maxPark bounds one wait in the netpoller: the fd is a level (readable while events are
// queued) and the poller wakes on its rising edge, so a wait that began while the level was
// stale is retried rather than trusted. It also bounds how late a cancellation that races
// with the start of a wait is seen.
const maxPark = 100 * time.Millisecond

// readiness is a stream handle's readable fd, dup'd into a file the netpoller watches, and
// the receive parked on it. No closures: the parked receive's arguments are fields, so a
// receive allocates nothing.
type readiness struct {
	once sync.Once
	f    *os.File
	rc   syscall.RawConn
	err  error
	turn chan struct{} // one receive parks at a time (the file has one read deadline)

	// The parked receive (set while holding turn): into buf (out: its length) or into batch.
	s      *Stream
	buf    []byte
	out    *uint64
	batch  *Batch
	done   bool
	result error
	check  func(uintptr) bool // r.attempt, bound once
}

func (s *Stream) readiness() (*readiness, error) {
	r := &s.ready
	r.once.Do(func() {
		fd, err := s.ReadableFD()
		if err != nil {
			r.err = err
			return
		}
		dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			r.err = errno
			return
		}
		r.f = os.NewFile(dup, "netmesh stream readable") // non-blocking: the netpoller takes it
		if r.rc, r.err = r.f.SyscallConn(); r.err != nil {
			r.f.Close()
			r.f = nil
			return
		}
		r.turn = make(chan struct{}, 1)
		r.check = r.attempt
	})
	return r, r.err
}

// closeReadiness wakes a parked receive and drops the file (the handle is being freed).
func (s *Stream) closeReadiness() {
	r := &s.ready
	r.once.Do(func() { r.err = errors.New("stream handle freed") })
	if r.f != nil {
		r.f.Close()
	}
}

func (r *readiness) attempt(uintptr) bool {
	r.done, r.result = r.s.tryRecv(r.buf, r.out, r.batch)
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
	switch how, err := s.park(ctx, buf, out, batch); how {
	case parkDone:
		return false, err
	case parkCtx:
		return true, err
	}
	return false, s.recvCall(buf, out, batch, sliceTimeout(ctx)) // no fd to park on
}

type parkResult int

const (
	parkDone        parkResult = iota // the receive got events or an error (its error is returned)
	parkCtx                           // ctx ended first (ctx.Err() is returned)
	parkUnavailable                   // no fd, or the handle was freed meanwhile: block in C
)

// park waits in the netpoller until a non-blocking receive (into buf, or into batch if not
// nil) gets events or an error, or ctx ends.
func (s *Stream) park(ctx context.Context, buf []byte, out *uint64, batch *Batch) (parkResult, error) {
	r, rerr := s.readiness()
	if rerr != nil {
		return parkUnavailable, nil
	}
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return parkCtx, ctx.Err()
	}
	defer func() { <-r.turn }()
	r.s, r.buf, r.out, r.batch, r.done = s, buf, out, batch, false
	defer func() { r.s, r.buf, r.out, r.batch, r.result = nil, nil, nil, nil, nil }()
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
