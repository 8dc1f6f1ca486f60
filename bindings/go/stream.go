package netmesh

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// Reliability of a stream.
type Reliability int

const (
	FireAndForget Reliability = iota // NM_FIRE_AND_FORGET
	Reliable                         // NM_RELIABLE
)

// CloseBehaviour says what CloseStream does with events received but not yet read.
type CloseBehaviour int

const (
	DrainThenClose CloseBehaviour = iota // they stay readable, then the stream is gone
	DropAndClose                         // they are dropped at once
)

// StreamConfig configures a stream. The zero value means "library defaults, not an
// explicit config" (NULL in C): a stream the peer already opened keeps waiting for the
// first explicit config. Start explicit configs from DefaultStreamConfig().
type StreamConfig struct {
	Reliability    Reliability
	WindowBytes    uint32 // 65536; 0 = unbounded (no credit)
	FairnessWeight uint8  // 1; must be >= 1
	CloseBehaviour CloseBehaviour
}

// DefaultStreamConfig returns the library's defaults (nm_stream_config_init).
func DefaultStreamConfig() StreamConfig {
	c := capi.NewNm_stream_config_t()
	defer capi.DeleteNm_stream_config_t(c)
	capi.Nm_stream_config_init(c)
	return StreamConfig{
		Reliability:    Reliability(c.GetReliability()),
		WindowBytes:    uint32(c.GetWindow_bytes()),
		FairnessWeight: c.GetFairness_weight(),
		CloseBehaviour: CloseBehaviour(c.GetClose_behaviour()),
	}
}

// Stream is a handle to one stream with a peer. Several handles may name the same stream
// (OpenStream is idempotent). Close closes the stream and frees the handle; Release frees
// the handle only. A handle that is forgotten (never Closed nor Released) is Released by its
// finalizer: the stream stays open for its other handles and the peer.
type Stream struct {
	node *Node
	h    atomic.Uintptr // 0 once freed
	peer uint64
	id   uint64
	// Where receives and blocking sends wait (wait.go). Pointers, not fields: a readiness
	// holds a method value of itself (check), and a pointer into s there would make s reach
	// itself, which keeps the GC from ever queueing s's finalizer.
	ready    *readiness
	writable *readiness
}

// OpenStream opens (or returns the already open) stream id to a connected peer. The first
// explicit config wins.
func (n *Node) OpenStream(peerID, streamID uint64, cfg StreamConfig) (*Stream, error) {
	c := capi.Nm_stream_config_t(capi.SwigcptrNm_stream_config_t(0)) // NULL: defaults
	if cfg != (StreamConfig{}) {
		c = capi.NewNm_stream_config_t()
		defer capi.DeleteNm_stream_config_t(c)
		capi.Nm_stream_config_init(c)
		c.SetReliability(byte(cfg.Reliability))
		c.SetWindow_bytes(uint(cfg.WindowBytes))
		c.SetFairness_weight(cfg.FairnessWeight)
		c.SetClose_behaviour(byte(cfg.CloseBehaviour))
	}
	var h uintptr
	if err := n.do("nm_node_open_stream", func(nh uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_open_stream(nh, peerID, streamID, c, &h)
	}); err != nil {
		return nil, err
	}
	s := &Stream{node: n, peer: peerID, id: streamID, ready: new(readiness), writable: new(readiness)}
	s.h.Store(h)
	// Handles are small, but not free. Release, not Close: a forgotten handle must not close
	// the stream for its other handles and the peer, nor block the finalizer goroutine for
	// a DrainThenClose drain.
	runtime.SetFinalizer(s, (*Stream).Release)
	return s, nil
}

// ID is the stream id; Peer the peer's node id.
func (s *Stream) ID() uint64   { return s.id }
func (s *Stream) Peer() uint64 { return s.peer }

func (s *Stream) do(op string, f func(h uintptr) capi.Enum_SS_nm_status) error {
	h := s.h.Load()
	if h == 0 {
		return closedError(op, "stream handle")
	}
	err := call(op, func() capi.Enum_SS_nm_status { return f(h) })
	runtime.KeepAlive(s)
	return err
}

// Scratch for the calls' C out-parameters and the packed frames of a send, reused: a cgo
// argument's pointee escapes, so a local would be a heap allocation per call.
var (
	outParams    = sync.Pool{New: func() any { return new(uint64) }}
	frameBuffers = sync.Pool{New: func() any { return new([]byte) }}
)

// maxPooledFrames: larger buffers (a batch of large events) are not kept.
const maxPooledFrames = 256 << 10

// frames packs events into *buf as nm_bind_send_frames expects them: u32le(len) || bytes,
// repeated. (An array of {pointer, length} pointing into Go memory cannot cross cgo.)
func frames(events [][]byte, buf *[]byte) []byte {
	size := 0
	for _, e := range events {
		size += 4 + len(e)
	}
	if cap(*buf) < size {
		*buf = make([]byte, 0, size)
	}
	out := (*buf)[:0]
	for _, e := range events {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

const (
	modeSend     = 0
	modeRetry    = 1
	modeBlocking = 2
)

func (s *Stream) sendFrames(op string, events [][]byte, mode, arg int) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	scratch := frameBuffers.Get().(*[]byte)
	defer putFrameBuffer(scratch)
	return s.sendFrameBuffer(op, frames(events, scratch), mode, arg)
}

// sendFrameBuffer is one nm_bind_send_frames call; it returns how many events were taken.
func (s *Stream) sendFrameBuffer(op string, buf []byte, mode, arg int) (int, error) {
	sent := outParams.Get().(*uint64)
	defer outParams.Put(sent)
	*sent = 0
	err := s.do(op, func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_bind_send_frames(h, buf, mode, arg, sent)
	})
	return int(*sent), err
}

func putFrameBuffer(b *[]byte) {
	if cap(*b) <= maxPooledFrames {
		frameBuffers.Put(b)
	}
}

// Send sends events in order, packed into as few packets as fit, without waiting. On
// ErrBackpressure the first n events went out and the rest did not.
func (s *Stream) Send(events ...[]byte) (n int, err error) {
	return s.sendFrames("nm_stream_send", events, modeSend, 0)
}

// SendWithRetry is Send retrying on backpressure up to maxRetries times (5 ms to 200 ms
// backoff, woken early when credit arrives).
func (s *Stream) SendWithRetry(maxRetries uint32, events ...[]byte) (n int, err error) {
	r := int(min(maxRetries, math.MaxInt32))
	return s.sendFrames("nm_stream_send_with_retry", events, modeRetry, r)
}

// SendBlocking is Send waiting for credit as long as ctx allows. If ctx ends first it
// returns the number of events sent and ctx.Err().
func (s *Stream) SendBlocking(ctx context.Context, events ...[]byte) (n int, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	scratch := frameBuffers.Get().(*[]byte)
	defer putFrameBuffer(scratch)
	left := frames(events, scratch)
	if done, err := s.trySend(&left, &n); done {
		return n, err
	}
	for {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		switch how, err := s.parkSend(ctx, &left, &n); how {
		case parkDone, parkCtx:
			return n, err
		}
		// No fd to park on: one slice blocked in C.
		slice := sliceTimeout(ctx)
		sent, err := s.sendFrameBuffer("nm_stream_send_blocking", left, modeBlocking, slice)
		n += sent
		if !errors.Is(err, ErrTimeout) {
			return n, err
		}
		if slice == 0 { // ctx has ended, or its deadline passed before its timer fired
			if err := ctx.Err(); err != nil {
				return n, err
			}
			return n, context.DeadlineExceeded
		}
		left = skipFrames(left, sent)
	}
}

// trySend is one non-blocking send of the frames in *frames: it adds the events taken to
// *sent and leaves the rest in *frames. done is false, with no error built, on backpressure.
func (s *Stream) trySend(frames *[]byte, sent *int) (done bool, err error) {
	out := outParams.Get().(*uint64)
	defer outParams.Put(out)
	*out = 0
	backpressure := false
	err = s.do("nm_stream_send", func(h uintptr) capi.Enum_SS_nm_status {
		st := capi.Nm_bind_send_frames(h, *frames, modeSend, 0, out)
		if st == capi.NM_ERR_BACKPRESSURE {
			backpressure = true
			return capi.NM_OK
		}
		return st
	})
	*sent += int(*out)
	if err == nil && backpressure {
		*frames = skipFrames(*frames, int(*out))
		return false, nil
	}
	return true, err
}

// skipFrames drops the first n frames of a frame buffer.
func skipFrames(frames []byte, n int) []byte {
	for ; n > 0; n-- {
		frames = frames[4+binary.LittleEndian.Uint32(frames):]
	}
	return frames
}

// recvBufSize fits typical events; larger ones are retried with a buffer of their size.
const recvBufSize = 512

// Recv returns the next event, waiting as long as ctx allows (ctx.Err() when it ends). A ctx
// that has already ended makes one non-blocking attempt: use it to poll. It allocates the
// event; RecvInto reads into a buffer of the caller's.
func (s *Stream) Recv(ctx context.Context) ([]byte, error) {
	buf := make([]byte, recvBufSize)
	for {
		n, err := s.RecvInto(ctx, buf)
		if !errors.Is(err, ErrBufferTooSmall) {
			if err != nil {
				return nil, err
			}
			return buf[:n:n], nil
		}
		buf = make([]byte, n) // the event stays queued: fetch it again, now it fits
	}
}

// RecvInto reads the next event into buf and returns its length, waiting as Recv does. An
// event larger than buf stays queued: the error is ErrBufferTooSmall and n the size it
// needs. Receiving this way allocates nothing.
func (s *Stream) RecvInto(ctx context.Context, buf []byte) (n int, err error) {
	out := outParams.Get().(*uint64)
	defer outParams.Put(out)
	for {
		ended, err := s.recvOnce(ctx, buf, out, nil)
		if ended {
			return 0, err
		}
		if !errors.Is(err, ErrTimeout) {
			return int(*out), err
		}
	}
}

// recvBatchBufSize is the buffer a Batch starts with (eight 8 KiB events); an event that
// does not fit ends the batch, and a first event that does not fit is retried with a
// buffer grown for a batch of its size (grownBatchBuf).
const recvBatchBufSize = 64 << 10

// maxGrownBatchBuf bounds what a Batch grows to for a batch of large events (one event
// larger than it still gets its own size).
const maxGrownBatchBuf = 1 << 20

func grownBatchBuf(need uint64, maxEvents int) int {
	return int(max(need, min(need*uint64(maxEvents), maxGrownBatchBuf)))
}

// Batch is the reusable state of RecvBatchInto: its buffers grow to what the stream needs
// and are kept, so receiving batches allocates nothing once they have. Events holds the
// last call's events: views of the batch's buffer, valid until the next call. A Batch is
// not for concurrent use.
type Batch struct {
	Events [][]byte
	buf    []byte
	lens   []uint64
	count  *uint64 // its own allocation: cgo refuses a pointer into a struct holding pointers
}

// NewBatch makes a Batch for up to maxEvents events per call (at least 1).
func NewBatch(maxEvents int) *Batch {
	maxEvents = max(maxEvents, 1)
	return &Batch{
		Events: make([][]byte, 0, maxEvents),
		buf:    make([]byte, recvBatchBufSize),
		lens:   make([]uint64, maxEvents),
		count:  new(uint64),
	}
}

// RecvBatchInto receives up to len-of-batch events in one call, in order, into b.Events: it
// waits like Recv for the first, then takes what is already queued after it. Returns how many.
func (s *Stream) RecvBatchInto(ctx context.Context, b *Batch) (int, error) {
	b.Events = b.Events[:0]
	for {
		ended, err := s.recvOnce(ctx, nil, nil, b)
		if ended {
			return 0, err
		}
		switch {
		case err == nil:
			pos := uint64(0)
			for _, n := range b.lens[:*b.count] {
				end := pos + n
				b.Events = append(b.Events, b.buf[pos:end:end])
				pos = end
			}
			return len(b.Events), nil
		case errors.Is(err, ErrBufferTooSmall) && b.lens[0] > uint64(len(b.buf)):
			// The first event stays queued: fetch again with room for a batch of events its
			// size (room for one alone would make every later call return one event).
			b.buf = make([]byte, grownBatchBuf(b.lens[0], len(b.lens)))
		case errors.Is(err, ErrTimeout):
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
		default:
			return 0, err
		}
	}
}

// RecvBatch returns up to maxEvents events in one call, in order, as RecvBatchInto with a
// new Batch: the events share one buffer; each has its own capacity, so appending to one
// does not overwrite another. maxEvents < 1 is ErrInvalidArgument.
func (s *Stream) RecvBatch(ctx context.Context, maxEvents int) ([][]byte, error) {
	if maxEvents < 1 {
		return nil, &Error{Op: "nm_stream_recv_batch", Status: int(capi.NM_ERR_INVALID_ARGUMENT),
			Detail: "maxEvents must be at least 1"}
	}
	b := NewBatch(maxEvents)
	if _, err := s.RecvBatchInto(ctx, b); err != nil {
		return nil, err
	}
	return b.Events, nil
}

// Stats returns the stream's counters (also after CloseStream: Active is then false).
// ReadableFD is a descriptor that is readable while a receive on the stream would not wait
// (events queued, or the stream closed), and once the node shuts down: for an event loop of
// the application's own (nm_stream_event_fd). It belongs to this handle: do not read or close
// it; it is valid until Close or Release returns.
func (s *Stream) ReadableFD() (int, error) {
	return s.eventFD(uint(capi.NM_STREAM_READABLE))
}

// WritableFD is as ReadableFD, readable while a send would not get backpressure (credit
// for a full packet, and less than 1 MiB waiting for the session's pacer; once 1 MiB was
// waiting, again when 768 KiB is left), or the stream is closed (and the send fails at once).
func (s *Stream) WritableFD() (int, error) {
	return s.eventFD(uint(capi.NM_STREAM_WRITABLE))
}

func (s *Stream) eventFD(which uint) (int, error) {
	var fd int32
	err := s.do("nm_stream_event_fd", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_stream_event_fd(h, which, &fd)
	})
	return int(fd), err
}

func (s *Stream) Stats() (StreamStats, error) {
	c := capi.NewNm_stream_stats_t()
	defer capi.DeleteNm_stream_stats_t(c)
	if err := s.do("nm_stream_stats", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_stream_stats(h, c)
	}); err != nil {
		return StreamStats{}, err
	}
	return streamStatsFrom(c), nil
}

// CloseStream closes the stream with its close behaviour (nm_node_close_stream) and keeps
// this handle, to read what already arrived (DrainThenClose). Every handle to the stream
// becomes stale (ErrNotConnected); the handle itself still needs Close or Release. Errors
// are nm_node_close_stream's: ErrNotConnected if the stream was already closed, or if its
// session ended before a drain was done; ErrShutdown if the node is closed or stopped
// during the drain; ErrTimeout if the drain timed out (the stream is closed all the same).
func (s *Stream) CloseStream() error {
	nh := s.node.h.Load()
	if nh == 0 {
		return nodeClosedError()
	}
	err := s.do("nm_node_close_stream", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_close_stream(nh, h)
	})
	runtime.KeepAlive(s.node)
	if errors.Is(err, ErrInvalidHandle) && s.node.h.Load() == 0 {
		// The node was closed after nh was loaded: the handle that is invalid is nh.
		return nodeClosedError()
	}
	return err
}

func nodeClosedError() error {
	return &Error{Op: "nm_node_close_stream", Status: int(capi.NM_ERR_SHUTDOWN), Detail: "node is closed"}
}

// Close closes the stream with its close behaviour, as CloseStream (DrainThenClose waits,
// up to the node's drain timeout, until what was sent is acknowledged), and frees this
// handle, whatever the close returned. A stream that was already closed when Close began
// (by the peer, another handle, eviction or the node's shutdown) is not an error. A drain
// cut short is, as what was sent may not have arrived: ErrTimeout (timed out),
// ErrNotConnected (the session ended first), ErrShutdown (the node stopped first); the
// stream is closed and the handle freed all the same. A second Close fails with
// ErrInvalidHandle.
func (s *Stream) Close() error {
	if s.h.Load() == 0 {
		return closedError("nm_node_close_stream", "stream handle")
	}
	// Open before the call (the stats fail once the node is closed): only then may
	// ErrNotConnected or ErrShutdown come from a drain that did not finish, rather than from
	// the stream being closed already.
	st, serr := s.Stats()
	wasOpen := serr == nil && st.Active
	err := s.CloseStream()
	if !wasOpen && (errors.Is(err, ErrNotConnected) || errors.Is(err, ErrShutdown)) {
		err = nil
	}
	if ferr := s.Release(); ferr != nil {
		return ferr // another goroutine released it meanwhile
	}
	return err
}

// Release frees this handle only (nm_stream_free): the stream stays open for other handles
// and the peer. A second Release (or Close) fails with ErrInvalidHandle.
func (s *Stream) Release() error {
	h := s.h.Swap(0)
	if h == 0 {
		return closedError("nm_stream_free", "stream handle")
	}
	runtime.SetFinalizer(s, nil)
	s.closeReadiness() // a parked receive or send wakes and finds the handle freed
	return call("nm_stream_free", func() capi.Enum_SS_nm_status { return capi.Nm_stream_free(h) })
}
