package main

import (
	"fmt"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
)

// A runner lock lost during a run exits 1 (a step failed; the state is what
// the database holds), not 4 (another runner holds the lock; nothing
// touched), even when the error names the runner that holds it now.
func TestLockLostExitsOne(t *testing.T) {
	lost := &engine.LockLostError{Scope: "public.users", Plan: "plans/users-email.yaml", Phase: "enforce",
		Cause: "another runner took it meanwhile", Holder: &engine.LockHeldError{Scope: "public.users", Holder: "ci"}}
	for _, err := range []error{lost, fmt.Errorf("run: %w", lost)} {
		if got := exitCode(err); got != exitFailed {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, exitFailed)
		}
	}
	if got := exitCode(&engine.LockHeldError{Scope: "public.users"}); got != exitLockHeld {
		t.Errorf("a lock held by another runner exits %d, want %d", got, exitLockHeld)
	}
}
