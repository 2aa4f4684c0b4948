package engine

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL/MariaDB: the primary does not know how far behind its replicas
// apply: each is asked, on a connection of its own, with SHOW SLAVE STATUS
// (SHOW REPLICA STATUS on MySQL 8.0.22 and later). A replica is behind by
// Seconds_Behind_Master (…_Source); one whose SQL thread is stopped, or
// whose lag is NULL (its IO thread is not connected), counts as behind.
//
// The replicas asked are, first found:
//   - SHEPHERD_REPLICAS: DSNs separated by spaces, in any form --db takes,
//     each with its own user and password;
//   - the plan's replicas: list (mysql://[user@]host[:port]): asked with
//     the --db DSN's password, and its user unless the entry names one;
//   - else those the primary lists (SHOW SLAVE HOSTS / SHOW REPLICAS):
//     only replicas started with report_host appear there, as host and
//     port, without credentials: they are asked with the --db DSN's user
//     and password.

// ReplicasEnv names the variable that lists the replicas' DSNs.
const ReplicasEnv = "SHEPHERD_REPLICAS"

// replicaRetry is how long a replica that could not be read is left alone
// before it is asked again: a replica that is down must not slow every
// batch by a connection timeout.
const replicaRetry = 10 * time.Second

// mysqlReplica is one replica, with its own small pool.
type mysqlReplica struct {
	name  string
	db    *sql.DB
	scrub func(error) error
	// newer: MySQL 8.0.22 or later, which says REPLICA for SLAVE; known
	// after the first connection.
	newer, known bool
	// unread and retryAt: why the last reading failed, and when to ask
	// again.
	unread  string
	retryAt time.Time
}

type mysqlReplicas struct {
	s    *Session
	list []*mysqlReplica
}

// mysqlReplicas finds the replicas to ask; nil when there are none. env
// is SHEPHERD_REPLICAS's value.
func (s *Session) mysqlReplicas(ctx context.Context, phase, env string) (*mysqlReplicas, error) {
	r := &mysqlReplicas{s: s}
	if env := strings.Fields(env); len(env) > 0 {
		for i, text := range env {
			d, err := ParseDSN(text)
			if err != nil {
				r.close()
				return nil, fmt.Errorf("%s, DSN %d: %w", ReplicasEnv, i+1, err)
			}
			if d.Dialect != "mysql" {
				r.close()
				return nil, fmt.Errorf("%s, DSN %d: %s is not a MySQL/MariaDB DSN", ReplicasEnv, i+1, d.String())
			}
			cfg := d.mysqlConfig()
			r.add(cfg, replicaName(cfg), d.scrub)
		}
		s.notice(phase, "watching the lag of %d replica(s) listed in %s: %s", len(r.list), ReplicasEnv, r.names())
		return r, nil
	}
	if len(s.plan.Replicas) > 0 {
		for _, text := range s.plan.Replicas {
			u, err := url.Parse(text) // checked when the plan was read
			if err != nil {
				r.close()
				return nil, fmt.Errorf("the plan's replicas: an entry is not a URL")
			}
			r.add(s.replicaConfig(u.User.Username(), u.Hostname(), u.Port()))
		}
		s.notice(phase, "watching the lag of the plan's %d replica(s): %s", len(r.list), r.names())
		return r, nil
	}
	hosts, err := s.discoverReplicas(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the primary's replicas: %w; list them in the plan's replicas: or in %s, or turn the check off with --max-replica-lag 0", err, ReplicasEnv)
	}
	if len(hosts) == 0 {
		return nil, nil
	}
	for _, h := range hosts {
		r.add(s.replicaConfig("", h[0], h[1]))
	}
	s.notice(phase, "watching the lag of %d replica(s) the primary lists (asked with the --db DSN's user and password): %s", len(r.list), r.names())
	return r, nil
}

// discoverReplicas lists the replicas the primary knows a host of, as
// host and port.
func (s *Session) discoverReplicas(ctx context.Context) ([][2]string, error) {
	srv := s.d.(*mysqlDialect).srv
	newer := srv != nil && !srv.mariadb && srv.atLeast(8, 0, 22)
	rows, err := s.query(ctx, s.db, "replica-hosts", newer, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		row, err := scanByName(rows)
		if err != nil {
			return nil, s.dsn.scrub(err)
		}
		host, port := row["Host"].String, row["Port"].String
		if host == "" {
			continue // started without report_host: not listed with a host
		}
		out = append(out, [2]string{host, port})
	}
	return out, s.dsn.scrub(rows.Err())
}

// replicaConfig is the primary's driver configuration pointed at a
// replica: its password, its user unless user is given, its TLS settings
// for the replica's host.
func (s *Session) replicaConfig(user, host, port string) (*mysql.Config, string, func(error) error) {
	cfg := s.dsn.mysqlConfig()
	if user != "" {
		cfg.User = user
	}
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	if cfg.TLS != nil {
		t := cfg.TLS.Clone()
		t.ServerName = host
		cfg.TLS = t
	}
	return cfg, cfg.Addr, s.dsn.scrub
}

// replicaName says which replica, without credentials.
func replicaName(cfg *mysql.Config) string { return cfg.Addr }

// add opens a replica's pool (it connects when first asked).
func (r *mysqlReplicas) add(cfg *mysql.Config, name string, scrub func(error) error) {
	cfg.DBName = ""
	cfg.Params = nil
	cfg.Logger = &mysql.NopLogger{}
	cfg.Timeout = 5 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	rep := &mysqlReplica{name: name, scrub: scrub}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		rep.unread = scrub(err).Error()
		rep.retryAt = time.Now().Add(100 * 365 * 24 * time.Hour)
	} else {
		rep.db = sql.OpenDB(connector)
		rep.db.SetMaxOpenConns(1)
	}
	r.list = append(r.list, rep)
}

func (r *mysqlReplicas) names() string {
	names := make([]string, len(r.list))
	for i, rep := range r.list {
		names[i] = rep.name
	}
	return strings.Join(names, ", ")
}

func (r *mysqlReplicas) close() {
	for _, rep := range r.list {
		if rep.db != nil {
			rep.db.Close()
		}
	}
}

func (r *mysqlReplicas) read(ctx context.Context) ([]replicaLag, error) {
	out := make([]replicaLag, 0, len(r.list))
	for _, rep := range r.list {
		l := replicaLag{name: rep.name}
		if rep.unread != "" && time.Now().Before(rep.retryAt) {
			l.unread = rep.unread
			out = append(out, l)
			continue
		}
		if err := r.readOne(ctx, rep, &l); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.unread, rep.retryAt = rep.scrub(err).Error(), time.Now().Add(replicaRetry)
			l.unread = rep.unread
		} else {
			rep.unread = ""
		}
		out = append(out, l)
	}
	return out, nil
}

// readOne asks one replica its replication status. A replica replicating
// from several sources is as far behind as its furthest channel.
func (r *mysqlReplicas) readOne(ctx context.Context, rep *mysqlReplica, l *replicaLag) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if !rep.known {
		var version string
		if err := rep.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
			return err
		}
		srv := parseMySQLVersion(version)
		rep.newer, rep.known = !srv.mariadb && srv.atLeast(8, 0, 22), true
	}
	st, err := r.s.sql.Query("replica-status", rep.newer)
	if err != nil {
		return err
	}
	rows, err := rep.db.QueryContext(ctx, st.SQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	channels := 0
	for rows.Next() {
		row, err := scanByName(rows)
		if err != nil {
			return err
		}
		channels++
		lag, why := slaveStatusLag(row)
		if why != "" {
			l.unknown = why
		}
		l.lag = max(l.lag, lag)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if channels == 0 {
		return fmt.Errorf("it reports no replication (its replica status is empty): is it a replica?")
	}
	return nil
}

// slaveStatusLag reads one row of SHOW SLAVE STATUS (or REPLICA STATUS):
// the lag, or why it counts as behind without one.
func slaveStatusLag(row map[string]sql.NullString) (time.Duration, string) {
	col := func(names ...string) sql.NullString {
		for _, n := range names {
			if v, ok := row[n]; ok {
				return v
			}
		}
		return sql.NullString{}
	}
	sqlThread := col("Slave_SQL_Running", "Replica_SQL_Running")
	ioThread := col("Slave_IO_Running", "Replica_IO_Running")
	seconds := col("Seconds_Behind_Master", "Seconds_Behind_Source")
	if sqlThread.String != "Yes" {
		return 0, fmt.Sprintf("its SQL thread is stopped (%s_SQL_Running: %s): it applies nothing", slaveWord(row), orNone(sqlThread))
	}
	if !seconds.Valid {
		return 0, fmt.Sprintf("its lag is unknown (Seconds_Behind_%s is NULL; %s_IO_Running: %s)", masterWord(row), slaveWord(row), orNone(ioThread))
	}
	n, err := strconv.ParseInt(seconds.String, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("its lag reads %q, not a number of seconds", seconds.String)
	}
	return time.Duration(n) * time.Second, ""
}

func slaveWord(row map[string]sql.NullString) string {
	if _, ok := row["Replica_SQL_Running"]; ok {
		return "Replica"
	}
	return "Slave"
}

func masterWord(row map[string]sql.NullString) string {
	if _, ok := row["Seconds_Behind_Source"]; ok {
		return "Source"
	}
	return "Master"
}

func orNone(v sql.NullString) string {
	if !v.Valid || v.String == "" {
		return "none"
	}
	return v.String
}

// scanByName reads the current row as column name → value.
func scanByName(rows *sql.Rows) (map[string]sql.NullString, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	row := make(map[string]sql.NullString, len(cols))
	for i, c := range cols {
		row[c] = vals[i]
	}
	return row, nil
}
