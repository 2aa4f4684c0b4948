package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/notify"
)

// hook is a local webhook: it keeps every body posted to it and answers
// with status (200 unless set).
type hook struct {
	srv    *httptest.Server
	bodies chan []byte
	status int
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{bodies: make(chan []byte, 10), status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		h.bodies <- b
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// one is the one body posted since the last call; none is an error.
func (h *hook) one(t *testing.T) (notify.Message, string) {
	t.Helper()
	select {
	case b := <-h.bodies:
		var m notify.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		select {
		case more := <-h.bodies:
			t.Fatalf("a second POST: %s", more)
		default:
		}
		return m, string(b)
	default:
		t.Fatal("nothing was posted to the webhook")
	}
	return notify.Message{}, ""
}

// run --notify posts once when the run waits at a gate, fails or finishes:
// a Slack-compatible text and the facts as fields, never the DSN, a
// password or a key value, and the run's exit code as it would be without
// --notify.
func TestRunNotify(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(1000)
	db.Exec(`UPDATE users SET name = '12'`)
	db.Exec(`UPDATE users SET name = 'oops' WHERE id = 650`)
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(plan, []byte(`name: users-age
playbook: add-column
table: users
column: age
type: integer
backfill: "CAST(json(name) AS integer)"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHook(t, http.StatusOK)
	shep := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(append([]string{"run", plan, "--non-interactive", "--notify", h.srv.URL + "/services/T000/B000/s3cr3tt0ken"}, args...), "--db", db.DSN)
		if code := run(context.Background(), args, &out, &errb); code != want {
			t.Fatalf("run %v: exit %d, want %d\n%s%s", args, code, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	check := func(m notify.Message, body string, event, phase string, exit int, text string) {
		t.Helper()
		if m.Event != event || m.Phase != phase || m.Exit != exit || m.Plan != "users-age" || m.Playbook != "add-column" || m.Table != "users" {
			t.Errorf("body %s: want event %s, phase %q, exit %d of users-age (add-column on users)", body, event, phase, exit)
		}
		if !strings.Contains(m.Text, text) {
			t.Errorf("text %q, want it to say %q", m.Text, text)
		}
		if ts, err := time.Parse(time.RFC3339, m.Time); err != nil || !strings.HasSuffix(m.Time, "Z") || time.Since(ts) > time.Minute {
			t.Errorf("time %q: want RFC 3339 in UTC, now", m.Time)
		}
		for _, secret := range []string{db.DSN, strings.TrimPrefix(db.DSN, "sqlite:"), "s3cr3t", "id > 600", "the checkpoint stays"} {
			if strings.Contains(body, secret) {
				t.Errorf("the body holds %q: %s", secret, body)
			}
		}
	}

	shep(3)
	m, body := h.one(t)
	check(m, body, "gate", "deploy-readers", 3, "users-age (add-column on users) is waiting at the gate deploy-readers (exit 3): ")

	out := shep(1, "--confirm", "deploy-readers", "--batch-size", "100")
	if !strings.Contains(out, "id > 600 AND id <= 700") {
		t.Fatalf("the failure should name its batch on the console:\n%s", out)
	}
	m, body = h.one(t)
	check(m, body, "phase-failed", "backfill", 1, "failed at backfill (exit 1)")

	db.Exec(`UPDATE users SET name = '13' WHERE id = 650`)
	shep(0, "--confirm", "switch-writes", "--output", "json")
	m, body = h.one(t)
	check(m, body, "done", "", 0, "finished: every phase of users-age is done")

	// A password in the DSN: the run cannot connect; the notification
	// says it stopped, with neither the password nor the address.
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"run", plan, "--non-interactive", "--notify", h.srv.URL, "--db", "postgres://u:pa55word@127.0.0.1:1/db?connect_timeout=1"}, &o, &e)
	if code != 1 {
		t.Fatalf("run on a closed port: exit %d\n%s%s", code, o.String(), e.String())
	}
	m, body = h.one(t)
	if m.Event != "error" || m.Exit != 1 || !strings.Contains(m.Text, "stopped with an error (exit 1)") {
		t.Errorf("body %s: want an error, exit 1", body)
	}
	for _, secret := range []string{"pa55word", "127.0.0.1:1", "postgres://"} {
		if strings.Contains(body, secret) {
			t.Errorf("the body holds %q: %s", secret, body)
		}
	}
}

// A webhook that fails or does not answer is a warning among the events;
// the run exits as it would have, and the warning never shows the URL.
func TestRunNotifyFailureIsAWarning(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(10)
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := newHook(t, http.StatusInternalServerError)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	gone := httptest.NewServer(http.NotFoundHandler())
	closed := gone.URL
	gone.Close()
	for _, c := range []struct {
		url, output, want string
	}{
		{broken.srv.URL + "/hook/s3cr3t", "text", "[users-email] warning: --notify: notifying " + broken.srv.URL + ": the server answered 500 Internal Server Error; the run's outcome is unchanged\n"},
		{closed + "/hook/s3cr3t", "text", "[users-email] warning: --notify: notifying " + closed + ": dial tcp "},
		{hanging.URL + "/hook/s3cr3t", "json", `{"event":"notice","plan":"users-email","phase":"","message":"warning: --notify: notifying ` + hanging.URL + `: no answer within 200ms; the run's outcome is unchanged","level":"warning","time":"`},
	} {
		var out, errb bytes.Buffer
		start := time.Now()
		code := run(context.Background(), []string{"run", plan, "--non-interactive", "-o", c.output, "--notify", c.url, "--notify-timeout", "200ms", "--db", db.DSN}, &out, &errb)
		if code != 3 {
			t.Fatalf("exit %d, want 3 (at the gate) whatever the webhook did\n%s%s", code, out.String(), errb.String())
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("the run took %s: the POST's timeout did not hold", time.Since(start))
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("output:\n%s\nwant it to hold\n%s", out.String(), c.want)
		}
		if strings.Contains(out.String()+errb.String(), "s3cr3t") {
			t.Errorf("the output shows the webhook's path:\n%s%s", out.String(), errb.String())
		}
	}

	// In the TUI the operator sees the gates: --notify is refused there.
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"run", plan, "--notify", broken.srv.URL, "--db", db.DSN}, &o, &e); code != 2 ||
		!strings.Contains(e.String(), "--notify is for --non-interactive runs") {
		t.Errorf("--notify without --non-interactive: exit %d, want 2\n%s", code, e.String())
	}

	// A --notify that is no http(s) URL is refused before anything runs,
	// without repeating it.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"run", plan, "--non-interactive", "--notify", "hooks.example.com/s3cr3t", "--db", db.DSN}, &out, &errb); code != 2 {
		t.Fatalf("--notify without a scheme: exit %d, want 2\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "--notify takes an http:// or https:// URL") || strings.Contains(errb.String(), "s3cr3t") {
		t.Errorf("stderr: %s", errb.String())
	}
}
