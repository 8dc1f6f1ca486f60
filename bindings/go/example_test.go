package netmesh_test

import (
	"context"
	"fmt"
	"time"

	netmesh "github.com/netmesh/netmesh/bindings/go"
)

// Two nodes in one process: a connects to b, opens a reliable stream and sends two events.
func Example() {
	cfg := netmesh.DefaultConfig()
	for i := range cfg.PSK {
		cfg.PSK[i] = 0x42 // DEMO ONLY: a real mesh uses a secret PSK
	}
	a, _ := netmesh.NewNode(cfg)
	defer a.Close()
	b, _ := netmesh.NewNode(cfg)
	defer b.Close()

	// b must allow a before a's handshake arrives; Accept then waits for the session.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.Allow(a.ID())
	if err := a.Connect(ctx, b.LocalAddr(), b.PublicKey(), b.ID()); err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Accept(ctx, a.ID()); err != nil {
		fmt.Println(err)
		return
	}

	sc := netmesh.DefaultStreamConfig()
	sc.Reliability = netmesh.Reliable
	id := netmesh.StreamIDFromKey([]byte("greetings"))
	out, _ := a.OpenStream(b.ID(), id, sc)
	defer out.Close()
	in, _ := b.OpenStream(a.ID(), id, sc)
	defer in.Close()

	out.Send([]byte("hello"), []byte("world"))
	for i := 0; i < 2; i++ {
		ev, err := in.Recv(ctx)
		fmt.Println(string(ev), err)
	}
	// Output:
	// hello <nil>
	// world <nil>
}
