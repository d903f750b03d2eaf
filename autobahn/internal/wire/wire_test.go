package wire

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestAppendFrameLengths(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		header int
	}{
		{"empty", 0, 2},
		{"short", 125, 2},
		{"16-bit", 126, 4},
		{"16-bit max", 65535, 4},
		{"64-bit", 65536, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte{'x'}, tc.n)
			f := AppendFrame(nil, true, 0, OpBinary, nil, payload)
			if len(f) != tc.header+tc.n {
				t.Fatalf("frame length %d, want %d", len(f), tc.header+tc.n)
			}
			if f[0] != 0x82 {
				t.Fatalf("first octet %#x", f[0])
			}
			key := [4]byte{1, 2, 3, 4}
			m := AppendFrame(nil, false, 5, 0x13, &key, payload)
			if m[0] != 0x53 || m[1]&0x80 == 0 {
				t.Fatalf("masked header %x", m[:2])
			}
			got := m[tc.header+4:]
			Mask(key, 0, got)
			if !bytes.Equal(got, payload) {
				t.Fatal("unmasking did not restore the payload")
			}
		})
	}
}

func TestMaskSplit(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	whole := bytes.Clone(data)
	Mask(key, 0, whole)
	for _, split := range []int{0, 1, 3, 5, 17, 999} {
		part := bytes.Clone(data)
		pos := Mask(key, 0, part[:split])
		Mask(key, pos, part[split:])
		if !bytes.Equal(part, whole) {
			t.Fatalf("split at %d differs", split)
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// The example from RFC 6455, section 1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got %q", got)
	}
}

func TestUTF8AgainstStdlib(t *testing.T) {
	var samples [][]byte
	for c := 0; c < 256; c++ {
		samples = append(samples, []byte{byte(c)})
		for d := 0x70; d < 0xc4; d++ {
			samples = append(samples, []byte{byte(c), byte(d)}, []byte{byte(c), byte(d), 0x80}, []byte{byte(c), byte(d), 0xbf, 0xbf})
		}
	}
	for r := rune(0); r <= 0x10ffff; r += 97 {
		samples = append(samples, utf8.AppendRune(nil, r))
	}
	samples = append(samples, []byte("\xed\xa0\x80"), []byte("\xf4\x90\x80\x80"), []byte("\xc0\xaf"), []byte("κόσμε"))
	for i, s := range samples {
		if got, want := ValidUTF8(s), utf8.Valid(s); got != want {
			t.Errorf("%x: got %v, want %v", s, got, want)
		}
		if i%11 != 0 && i < len(samples)-4 {
			continue
		}
		// Within ASCII runs (the validator skips those in blocks), and with
		// the same rejection offset as when fed one octet at a time.
		long := append(append([]byte("0123456789abc"), s...), "defghijklmnopqrs"...)
		if got, want := ValidUTF8(long), utf8.Valid(long); got != want {
			t.Errorf("%x: got %v, want %v", long, got, want)
		}
		var whole, single UTF8Validator
		whole.Validate(long)
		for i := range long {
			if ok, _ := single.Validate(long[i : i+1]); !ok {
				break
			}
		}
		if whole.Offset() != single.Offset() {
			t.Errorf("%x: rejected at %d, one octet at a time at %d", long, whole.Offset(), single.Offset())
		}
	}
}

func TestUTF8FailFast(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string
		failAt   int // index of the chunk that must be rejected, -1 for none
		complete bool
	}{
		{"split code point", []string{"\xce", "\xba"}, -1, true},
		{"ends inside", []string{"a\xe1\xbd"}, -1, false},
		{"out of range in second chunk", []string{"\xce\xba\xf4", "\x90", "\x80\x80"}, 1, false},
		{"surrogate", []string{"ed", "\xed\xa0\x80"}, 1, false},
		{"stays rejected", []string{"\xff", "a"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v UTF8Validator
			failed := -1
			for i, c := range tc.chunks {
				ok, _ := v.Validate([]byte(c))
				if !ok && failed < 0 {
					failed = i
				}
				if failed >= 0 && ok {
					t.Fatalf("chunk %d accepted after a rejection", i)
				}
			}
			if failed != tc.failAt {
				t.Fatalf("rejected at chunk %d, want %d", failed, tc.failAt)
			}
			if v.Complete() != tc.complete {
				t.Fatalf("complete = %v", v.Complete())
			}
		})
	}
}

func TestValidCloseCode(t *testing.T) {
	valid := []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 3999, 4000, 4999}
	invalid := []int{0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for _, c := range valid {
		if !ValidCloseCode(c) {
			t.Errorf("%d should be valid", c)
		}
	}
	for _, c := range invalid {
		if ValidCloseCode(c) {
			t.Errorf("%d should be invalid", c)
		}
	}
}
