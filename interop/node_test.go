package interop

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNode runs the matrix against Node's ws (interop/node, installed by
// npm ci from its package-lock.json): ws's client against our server and
// our client against ws's server, with and without perMessageDeflate.
func TestNode(t *testing.T) {
	node := lookPath(t, "node")
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		missing(t, "Node's ws is not installed in interop/node/node_modules")
	}
	testPeer(t, peerKind{
		name: "ws",
		server: func(deflate bool) []string {
			return flagDeflate([]string{node, filepath.Join(dir, "server.js")}, deflate)
		},
		client: func(url string, deflate bool) []string {
			return flagDeflate([]string{node, filepath.Join(dir, "client.js"), url}, deflate)
		},
	})
}

// flagDeflate appends --deflate to argv if deflate.
func flagDeflate(argv []string, deflate bool) []string {
	if deflate {
		return append(argv, "--deflate")
	}
	return argv
}
