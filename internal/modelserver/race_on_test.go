//go:build race

package modelserver

// raceEnabled is set when the tests run under the race detector, whose
// sync.Pool drops what it is given at random and which allocates itself.
const raceEnabled = true
