package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// MySQL's DSN forms: mysql://user:password@host:port/db (or mariadb://),
// with ?socket=/path for a unix socket and ?tls=…&ssl-ca=…&ssl-cert=…&ssl-key=…
// for TLS with a private CA and a client certificate; and go-sql-driver's own
// user:password@tcp(host:port)/db or user@unix(/path)/db (also after
// mysql://), read by the driver's ParseDSN, with the same TLS parameters.
// Both are read into the driver's configuration once, when the DSN is
// parsed; a TLS configuration is set on that configuration itself, so no
// name is registered with the driver (mysql.RegisterTLSConfig's registry is
// package-level state shared by every connection).

// mysqlNetRE finds the network of go-sql-driver's form: @tcp(, @unix( (or
// the form without a user, starting with the network).
var mysqlNetRE = regexp.MustCompile(`(?:^|@)(?:tcp|tcp4|tcp6|unix)\(`)

// isMySQLDriverForm says s is go-sql-driver's user:pass@net(addr)/db form.
func isMySQLDriverForm(s string) bool {
	return mysqlNetRE.MatchString(s)
}

// mysqlTLSParams are the parameters shepherd reads itself, in either form,
// to build a TLS configuration.
func mysqlTLSParams() []string { return []string{"tls", "ssl-ca", "ssl-cert", "ssl-key"} }

// mysqlTLSOpts is what a DSN asks of TLS.
type mysqlTLSOpts struct{ mode, ca, cert, key string }

func (o *mysqlTLSOpts) set(k, v string) {
	switch k {
	case "tls":
		o.mode = strings.ToLower(v)
	case "ssl-ca":
		o.ca = v
	case "ssl-cert":
		o.cert = v
	case "ssl-key":
		o.key = v
	}
}

// apply sets the TLS configuration on cfg: tls=true|false|skip-verify|
// preferred as the driver reads them; with ssl-ca, ssl-cert or ssl-key (or
// tls=custom or tls=verify-ca), a configuration of its own: custom (the
// default with certificates) verifies the server's certificate against
// ssl-ca (or the system's CAs) and its host name, verify-ca against ssl-ca
// only, skip-verify not at all; ssl-cert and ssl-key are the client's
// certificate and key.
func (o mysqlTLSOpts) apply(cfg *mysql.Config) error {
	files := o.ca != "" || o.cert != "" || o.key != ""
	switch o.mode {
	case "", "true", "false", "skip-verify", "preferred":
		if !files {
			cfg.TLSConfig = o.mode
			return nil
		}
	case "custom", "verify-ca":
	case "1", "0":
		cfg.TLSConfig = map[string]string{"1": "true", "0": "false"}[o.mode]
		if !files {
			return nil
		}
	default:
		// The value is not shown: a value shepherd does not know may be
		// a piece of a password that held an unencoded &.
		return usageErrorf("the MySQL DSN's tls= value is not one shepherd reads: write tls=true, skip-verify, preferred, false, custom or verify-ca (custom and verify-ca with ssl-ca=/path/ca.pem, and ssl-cert= and ssl-key= for a client certificate)")
	}
	switch {
	case o.mode == "false" || o.mode == "0" || o.mode == "preferred":
		return usageErrorf("the MySQL DSN has tls=%s and ssl-ca, ssl-cert or ssl-key: write tls=custom (verify the server), verify-ca or skip-verify with them", o.mode)
	case (o.cert == "") != (o.key == ""):
		return usageErrorf("the MySQL DSN has one of ssl-cert and ssl-key: a client certificate needs both")
	case o.mode == "verify-ca" && o.ca == "":
		return usageErrorf("the MySQL DSN has tls=verify-ca and no ssl-ca: give the CA's certificate, ssl-ca=/path/ca.pem")
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return usageErrorf("read the MySQL DSN's ssl-ca: %v", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageErrorf("the MySQL DSN's ssl-ca %s holds no PEM certificate", o.ca)
		}
		t.RootCAs = pool
	}
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return usageErrorf("read the MySQL DSN's ssl-cert and ssl-key: %v", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	switch o.mode {
	case "skip-verify":
		t.InsecureSkipVerify = true
	case "verify-ca":
		// The chain is verified against the CA, the host name is not: the
		// driver's ServerName check is off, and this does the rest.
		t.InsecureSkipVerify = true
		t.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, pool)
		}
	}
	cfg.TLSConfig, cfg.TLS = "", t
	return nil
}

// verifyChain verifies the server's certificate chain against pool.
func verifyChain(raw [][]byte, pool *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("read the server's certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
	return err
}

// mysqlURLConfig builds the driver's configuration from a mysql:// URL.
func (d DSN) mysqlURLConfig() (*mysql.Config, error) {
	cfg := mysql.NewConfig()
	cfg.DBName = d.database()
	if u := d.url.User; u != nil {
		cfg.User = u.Username()
		cfg.Passwd, _ = u.Password()
	}
	var o mysqlTLSOpts
	var socket string
	for k, v := range d.url.Query() {
		switch k {
		case "socket":
			socket = v[len(v)-1]
		case "password":
			if _, has := d.url.User.Password(); has {
				return nil, usageErrorf("%s has two passwords, before the host and as ?password=: give one", d.String())
			}
			cfg.Passwd = v[len(v)-1]
		case "tls", "ssl-ca", "ssl-cert", "ssl-key":
			o.set(k, v[len(v)-1])
		default:
			return nil, usageErrorf("%s: %s is not one shepherd reads (it reads password=, socket=/path, tls=true|skip-verify|preferred|custom|verify-ca, ssl-ca, ssl-cert and ssl-key)", d.String(), paramName(k))
		}
	}
	switch host := d.url.Hostname(); {
	case socket != "" && host != "" && host != "localhost":
		return nil, usageErrorf("%s names both a host and a socket: leave the host out (mysql://user@/db?socket=/path) or write localhost", d.String())
	case socket != "":
		cfg.Net, cfg.Addr = "unix", socket
	case host == "":
		return nil, usageErrorf("mysql DSN has no host: write it as mysql://user:password@host:port/database, or mysql://user@/database?socket=/path/mysqld.sock")
	default:
		cfg.Net, cfg.Addr = "tcp", d.hostPort("3306")
	}
	if err := o.apply(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseMySQLDriverDSN reads go-sql-driver's form, s being the DSN after a
// mysql:// (if it had one): the user and password up to the @ before the
// last network, the address in its parentheses, then /database?params.
// The driver reads it; shepherd takes out the TLS parameters it reads
// itself, and checks that the driver read the user, password and database
// it found.
func parseMySQLDriverDSN(d DSN, s string) (DSN, error) {
	prefix := strings.TrimSuffix(d.raw, s)
	refuse := func(what string) (DSN, error) {
		return d, usageErrorf("the MySQL DSN in go-sql-driver's form %s; write it as user:password@tcp(host:port)/database or user@unix(/path/mysqld.sock)/database (the DSN is not shown here, as it may hold a password)", what)
	}
	locs := mysqlNetRE.FindAllStringIndex(s, -1)
	netAt := locs[len(locs)-1]
	userinfo, hasUser := "", false
	if s[netAt[0]] == '@' {
		userinfo, hasUser = s[:netAt[0]], true
		netAt[0]++
	}
	end := strings.IndexByte(s[netAt[1]:], ')')
	if end < 0 {
		return refuse("has no ) after its address")
	}
	end += netAt[1]
	if !strings.HasPrefix(s[end+1:], "/") {
		return refuse("has no /database after its address")
	}
	head := s[:end+2]
	db, query, _ := strings.Cut(s[end+2:], "?")
	user, pw, hasPw := strings.Cut(userinfo, ":")
	if hasPw {
		d.secrets = append(d.secrets, pw)
	}
	var o mysqlTLSOpts
	var keep []string
	if query != "" {
		for _, pair := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if isOneOf(k, mysqlTLSParams()) {
				if dec, err := url.QueryUnescape(v); err == nil {
					v = dec
				}
				o.set(k, v)
				continue
			}
			keep = append(keep, pair)
		}
	}
	driverDSN := head + db
	if len(keep) > 0 {
		driverDSN += "?" + strings.Join(keep, "&")
	}
	cfg, err := mysql.ParseDSN(driverDSN)
	if err != nil {
		return refuse(fmt.Sprintf("cannot be read by MySQL's driver (%s)", strings.Join(strings.Fields(quotedRE.ReplaceAllString(d.Scrub(err.Error()), "…")), " ")))
	}
	wantDB, err := url.PathUnescape(db)
	if err != nil || cfg.User != user || cfg.Passwd != pw || cfg.DBName != wantDB {
		return refuse("is read by MySQL's driver with another user, password or database than its form says: percent-encode a / or ? in a parameter's value (%2F, %3F)")
	}
	if cfg.DBName == "" {
		return refuse("has no database: write /database after the address")
	}
	if err := o.apply(cfg); err != nil {
		return d, err
	}
	d.my = cfg
	shownUser := ""
	if hasUser {
		shownUser = user
		if hasPw {
			shownUser += ":***"
		}
		shownUser += "@"
	}
	d.shown = prefix + shownUser + s[netAt[0]:]
	return d, nil
}

// mysqlConfig is a copy of the driver's configuration the DSN was read
// into, for the connection to change.
func (d DSN) mysqlConfig() *mysql.Config { return d.my.Clone() }

func isOneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func usageErrorf(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
