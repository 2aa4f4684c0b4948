package training

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A scripted lesson whose reader goes away (`shepherd train … --output json
// | head -1`) stops and removes its sandbox, instead of being killed by
// SIGPIPE on its next write and leaving /tmp/shepherd-train-* behind.
func TestScriptReaderGoneRemovesTheSandbox(t *testing.T) {
	if os.Getenv("SHEPHERD_TRAIN_PIPE_CHILD") != "" {
		// Enough steps that the output outgrows the pipe's buffer.
		steps := []string{"add-not-null-column"}
		for range 150 {
			steps = append(steps, "deploy-readers")
		}
		_, err := Script(context.Background(), os.Stdout, "add-column", steps, true)
		fmt.Fprintln(os.Stderr, "script:", err)
		os.Exit(0) // before the test framework writes to the closed pipe
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGPIPE on Windows")
	}
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScriptReaderGoneRemovesTheSandbox$")
	cmd.Env = append(os.Environ(), "SHEPHERD_TRAIN_PIPE_CHILD=1", "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, `{"event":"step"`) {
		cmd.Process.Kill()
		t.Fatalf("first line %q, %v", first, err)
	}
	stdout.Close() // as head -1 does
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the lesson ended with %v (stderr: %s)", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the lesson did not end")
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "shepherd-train-*")); len(left) > 0 {
		t.Errorf("%v is left behind (stderr: %s)", left, stderr.String())
	}
	if !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("the lesson said %q, want it stopped by the broken pipe", stderr.String())
	}
}
