//go:build !unix

package websocket

// openFileLimit returns how many files the process may have open.
func openFileLimit() int { return 1 << 30 }
