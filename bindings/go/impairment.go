package netmesh

import (
	"time"

	"github.com/netmesh/netmesh/bindings/go/internal/capi"
)

// Fault injection for tests (the C API's netmesh_testing.h): everything in this file is
// test tooling, not needed to use netmesh.

// Impairment is seeded, reproducible fault injection at a node's socket (for tests).
// Decisions happen in this order: oversize, burst loss (Gilbert-Elliott), loss, rate limit,
// delay + jitter, reordering hold, duplication, corruption. Start from DefaultImpairment().
type Impairment struct {
	Loss            float64       // P(drop) per datagram
	BurstEnter      float64       // P(good -> bad) per datagram; in bad state all are dropped
	BurstExit       float64       // P(bad -> good) per datagram
	Duplicate       float64       // P(an extra copy)
	Reorder         float64       // P(held back by up to ReorderWindow)
	ReorderWindow   time.Duration // microsecond resolution
	Delay           time.Duration // fixed extra latency
	Jitter          time.Duration // + uniform [0, Jitter]
	RateBytesPerSec uint64        // 0 = unlimited
	RateQueueLimit  time.Duration // 200 ms: longer queueing drops
	Corrupt         float64       // P(one byte flipped)
	DropAboveBytes  uint32        // 0 = off: larger datagrams vanish (MTU black hole)
	DropBelowBytes  uint32        // 0 = off: shorter datagrams vanish (control traffic)
	Seed            uint64        // 1: same seed, same decisions
}

// Direction selects which datagrams an impairment applies to.
type Direction int

const (
	Outbound Direction = 1 // NM_OUTBOUND
	Inbound  Direction = 2 // NM_INBOUND
	Both     Direction = 3 // NM_BOTH_DIRECTIONS
)

// DefaultImpairment returns nm_impairment_init's values: nothing impaired.
func DefaultImpairment() Impairment {
	c := capi.NewNm_impairment_t()
	defer capi.DeleteNm_impairment_t(c)
	capi.Nm_impairment_init(c)
	return Impairment{
		Loss:            c.GetLoss(),
		BurstEnter:      c.GetBurst_enter(),
		BurstExit:       c.GetBurst_exit(),
		Duplicate:       c.GetDuplicate(),
		Reorder:         c.GetReorder(),
		ReorderWindow:   us(c.GetReorder_window_us()),
		Delay:           us(c.GetDelay_us()),
		Jitter:          us(c.GetJitter_us()),
		RateBytesPerSec: c.GetRate_bytes_per_sec(),
		RateQueueLimit:  us(c.GetRate_queue_limit_us()),
		Corrupt:         c.GetCorrupt(),
		DropAboveBytes:  uint32(c.GetDrop_above_bytes()),
		DropBelowBytes:  uint32(c.GetDrop_below_bytes()),
		Seed:            c.GetSeed(),
	}
}

func us(v uint) time.Duration { return time.Duration(v) * time.Microsecond }

func toUS(d time.Duration) uint { return uint(d / time.Microsecond) }

// SetImpairment applies imp to datagrams exchanged with peerID (0 = every peer without a
// setting of its own) in the given directions; nil removes it. Counted in ImpairmentStats().
// A duration that does not fit the C struct's uint32_t microseconds (negative, or over 71
// minutes) is ErrInvalidArgument.
func (n *Node) SetImpairment(peerID uint64, dir Direction, imp *Impairment) error {
	c := capi.Nm_impairment_t(capi.SwigcptrNm_impairment_t(0)) // NULL: remove
	if imp != nil {
		if err := durationError("nm_node_set_impairment", time.Microsecond,
			"ReorderWindow", imp.ReorderWindow, "Delay", imp.Delay, "Jitter", imp.Jitter,
			"RateQueueLimit", imp.RateQueueLimit); err != nil {
			return err
		}
		c = capi.NewNm_impairment_t()
		defer capi.DeleteNm_impairment_t(c)
		capi.Nm_impairment_init(c)
		c.SetLoss(imp.Loss)
		c.SetBurst_enter(imp.BurstEnter)
		c.SetBurst_exit(imp.BurstExit)
		c.SetDuplicate(imp.Duplicate)
		c.SetReorder(imp.Reorder)
		c.SetReorder_window_us(toUS(imp.ReorderWindow))
		c.SetDelay_us(toUS(imp.Delay))
		c.SetJitter_us(toUS(imp.Jitter))
		c.SetRate_bytes_per_sec(imp.RateBytesPerSec)
		c.SetRate_queue_limit_us(toUS(imp.RateQueueLimit))
		c.SetCorrupt(imp.Corrupt)
		c.SetDrop_above_bytes(uint(imp.DropAboveBytes))
		c.SetDrop_below_bytes(uint(imp.DropBelowBytes))
		c.SetSeed(imp.Seed)
	}
	return n.do("nm_node_set_impairment", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_set_impairment(h, peerID, uint(dir), c)
	})
}

// ImpairmentStats are what a node's impairments did, every peer and both directions summed
// (nm_impairment_stats_t).
type ImpairmentStats struct {
	Seen             uint64 // datagrams that went through an impairment
	DroppedLoss      uint64
	DroppedBurst     uint64
	DroppedRate      uint64
	DroppedOversize  uint64
	Duplicated       uint64
	Reordered        uint64
	Delayed          uint64
	Corrupted        uint64
	DroppedUndersize uint64
}

// ImpairmentStats returns the node's fault-injection counters.
func (n *Node) ImpairmentStats() (ImpairmentStats, error) {
	c := capi.NewNm_impairment_stats_t()
	defer capi.DeleteNm_impairment_stats_t(c)
	err := n.do("nm_node_impairment_stats", func(h uintptr) capi.Enum_SS_nm_status {
		return capi.Nm_node_impairment_stats(h, c)
	})
	if err != nil {
		return ImpairmentStats{}, err
	}
	return ImpairmentStats{
		Seen:             c.GetSeen(),
		DroppedLoss:      c.GetDropped_loss(),
		DroppedBurst:     c.GetDropped_burst(),
		DroppedRate:      c.GetDropped_rate(),
		DroppedOversize:  c.GetDropped_oversize(),
		Duplicated:       c.GetDuplicated(),
		Reordered:        c.GetReordered(),
		Delayed:          c.GetDelayed(),
		Corrupted:        c.GetCorrupted(),
		DroppedUndersize: c.GetDropped_undersize(),
	}, nil
}
