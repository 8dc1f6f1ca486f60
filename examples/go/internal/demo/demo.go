// Package demo holds what the Go sender and receiver share, mirroring examples/c/common.c
// so that Go and C (and Java, C#) programs interoperate: hex keys, the demo PSK, the
// stream layout, the event text and the stats lines.
package demo

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	netmesh "github.com/netmesh/netmesh/bindings/go"
)

// Check exits with status 1 after printing what failed, unless err is nil.
func Check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s: %v\n", what, err)
		os.Exit(1)
	}
}

// DecodeKey parses exactly 64 hex characters.
func DecodeKey(text string) (key [netmesh.KeySize]byte, ok bool) {
	b, err := hex.DecodeString(text)
	if err != nil || len(b) != netmesh.KeySize {
		return key, false
	}
	copy(key[:], b)
	return key, true
}

// PSK is the DEMO ONLY pre-shared key (every byte 0x42): publicly known, it authenticates
// nothing. A real mesh generates a secret PSK and distributes it out of band.
func PSK() (psk [netmesh.KeySize]byte) {
	for i := range psk {
		psk[i] = 0x42
	}
	return psk
}

// StreamConfig is the demo's layout, identical on both ends: stream 1 is fire-and-forget,
// every other stream reliable; all other settings are the library defaults.
func StreamConfig(streamID uint64) netmesh.StreamConfig {
	c := netmesh.DefaultStreamConfig()
	if streamID != 1 {
		c.Reliability = netmesh.Reliable
	}
	return c
}

// EventText is event i of stream id: "stream <id> event <i>".
func EventText(streamID, i uint64) string {
	return fmt.Sprintf("stream %d event %d", streamID, i)
}

// ParseU64 parses a decimal unsigned integer (the whole string, no sign).
func ParseU64(text string) (uint64, bool) {
	if text == "" || text[0] < '0' || text[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(text, 10, 64)
	return v, err == nil
}

func b2u(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PrintStreamStats prints one labelled line with the stream's stats, as the C examples do.
func PrintStreamStats(st netmesh.StreamStats) {
	fmt.Printf("  stream %d: peer_node_id=%d reliable=%d active=%d tx_seq=%d rx_seq=%d tx_events=%d"+
		" rx_events=%d inbound_pending=%d rx_gaps=%d rx_duplicates_dropped=%d backpressure_events=%d"+
		" tx_credit_remaining=%d tx_window=%d credit_grants_received=%d credit_grants_sent=%d"+
		" last_activity_ns=%d\n",
		st.StreamID, st.PeerNodeID, b2u(st.Reliable), b2u(st.Active), st.TxSeq, st.RxSeq, st.TxEvents,
		st.RxEvents, st.InboundPending, st.RxGaps, st.RxDuplicatesDropped, st.BackpressureEvents,
		st.TxCreditRemaining, st.TxWindow, st.CreditGrantsReceived, st.CreditGrantsSent, st.LastActivityNs)
}

// PrintNodeStats prints the node's stats, traffic on one line and drops on another.
func PrintNodeStats(st netmesh.NodeStats) {
	fmt.Printf("  node traffic: sessions=%d handshakes_completed=%d datagrams_sent=%d"+
		" datagrams_received=%d heartbeats_sent=%d heartbeats_received=%d\n",
		st.Sessions, st.HandshakesCompleted, st.DatagramsSent, st.DatagramsReceived,
		st.HeartbeatsSent, st.HeartbeatsReceived)
	fmt.Printf("  node drops: malformed=%d unknown_session=%d auth_failed=%d replay=%d"+
		" handshake_rejected=%d unexpected_handshake=%d unknown_subprotocol=%d bad_grant=%d\n",
		st.DropMalformed, st.DropUnknownSession, st.DropAuthFailed, st.DropReplay,
		st.DropHandshakeRejected, st.DropUnexpectedHandshake, st.DropUnknownSubprotocol, st.DropBadGrant)
}
