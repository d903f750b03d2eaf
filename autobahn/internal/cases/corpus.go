package cases

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The compression cases of the reference suite send slices of five files
// (a JSON report, a bitmap picture, German prose, an HTML report and a PDF).
// The runner generates its own data of the same kinds instead, from a fixed
// seed, so every run sends the same octets. Text data sets are ASCII, so any
// slice is valid UTF-8.
//
// Each data set's size is a multiple of 128 KiB, the largest message size,
// so that messages (consecutive slices, wrapping around) never straddle the
// end, and the sequence of messages repeats after size/L messages; the
// runner uses that to compress each distinct message only once.

// corpus is one data set.
type corpus struct {
	name   string // our description, shown in reports
	binary bool   // sent as binary messages (else text)
	size   int
	gen    func(r *rand.Rand, n int) []byte

	once sync.Once
	data []byte
}

// bytes returns the data, generated on first use.
func (c *corpus) bytes() []byte {
	c.once.Do(func() {
		c.data = c.gen(newCorpusRand(c), c.size)
		if len(c.data) != c.size {
			panic(fmt.Sprintf("corpus %s: generated %d octets, want %d", c.name, len(c.data), c.size))
		}
	})
	return c.data
}

// newCorpusRand returns the generator of a data set, with a fixed seed.
func newCorpusRand(c *corpus) *rand.Rand { return rand.New(rand.NewPCG(0x5eed, uint64(c.size))) }

const block = 128 << 10

// The data sets of subsections 12.1 to 12.5, in the reference suite's order;
// section 13 uses the JSON data set.
var (
	corpusJSON   = &corpus{name: "JSON document, a test report index (text)", size: 2 * block, gen: genJSON}
	corpusBitmap = &corpus{name: "grey-scale bitmap picture, 512 x 512 pixels (binary)", binary: true, size: 2 * block, gen: genBitmap}
	corpusProse  = &corpus{name: "German prose in UTF-8 (binary)", binary: true, size: 2 * block, gen: genProse}
	corpusHTML   = &corpus{name: "HTML document, a results table with a style sheet (text)", size: 3 * block, gen: genHTML}
	corpusPDF    = &corpus{name: "PDF-like document, mostly compressed streams (binary)", binary: true, size: 8 * block, gen: genPDF}
)

// fillTo cuts or pads (by repeating the text) b to exactly n octets.
func fillTo(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, b[:min(len(b), n-len(b))]...)
	}
	return b[:n]
}

func genJSON(r *rand.Rand, n int) []byte {
	var b strings.Builder
	verdicts := []string{"OK", "OK", "OK", "OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"}
	codes := []string{"1000", "1000", "1002", "1007", "null"}
	b.WriteString("{\n")
	for agent := 0; b.Len() < n; agent++ {
		fmt.Fprintf(&b, "   \"Agent-%d/%d.%d\": {\n", agent, r.IntN(5), r.IntN(20))
		for sec := 1; sec <= 13 && b.Len() < n; sec++ {
			for sub := 1; sub <= 1+r.IntN(8); sub++ {
				for c := 1; c <= 1+r.IntN(20); c++ {
					id := fmt.Sprintf("%d.%d.%d", sec, sub, c)
					fmt.Fprintf(&b, "      \"%s\": {\n         \"behavior\": \"%s\",\n         \"behaviorClose\": \"%s\",\n"+
						"         \"duration\": %d,\n         \"remoteCloseCode\": %s,\n         \"reportfile\": \"agent_%d_case_%s.json\"\n      },\n",
						id, verdicts[r.IntN(len(verdicts))], verdicts[r.IntN(3)], r.IntN(3000), codes[r.IntN(len(codes))],
						agent, strings.ReplaceAll(id, ".", "_"))
				}
			}
		}
		b.WriteString("   },\n")
	}
	return fillTo([]byte(b.String()), n)
}

func genBitmap(r *rand.Rand, n int) []byte {
	const w = 512
	out := make([]byte, n)
	for i := range out {
		x, y := i%w, i/w%w
		// A rendered picture, in integer arithmetic: rings around a centre
		// over a stepped diagonal gradient, a shaded disc, and a band of
		// texture (noise).
		d1 := (x-180)*(x-180) + (y-220)*(y-220)
		d2 := (x-390)*(x-390) + (y-130)*(y-130)
		v := 40 + (x+y)/8*2 + (d1/1200&7)*12
		if d2 < 90*90 {
			v = 220 - d2/200
		}
		if y >= 352 && y < 416 {
			v += r.IntN(24)
		}
		out[i] = byte(min(v, 255))
	}
	return out
}

var proseWords = strings.Fields(`und der die das ich du er sie es wir ihr nicht ist bin bist sind war hat habe
ein eine einen dem den des mit von zu im in auf an aus bei nach vor über unter durch für gegen ohne um
Welt Himmel Erde Geist Herz Seele Nacht Tag Licht Feuer Wasser Wort Tat Sinn Kraft Zeit Leben Tod Traum
Buch Wissen Glück Schmerz Liebe Freund Gott Teufel Mensch Natur Kunst Stunde Augenblick Gestalt Bild
sehen hören fühlen denken wissen glauben suchen finden streben wandeln schweigen rufen singen fliegen
schön groß klein alt jung hoch tief still dunkel hell warm kalt süß bitter ewig müde froh weit nah
schon noch nur doch auch gar sehr immer wieder nie oft bald heute hier dort so wie wenn als ob dass
Grüße Mädchen Frühling Bäume Blüten Träume Tränen Wünsche Mühe Öde Übermut Größe Füße weiß heiß`)

var proseSpeakers = []string{"DER GELEHRTE", "DER FREMDE", "DIE NACHBARIN", "DER SCHÜLER", "CHOR", "STIMME"}

func genProse(r *rand.Rand, n int) []byte {
	var b strings.Builder
	line := 0
	for b.Len() < n {
		if r.IntN(6) == 0 {
			fmt.Fprintf(&b, "\n%s:\n", proseSpeakers[r.IntN(len(proseSpeakers))])
			line = 0
		}
		words := 4 + r.IntN(9)
		for i := 0; i < words; i++ {
			w := proseWords[r.IntN(len(proseWords))]
			if i == 0 {
				first, size := utf8.DecodeRuneInString(w)
				w = string(unicode.ToUpper(first)) + w[size:]
			}
			if line+len(w) > 68 {
				b.WriteString("\n")
				line = 0
			} else if i > 0 {
				b.WriteString(" ")
				line++
			}
			b.WriteString(w)
			line += len(w)
		}
		b.WriteString([]string{".", ".", "!", "?", ",", ";", " –"}[r.IntN(7)])
		b.WriteString(" ")
		line += 2
	}
	return fillTo([]byte(b.String()), n)
}

func genHTML(r *rand.Rand, n int) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n   <head>\n      <meta charset=\"utf-8\" />\n      <style lang=\"css\">\n")
	for i, sel := range []string{"body", "table", "td.case", "td.ok", "td.failed", "td.info", "span.duration", "a.up", "pre.dump"} {
		fmt.Fprintf(&b, "%s {\n   margin: %dpx;\n   padding: %dpx %dpx;\n   color: #%03x;\n   font-size: 0.%dem;\n}\n\n", sel, i*4, 2+i, 8+i*2, r.IntN(0x1000), 7+i%3)
	}
	b.WriteString("</style>\n   </head>\n   <body>\n      <table id=\"results\">\n")
	classes := []string{"ok", "ok", "ok", "non_strict", "failed", "info"}
	for row := 0; b.Len() < n; row++ {
		id := fmt.Sprintf("%d_%d_%d", 1+row/400, 1+row/20%20, 1+row%20)
		fmt.Fprintf(&b, "         <tr class=\"row\">\n            <td class=\"case\"><a href=\"#case_%s\">Case %s</a></td>\n", id, strings.ReplaceAll(id, "_", "."))
		for agent := 0; agent < 3; agent++ {
			cl := classes[r.IntN(len(classes))]
			fmt.Fprintf(&b, "            <td class=\"%s\"><a href=\"agent_%d_case_%s.html\">%s</a><span class=\"duration\">%d ms</span></td>\n",
				cl, agent, id, strings.ToUpper(cl[:1])+cl[1:], r.IntN(2000))
		}
		b.WriteString("         </tr>\n")
	}
	return fillTo([]byte(b.String()), n)
}

func genPDF(r *rand.Rand, n int) []byte {
	var b []byte
	b = append(b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"...)
	var offsets []int
	for obj := 1; len(b) < n; obj++ {
		offsets = append(offsets, len(b))
		if obj%3 != 0 {
			b = fmt.Appendf(b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>\nendobj\n",
				obj, obj+1, 4+r.IntN(8))
			continue
		}
		// A compressed content stream: octets without structure.
		length := 2000 + r.IntN(30000)
		b = fmt.Appendf(b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, length)
		for i := 0; i < length; i++ {
			b = append(b, byte(r.Uint32()))
		}
		b = append(b, "\nendstream\nendobj\n"...)
	}
	b = b[:n-1024]
	b = append(b, "xref\n0 64\n0000000000 65535 f \n"...)
	for i := 0; len(b) < n-64; i++ {
		b = fmt.Appendf(b, "%010d 00000 n \n", offsets[i%len(offsets)])
	}
	b = append(b, "trailer\n<< /Size 64 /Root 1 0 R >>\nstartxref\n"...)
	return fillTo(b, n)
}
