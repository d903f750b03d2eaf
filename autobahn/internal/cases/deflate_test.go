package cases

import (
	"bytes"
	"testing"

	"github.com/wsforge/websocket/autobahn/internal/pmce"
)

// TestRingSenderReplay checks that the compressed messages the runner sends
// again one period later inflate correctly for a testee that keeps its
// context (and for one that does not, where the runner compresses each
// message on its own).
func TestRingSenderReplay(t *testing.T) {
	data := corpusHTML.bytes()
	for _, p := range []pmce.Params{
		{SendWindowBits: 15, RecvWindowBits: 15},
		{SendNoContextTakeover: true, SendWindowBits: 15, RecvNoContextTakeover: true, RecvWindowBits: 15},
		{SendWindowBits: 9, RecvWindowBits: 9},
	} {
		for _, length := range []int{4096, 32768, 131072} {
			d := pmce.NewDeflater(p)
			f := pmce.NewInflater(pmce.Params{RecvNoContextTakeover: p.SendNoContextTakeover, RecvWindowBits: p.SendWindowBits})
			s := newRingSender(d, data, length, 1000)
			count := 2*s.period + fullWindow/length + 2
			for i := 0; i < count; i++ {
				msg, c := s.next()
				got, err := f.Inflate(c, 0)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s, length %d, message %d: %v", p, length, i, err)
				}
			}
			for k, c := range s.cache {
				if c == nil {
					t.Errorf("%s, length %d: message %d of the period is compressed every time", p, length, k)
				}
			}
			d.Release()
		}
	}
}

// TestCorpora checks the generated data sets: sizes, determinism and valid
// UTF-8 for those sent as text.
func TestCorpora(t *testing.T) {
	for _, c := range []*corpus{corpusJSON, corpusBitmap, corpusProse, corpusHTML, corpusPDF} {
		b := c.bytes()
		if len(b) != c.size || c.size%block != 0 {
			t.Errorf("%s: %d octets", c.name, len(b))
		}
		again := c.gen(newCorpusRand(c), c.size)
		if !bytes.Equal(again, b) {
			t.Errorf("%s: not deterministic", c.name)
		}
		if !c.binary {
			for i, ch := range b {
				if ch >= 0x80 {
					t.Errorf("%s: non-ASCII octet at %d", c.name, i)
					break
				}
			}
		}
	}
}
