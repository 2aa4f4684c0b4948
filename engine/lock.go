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
	"sync/atomic"
	"syscall"
	"time"
)

// The runner lock is per table: two plans on one table must not interleave
// their DDL and batches any more than two runs of one plan. Every dialect
// records the holder in shepherd_lock so that a refused runner can say who
// holds it. On SQLite that row is the lock itself: a lease that expires
// unless its holder renews it.

// leaseTTL is how long an SQLite lease lasts without renewal. It is long
// because a renewal can wait behind the runner's own table rebuild, which
// holds SQLite's write lock; a dead runner on this host is recognised at
// once anyway.
const leaseTTL = 60 * time.Second

// runnerLock is the runner lock a session holds.
type runnerLock interface {
	// held reports whether the lock is still this runner's. A lock whose
	// connection was lost (the server restarted, an operator killed the
	// session) is taken again if nobody else took it meanwhile; otherwise
	// held returns a *LockHeldError, and the runner must stop.
	held(ctx context.Context) error
	release()
}

// sessionLock is a lock that lives as long as one database session
// (PostgreSQL's advisory lock, MySQL's GET_LOCK), held on a connection
// kept for the run, with the holder row in shepherd_lock beside it.
type sessionLock struct {
	s     *Session
	scope string
	key   any // the lock's key: an advisory lock number, a GET_LOCK name
	conn  *sql.Conn
	token string
}

// takeSessionLock takes the runner lock named by key without waiting: a
// held lock is refused at once with a *LockHeldError naming its holder.
func (s *Session) takeSessionLock(ctx context.Context, scope string, key any) (*sessionLock, error) {
	l := &sessionLock{s: s, scope: scope, key: key, token: randomToken()}
	for attempt := 1; ; attempt++ {
		err := l.take(ctx)
		var held *LockHeldError
		if err == nil || !errors.As(err, &held) || !deadOnThisHost(held.Host, held.PID) || attempt == 40 {
			return l, err
		}
		// The holder was a process on this host that is gone (killed with
		// SIGKILL, say): the server ends its session, and frees the lock,
		// once it notices the connection closed, which takes a moment.
		if attempt == 1 {
			s.notice("", "the runner lock of %s is held by pid %d on this host, which is gone; waiting for the database to end its session", scope, held.PID)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(125 * time.Millisecond):
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
	if err := s.queryRow(ctx, conn, "runner-lock", sqlData{}, map[string]any{"lock": l.key}, &got); err != nil {
		discardConn(conn)
		return fmt.Errorf("take the runner lock of %s: %w", l.scope, s.dsn.scrub(err))
	}
	if !got.Bool {
		discardConn(conn)
		return s.lockHolder(ctx, l.scope, l.key)
	}
	// A row left by a runner that died names it: say whose lock this was.
	var prev LockHeldError
	var prevToken string
	var since, expires any
	err = s.queryRow(ctx, conn, "lease-get", sqlData{}, map[string]any{"scope": l.scope},
		&prev.Plan, &prevToken, &prev.Holder, &prev.Host, &prev.PID, &since, &expires)
	if err == nil && prevToken != l.token {
		s.notice("", "took over the runner lock of %s from %s (pid %d on %s), which is gone", l.scope, prev.Holder, prev.PID, prev.Host)
	}
	host, _ := os.Hostname()
	now := time.Now()
	_, err = s.exec(ctx, conn, "lease-put", sqlData{}, map[string]any{
		"scope": l.scope, "plan": s.plan.Name, "token": l.token, "holder": s.opts.Operator, "host": host, "pid": os.Getpid(),
		"since": s.d.timeValue(&now), "expires": s.d.timeValue(nil),
	})
	if err != nil {
		discardConn(conn) // closing it releases the lock
		return fmt.Errorf("record the runner lock of %s: %w", l.scope, s.dsn.scrub(err))
	}
	l.conn = conn
	return nil
}

func (l *sessionLock) held(ctx context.Context) error {
	if err := l.conn.PingContext(ctx); err == nil {
		return nil
	}
	// The session that held the lock is gone, and the lock with it. The
	// server may take a moment to end a killed session and free its lock:
	// while the holder row still names this runner, wait and try again.
	discardConn(l.conn)
	l.s.notice("", "the runner lock's connection to the database was lost; taking the lock again")
	// A database that is restarting refuses connections for a while: try
	// again with a growing pause, for as long as a batch would.
	var err error
	wait := 250 * time.Millisecond
	for attempt := 1; attempt <= 2*maxLockRetries; attempt++ {
		if err = l.take(ctx); err == nil {
			return nil
		}
		var held *LockHeldError
		if errors.As(err, &held) && !l.stillOurs(ctx) {
			break // another runner took it meanwhile
		}
		if !errors.As(err, &held) && l.s.d.classify(err).kind != failConnection {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
	return fmt.Errorf("the runner lock of %s was lost with its connection and cannot be taken again: %w", l.scope, err)
}

// stillOurs reports whether the holder row still carries this runner's
// token: the lock is held by this runner's own session, which the server has
// not ended yet.
func (l *sessionLock) stillOurs(ctx context.Context) bool {
	var h LockHeldError
	var token string
	var since, expires any
	err := l.s.queryRow(ctx, l.s.db, "lease-get", sqlData{}, map[string]any{"scope": l.scope},
		&h.Plan, &token, &h.Holder, &h.Host, &h.PID, &since, &expires)
	return err == nil && token == l.token
}

func (l *sessionLock) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := l.s
	// The row first, while the lock is still held; by token, so that a
	// runner that took over after this connection died keeps its own.
	_, _ = s.exec(ctx, s.db, "lease-release", sqlData{}, map[string]any{"scope": l.scope, "token": l.token})
	var released sql.NullBool
	_ = s.queryRow(ctx, l.conn, "runner-unlock", sqlData{}, map[string]any{"lock": l.key}, &released)
	discardConn(l.conn) // never back to the pool: closing it frees the lock for certain
}

// lockHolder reads who holds a refused lock. The holder writes its row just
// after it takes the lock, so a missing row is read again for a moment.
func (s *Session) lockHolder(ctx context.Context, scope string, key any) error {
	h := &LockHeldError{Scope: scope}
	for try := 0; ; try++ {
		var token string
		var since, expires any
		err := s.queryRow(ctx, s.db, "lease-get", sqlData{}, map[string]any{"scope": scope},
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.Holder, h.Host, h.Plan = "a runner that has not recorded itself", "unknown", "unknown"
	if s.sql.Has("runner-lock-holder") {
		var connID sql.NullInt64
		if s.queryRow(ctx, s.db, "runner-lock-holder", sqlData{}, map[string]any{"lock": key}, &connID) == nil && connID.Valid {
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
	s         *Session
	scope     string
	token     string
	releaseFn func()
	lost      atomic.Bool // a renewal found the row no longer ours
}

// held checks that the lease row is still this runner's.
func (l *lease) held(ctx context.Context) error {
	var h LockHeldError
	var token string
	var since, expires any
	err := l.s.queryRow(ctx, l.s.db, "lease-get", sqlData{}, map[string]any{"scope": l.scope},
		&h.Plan, &token, &h.Holder, &h.Host, &h.PID, &since, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("the runner lease of %s is gone: another runner took it over and finished; stop, and rerun", l.scope)
	case err != nil:
		if l.lost.Load() {
			return fmt.Errorf("the runner lease of %s could not be renewed and may have been taken over; stop, and rerun", l.scope)
		}
		return nil // unreadable for a moment (busy): the renewal goes on
	case token == l.token:
		return nil
	}
	h.Scope = l.scope
	if t := parseTime(since); t != nil {
		h.Since = *t
	}
	return fmt.Errorf("the runner lease of %s expired and was taken over: %w", l.scope, &h)
}

func (l *lease) release() { l.releaseFn() }

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
		var h LockHeldError
		var holderToken string
		var since, expires any
		err := s.queryRow(ctx, tx, "lease-get", sqlData{}, map[string]any{"scope": scope},
			&h.Plan, &holderToken, &h.Holder, &h.Host, &h.PID, &since, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read the runner lock of %s: %w", scope, s.dsn.scrub(err))
		default:
			h.Scope = scope
			if t := parseTime(since); t != nil {
				h.Since = *t
			}
			// A holder on this host is alive while its process is, whatever
			// the lease says; one elsewhere while its lease is renewed.
			exp := parseTime(expires)
			alive := exp != nil && exp.After(now)
			if me, _ := os.Hostname(); h.Host == me {
				alive = !deadOnThisHost(h.Host, h.PID)
			}
			if alive {
				return &h
			}
			s.notice("", "took over the runner lock of %s from %s (pid %d on %s), which is gone", scope, h.Holder, h.PID, h.Host)
		}
		_, err = s.exec(ctx, tx, "lease-put", sqlData{}, map[string]any{
			"scope": scope, "plan": s.plan.Name, "token": token, "holder": s.opts.Operator, "host": host, "pid": pid,
			"since": s.d.timeValue(&now), "expires": s.d.timeValue(ptr(now.Add(leaseTTL))),
		})
		if err != nil {
			return fmt.Errorf("take the runner lock of %s: %w", scope, s.dsn.scrub(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &lease{s: s, scope: scope, token: token}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(leaseTTL / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// A renewal that fails (busy) is retried on the next tick:
				// the lease lasts four. One that finds the row no longer
				// ours means another runner took over.
				res, err := s.exec(context.Background(), s.db, "lease-renew", sqlData{}, map[string]any{
					"scope": scope, "token": token, "expires": s.d.timeValue(ptr(time.Now().Add(leaseTTL))),
				})
				if err == nil {
					if n, _ := res.RowsAffected(); n == 0 {
						l.lost.Store(true)
					}
				}
			}
		}
	}()
	l.releaseFn = func() {
		close(stop)
		<-done
		_, _ = s.exec(context.Background(), s.db, "lease-release", sqlData{}, map[string]any{"scope": scope, "token": token})
	}
	return l, nil
}

// deadOnThisHost reports whether a lease holder was a process on this host
// that no longer exists, so that a runner killed with SIGKILL does not block
// the next one until its lease expires.
func deadOnThisHost(host string, pid int64) bool {
	me, _ := os.Hostname()
	if host != me || pid <= 0 {
		return false
	}
	err := syscall.Kill(int(pid), 0)
	return errors.Is(err, syscall.ESRCH)
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
