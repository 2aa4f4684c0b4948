package engine

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// copyWriters are three application writers on users while a copy runs:
// old code's inserts (no email), renames anywhere in the table, deletes.
// Each writer renames and deletes rows of its own (ids ≡ w+1 mod 3), so
// that the model, want, follows each row's order of writes.
type copyWriters struct {
	mu     sync.Mutex
	want   map[int64]string // what the application left: id → username
	failed []string
	stop   chan struct{}
	wg     sync.WaitGroup
}

// startCopyWriters starts the writers on users, whose rows 1..n are
// seedRows'. With autoKeys the inserts give no id: the table's
// AUTO_INCREMENT does, and the model keeps the one the server gave.
func startCopyWriters(db *testdb.DB, n int, autoKeys bool) *copyWriters {
	c := &copyWriters{want: map[int64]string{}, stop: make(chan struct{})}
	for i := int64(1); i <= int64(n); i++ {
		c.want[i] = fmt.Sprintf("user%d", i)
	}
	var nextID atomic.Int64
	nextID.Store(int64(n))
	for w := 0; w < 3; w++ {
		c.wg.Add(1)
		go func(w int) {
			defer c.wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for k := 0; ; k++ {
				select {
				case <-c.stop:
					return
				default:
				}
				var err error
				switch k % 3 {
				case 0: // old code's insert
					err = c.insert(db.SQL, fmt.Sprintf("w%d-%d", w, k), autoKeys, &nextID)
				case 1: // a rename, anywhere in the table
					err = c.rename(db.SQL, r.Int64N(int64(n)/3)*3+int64(w)+1, fmt.Sprintf("r%d-%d", w, k))
				case 2: // a delete
					id := r.Int64N(int64(n)/3)*3 + int64(w) + 1
					if _, err = db.SQL.Exec(`DELETE FROM users WHERE id = ?`, id); err == nil {
						c.mu.Lock()
						delete(c.want, id)
						c.mu.Unlock()
					}
				}
				if err != nil {
					c.mu.Lock()
					c.failed = append(c.failed, fmt.Sprintf("%s (write %d of kind %d)", err, k, k%3))
					c.mu.Unlock()
				}
				time.Sleep(time.Millisecond)
			}
		}(w)
	}
	return c
}

func (c *copyWriters) insert(db *sql.DB, name string, autoKeys bool, nextID *atomic.Int64) error {
	var id int64
	if autoKeys {
		res, err := db.Exec(`INSERT INTO users (username, name) VALUES (?, 'new')`, name)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
	} else {
		id = nextID.Add(1)
		if _, err := db.Exec(`INSERT INTO users (id, username, name) VALUES (?, ?, 'new')`, id, name); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.want[id] = name
	c.mu.Unlock()
	return nil
}

func (c *copyWriters) rename(db *sql.DB, id int64, name string) error {
	c.mu.Lock()
	_, there := c.want[id]
	c.mu.Unlock()
	if !there {
		return nil
	}
	res, err := db.Exec(`UPDATE users SET username = ? WHERE id = ?`, name, id)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 1 {
		c.mu.Lock()
		c.want[id] = name
		c.mu.Unlock()
	}
	return nil
}

// stopAndCheck stops the writers, and fails the test if a write failed or
// users does not hold exactly the rows and usernames they left.
func (c *copyWriters) stopAndCheck(t *testing.T, db *testdb.DB) {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	if len(c.failed) > 0 {
		t.Fatalf("%d application writes failed during the copy, first: %s\n%s", len(c.failed), c.failed[0], db.Query(`SHOW ENGINE INNODB STATUS`)[0][2])
	}
	got := map[int64]string{}
	for _, r := range db.Query(`SELECT id, username FROM users`) {
		id, _ := strconv.ParseInt(r[0], 10, 64)
		got[id] = r[1]
	}
	if len(got) != len(c.want) {
		t.Errorf("users holds %d rows, the application left %d", len(got), len(c.want))
	}
	for id, name := range c.want {
		if got[id] != name {
			t.Errorf("row %d: username %q, the application left %q", id, got[id], name)
			break
		}
	}
}

// copyUnderWriters runs users-email through its backfill, which copies
// users, while app writes; then stops app and checks its rows, that the
// table was copied, and that nothing of the copy is left.
func copyUnderWriters(t *testing.T, db *testdb.DB, app *copyWriters) *Session {
	t.Helper()
	s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	runThrough(t, s, "backfill")
	app.stopAndCheck(t, db)
	if rec.notices("copies users into _users_shepherd_copy") != 1 {
		t.Fatalf("the backfill did not copy the table; notices: %v", rec.of(EventNotice))
	}
	if left := copyLeft(db); len(left) > 0 {
		t.Errorf("the copy left %v", left)
	}
	return s
}
