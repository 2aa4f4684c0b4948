package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The retrier's limits: a lock timeout is tried lockTries times, a lost
// connection connTries times, anything else once; a check before a retry
// that fails stops it; a stop during a pause returns the context's error.
// The databases' own retries are in the retry tests of each dialect
// (TestPostgresBatchRetriesOnRowLock, TestConnectionLost, …).
func TestRetrierLimits(t *testing.T) {
	lockErr, connErr, otherErr := errors.New("lock"), errors.New("conn"), errors.New("other")
	classify := func(err error) failureKind {
		switch err {
		case lockErr:
			return failLockTimeout
		case connErr:
			return failConnection
		}
		return failOther
	}
	for _, c := range []struct {
		name  string
		fails []error // op's errors, in order; then it succeeds
		want  error
		tries int
	}{
		{"lock timeouts up to the limit", []error{lockErr, lockErr, lockErr, lockErr}, lockErr, 3},
		{"a lock timeout that passes", []error{lockErr, lockErr}, nil, 3},
		{"lost connections have their own limit", []error{connErr, connErr, connErr, connErr, connErr, connErr}, connErr, 5},
		{"other errors are not retried", []error{otherErr}, otherErr, 1},
		{"a lock timeout after lost connections counts all tries", []error{connErr, connErr, lockErr, lockErr}, lockErr, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &retrier{first: time.Millisecond, connFirst: 2 * time.Millisecond, jitter: 0.5, lockTries: 3, connTries: 5}
			calls, notified := 0, 0
			err := r.run(context.Background(), classify, func() error {
				calls++
				if calls <= len(c.fails) {
					return c.fails[calls-1]
				}
				return nil
			}, nil, func(error, time.Duration) { notified++ })
			if err != c.want || calls != c.tries || r.attempts != c.tries {
				t.Fatalf("error %v after %d calls (%d attempts); want %v after %d", err, calls, r.attempts, c.want, c.tries)
			}
			if notified != c.tries-1 {
				t.Fatalf("%d retries told, want %d", notified, c.tries-1)
			}
		})
	}

	t.Run("a failed check before a retry stops it", func(t *testing.T) {
		lost := errors.New("runner lock lost")
		r := &retrier{first: time.Millisecond, lockTries: 10, connTries: 10}
		calls := 0
		err := r.run(context.Background(), classify, func() error { calls++; return connErr },
			func(kind failureKind) error {
				if kind != failConnection {
					t.Errorf("checked after a failure of kind %v", kind)
				}
				return lost
			}, nil)
		if err != lost || calls != 1 {
			t.Fatalf("error %v after %d calls; want the check's error after 1", err, calls)
		}
	})

	t.Run("a stop during a pause", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &retrier{first: time.Hour, lockTries: 10, connTries: 10}
		err := r.run(ctx, classify, func() error { return lockErr }, nil, func(error, time.Duration) { cancel() })
		if !errors.Is(err, context.Canceled) || r.attempts != 1 {
			t.Fatalf("error %v after %d attempts; want context.Canceled after 1", err, r.attempts)
		}
	})
}
