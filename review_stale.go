//go:build !failpoints

package main

import "time"

// reviewStaleAfter is the age from which review drops another review's
// scratch database as left by a killed one: review's own default (0). Only
// the crash tests' build (-tags failpoints, review_stale_on.go) can change
// it, so that no environment variable can make a production review drop the
// scratch database of a review still starting up.
func reviewStaleAfter() time.Duration { return 0 }
