package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// The runner lock is per table: two plans on one table must not interleave
// their DDL and batches any more than two runs of one plan. Every dialect
// records the holder in shepherd_lock so that a refused runner can say who
// holds it. On SQLite that row is the lock itself: a lease that expires
// unless its holder renews it.

// defaultLeaseTTL is how long an SQLite lease lasts without renewal
// (Options.LeaseTTL). It is long because a renewal can wait behind the
// runner's own table rebuild, which holds SQLite's write lock; a dead runner
// on this host is recognised at once anyway.
const defaultLeaseTTL = 60 * time.Second

// lockPingEvery is how often the runner lock's session is pinged while it
// is held. A session that says nothing is idle to the server and to any proxy
// in between, whatever the run does on its other connections: an idle
// timeout shorter than a long statement (MySQL's wait_timeout, PostgreSQL's
// idle_session_timeout, a proxy's) would end it, and free the lock, in the
// middle of a rebuild or a VALIDATE. Pinging keeps it busy, and notices at
// once when it ends anyway.
const lockPingEvery = 5 * time.Second

// runnerLock is the runner lock a session holds.
type runnerLock interface {
	// held reports whether the lock is still this runner's. A lock whose
	// session was lost (an idle timeout, a restart, an operator who killed
	// it) is taken again only when its holder row still carries this
	// runner's token, so that nobody else can have held it meanwhile;
	// otherwise held returns a *LockLostError, and the runner must stop
	// without writing anything more.
	held(ctx context.Context) error
	// heldIn is held, for a check made inside the transaction q that
	// records a phase: a session lock looks at its own session (and takes
	// the lock again if it ended and nobody else held it meanwhile); a
	// lease has no session, and its row is read through q (guard), as
	// another connection would wait for the write lock that q holds.
	heldIn(ctx context.Context, q querier) error
	// guard checks, inside the transaction q that writes to shepherd's
	// tables, that the lock is still this runner's: it reads the holder row
	// through q (see lockguard.go), and returns a *LockLostError, recorded
	// for every later check, when the row is gone or names another runner.
	guard(ctx context.Context, q querier) error
	// watch calls cancel, with the *LockLostError, as soon as the lock is
	// known to be lost for good, until the returned func is called: the
	// running phase stops then instead of at its next check.
	watch(cancel context.CancelCauseFunc) (unwatch func())
	release()
}

// lossSignal records that a runner lock is lost for good, and cancels the
// running phase, if one watches, when it is.
type lossSignal struct {
	mu     sync.Mutex
	lost   *LockLostError
	cancel context.CancelCauseFunc
}

func (w *lossSignal) watch(cancel context.CancelCauseFunc) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost != nil {
		cancel(w.lost)
	}
	w.cancel = cancel
	return func() {
		w.mu.Lock()
		w.cancel = nil
		w.mu.Unlock()
	}
}

// lose records the loss (the first one stays) and returns it.
func (w *lossSignal) lose(err *LockLostError) *LockLostError {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost == nil || w.lost.Holder == nil && err.Holder != nil {
		w.lost = err // the first, unless a later one names the holder
	}
	if w.cancel != nil {
		w.cancel(w.lost)
	}
	return w.lost
}

// err is the loss, or nil while the lock is not lost for good.
func (w *lossSignal) err() *LockLostError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// sessionLock is a lock that lives as long as one database session
// (PostgreSQL's advisory lock, MySQL's GET_LOCK), held on a connection
// kept for the run, with the holder row in shepherd_lock beside it. A
// goroutine pings that connection every lockPingEvery.
type sessionLock struct {
	s     *Session
	scope string
	key   any // the lock's key: an advisory lock number, a GET_LOCK name
	token string
	loss  lossSignal

	// mu is held by whoever uses the lock's connection: the watcher, the
	// run's checks, release. Nothing else uses that connection.
	mu   sync.Mutex
	conn *sql.Conn // nil while the session is lost and the lock not taken again
	// pingEvery is lockPingEvery, unless a test shortened it (waits).
	pingEvery time.Duration
	// ended says when and how the session was found gone.
	ended string

	stop, done chan struct{}
	stopOnce   sync.Once
}

// takeSessionLock takes the runner lock named by key without waiting: a
// held lock is refused at once with a *LockHeldError naming its holder.
func (s *Session) takeSessionLock(ctx context.Context, scope string, key any) (*sessionLock, error) {
	l := &sessionLock{s: s, scope: scope, key: key, token: randomToken(), pingEvery: waitsOf(ctx).pingEvery()}
	for attempt := 1; ; attempt++ {
		err := l.take(ctx)
		if err == nil {
			l.stop, l.done = make(chan struct{}), make(chan struct{})
			go l.keepAlive()
			return l, nil
		}
		var held *LockHeldError
		if !errors.As(err, &held) || !deadOnThisHost(held.Host, held.PID) || attempt == 40 {
			return nil, err
		}
		// The holder was a process on this host that is gone (killed with
		// SIGKILL, say): the server ends its session, and frees the lock,
		// once it notices the connection closed, which takes a moment.
		if attempt == 1 {
			s.notice("", "the runner lock of %s is held by pid %d on this host, which is gone; waiting for the database to end its session", scope, held.PID)
		}
		if err := sleep(ctx, 125*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func (l *sessionLock) take(ctx context.Context) error {
	s := l.s
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("take the runner lock of %s: %w", l.scope, s.dsn.scrub(err))
	}
	var got sql.NullBool // PostgreSQL answers true/false, MySQL 1/0/NULL
	if err := s.queryRow(ctx, conn, "runner-lock", nil, map[string]any{"lock": l.key}, &got); err != nil {
		discardConn(conn)
		return fmt.Errorf("take the runner lock of %s: %w", l.scope, s.dsn.scrub(err))
	}
	if !got.Bool {
		discardConn(conn)
		return s.lockHolder(ctx, l.scope, l.key)
	}
	// A row left by a runner that died names it: say whose lock this was.
	if prev, prevToken, _, err := s.readHolder(ctx, conn, l.scope); err == nil && prevToken != l.token {
		s.notice("", "took over the runner lock of %s from %s (pid %d on %s), which is gone", l.scope, prev.Holder, prev.PID, prev.Host)
	}
	host, _ := os.Hostname()
	now := time.Now()
	// The row is share-locked while a runner that lost this lock (and may
	// not know it yet) finishes a write to shepherd's tables (lease-guard):
	// writing it waits for that write, which may outlast a lock timeout.
	err = s.retryLocked(ctx, true, func() error {
		_, err := s.exec(ctx, conn, "lease-put", nil, map[string]any{
			"scope": l.scope, "plan": s.plan.Name, "token": l.token, "holder": s.opts.Operator, "host": host, "pid": os.Getpid(),
			"since": s.d.timeValue(&now), "expires": s.d.timeValue(nil),
		})
		return err
	})
	if err != nil {
		discardConn(conn) // closing it releases the lock
		return fmt.Errorf("record the runner lock of %s: %w", l.scope, s.dsn.scrub(err))
	}
	l.conn = conn
	return nil
}

// keepAlive pings the lock's session every lockPingEvery until release.
// When the session is found gone, it is left for the run's next check to
// take the lock again (events come from the run's goroutine only); but once
// the holder row shows that another runner took the lock, the loss is
// recorded and the running phase cancelled at once.
func (l *sessionLock) keepAlive() {
	defer close(l.done)
	tick := time.NewTicker(l.pingEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		l.probe()
		l.mu.Unlock()
	}
}

// stopKeepAlive ends keepAlive and waits for it.
func (l *sessionLock) stopKeepAlive() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

// probe is one look of keepAlive, under l.mu.
func (l *sessionLock) probe() {
	if l.loss.err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.pingEvery)
	defer cancel()
	if l.conn != nil {
		err := l.conn.PingContext(ctx)
		if err == nil {
			return
		}
		l.drop(err)
	}
	// The lock may be free: whoever takes it writes its row.
	h, token, _, err := l.s.readHolder(ctx, l.s.db, l.scope)
	if lost := l.rowLost(h, token, err); lost != nil {
		l.loss.lose(lost)
	}
	// Otherwise (still this runner's row, or the server does not answer):
	// again on the next tick, and the run's next check takes it again.
}

// drop closes the lock's connection, found gone, for good.
func (l *sessionLock) drop(why error) {
	discardConn(l.conn)
	l.conn = nil
	l.ended = fmt.Sprintf("at %s: %v", time.Now().Format("15:04:05"), l.s.dsn.scrub(why))
}

// errNotFreed is the lock still held while its row names this runner: the
// server has not ended this runner's old session yet (or another runner
// took the lock an instant ago and is about to write its row).
var errNotFreed = errors.New("the lock is still held, and its holder row names this runner: the server has not ended its old session yet")

func (l *sessionLock) held(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lost := l.loss.err(); lost != nil {
		return lost
	}
	if l.conn != nil {
		err := l.conn.PingContext(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err() // the run was stopped, not the session
		}
		l.drop(err)
	}
	// The session that held the lock is gone, and the lock with it. A
	// database that is restarting refuses connections for a while, and
	// the server may take a moment to end a killed session and free its
	// lock: try again with a growing pause, for as long as a batch would.
	l.s.notice("", "the runner lock's connection to the database was lost (%s); taking the lock of %s again if nobody else held it meanwhile", l.ended, l.scope)
	var err error
	w := waitsOf(ctx) // production's, unless a test shortened them
	wait := w.pause(250 * time.Millisecond)
	for attempt := 1; attempt <= 2*maxLockRetries; attempt++ {
		if err = l.retake(ctx); err == nil {
			l.s.notice("", "took the runner lock of %s again: its holder row still names this runner, so nobody else held it meanwhile", l.scope)
			return nil
		}
		var lost *LockLostError
		if errors.As(err, &lost) {
			return l.loss.lose(lost)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, errNotFreed) && l.s.d.classify(err).kind != failConnection {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, w.pause(2*time.Second))
	}
	return l.loss.lose(l.lostError(fmt.Sprintf("it could not be taken again (%v), so it cannot be shown that nobody else held it meanwhile", l.s.dsn.scrub(err)), nil))
}

// retake takes the lock again on a new session, under l.mu, after its
// session was lost. It keeps it only when the holder row still carries this
// runner's token: when the row is gone or names another runner, somebody
// else held the lock meanwhile, and retake returns a *LockLostError. Any
// other error (errNotFreed, a server that does not answer) may be retried.
func (l *sessionLock) retake(ctx context.Context) error {
	s := l.s
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.dsn.scrub(err)
	}
	var got sql.NullBool
	if err := s.queryRow(ctx, conn, "runner-lock", nil, map[string]any{"lock": l.key}, &got); err != nil {
		discardConn(conn)
		return s.dsn.scrub(err)
	}
	// Read after taking the lock: while it is held, nobody else writes the
	// row.
	h, token, _, err := s.readHolder(ctx, conn, l.scope)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		discardConn(conn) // closing it frees the lock, if it was taken
		return s.dsn.scrub(err)
	}
	lost := l.rowLost(h, token, err)
	if lost == nil {
		if !got.Bool {
			discardConn(conn)
			return errNotFreed
		}
		l.conn = conn
		return nil
	}
	if got.Bool {
		var released sql.NullBool
		_ = s.queryRow(ctx, conn, "runner-unlock", nil, map[string]any{"lock": l.key}, &released)
	}
	discardConn(conn)
	return lost
}

// rowLost is what a read of the holder row (readHolder's h, token and err)
// shows: the lock lost for good when the row is gone or carries another
// runner's token, nil while it is still this runner's or was not read.
func (l *sessionLock) rowLost(h *LockHeldError, token string, err error) *LockLostError {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return l.lostError("its holder row is gone: another runner took the lock meanwhile, and released it", nil)
	case err == nil && token != l.token:
		return l.lostError("another runner took it meanwhile", h)
	}
	return nil
}

func (l *sessionLock) lostError(cause string, holder *LockHeldError) *LockLostError {
	e := &LockLostError{Scope: l.scope, Plan: l.s.planRef(), Cause: cause, Holder: holder}
	if l.ended != "" {
		e.Why = "its connection to the database was lost " + l.ended
	}
	return e
}

func (l *sessionLock) heldIn(ctx context.Context, _ querier) error { return l.held(ctx) }

func (l *sessionLock) watch(cancel context.CancelCauseFunc) func() { return l.loss.watch(cancel) }

func (l *sessionLock) release() {
	l.stopKeepAlive()
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := l.s
	// The row first, while the lock is still held; by token, so that a
	// runner that took over after this connection died keeps its own.
	_, _ = s.exec(ctx, s.db, "lease-release", nil, map[string]any{"scope": l.scope, "token": l.token})
	if l.conn == nil {
		return
	}
	var released sql.NullBool
	_ = s.queryRow(ctx, l.conn, "runner-unlock", nil, map[string]any{"lock": l.key}, &released)
	discardConn(l.conn) // never back to the pool: closing it frees the lock for certain
	l.conn = nil
}

// readHolder reads the holder row of a runner lock: who holds it, its
// token, and when it expires (SQLite's lease; nil for a session lock).
func (s *Session) readHolder(ctx context.Context, q querier, scope string) (h *LockHeldError, token string, expires *time.Time, err error) {
	return s.readHolderWith(ctx, q, "lease-get", scope)
}

// readHolderWith is readHolder with the template that reads the row:
// lease-get, or lease-guard, which locks it.
func (s *Session) readHolderWith(ctx context.Context, q querier, name, scope string) (h *LockHeldError, token string, expires *time.Time, err error) {
	h = &LockHeldError{Scope: scope}
	var since, exp any
	err = s.queryRow(ctx, q, name, nil, map[string]any{"scope": scope},
		&h.Plan, &token, &h.Holder, &h.Host, &h.PID, &since, &exp)
	if t := parseTime(since); t != nil {
		h.Since = *t
	}
	return h, token, parseTime(exp), err
}

// planRef is how commands name the session's plan: its file where known.
func (s *Session) planRef() string {
	if s.plan.File != "" {
		return s.plan.File
	}
	return s.plan.Name
}

// lockHolder reads who holds a refused lock. The holder writes its row just
// after it takes the lock, so a missing row is read again for a moment.
func (s *Session) lockHolder(ctx context.Context, scope string, key any) error {
	h := &LockHeldError{Scope: scope}
	for try := 0; ; try++ {
		var token string
		var since, expires any
		err := s.queryRow(ctx, s.db, "lease-get", nil, map[string]any{"scope": scope},
			&h.Plan, &token, &h.Holder, &h.Host, &h.PID, &since, &expires)
		if err == nil {
			if t := parseTime(since); t != nil {
				h.Since = *t
			}
			return h
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w (and reading who holds it failed: %v)", h, s.dsn.scrub(err))
		}
		if try == 10 {
			break
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	h.Holder, h.Host, h.Plan = "a runner that has not recorded itself", "unknown", "unknown"
	if s.sql.Has("runner-lock-holder") {
		var connID sql.NullInt64
		if s.queryRow(ctx, s.db, "runner-lock-holder", nil, map[string]any{"lock": key}, &connID) == nil && connID.Valid {
			h.Holder = fmt.Sprintf("an unknown runner (database connection %d)", connID.Int64)
		}
	}
	return h
}

// discardConn closes a connection for good instead of returning it to the
// pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// lockScope names what the runner lock covers.
func (s *Session) lockScope() string {
	if s.plan.Schema != "" {
		return s.plan.Schema + "." + s.plan.Table
	}
	return s.plan.Table
}

// lease is SQLite's runner lock: a row that expires unless renewed.
type lease struct {
	s     *Session
	scope string
	token string
	loss  lossSignal

	stop, done chan struct{} // the renewals' end, asked and reached
	stopOnce   sync.Once
}

// held checks that the lease row is still this runner's.
func (l *lease) held(ctx context.Context) error {
	h, token, _, err := l.s.readHolder(ctx, l.s.db, l.scope)
	if lost := l.rowLost(h, token, err); lost != nil {
		return l.loss.lose(lost)
	}
	// This runner's row, or one unreadable for a moment (busy): held,
	// unless a renewal found the lease taken over.
	if lost := l.loss.err(); lost != nil {
		return lost
	}
	return nil
}

// rowLost is what a read of the lease row (readHolder's h, token and err)
// shows: the lease lost for good when the row is gone or carries another
// runner's token, nil while it is still this runner's or was not read.
func (l *lease) rowLost(h *LockHeldError, token string, err error) *LockLostError {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &LockLostError{Scope: l.scope, Plan: l.s.planRef(), Cause: "its lease row is gone: another runner took the lease over and released it"}
	case err == nil && token != l.token:
		return &LockLostError{Scope: l.scope, Plan: l.s.planRef(), Cause: "the lease expired and was taken over by another runner", Holder: h}
	}
	return nil
}

func (l *lease) heldIn(ctx context.Context, q querier) error { return l.guard(ctx, q) }

func (l *lease) watch(cancel context.CancelCauseFunc) func() { return l.loss.watch(cancel) }

// stopRenewing ends the renewals and waits for them.
func (l *lease) stopRenewing() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *lease) release() {
	l.stopRenewing()
	_, _ = l.s.exec(context.Background(), l.s.db, "lease-release", nil, map[string]any{"scope": l.scope, "token": l.token})
}

// acquireLease takes the lease row for the session's table, taking over a
// lease whose holder is gone (expired, or a dead process on this host), and
// renews it in the background until released.
func (s *Session) acquireLease(ctx context.Context) (*lease, error) {
	scope := s.lockScope()
	token := randomToken()
	host, _ := os.Hostname()
	pid := os.Getpid()
	now := time.Now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		h, _, exp, err := s.readHolder(ctx, tx, scope)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read the runner lock of %s: %w", scope, s.dsn.scrub(err))
		default:
			// A holder on this host is alive while its process is, whatever
			// the lease says; one elsewhere while its lease is renewed.
			alive := exp != nil && exp.After(now)
			if h.Host == host {
				alive = !deadOnThisHost(h.Host, h.PID)
			}
			if alive {
				return h
			}
			s.notice("", "took over the runner lock of %s from %s (pid %d on %s), which is gone", scope, h.Holder, h.PID, h.Host)
		}
		_, err = s.exec(ctx, tx, "lease-put", nil, map[string]any{
			"scope": scope, "plan": s.plan.Name, "token": token, "holder": s.opts.Operator, "host": host, "pid": pid,
			"since": s.d.timeValue(&now), "expires": s.d.timeValue(ptr(now.Add(s.opts.LeaseTTL))),
		})
		if err != nil {
			return fmt.Errorf("take the runner lock of %s: %w", scope, s.dsn.scrub(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &lease{s: s, scope: scope, token: token, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// renew renews the lease every quarter of its TTL until stopRenewing.
func (l *lease) renew() {
	s := l.s
	defer close(l.done)
	tick := time.NewTicker(s.opts.LeaseTTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			// A renewal that fails (busy) is retried on the next tick: the
			// lease lasts four. One that finds the row no longer ours means
			// another runner took over.
			res, err := s.exec(context.Background(), s.db, "lease-renew", nil, map[string]any{
				"scope": l.scope, "token": l.token, "expires": s.d.timeValue(ptr(time.Now().Add(s.opts.LeaseTTL))),
			})
			if err == nil {
				if n, _ := res.RowsAffected(); n == 0 {
					l.loss.lose(&LockLostError{Scope: l.scope, Plan: s.planRef(), Cause: "a renewal found the lease no longer this runner's: it expired and was taken over by another runner"})
				}
			}
		}
	}
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
