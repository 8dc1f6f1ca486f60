package netmesh

import (
	"math"
	"testing"
	"time"
)

// Durations that do not fit the C structs' uint32_t milliseconds / microseconds are
// ErrInvalidArgument (they were cast: negatives became huge, large values wrapped).
func TestDurationsOutOfRangeAreInvalidArguments(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, (math.MaxUint32 + 1) * time.Millisecond} {
		cfg := testConfig(0x42)
		cfg.DrainTimeout = d
		if n, err := NewNode(cfg); err == nil {
			n.Close()
			t.Fatalf("NewNode with DrainTimeout %v: no error", d)
		} else {
			expectErr(t, err, ErrInvalidArgument)
		}
	}
	n := testNode(t, 0x42)
	for _, d := range []time.Duration{-time.Microsecond, (math.MaxUint32 + 1) * time.Microsecond} {
		imp := DefaultImpairment()
		imp.Delay = d
		expectErr(t, n.SetImpairment(0, Both, &imp), ErrInvalidArgument)
	}
	imp := DefaultImpairment()
	imp.Delay = math.MaxUint32 * time.Microsecond // the largest that fits
	if err := n.SetImpairment(0, Both, &imp); err != nil {
		t.Fatal(err)
	}
}
