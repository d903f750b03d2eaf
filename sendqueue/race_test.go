//go:build race

package sendqueue

const raceEnabled = true
