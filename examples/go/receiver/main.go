// netmesh receiver (Go): the accepting end of the netmesh demo, command line and output as
// examples/c/receiver.c.
//
//	receiver --peer-id <sender node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
//
// Prints "READY <addr> <public-key-hex> <node-id-decimal>" first, then accepts the sender,
// opens streams 1..K (stream 1 fire-and-forget, the rest reliable), receives N events per
// stream checking each is "stream <id> event <i>" in order, prints the stream and node stats
// and exits 0, or 1 on any failure.
//
// Streams are read round-robin: draining one stream while ignoring the others would stall
// the sender, whose credit only comes back as we read. When no stream has an event, the
// loop sleeps on the node's event descriptor.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	netmesh "github.com/netmesh/netmesh/bindings/go"
	"netmesh.local/examples/internal/demo"
)

const (
	acceptTimeout = 10 * time.Second
	idleTimeout   = 10 * time.Second // give up when no event arrives on any stream this long
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: receiver --peer-id <id> [--bind addr] [--streams K] [--events N]")
	os.Exit(1)
}

func main() {
	bind := "127.0.0.1:0"
	var peerID, count, events uint64 = 0, 3, 1000
	havePeer := false
	args := os.Args[1:]
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			usage()
		}
		arg, val, ok := args[i], args[i+1], true
		switch arg {
		case "--bind":
			bind = val
		case "--peer-id":
			peerID, ok = demo.ParseU64(val)
			havePeer = true
		case "--streams":
			count, ok = demo.ParseU64(val)
			ok = ok && count > 0 && count <= 1000
		case "--events":
			events, ok = demo.ParseU64(val)
		default:
			ok = false
		}
		if !ok {
			usage()
		}
	}
	if !havePeer {
		usage()
	}

	cfg := netmesh.DefaultConfig()
	cfg.BindAddr = bind
	cfg.PSK = demo.PSK()
	node, err := netmesh.NewNode(cfg)
	demo.Check(err, "NewNode")
	// Allow the sender before announcing ourselves, so its first handshake attempt cannot
	// arrive too early.
	demo.Check(node.Allow(peerID), "Allow")
	key := node.PublicKey()
	fmt.Printf("READY %s %s %d\n", node.LocalAddr(), hex.EncodeToString(key[:]), node.ID())
	os.Stdout.Sync()

	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	demo.Check(node.Accept(ctx, peerID), "Accept")
	cancel()

	streams := make([]*netmesh.Stream, count)
	for k := range streams {
		streams[k], err = node.OpenStream(peerID, uint64(k+1), demo.StreamConfig(uint64(k+1)))
		demo.Check(err, "OpenStream")
	}

	ok := receiveAll(node, streams, events) == nil
	result := "OK"
	if !ok {
		result = "FAILED"
	}
	fmt.Printf("receiver: %s: %d stream(s) x %d event(s) from peer %d\n", result, count, events, peerID)
	for _, s := range streams {
		st, err := s.Stats()
		demo.Check(err, "Stats")
		demo.PrintStreamStats(st)
		demo.Check(s.Close(), "Close")
	}
	ns, err := node.Stats()
	demo.Check(err, "Stats")
	demo.PrintNodeStats(ns)
	demo.Check(node.Close(), "Close")
	if !ok {
		os.Exit(1)
	}
}

// receiveAll receives `events` events on every stream, checking their text and order.
func receiveAll(node *netmesh.Node, streams []*netmesh.Stream, events uint64) error {
	fd, err := node.EventFD()
	demo.Check(err, "EventFD")
	// An ended context makes Recv take what is queued now without blocking.
	poll, cancel := context.WithCancel(context.Background())
	cancel()
	received := make([]uint64, len(streams))
	remaining := uint64(len(streams)) * events
	for remaining > 0 {
		progress := false
		for k, s := range streams {
			id := uint64(k + 1)
			for {
				ev, err := s.Recv(poll)
				if errors.Is(err, context.Canceled) {
					break // nothing queued on this stream now: next one
				}
				demo.Check(err, "Recv")
				progress = true
				if received[k] == events {
					fmt.Fprintf(os.Stderr, "error: stream %d: unexpected event beyond %d\n", id, events)
					return errors.New("unexpected event")
				}
				if want := demo.EventText(id, received[k]); string(ev) != want {
					fmt.Fprintf(os.Stderr, "error: stream %d: expected %q, got %.80q (%d bytes)\n", id, want, ev, len(ev))
					return errors.New("wrong event")
				}
				received[k]++
				remaining--
			}
		}
		if remaining == 0 || progress {
			continue
		}
		if !waitReadable(fd, idleTimeout) {
			fmt.Fprintf(os.Stderr, "error: no event for %d ms; received per stream: %v of %d\n",
				idleTimeout.Milliseconds(), received, events)
			return errors.New("idle timeout")
		}
	}
	return nil
}

// waitReadable waits until fd is readable (select(2): the descriptor belongs to the node, so
// it is not handed to the Go runtime's poller, which would take ownership of it).
func waitReadable(fd int, timeout time.Duration) bool {
	for {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.NsecToTimeval(int64(timeout))
		n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
		if err == syscall.EINTR {
			continue // Go's runtime signals threads; retry (the timeout restarts, fine for a demo)
		}
		return err == nil && n > 0
	}
}
