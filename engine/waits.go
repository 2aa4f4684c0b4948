package engine

import (
	"context"
	"time"
)

// The engine waits for production-sized intervals: a retrier's pauses grow
// to maxRetryPause, so that ten tries outlast a server restart, and the
// runner lock's session is pinged every lockPingEvery. A test that proves
// what happens across those waits (every try of a long outage, a session
// kept alive past its idle timeout) need not sleep through them at full
// size: it shortens them through the context of its run. The context key is
// unexported, so nothing outside this package (the CLI included) can: a
// user's run always has the zero waits, production's.

// waitsKey is the context key of a run's waits.
type waitsKey struct{}

// waits shortens the engine's waits for a test in this package. Its zero
// value is production's.
type waits struct {
	// retryScale multiplies every pause of a retrier: its first pause, its
	// floor once a connection is lost, and maxRetryPause. The tries are as
	// many, and fail as they would. 0 means 1.
	retryScale float64
	// lockPing is how often the runner lock's session is pinged while it is
	// held (read when the lock is taken). 0 means lockPingEvery.
	lockPing time.Duration
}

// withWaits returns ctx carrying w, for a test's Start and Run.
func withWaits(ctx context.Context, w waits) context.Context {
	return context.WithValue(ctx, waitsKey{}, w)
}

// waitsOf returns the waits ctx carries: the zero value (production's)
// unless a test set them.
func waitsOf(ctx context.Context) waits {
	w, _ := ctx.Value(waitsKey{}).(waits)
	return w
}

// pause is a retrier's pause d as the waits scale it.
func (w waits) pause(d time.Duration) time.Duration {
	if w.retryScale <= 0 {
		return d
	}
	return time.Duration(float64(d) * w.retryScale)
}

// pingEvery is how often the runner lock's session is pinged.
func (w waits) pingEvery() time.Duration {
	if w.lockPing <= 0 {
		return lockPingEvery
	}
	return w.lockPing
}
