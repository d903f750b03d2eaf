package interop

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// debianPython is the interpreter that sees Debian's python3-websockets; a
// python3 earlier on PATH may be another build without it.
const debianPython = "/usr/bin/python3"

// TestPython runs the matrix against Python's websockets (Debian's
// python3-websockets): its client against our server and our client
// against its server, with and without permessage-deflate.
func TestPython(t *testing.T) {
	if out, err := exec.Command(debianPython, "-c", "import websockets").CombinedOutput(); err != nil {
		missing(t, "%s cannot import websockets (Debian package python3-websockets): %v: %s", debianPython, err, out)
	}
	script, err := filepath.Abs(filepath.Join("python", "peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	testPeer(t, peerKind{
		name: "websockets",
		server: func(deflate bool) []string {
			return flagDeflate([]string{debianPython, script, "server"}, deflate)
		},
		client: func(url string, deflate bool) []string {
			return flagDeflate([]string{debianPython, script, "client", url}, deflate)
		},
	})
}
