package conntrack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Importing conntrack must register nothing: expvar and net/http/pprof add
// handlers to http.DefaultServeMux from their init functions, so neither
// may be among its dependencies. Publishing the metrics is the
// application's choice (the examples, not linked into programs, do).
func TestImportHasNoSideEffects(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool += ".exe"
		if _, err := os.Stat(goTool); err != nil {
			t.Skipf("the go tool is needed to list the package's dependencies: %v", err)
		}
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/wsforge/websocket/conntrack").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/wsforge/websocket/conntrack") {
		t.Fatalf("go list -deps: got %v, want conntrack among them", deps)
	}
	for _, banned := range []string{"expvar", "net/http/pprof"} {
		if slices.Contains(deps, banned) {
			t.Errorf("conntrack depends on %s, want it not to", banned)
		}
	}
}
