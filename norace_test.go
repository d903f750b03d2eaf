//go:build !race

package websocket

// raceEnabled reports whether the tests were built with -race. The race
// detector makes testing.AllocsPerRun unreliable, so zero-allocation tests
// skip themselves when it is set.
const raceEnabled = false
