package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// sessionWith is session (helpers_test.go) started with ctx: the waits it
// carries hold for the session's runner lock, whose keep-alive starts with
// the session.
func sessionWith(ctx context.Context, t *testing.T, db *testdb.DB, p *phases.Plan, opts Options) (*Session, *recorder) {
	t.Helper()
	eng, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	rec := &recorder{}
	if opts.Emit == nil {
		opts.Emit = rec.emit
	}
	s, err := eng.Start(ctx, p, opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s, rec
}

// lockSessionEnded waits until the runner lock's keep-alive has found its
// session gone, for at most within, and says whether it did.
func lockSessionEnded(s *Session, within time.Duration) bool {
	l := s.lock.(*sessionLock)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l.mu.Lock()
		found := l.ended != ""
		l.mu.Unlock()
		if found {
			return true
		}
	}
	return false
}

// lockLostFound waits until the runner lock is known to be lost for good
// (the keep-alive read another runner's holder row, or none), for at most
// within, and says whether it was.
func lockLostFound(s *Session, within time.Duration) bool {
	l := s.lock.(*sessionLock)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l.loss.err() != nil {
			return true
		}
	}
	return false
}

// A run without waits (every user's) has production's: the pauses of a
// retrier, the lock's pings.
func TestWaitsDefaultToProduction(t *testing.T) {
	w := waitsOf(context.Background())
	if w != (waits{}) {
		t.Fatalf("a context without waits carries %+v", w)
	}
	if got := w.pause(250 * time.Millisecond); got != 250*time.Millisecond {
		t.Errorf("a pause of 250ms is %s", got)
	}
	if got := w.pingEvery(); got != lockPingEvery {
		t.Errorf("the lock is pinged every %s, want %s", got, lockPingEvery)
	}
	set := waitsOf(withWaits(context.Background(), waits{retryScale: 0.1, lockPing: time.Second}))
	if got := set.pause(250 * time.Millisecond); got != 25*time.Millisecond {
		t.Errorf("a pause of 250ms at a tenth is %s", got)
	}
	if got := set.pingEvery(); got != time.Second {
		t.Errorf("the lock is pinged every %s, want 1s", got)
	}
}

// retryPauses runs a retrier whose operation always loses its connection,
// and returns the pauses it announced, until it gave up.
func retryPauses(t *testing.T, ctx context.Context, r *retrier) []time.Duration {
	t.Helper()
	lost := errors.New("connection refused")
	var pauses []time.Duration
	err := r.run(ctx, func(error) failureKind { return failConnection }, func() error { return lost },
		nil, func(_ error, wait time.Duration) { pauses = append(pauses, wait) })
	if !errors.Is(err, lost) {
		t.Fatalf("the retrier returned %v, want the operation's error", err)
	}
	return pauses
}

// Scaled waits make every try, each pause the production one scaled: the
// first from the connection's floor, doubling up to maxRetryPause.
func TestWaitsScaleEveryRetryPause(t *testing.T) {
	const scale = 0.001
	r := &retrier{first: 50 * time.Millisecond, connFirst: 500 * time.Millisecond, lockTries: 3, connTries: 10}
	pauses := retryPauses(t, withWaits(context.Background(), waits{retryScale: scale}), r)
	if r.attempts != 10 || len(pauses) != 9 {
		t.Fatalf("%d tries and %d pauses, want 10 and 9", r.attempts, len(pauses))
	}
	want := r.connFirst
	for i, got := range pauses {
		// Within a microsecond: the backoff doubles the scaled pause, which
		// may round a nanosecond apart from the doubled one scaled.
		if scaled := time.Duration(float64(want) * scale); got < scaled-time.Microsecond || got > scaled+time.Microsecond {
			t.Errorf("pause %d is %s, want %s (production's %s scaled)", i+1, got, scaled, want)
		}
		want = min(2*want, maxRetryPause)
	}
}

// Without waits the first pause after a lost connection is production's
// connection floor (the retry is stopped there, not slept through).
func TestWaitsLeaveProductionPauses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &retrier{first: 50 * time.Millisecond, connFirst: 500 * time.Millisecond, lockTries: 3, connTries: 10}
	var first time.Duration
	_ = r.run(ctx, func(error) failureKind { return failConnection }, func() error { return errors.New("connection refused") },
		nil, func(_ error, wait time.Duration) { first = wait; cancel() })
	if first != r.connFirst {
		t.Errorf("the first pause is %s, want production's %s", first, r.connFirst)
	}
}
