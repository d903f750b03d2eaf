package cases

import "github.com/wsforge/websocket/autobahn/internal/wire"

// utf8Group is one subsection of cases 6.5 to 6.23: a topic and its payloads.
type utf8Group struct {
	topic    string
	payloads []utf8Payload
}

type utf8Payload struct {
	valid bool
	data  []byte
}

func valid(s string) utf8Payload   { return utf8Payload{true, []byte(s)} }
func invalid(s string) utf8Payload { return utf8Payload{false, []byte(s)} }

// utf8Groups returns the payload groups of cases 6.5.x to 6.23.x in case
// order. The octet sequences follow Markus Kuhn's UTF-8 decoder stress test,
// grouped as the reference suite does.
func utf8Groups() []utf8Group {
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" // "κόσμε"

	var prefixes []utf8Payload
	for i := 1; i <= len(kosme); i++ {
		p := kosme[:i]
		prefixes = append(prefixes, utf8Payload{wire.ValidUTF8([]byte(p)), []byte(p)})
	}

	var contRun []byte
	for c := 0x80; c < 0xbf; c++ {
		contRun = append(contRun, byte(c))
	}
	var lonely []utf8Payload
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for c := r[0]; c < r[1]; c++ {
			s = append(s, byte(c), ' ')
		}
		lonely = append(lonely, utf8Payload{false, s})
	}
	truncated := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}
	var missing []utf8Payload
	concat := ""
	for _, s := range truncated {
		missing = append(missing, invalid(s))
		concat += s
	}

	// Noncharacters U+FFFE/U+FFFF and U+nFFFE/U+nFFFF of the other planes.
	nonchars := []utf8Payload{valid("\xef\xbf\xbe"), valid("\xef\xbf\xbf")}
	for _, lead := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, second := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if lead == 0xf4 && second != 0x8f {
				continue // beyond U+10FFFF
			}
			if lead == 0xf0 && second == 0x8f {
				continue // overlong
			}
			for _, last := range []byte{0xbe, 0xbf} {
				nonchars = append(nonchars, utf8Payload{true, []byte{lead, second, 0xbf, last}})
			}
		}
	}

	return []utf8Group{
		{"some valid UTF-8", []utf8Payload{
			valid("hello\x24world"), valid("hello\xc2\xa2world"), valid("hello\xe2\x82\xacworld"),
			valid("hello\xf0\xa4\xad\xa2world"), valid(kosme)}},
		{"every prefix of a valid multi-octet string", prefixes},
		{"first code point of each encoding length", []utf8Payload{
			valid("\x00"), valid("\xc2\x80"), valid("\xe0\xa0\x80"), valid("\xf0\x90\x80\x80")}},
		{"first five and six octet forms (no valid code points)", []utf8Payload{
			invalid("\xf8\x88\x80\x80\x80"), invalid("\xfc\x84\x80\x80\x80\x80")}},
		{"last code point of each encoding length", []utf8Payload{
			valid("\x7f"), valid("\xdf\xbf"), valid("\xef\xbf\xbf"), valid("\xf4\x8f\xbf\xbf")}},
		{"last four, five and six octet forms (beyond U+10FFFF)", []utf8Payload{
			invalid("\xf7\xbf\xbf\xbf"), invalid("\xfb\xbf\xbf\xbf\xbf"), invalid("\xfd\xbf\xbf\xbf\xbf\xbf")}},
		{"other boundaries", []utf8Payload{
			valid("\xed\x9f\xbf"), valid("\xee\x80\x80"), valid("\xef\xbf\xbd"), valid("\xf4\x8f\xbf\xbf"), invalid("\xf4\x90\x80\x80")}},
		{"unexpected continuation octets", []utf8Payload{
			invalid("\x80"), invalid("\xbf"), invalid("\x80\xbf"), invalid("\x80\xbf\x80"), invalid("\x80\xbf\x80\xbf"),
			invalid("\x80\xbf\x80\xbf\x80"), invalid("\x80\xbf\x80\xbf\x80\xbf"), {false, contRun}}},
		{"lead octets followed by a space", lonely},
		{"sequences missing their last continuation octet", missing},
		{"all incomplete sequences concatenated", []utf8Payload{invalid(concat)}},
		{"octets that never appear in UTF-8", []utf8Payload{
			invalid("\xfe"), invalid("\xff"), invalid("\xfe\xfe\xff\xff")}},
		{"overlong forms of '/'", []utf8Payload{
			invalid("\xc0\xaf"), invalid("\xe0\x80\xaf"), invalid("\xf0\x80\x80\xaf"), invalid("\xf8\x80\x80\x80\xaf"), invalid("\xfc\x80\x80\x80\x80\xaf")}},
		{"largest overlong forms", []utf8Payload{
			invalid("\xc1\xbf"), invalid("\xe0\x9f\xbf"), invalid("\xf0\x8f\xbf\xbf"), invalid("\xf8\x87\xbf\xbf\xbf"), invalid("\xfc\x83\xbf\xbf\xbf\xbf")}},
		{"overlong forms of NUL", []utf8Payload{
			invalid("\xc0\x80"), invalid("\xe0\x80\x80"), invalid("\xf0\x80\x80\x80"), invalid("\xf8\x80\x80\x80\x80"), invalid("\xfc\x80\x80\x80\x80\x80")}},
		{"single UTF-16 surrogates", []utf8Payload{
			invalid("\xed\xa0\x80"), invalid("\xed\xad\xbf"), invalid("\xed\xae\x80"), invalid("\xed\xaf\xbf"),
			invalid("\xed\xb0\x80"), invalid("\xed\xbe\x80"), invalid("\xed\xbf\xbf")}},
		{"paired UTF-16 surrogates", []utf8Payload{
			invalid("\xed\xa0\x80\xed\xb0\x80"), invalid("\xed\xa0\x80\xed\xbf\xbf"), invalid("\xed\xad\xbf\xed\xb0\x80"),
			invalid("\xed\xad\xbf\xed\xbf\xbf"), invalid("\xed\xae\x80\xed\xb0\x80"), invalid("\xed\xae\x80\xed\xbf\xbf"),
			invalid("\xed\xaf\xbf\xed\xb0\x80"), invalid("\xed\xaf\xbf\xed\xbf\xbf")}},
		{"noncharacters (valid UTF-8)", nonchars},
		{"specials such as the replacement character", []utf8Payload{
			valid("\xef\xbf\xb9"), valid("\xef\xbf\xba"), valid("\xef\xbf\xbb"), valid("\xef\xbf\xbc"),
			valid("\xef\xbf\xbd"), valid("\xef\xbf\xbe"), valid("\xef\xbf\xbf")}},
	}
}
