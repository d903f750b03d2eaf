package websocket

// What the two ends agree on in the handshake: the subprotocol Upgrade
// picks from the client's offers and the header token lists it reads them
// from. permessage-deflate's parameters are negotiated in
// TestCompressionRoundTrip (compress_test.go), verified on Dial's side in
// TestDialResponseVerification (dial_test.go) and fuzzed in FuzzExtensions
// (fuzz_handshake_test.go).

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestSubprotocolNegotiation(t *testing.T) {
	tests := []struct {
		name   string
		server []string
		lines  string // the client's Sec-WebSocket-Protocol lines
		want   string
	}{
		{
			name:   "server's preference wins",
			server: []string{"v2.chat", "v1.chat"},
			lines:  "Sec-WebSocket-Protocol: v1.chat, v2.chat\r\n",
			want:   "v2.chat",
		},
		{
			name:   "only common protocol",
			server: []string{"v2.chat", "v1.chat"},
			lines:  "Sec-WebSocket-Protocol: mqtt, v1.chat\r\n",
			want:   "v1.chat",
		},
		{
			name:   "several header lines",
			server: []string{"graphql-ws", "graphql-transport-ws"},
			lines:  "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Protocol: soap,graphql-transport-ws\r\n",
			want:   "graphql-transport-ws",
		},
		{
			name:   "spaces and empty elements",
			server: []string{"b"},
			lines:  "Sec-WebSocket-Protocol: ,a ,  b  ,\r\n",
			want:   "b",
		},
		{
			name:   "none in common",
			server: []string{"v2.chat"},
			lines:  "Sec-WebSocket-Protocol: mqtt, soap\r\n",
			want:   "",
		},
		{
			name:   "client offers none",
			server: []string{"v2.chat"},
			want:   "",
		},
		{
			name:   "server speaks none",
			server: nil,
			lines:  "Sec-WebSocket-Protocol: v2.chat\r\n",
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(w, r, &UpgradeOptions{Subprotocols: tt.server})
			})
			_, _, resp := rawHandshake(t, addr, standardLines+tt.lines, nil)
			c, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			checkSwitched(t, resp)
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if got := resp.Header.Values("Sec-WebSocket-Protocol"); !slices.Equal(got, want) {
				t.Errorf("got Sec-WebSocket-Protocol %q, want %q", got, want)
			}
			if got := c.Subprotocol(); got != tt.want {
				t.Errorf("got Subprotocol() %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHandshakeHeaderTokens(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{
			name:   "absent",
			values: nil,
			want:   nil,
		},
		{
			name:   "one",
			values: []string{"chat"},
			want:   []string{"chat"},
		},
		{
			name:   "list",
			values: []string{"chat, superchat"},
			want:   []string{"chat", "superchat"},
		},
		{
			name:   "several lines",
			values: []string{"a,b", "c"},
			want:   []string{"a", "b", "c"},
		},
		{
			name:   "spaces and empty elements",
			values: []string{" , a ,\t, b ", ""},
			want:   []string{"a", "b"},
		},
		{
			name:   "case kept",
			values: []string{"Chat"},
			want:   []string{"Chat"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Sec-Websocket-Protocol": tt.values}
			if got := headerTokens(h, "Sec-WebSocket-Protocol"); !slices.Equal(got, tt.want) {
				t.Errorf("headerTokens(%q): got %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}
