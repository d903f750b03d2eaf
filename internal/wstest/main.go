package wstest

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
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
	var extra []string
	for wait := time.Millisecond; wait < 5*time.Second; wait *= 2 {
		extra = extra[:0]
		for id, stack := range goroutines() {
			if _, ok := before[id]; !ok && !ignored(stack) {
				extra = append(extra, stack)
			}
		}
		if len(extra) == 0 {
			return 0
		}
		time.Sleep(wait)
	}
	sort.Strings(extra)
	fmt.Fprintf(os.Stderr, "wstest: %d goroutines leaked by the tests:\n%s\n", len(extra), strings.Join(extra, "\n\n"))
	return 1
}
