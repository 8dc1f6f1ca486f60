// Per-language throughput through the Go binding: the same flow as ../flow.c (see there),
// with SendBlocking batches and a reused Batch (RecvBatchInto). Prints
//
//	RESULT go <size> <batch> <events> <seconds> <events per second>
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	netmesh "github.com/netmesh/netmesh/bindings/go"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "flow (Go):", what+":", err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: flow <events> <size> <batch>")
		os.Exit(2)
	}
	events, _ := strconv.Atoi(os.Args[1])
	size, _ := strconv.Atoi(os.Args[2])
	batch, _ := strconv.Atoi(os.Args[3])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := netmesh.DefaultConfig()
	for i := range cfg.PSK {
		cfg.PSK[i] = 0x5c
	}
	a, err := netmesh.NewNode(cfg)
	must(err, "NewNode")
	defer a.Close()
	b, err := netmesh.NewNode(cfg)
	must(err, "NewNode")
	defer b.Close()
	must(b.Allow(a.ID()), "Allow")
	must(a.Connect(ctx, b.LocalAddr(), b.PublicKey(), b.ID()), "Connect")
	must(b.Accept(ctx, a.ID()), "Accept")
	sc := netmesh.DefaultStreamConfig()
	sc.Reliability = netmesh.Reliable
	sc.WindowBytes = 1 << 20
	out, err := a.OpenStream(b.ID(), 7, sc)
	must(err, "OpenStream")
	in, err := b.OpenStream(a.ID(), 7, sc)
	must(err, "OpenStream")

	evs := make([][]byte, batch)
	for i := range evs {
		evs[i] = make([]byte, size)
	}
	rx := netmesh.NewBatch(batch)
	warm := events / 4 // untimed, as in flow.c
	total := warm + events
	go func() {
		for sent := 0; sent < total; {
			n := min(batch, total-sent)
			done, err := out.SendBlocking(ctx, evs[:n]...)
			must(err, "SendBlocking")
			sent += done
		}
	}()
	var t0 time.Time
	timedFrom := 0
	for got := 0; got < total; {
		n, err := in.RecvBatchInto(ctx, rx)
		must(err, "RecvBatchInto")
		got += n
		if t0.IsZero() && got >= warm {
			t0, timedFrom = time.Now(), got
		}
	}
	t := time.Since(t0).Seconds()
	fmt.Printf("RESULT go %d %d %d %.6f %.0f\n", size, batch, events, t, float64(total-timedFrom)/t)
}
