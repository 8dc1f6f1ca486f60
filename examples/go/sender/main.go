// netmesh sender (Go): the connecting end of the netmesh demo, command line and output as
// examples/c/sender.c.
//
//	sender --seed <64 hex> --print-id
//	    prints the node id (decimal) this identity seed yields, and exits.
//	sender --seed <64 hex> --connect <addr> --key <64 hex> --id <node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
//	    connects to the receiver (address, key and id come from its READY line), opens
//	    streams 1..K configured like the receiver's, sends N events "stream <id> event <i>"
//	    per stream round-robin, a few per call, waits until the receiver has read everything
//	    (all credit is back) or 1 s, prints stats, exits 0.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	netmesh "github.com/netmesh/netmesh/bindings/go"
	"netmesh.local/examples/internal/demo"
)

const (
	batch       = 8                // events per SendBlocking call
	sendTimeout = 10 * time.Second // longest wait for credit in one call
	drainWait   = time.Second      // longest wait for the receiver to read everything
)

func usage() {
	fmt.Fprint(os.Stderr, "usage: sender --seed <hex> --print-id\n"+
		"       sender --seed <hex> --connect <addr> --key <hex> --id <node id> [--bind addr] [--streams K] [--events N]\n"+
		"       (--bind 0.0.0.0:0 or [::]:0 to reach another host)\n")
	os.Exit(1)
}

func main() {
	var seedHex, addr, keyHex string
	bind := "127.0.0.1:0"
	var peerID, count, events uint64 = 0, 3, 1000
	printID, haveID := false, false
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		if args[i] == "--print-id" {
			printID = true
			continue
		}
		if i+1 >= len(args) {
			usage()
		}
		arg, val, ok := args[i], args[i+1], true
		i++
		switch arg {
		case "--seed":
			seedHex = val
		case "--connect":
			addr = val
		case "--bind":
			bind = val
		case "--key":
			keyHex = val
		case "--id":
			peerID, ok = demo.ParseU64(val)
			haveID = true
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
	if seedHex == "" || (!printID && (addr == "" || keyHex == "" || !haveID)) {
		usage()
	}

	cfg := netmesh.DefaultConfig()
	cfg.PSK = demo.PSK()
	cfg.BindAddr = bind
	seed, ok := demo.DecodeKey(seedHex)
	if !ok {
		fmt.Fprintln(os.Stderr, "error: --seed needs 64 hex characters")
		os.Exit(1)
	}
	cfg.IdentitySeed = seed
	node, err := netmesh.NewNode(cfg)
	demo.Check(err, "NewNode")
	if printID {
		fmt.Println(node.ID())
		demo.Check(node.Close(), "Close")
		return
	}

	key, ok := demo.DecodeKey(keyHex)
	if !ok {
		fmt.Fprintln(os.Stderr, "error: --key needs 64 hex characters")
		os.Exit(1)
	}
	demo.Check(node.Connect(context.Background(), addr, key, peerID), "Connect")

	streams := make([]*netmesh.Stream, count)
	for k := range streams {
		streams[k], err = node.OpenStream(peerID, uint64(k+1), demo.StreamConfig(uint64(k+1)))
		demo.Check(err, "OpenStream")
	}

	for from := uint64(0); from < events; from += batch {
		to := min(from+batch, events)
		for k, s := range streams {
			sendBatch(s, uint64(k+1), from, to)
		}
	}

	for deadline := time.Now().Add(drainWait); !allCreditBack(streams) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	drained := "not within 1 s"
	if allCreditBack(streams) {
		drained = "yes"
	}
	fmt.Printf("sender: OK: node %d sent %d stream(s) x %d event(s) to peer %d (receiver drained: %s)\n",
		node.ID(), count, events, peerID, drained)
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
}

// sendBatch sends events [from, to) of stream id in one call, waiting for credit if needed.
func sendBatch(s *netmesh.Stream, id, from, to uint64) {
	evs := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		evs = append(evs, []byte(demo.EventText(id, i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	_, err := s.SendBlocking(ctx, evs...)
	demo.Check(err, "SendBlocking")
}

// allCreditBack is true once the receiver has read everything: every window is whole again.
func allCreditBack(streams []*netmesh.Stream) bool {
	for _, s := range streams {
		st, err := s.Stats()
		demo.Check(err, "Stats")
		if st.TxCreditRemaining != st.TxWindow {
			return false
		}
	}
	return true
}
