package wstest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// CheckMain runs m's tests and, if they passed, checks that they left no
// goroutine running once those ending have had time to: a last leak check
// for TestMain, which catches a test that forgot CheckLeaks. It returns the
// exit code for os.Exit.
//
//	func TestMain(m *testing.M) { os.Exit(wstest.CheckMain(m)) }
func CheckMain(m *testing.M) int {
	before := goroutines()
	code := m.Run()
	if code != 0 {
		return code
	}
	extra := leakedSince(before)
	if len(extra) == 0 {
		return 0
	}
	fmt.Fprintf(os.Stderr, "wstest: %d goroutines leaked by the tests:\n%s\n", len(extra), strings.Join(extra, "\n\n"))
	return 1
}
