package websocket

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// extension is one element of a Sec-WebSocket-Extensions header
// (RFC 6455 §9.1): a name and its parameters in order.
type extension struct {
	name   string
	params []extensionParam
}

type extensionParam struct {
	key, value string
	hasValue   bool
}

var errExtensionSyntax = errors.New("malformed extension")

// Bounds on what a peer's Sec-WebSocket-Extensions headers cost to parse.
// A browser offers one or two elements of a few parameters. Elements past
// maxExtensionElements are ignored (a server declines them, RFC 6455 §9.1),
// and one with more than maxExtensionParams parameters is malformed, so that
// a header of a megabyte costs no more than a short one.
const (
	maxExtensionElements = 32
	maxExtensionParams   = 16
)

// parseExtensions splits the Sec-WebSocket-Extensions headers of h into
// extensions, up to maxExtensionElements. bad[i] marks an element that
// breaks the grammar of RFC 6455 §9.1, so that a server can decline just
// that offer.
func parseExtensions(h http.Header) (exts []extension, bad []bool) {
	for _, v := range h["Sec-Websocket-Extensions"] {
		for more := true; more; {
			var elem string
			elem, v, more = cutOutsideQuotes(v, ',')
			if strings.TrimSpace(elem) == "" {
				continue
			}
			if len(exts) == maxExtensionElements {
				return exts, bad
			}
			e, err := parseExtension(elem)
			exts = append(exts, e)
			bad = append(bad, err != nil)
		}
	}
	return exts, bad
}

// parseExtension parses `name *( ";" key [ "=" ( token | quoted-string ) ] )`.
func parseExtension(s string) (extension, error) {
	name, rest, more := cutOutsideQuotes(s, ';')
	e := extension{name: strings.TrimSpace(name)}
	if !isToken(e.name) {
		return e, errExtensionSyntax
	}
	for more {
		var p string
		p, rest, more = cutOutsideQuotes(rest, ';')
		if len(e.params) == maxExtensionParams {
			return e, errExtensionSyntax
		}
		key, value, hasValue := strings.Cut(p, "=")
		param := extensionParam{key: strings.TrimSpace(key), hasValue: hasValue}
		if !isToken(param.key) {
			return e, errExtensionSyntax
		}
		if hasValue {
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = strings.ReplaceAll(value[1:len(value)-1], `\`, "")
			}
			if !isToken(value) { // §9.1: a quoted value must still be a token
				return e, errExtensionSyntax
			}
			param.value = value
		}
		e.params = append(e.params, param)
	}
	return e, nil
}

// cutOutsideQuotes slices s around the first sep that is not inside a
// quoted string, like strings.Cut.
func cutOutsideQuotes(s string, sep byte) (before, after string, found bool) {
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseWindowBits parses a max_window_bits value: 8 to 15, written without
// leading zeros (RFC 7692 §7.1.2).
func parseWindowBits(s string) (int, bool) {
	if len(s) == 0 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 8 && n <= 15
}
