package phases

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// A plan is a few lines of YAML. A file far bigger than any plan (a log, a
// dump, a generated file named by mistake) is refused before it is read
// whole: memory does not grow with it, and nothing of it reaches the
// database.

// hugePlan writes a valid plan padded with comment lines to n bytes.
func hugePlan(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := yamlOf(addColumnPlan)
	if _, err := f.WriteString(head); err != nil {
		t.Fatal(err)
	}
	line := "# " + strings.Repeat("x", 1021) + "\n"
	for written := len(head); written < n; written += len(line) {
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadRefusesAPlanOverTheLimitWithItsSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	hugePlan(t, path, 50<<20)
	_, err := Load(path)
	var pe *PlanError
	if !errors.As(err, &pe) {
		t.Fatalf("a valid 50 MB plan: %v, want a *PlanError refusing its size", err)
	}
	for _, want := range []string{path, "50.0 MiB", "1 MiB"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
}

// Load stops reading at the limit: a file whose size the file system does
// not give (a pipe) is read up to the limit and no further.
func TestLoadStopsReadingAtTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	const total = 50 << 20
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		head := yamlOf(addColumnPlan)
		n, _ := f.WriteString(head)
		sent.Add(int64(n))
		line := []byte("# " + strings.Repeat("x", 1021) + "\n")
		for sent.Load() < total {
			n, err := f.Write(line)
			sent.Add(int64(n))
			if err != nil {
				return // the reader closed the pipe: it read no more
			}
		}
	}()
	_, err := Load(path)
	<-done
	if err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("a 50 MB plan through a pipe: %v, want it refused for its size", err)
	}
	// The pipe holds at most its buffer (64 KiB on Linux) beyond what the
	// reader took.
	if got := sent.Load(); got > MaxPlanBytes+1<<20 {
		t.Fatalf("the writer got %d bytes into the pipe: Load read far past the limit of %d", got, MaxPlanBytes)
	}
}

func TestAPlanJustUnderTheLimitIsAccepted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.yaml")
	hugePlan(t, path, MaxPlanBytes-2048)
	if _, err := Load(path); err != nil {
		t.Fatalf("a plan under the limit: %v", err)
	}
}

// Aliases can make a small file's plan huge: what the plan holds (and what
// shepherd stores of it) is bounded too.
func TestAPlanWhoseAliasesExpandPastTheLimitIsRefused(t *testing.T) {
	// One anchored expression used by six fields: under a quarter of the
	// limit in the file, over it in the plan.
	big := "amount > 0 OR '" + strings.Repeat("a", MaxPlanBytes/4) + "' = ''"
	data := fmt.Sprintf("name: orders-amount-positive\nplaybook: tighten-constraint\ntable: orders\n"+
		"constraint: {name: orders_amount_positive, check: &x \"%s\"}\n"+
		"clean: {set: {amount: *x, a2: *x, a3: *x, a4: *x, a5: *x}}\n", big)
	if len(data) > MaxPlanBytes {
		t.Fatalf("the test file is %d bytes: it must be under the limit", len(data))
	}
	_, err := Parse(planFile, []byte(data))
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("a plan of %d bytes whose aliases expand to over 1 MiB: %v, want it refused", len(data), err)
	}
}
