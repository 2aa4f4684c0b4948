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
	cmd, tmp, stderr := lessonChild(t, "TestScriptReaderGoneRemovesTheSandbox", "SHEPHERD_TRAIN_PIPE_CHILD")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, `{"event":"step"`) {
		cmd.Process.Kill()
		t.Fatalf("first line %q, %v", first, err)
	}
	stdout.Close() // as head -1 does
	ended, err := waitOrKill(cmd, 30*time.Second)
	if !ended {
		t.Fatal("the lesson did not end")
	}
	if err != nil {
		t.Errorf("the lesson ended with %v (stderr: %s)", err, stderr.String())
	}
	if left := leftBehind(tmp); len(left) > 0 {
		t.Errorf("%v is left behind (stderr: %s)", left, stderr.String())
	}
	if !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("the lesson said %q, want it stopped by the broken pipe", stderr.String())
	}
}

// lessonChild is this test binary run again for test alone, not started
// yet: env marks it as the child, and it has a TMPDIR of its own, where its
// lessons make their sandboxes. stderr collects what it says.
func lessonChild(t *testing.T, test, env string) (cmd *exec.Cmd, tmp string, stderr *strings.Builder) {
	tmp = t.TempDir()
	cmd = exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"=1", "TMPDIR="+tmp)
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	return cmd, tmp, stderr
}

// waitOrKill waits for a started cmd to end; after d it kills it and
// reports that it did not end.
func waitOrKill(cmd *exec.Cmd, d time.Duration) (ended bool, err error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return true, err
	case <-time.After(d):
		cmd.Process.Kill()
		return false, nil
	}
}

// leftBehind lists the lessons' folders left in tmp.
func leftBehind(tmp string) []string {
	left, _ := filepath.Glob(filepath.Join(tmp, "shepherd-train-*"))
	return left
}
