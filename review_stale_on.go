//go:build failpoints

package main

import (
	"os"
	"time"
)

// reviewStaleAfter serves the crash tests only, in a binary built with
// -tags failpoints: SHEPHERD_TEST_REVIEW_STALE_AFTER (a Go duration) is the
// age from which a scratch database left by a killed review is dropped, so
// that the test of a kill -9 mid-review need not wait review's 5 minutes.
// Unset or unreadable: review's default.
func reviewStaleAfter() time.Duration {
	d, err := time.ParseDuration(os.Getenv("SHEPHERD_TEST_REVIEW_STALE_AFTER"))
	if err != nil {
		return 0
	}
	return d
}
