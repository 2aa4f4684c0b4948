package training

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The application fleet: replicas running a version of the application code,
// each sending real SQL to the sandbox every tick of the simulated clock. The
// fleet remembers what it wrote (the value each row should have), so that a
// read can tell a lost write or a NULL from a value the code expects. What
// it hits is recorded as it happens; the lesson turns it into incidents.

// codeVersion is one release of the application: the SQL it sends.
type codeVersion struct {
	ID    string // v1, v2, …
	Label string // what it is, in a few words
	// The requests a replica of this version sends. nil: it does not send
	// that kind of request.
	insert func(f *fleet) request
	update func(f *fleet, id int64) request
	read   func(f *fleet, id int64) request
}

func (v *codeVersion) String() string { return v.ID + " (" + v.Label + ")" }

// request is one application request: one statement, and what the code
// makes of its result.
type request struct {
	op   string // insert, update, read
	sql  string
	args []any
	row  int64
	// writes: logical value → what was written, remembered on success.
	// cols are the columns the write stored it in.
	writes map[string]string
	cols   []string
	// reads: the column read, the logical value it should hold ("" when
	// the fleet does not check it), and whether NULL breaks the code.
	col     string
	attr    string
	expects bool
	// rejected: the application refused the input before any SQL
	// (validation at the boundary), with this reason.
	rejected string
	// scan: the table a full scan of which this lookup cannot afford. The
	// sandbox stands in for a production table of millions of rows: the
	// fleet asks SQLite for the lookup's plan first (EXPLAIN QUERY PLAN),
	// and a plan that scans the whole table is a request that times out.
	scan string
}

// replica is one running process of the application.
type replica struct {
	Name  string
	V     *codeVersion
	State string // serving, starting, not-ready, crashed, retired
	// routed: the load balancer sends it traffic.
	routed  bool
	prog    program
	startAt int // the tick its program starts (0: now)
}

// rowTruth is what the fleet last wrote to one row.
type rowTruth struct {
	vals   map[string]string
	writer string // the version that wrote it last
	cols   []string
	tick   int
	by     string // replica
}

type fleet struct {
	replicas []*replica
	versions []*codeVersion
	// rolling deploy in progress: the version replicas move to, one a tick.
	target  *codeVersion
	rollIdx int

	truth  map[int64]*rowTruth
	recent []int64
	maxID  int64
	serial int
	rng    *rand.Rand
	tick   int
}

func newFleet(versions []*codeVersion, n int, maxID int64) *fleet {
	f := &fleet{versions: versions, truth: map[int64]*rowTruth{}, maxID: maxID,
		rng: rand.New(rand.NewPCG(5, 7))}
	for i := 1; i <= n; i++ {
		f.replicas = append(f.replicas, &replica{Name: fmt.Sprintf("app-%d", i), V: versions[0], State: "serving", routed: true})
	}
	return f
}

func (f *fleet) next() int { f.serial++; return f.serial }

// index is a version's place in the lesson's order of releases.
func (f *fleet) index(v *codeVersion) int {
	for i, x := range f.versions {
		if x == v {
			return i
		}
	}
	return -1
}

// minVersion is the oldest version any live replica runs: a gate's deploy
// is out everywhere when this is at least the gate's version.
func (f *fleet) minVersion() int {
	min := len(f.versions)
	for _, r := range f.live() {
		if i := f.index(r.V); i < min {
			min = i
		}
	}
	return min
}

// live lists the replicas that run (serving or starting), in order.
func (f *fleet) live() []*replica {
	var out []*replica
	for _, r := range f.replicas {
		if r.State != "retired" && r.State != "crashed" {
			out = append(out, r)
		}
	}
	return out
}

// Describe lists each replica and its version, as the lesson shows it.
func (f *fleet) describe() []string {
	var out []string
	for _, r := range f.replicas {
		if r.State == "retired" {
			continue
		}
		s := r.Name + " " + r.V.ID
		if r.State != "serving" {
			s += " (" + r.State + ")"
		}
		out = append(out, s)
	}
	return out
}

// pick chooses the row a request works on: usually one written recently
// (people read what they just wrote), sometimes any row.
func (f *fleet) pick() int64 {
	switch n := len(f.recent); {
	case n > 0 && f.rng.IntN(2) == 0:
		return f.recent[n-1]
	case n > 0 && f.rng.IntN(3) > 0:
		return f.recent[max(0, n-8)+f.rng.IntN(min(8, n))]
	}
	return 1 + f.rng.Int64N(f.maxID)
}

func (f *fleet) touched(id int64) {
	f.recent = append(f.recent, id)
	if len(f.recent) > 32 {
		f.recent = f.recent[len(f.recent)-32:]
	}
	if id > f.maxID {
		f.maxID = id
	}
}

// occurrence is one thing a replica hit.
type occurrence struct {
	// kind: failed-write, failed-read, null-read, lost-write, lock-wait,
	// timeout (a lookup whose plan scans the whole table), replica-crash,
	// duplicate-work; or migration-failed, which only asks the lesson's
	// diagnosis why a step was refused (it is no incident).
	kind    string
	replica string
	version *codeVersion
	sql     string
	err     error // the database's own error, where there is one
	row     int64
	col     string
	got     string // what a read found
	want    string // what the fleet last wrote
	last    *rowTruth
	tick    int
	note    string
	// startup: hit by a replica's startup program, not by its traffic.
	startup bool
}

// stats count one step's traffic.
type stats struct {
	Requests  int `json:"requests"`
	Failed    int `json:"failed"`
	Rejected  int `json:"rejected_by_app,omitempty"`
	Fallbacks int `json:"null_fallbacks,omitempty"`
}

// serve sends one tick of traffic from every routed replica: an insert, an
// update and a read each.
func (f *fleet) serve(ctx context.Context, db *sql.DB, st *stats, hit func(occurrence)) {
	for _, r := range f.replicas {
		if !r.routed || r.State == "retired" || r.State == "crashed" {
			continue
		}
		v := r.V
		if v.insert != nil {
			f.do(ctx, db, r, v.insert(f), st, hit)
		}
		if v.update != nil {
			f.do(ctx, db, r, v.update(f, f.pick()), st, hit)
		}
		if v.read != nil {
			f.do(ctx, db, r, v.read(f, f.pick()), st, hit)
		}
	}
}

func (f *fleet) do(ctx context.Context, db *sql.DB, r *replica, q request, st *stats, hit func(occurrence)) {
	if q.rejected != "" {
		st.Rejected++
		return
	}
	st.Requests++
	o := occurrence{replica: r.Name, version: r.V, sql: q.sql, row: q.row, col: q.col, tick: f.tick}
	if q.scan != "" {
		if plan := fullScan(ctx, db, q); plan != "" {
			st.Failed++
			o.kind = "timeout"
			o.err = fmt.Errorf("timed out: full scan of %s (query plan: %s)", q.scan, plan)
			hit(o)
			return
		}
	}
	if q.op == "read" {
		var v sql.NullString
		err := db.QueryRowContext(ctx, q.sql, q.args...).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return
		case err != nil:
			st.Failed++
			o.kind, o.err = failKind(err, "failed-read"), err
			hit(o)
			return
		}
		t := f.truth[q.row]
		if !v.Valid {
			if !q.expects {
				st.Fallbacks++
				return
			}
			o.kind, o.got, o.last = "null-read", "NULL", t
			if t != nil {
				o.want = t.vals[q.attr]
			}
			hit(o)
			return
		}
		if q.attr != "" && t != nil {
			if want, ok := t.vals[q.attr]; ok && want != v.String {
				o.kind, o.got, o.want, o.last = "lost-write", v.String, want, t
				hit(o)
			}
		}
		return
	}
	res, err := db.ExecContext(ctx, q.sql, q.args...)
	if err != nil {
		st.Failed++
		o.kind, o.err = failKind(err, "failed-write"), err
		hit(o)
		return
	}
	id := q.row
	if q.op == "insert" {
		id, _ = res.LastInsertId()
	} else if n, _ := res.RowsAffected(); n == 0 {
		return
	}
	if len(q.writes) > 0 {
		t := f.truth[id]
		if t == nil {
			t = &rowTruth{vals: map[string]string{}}
			f.truth[id] = t
		}
		for k, v := range q.writes {
			t.vals[k] = v
		}
		t.writer, t.cols, t.tick, t.by = r.V.ID, q.cols, f.tick, r.Name
	}
	f.touched(id)
}

// fullScan is the step of SQLite's own plan for q that scans q.scan from
// end to end ("SCAN orders"), or "" when the plan searches it by an index
// or its key. A statement SQLite cannot plan (a column gone, say) is left
// to fail as itself when it runs.
func fullScan(ctx context.Context, db *sql.DB, q request) string {
	steps, err := queryPlan(ctx, db, q)
	if err != nil {
		return ""
	}
	for _, detail := range steps {
		if detail == "SCAN "+q.scan || strings.HasPrefix(detail, "SCAN "+q.scan+" ") {
			return detail
		}
	}
	return ""
}

// queryPlan is SQLite's plan for q's statement (EXPLAIN QUERY PLAN, with
// q's values bound), one line a step.
func queryPlan(ctx context.Context, db *sql.DB, q request) ([]string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		steps = append(steps, detail)
	}
	return steps, rows.Err()
}

// failKind tells a request that waited out the busy timeout behind
// someone's write lock from one the database refused.
func failKind(err error, otherwise string) string {
	if isBusy(err) {
		return "lock-wait"
	}
	return otherwise
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// dbError is the database's message without the driver's "(1299)" codes.
func dbError(err error) string {
	if err == nil {
		return ""
	}
	msg := firstLine(err.Error())
	var se *sqlite.Error
	if errors.As(err, &se) {
		msg = se.Error()
		// modernc writes "errstr: errmsg (code)": the errmsg is what
		// SQLite says about this statement.
		for _, generic := range []string{"SQL logic error: ", "constraint failed: "} {
			msg = strings.TrimPrefix(msg, generic)
		}
	}
	for {
		i := strings.LastIndex(msg, " (")
		if i < 0 || !strings.HasSuffix(msg, ")") {
			return msg
		}
		inner := msg[i+2 : len(msg)-1]
		if strings.Trim(inner, "0123456789") != "" && !strings.HasPrefix(inner, "SQLITE_") {
			return msg
		}
		msg = msg[:i]
	}
}
