//go:build unix

package websocket

import "syscall"

// openFileLimit returns how many files the process may have open (which
// the Go runtime raises to the hard limit at start-up).
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return int(min(rl.Cur, 1<<30))
}
