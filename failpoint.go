//go:build !failpoints

package main

// failpoint is the engine's crash hook. The normal build has none: no
// environment variable can make a production binary kill itself. The crash
// tests build the binary with -tags failpoints (failpoint_on.go).
func failpoint() func(string) { return nil }
