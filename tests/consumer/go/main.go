// A program outside the source tree that uses the installed netmesh as a Go user would:
// two nodes, a reliable stream, 1,000 numbered events that must arrive once each, in order.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	netmesh "github.com/netmesh/netmesh/bindings/go"
)

const events = 1000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "consumer (Go):", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := netmesh.DefaultConfig()
	for i := range cfg.PSK {
		cfg.PSK[i] = 0x5c
	}
	cfg.BindAddr = "127.0.0.1:0"
	a, err := netmesh.NewNode(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := netmesh.NewNode(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Allow(a.ID()); err != nil {
		return err
	}
	if err := a.Connect(ctx, b.LocalAddr(), b.PublicKey(), b.ID()); err != nil {
		return err
	}
	if err := b.Accept(ctx, a.ID()); err != nil {
		return err
	}
	sc := netmesh.DefaultStreamConfig()
	sc.Reliability = netmesh.Reliable
	id := netmesh.StreamIDFromKey([]byte("consumer"))
	out, err := a.OpenStream(b.ID(), id, sc)
	if err != nil {
		return err
	}
	defer out.Close()
	in, err := b.OpenStream(a.ID(), id, sc)
	if err != nil {
		return err
	}
	defer in.Close()

	sent := make(chan error, 1)
	go func() {
		for i := uint32(0); i < events; i++ {
			ev := make([]byte, 256)
			binary.LittleEndian.PutUint32(ev, i)
			if _, err := out.SendBlocking(ctx, ev); err != nil {
				sent <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		sent <- nil
	}()
	for i := uint32(0); i < events; i++ {
		ev, err := in.Recv(ctx)
		if err != nil {
			return fmt.Errorf("recv %d: %w", i, err)
		}
		if len(ev) != 256 || binary.LittleEndian.Uint32(ev) != i {
			return fmt.Errorf("event %d: got %d bytes numbered %d", i, len(ev), binary.LittleEndian.Uint32(ev))
		}
	}
	if err := <-sent; err != nil {
		return err
	}
	fmt.Printf("consumer (Go): OK: %d reliable events in order, netmesh %s\n", events, netmesh.Version())
	return nil
}
