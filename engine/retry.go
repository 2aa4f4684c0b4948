package engine

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// maxLockRetries bounds how often a statement that timed out waiting for its
// lock is retried before the phase fails (and can be rerun).
const maxLockRetries = 10

// maxRetryPause is the longest pause between two tries, before its jitter.
const maxRetryPause = 5 * time.Second

// retrier runs an operation again, after a growing pause
// (github.com/cenkalti/backoff), while it fails on what passes: a lock
// timeout or a lost connection. Any other failure, or one more than its
// kind's tries allow, is returned at once. It is the one retry loop of the
// engine: scripts (runScript), batches (runBatch) and single statements on
// the pool (retryLocked) differ only in their limits.
type retrier struct {
	first     time.Duration // the first pause
	connFirst time.Duration // the least pause once a connection is lost: a server restarting needs a moment
	jitter    float64       // each pause is within ±jitter of its interval
	lockTries int           // tries in all while the failures are lock timeouts
	connTries int           // tries in all once the connection was lost
	// steady keeps every pause at first (within its jitter) instead of
	// doubling it: a NOWAIT statement waits for a moment with no session
	// on its table, which is as likely at any try (shadow_lock.go).
	steady bool

	// attempts, kind and troubled say, once run returns, how it went: the
	// tries made, the kind of the last failure and when the first failure
	// that was retried came.
	attempts int
	kind     failureKind
	troubled time.Time
}

// run calls op until it succeeds, fails for good, or ctx ends. before is
// called before each retry, after its pause, with the failure that led to
// it: its error stops the retries and is returned (a runner lock that was
// lost). notify is told of each retry before its pause. run returns op's
// last error, or ctx's when ctx ended during a pause.
func (r *retrier) run(ctx context.Context, classify func(error) failureKind, op func() error,
	before func(kind failureKind) error, notify func(err error, wait time.Duration)) error {
	w := waitsOf(ctx) // production's, unless a test shortened them
	multiplier := 2.0
	if r.steady {
		multiplier = 1
	}
	b := &backoff.ExponentialBackOff{InitialInterval: w.pause(r.first), RandomizationFactor: r.jitter, Multiplier: multiplier, MaxInterval: w.pause(maxRetryPause)}
	floored := false
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		if r.attempts > 0 && before != nil {
			if err := before(r.kind); err != nil {
				return struct{}{}, backoff.Permanent(err)
			}
		}
		r.attempts++
		err := op()
		if err == nil {
			return struct{}{}, nil
		}
		r.kind = classify(err)
		tries := r.lockTries
		switch r.kind {
		case failLockTimeout:
		case failConnection:
			tries = r.connTries
			if r.connFirst > r.first && !floored {
				floored = true
				b.InitialInterval = w.pause(r.connFirst)
				b.Reset()
			}
		default:
			return struct{}{}, backoff.Permanent(err)
		}
		if r.troubled.IsZero() {
			r.troubled = time.Now()
		}
		if r.attempts >= tries {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, wait time.Duration) {
		if notify != nil {
			notify(err, wait)
		}
	}))
	return err
}
