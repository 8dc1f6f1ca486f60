package netmesh

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// Sentinel errors, one per nm_status. Errors returned by this package wrap them, so test
// with errors.Is(err, netmesh.ErrBackpressure); errors.As(err, &e) with e *Error gives the
// status and the library's detail message.
var (
	ErrInvalidArgument = errors.New("netmesh: invalid argument")
	ErrInvalidHandle   = errors.New("netmesh: invalid handle")
	ErrWrongNode       = errors.New("netmesh: handle belongs to another node")
	ErrNotConnected    = errors.New("netmesh: not connected")
	ErrBackpressure    = errors.New("netmesh: backpressure")
	ErrTransport       = errors.New("netmesh: transport error")
	ErrTimeout         = errors.New("netmesh: timed out")
	ErrHandshake       = errors.New("netmesh: handshake failed")
	ErrEventTooLarge   = errors.New("netmesh: event too large")
	ErrBufferTooSmall  = errors.New("netmesh: buffer too small")
	ErrShutdown        = errors.New("netmesh: node shut down")
	ErrAddress         = errors.New("netmesh: bad address")
	ErrCrypto          = errors.New("netmesh: crypto failure")
	ErrInternal        = errors.New("netmesh: internal error")
)

var sentinels = map[capi.Enum_SS_nm_status]error{
	capi.NM_ERR_INVALID_ARGUMENT: ErrInvalidArgument,
	capi.NM_ERR_INVALID_HANDLE:   ErrInvalidHandle,
	capi.NM_ERR_WRONG_NODE:       ErrWrongNode,
	capi.NM_ERR_NOT_CONNECTED:    ErrNotConnected,
	capi.NM_ERR_BACKPRESSURE:     ErrBackpressure,
	capi.NM_ERR_TRANSPORT:        ErrTransport,
	capi.NM_ERR_TIMEOUT:          ErrTimeout,
	capi.NM_ERR_HANDSHAKE:        ErrHandshake,
	capi.NM_ERR_EVENT_TOO_LARGE:  ErrEventTooLarge,
	capi.NM_ERR_BUFFER_TOO_SMALL: ErrBufferTooSmall,
	capi.NM_ERR_SHUTDOWN:         ErrShutdown,
	capi.NM_ERR_ADDRESS:          ErrAddress,
	capi.NM_ERR_CRYPTO:           ErrCrypto,
	capi.NM_ERR_INTERNAL:         ErrInternal,
}

// Error is a failed library call: the C function, its nm_status and the library's detail.
type Error struct {
	Op     string // C function, e.g. "nm_node_connect"
	Status int    // nm_status value (< 0)
	Detail string // nm_last_error_message() right after the failure
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("netmesh: %s: %s", e.Op, capi.Nm_strerror(e.Status))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the sentinel for the status, which is what makes errors.Is work.
func (e *Error) Unwrap() error {
	if s, ok := sentinels[capi.Enum_SS_nm_status(e.Status)]; ok {
		return s
	}
	return ErrInternal
}

// call runs one C call and turns its status into an error. nm_last_error_message() is
// thread-local, and a goroutine may move to another OS thread between two cgo calls, so the
// call and the message read are pinned to one thread.
func call(op string, f func() capi.Enum_SS_nm_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if s := f(); s != capi.NM_OK {
		return &Error{Op: op, Status: int(s), Detail: capi.Nm_last_error_message()}
	}
	return nil
}

// closedError is what calls on a Node or Stream return after Close: the handle was freed,
// as nm_*_free would report for a freed handle.
func closedError(op, what string) error {
	return &Error{Op: op, Status: int(capi.NM_ERR_INVALID_HANDLE), Detail: what + " is closed"}
}
