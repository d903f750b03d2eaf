package websocket

import (
	"os"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// TestMain runs the tests and then, if they passed, checks that they left
// no goroutine running: a last leak check that catches a test which forgot
// wstest.CheckLeaks.
func TestMain(m *testing.M) {
	os.Exit(wstest.CheckMain(m))
}
