package fuzz

import (
	"encoding/hex"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Stats counts octets (by write/read size) and frames (by opcode) in both
// directions, like the reference suite's wire statistics.
type Stats struct {
	RxOctets map[int]int `json:"rxOctetStats"`
	TxOctets map[int]int `json:"txOctetStats"`
	RxFrames map[int]int `json:"rxFrameStats"`
	TxFrames map[int]int `json:"txFrameStats"`
}

// counters is the concurrency-safe accumulator behind Stats (the writer
// goroutine counts transmitted octets).
type counters struct {
	mu sync.Mutex
	s  Stats
}

func newCounters() *counters {
	return &counters{s: Stats{RxOctets: map[int]int{}, TxOctets: map[int]int{}, RxFrames: map[int]int{}, TxFrames: map[int]int{}}}
}

func (c *counters) add(m func(*Stats) map[int]int, k int) {
	c.mu.Lock()
	m(&c.s)[k]++
	c.mu.Unlock()
}

func (c *counters) addRxOctets(n int) { c.add(func(s *Stats) map[int]int { return s.RxOctets }, n) }
func (c *counters) addTxOctets(n int) { c.add(func(s *Stats) map[int]int { return s.TxOctets }, n) }
func (c *counters) addRxFrame(op byte) {
	c.add(func(s *Stats) map[int]int { return s.RxFrames }, int(op))
}
func (c *counters) addTxFrame(op byte) {
	c.add(func(s *Stats) map[int]int { return s.TxFrames }, int(op))
}

func (c *counters) txFrames(op byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.TxFrames[int(op)]
}

// snapshot returns a copy that is safe to use while the writer still runs.
func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := func(m map[int]int) map[int]int {
		out := make(map[int]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return Stats{RxOctets: cp(c.s.RxOctets), TxOctets: cp(c.s.TxOctets), RxFrames: cp(c.s.RxFrames), TxFrames: cp(c.s.TxFrames)}
}

// CompressionStats count compressed messages per direction.
type CompressionStats struct {
	Sent     CompressionCount `json:"sent"`
	Received CompressionCount `json:"received"`
}

// CompressionCount counts compressed messages, their octets and their
// compressed payload octets; Ratio is compressed / uncompressed.
type CompressionCount struct {
	Messages   int     `json:"messages"`
	Octets     int64   `json:"octets"`
	Compressed int64   `json:"compressedOctets"`
	Ratio      float64 `json:"ratio"`
}

func (c *CompressionCount) ratio() {
	if c.Octets > 0 {
		c.Ratio = float64(c.Compressed) / float64(c.Octets)
	}
}

// LogEntry is one line of the wire log: what was sent, received or scheduled.
type LogEntry struct {
	At   float64 `json:"t"` // seconds since the case started
	Kind string  `json:"kind"`
	Text string  `json:"text"`
}

func (p *Peer) logf(kind, format string, args ...any) {
	if len(p.wirelog) >= p.cfg.WireLogLimit {
		p.logCut++
		return
	}
	at := 0.0
	if !p.started.IsZero() {
		at = time.Since(p.started).Seconds()
	}
	p.wirelog = append(p.wirelog, LogEntry{At: at, Kind: kind, Text: fmt.Sprintf(format, args...)})
}

// logFull reports whether the wire log reached its limit; it then only
// counts the entries it leaves out.
func (p *Peer) logFull() bool {
	if len(p.wirelog) >= p.cfg.WireLogLimit {
		p.logCut++
		return true
	}
	return false
}

func (p *Peer) logOctets(kind string, b []byte) {
	if p.logFull() {
		return
	}
	p.logf(kind, "%d octets: %s", len(b), HexPreview(b, 64))
}

func (p *Peer) logFrame(kind string, op byte, fin bool, rsv byte, masked bool, payload []byte, chop int, sync bool) {
	if p.logFull() {
		return
	}
	extra := ""
	if chop > 0 {
		extra += fmt.Sprintf(" CHOP=%d", chop)
	}
	if sync {
		extra += " SYNC"
	}
	p.logf(kind, "OPCODE=%d FIN=%v RSV=%d MASKED=%v LEN=%d%s PAYLOAD=%s", op, fin, rsv, masked, len(payload), extra, Preview(payload))
}

// Preview renders a payload the way the reference suite's reports do: at most
// 64 octets, followed by " ..." when the payload has more than 60 octets;
// valid UTF-8 as text, anything else as "0x" and hex.
func Preview(b []byte) string {
	const maxLen, ellipsis = 64, " ..."
	cut := b
	suffix := ""
	if len(b) > maxLen-len(ellipsis) {
		cut = b[:min(len(b), maxLen)]
		suffix = ellipsis
	}
	if utf8Strict(cut) {
		return string(cut) + suffix
	}
	return "0x" + HexPreview(b, maxLen)
}

// HexPreview hex-encodes at most n octets of b, adding " ..." when b has more
// than n-4 octets.
func HexPreview(b []byte, n int) string {
	if len(b) > n-4 {
		return hex.EncodeToString(b[:min(len(b), n)]) + " ..."
	}
	return hex.EncodeToString(b)
}

func utf8Strict(b []byte) bool {
	// Go's decoder rejects surrogates and overlong forms, as Python's does.
	return utf8.Valid(b)
}
