// Package notify tells a chat channel or any webhook what a run did: one
// JSON POST with a Slack-compatible "text" and the same facts as fields, when
// a run waits at a gate, fails or finishes.
//
// A webhook URL is a secret (Slack's carries its token in the path), so
// nothing here ever prints it: errors name the scheme and host only.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Message is the body of one notification.
type Message struct {
	// Text is the whole message in one sentence: what Slack, Mattermost,
	// Rocket.Chat and Teams' incoming webhooks show.
	Text     string `json:"text"`
	Plan     string `json:"plan"`
	Playbook string `json:"playbook"`
	Table    string `json:"table"`
	// Phase is the gate waited at, or the phase that failed; empty when
	// the run finished or stopped before a phase.
	Phase string `json:"phase,omitempty"`
	// Event is what happened, in the words of --output json: gate,
	// phase-failed, error or done.
	Event string `json:"event"`
	// Exit is the run's exit code.
	Exit int `json:"exit"`
	// Time is when it happened: RFC 3339 in UTC with milliseconds.
	Time string `json:"time"`
}

// Target is a webhook to POST to.
type Target struct {
	u       *url.URL
	client  *http.Client
	timeout time.Duration
}

// Parse checks a webhook URL: http or https, with a host. Its error never
// repeats the URL.
func Parse(raw string, timeout time.Duration) (*Target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("--notify takes an http:// or https:// URL (the URL is not shown: it may hold a token)")
	}
	if timeout <= 0 {
		return nil, errors.New("--notify-timeout must be positive")
	}
	return &Target{u: u, client: &http.Client{}, timeout: timeout}, nil
}

// String names the target without its path, query or user: scheme and host.
func (t *Target) String() string { return t.u.Scheme + "://" + t.u.Host }

// Send posts m, waiting at most the target's timeout. Any status but 2xx is
// an error. The error names the target by String, never by its URL.
func (t *Target) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notifying %s: encoding the message: %w", t, err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notifying %s: %w", t, bare(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "shepherd")
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("notifying %s: no answer within %s", t, t.timeout)
		}
		return fmt.Errorf("notifying %s: %w", t, bare(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notifying %s: the server answered %s", t, resp.Status)
	}
	return nil
}

// bare is an HTTP client's error without the URL it quotes.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
