package websocket

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Importing the package must register nothing. Some standard packages do
// so from their init functions, which run as soon as anything in the
// program imports them: expvar adds GET /debug/vars to
// http.DefaultServeMux, showing the command line and memory statistics of
// every program that serves the default mux, and net/http/pprof adds the
// profiling handlers under /debug/pprof/. Publishing metrics or profiles
// is the application's choice, so neither may be among the package's
// dependencies (its tests and examples may import them: they are not
// linked into a program that imports the package).
func TestImportHasNoSideEffects(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if runtime.GOOS == "windows" {
		goTool += ".exe"
	}
	if _, err := os.Stat(goTool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go tool is needed to list the package's dependencies: %v", err)
		}
		t.Skipf("the go tool is needed to list the package's dependencies: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "github.com/wsforge/websocket")
	cmd.Dir = "." // the package's directory, inside its module
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	importers := make(map[string][]string) // a dependency's importers among the dependencies
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), " ")
		if _, ok := importers[pkg]; !ok {
			importers[pkg] = nil
		}
		for _, imp := range strings.Fields(imports) {
			importers[imp] = append(importers[imp], pkg)
		}
	}
	if _, ok := importers["github.com/wsforge/websocket"]; !ok {
		t.Fatalf("go list -deps did not list the package itself:\n%s", out)
	}
	for _, banned := range []string{
		"expvar",
		"net/http/pprof",
	} {
		if by, ok := importers[banned]; ok {
			t.Errorf("got %s among the dependencies (imported by %s), want it absent: its init registers handlers on http.DefaultServeMux", banned, strings.Join(by, ", "))
		}
	}
}
