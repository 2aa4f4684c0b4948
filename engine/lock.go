package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// The runner lock is per table: two plans on one table must not interleave
// their DDL and batches any more than two runs of one plan. Every dialect
// records the holder in shepherd_lock so that a refused runner can say who
// holds it. On SQLite that row is the lock itself: a lease that expires
// unless its holder renews it.

const leaseTTL = 15 * time.Second

// lockScope names what the runner lock covers.
func (s *Session) lockScope() string {
	if s.plan.Schema != "" {
		return s.plan.Schema + "." + s.plan.Table
	}
	return s.plan.Table
}

// acquireLease takes the lease row for the session's table, taking over a
// lease whose holder is gone (expired, or a dead process on this host), and
// renews it in the background until unlock.
func (s *Session) acquireLease(ctx context.Context) (func(), error) {
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
			exp := parseTime(expires)
			alive := exp != nil && exp.After(now) && !deadOnThisHost(h.Host, h.PID)
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
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(leaseTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// A failed renewal is retried on the next tick; the lease
				// lasts three ticks.
				_, _ = s.exec(context.Background(), s.db, "lease-renew", sqlData{}, map[string]any{
					"scope": scope, "token": token, "expires": s.d.timeValue(ptr(time.Now().Add(leaseTTL))),
				})
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_, _ = s.exec(context.Background(), s.db, "lease-release", sqlData{}, map[string]any{"scope": scope, "token": token})
	}, nil
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
