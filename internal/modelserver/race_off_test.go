//go:build !race

package modelserver

// raceEnabled is set when the tests run under the race detector.
const raceEnabled = false
