package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// jobArgs are the shepherd arguments of docs/fleet-indexed-job.yaml, with
// the plan, the fleet file and the completion index put in.
func jobArgs(t *testing.T, plan, fleetFile string, index int) []string {
	t.Helper()
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct{ Args []string }
				}
			}
		}
	}
	if err := yaml.Unmarshal(must(os.ReadFile("docs/fleet-indexed-job.yaml")), &job); err != nil {
		t.Fatal(err)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 {
		t.Fatal("the manifest has no args")
	}
	r := strings.NewReplacer("/plans/users-email.yaml", plan, "/fleet/fleet.yaml", fleetFile, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(index))
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestFleetIndexedJob runs the Indexed Job manifest's command, one process
// of the real binary per completion index, all at once, against a fleet of
// the dialects there are servers for: every target reaches the first gate;
// with it confirmed, one index is killed (SIGKILL) in the middle of its
// backfill while the others go on; its command run again resumes it; with
// both gates confirmed every target reaches the end.
func TestFleetIndexedJob(t *testing.T) {
	bin, fpBin := shepherdBinary(t), failpointBinary(t)
	dbs := append(fleetDBs(t, 1, 1000), testdb.New(t, "sqlite"))
	dbs[len(dbs)-1].Seed(1000)
	dir := t.TempDir()
	spec := "targets:\n"
	for i, db := range dbs {
		spec += fmt.Sprintf("  - {name: t%d-%s, db: '%s'}\n", i, db.Dialect, db.DSN)
	}
	fleetFile := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(fleetFile, []byte(spec), 0o644)
	plan, _ := filepath.Abs("examples/users-email.yaml")

	index := func(b string, i int, extra ...string) *exec.Cmd {
		cmd := exec.Command(b, append(jobArgs(t, plan, fleetFile, i), extra...)...)
		cmd.Dir = dir
		return cmd
	}
	// every runs each index's command at once (but skip), and checks their
	// exits.
	every := func(want int, skip int, extra ...string) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range dbs {
			if i == skip {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := index(bin, i, extra...).CombinedOutput()
				if code := exitOf(err); code != want {
					t.Errorf("index %d: exit %d, want %d\n%s", i, code, want, out)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	phaseOf := func(phase string) map[string]string {
		out, err := exec.Command(bin, "status", "--fleet", fleetFile, "-o", "json").Output()
		if err != nil {
			t.Fatalf("status --fleet: %v", err)
		}
		var st struct {
			Targets []struct {
				Name  string
				Plans []struct{ Phases []struct{ ID, Status string } }
			}
		}
		json.Unmarshal(out, &st)
		got := map[string]string{}
		for _, tg := range st.Targets {
			for _, p := range tg.Plans {
				for _, ph := range p.Phases {
					if ph.ID == phase {
						got[tg.Name] = ph.Status
					}
				}
			}
		}
		return got
	}

	every(3, -1)
	if got := phaseOf("deploy-readers"); len(got) != len(dbs) || strings.Count(fmt.Sprint(got), "waiting") != len(dbs) {
		t.Fatalf("after the first pass, deploy-readers: %v", got)
	}

	// Index 0 stops itself after its third batch and is killed there.
	killed := index(fpBin, 0, "--confirm", "deploy-readers", "--batch-size", "100")
	killed.Env = append(os.Environ(), "SHEPHERD_TEST_STOP_AT=backfill:batch-done#3")
	var kOut bytes.Buffer
	killed.Stdout, killed.Stderr = &kOut, &kOut
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	defer killed.Process.Kill()
	every(3, 0, "--confirm", "deploy-readers")
	waitFor(t, time.Minute, func() bool { return stoppedProcess(killed.Process.Pid) })
	killed.Process.Signal(syscall.SIGKILL)
	if code := exitOf(killed.Wait()); code != -1 {
		t.Fatalf("index 0 was not killed: exit %d\n%s", code, kOut.String())
	}
	if n := dbs[0].One("SELECT count(*) FROM users WHERE email IS NOT NULL"); n != "300" {
		t.Errorf("index 0 filled %s rows before it was killed, want 300", n)
	}
	if got := phaseOf("backfill")["t0-"+dbs[0].Dialect]; got != "running" {
		t.Errorf("the killed target's backfill is %q, want running", got)
	}
	out, err := index(bin, 0, "--confirm", "deploy-readers").CombinedOutput()
	if code := exitOf(err); code != 3 || !strings.Contains(string(out), "waiting at switch-writes") {
		t.Fatalf("index 0 again: exit %d, want 3 at switch-writes\n%s", code, out)
	}

	every(0, -1, "--confirm", "deploy-readers", "--confirm", "switch-writes")
	if out, err := exec.Command(bin, "ready", plan, "--fleet", fleetFile, "--phase", "enforce").CombinedOutput(); err != nil {
		t.Errorf("ready --fleet --phase enforce: %v\n%s", err, out)
	}
	for _, db := range dbs {
		if n := db.One("SELECT count(*) FROM users WHERE email = " + emailOf(db.Dialect)); n != "1000" {
			t.Errorf("%s: %s of 1000 rows have their email", db.Dialect, n)
		}
	}
}

func emailOf(dialect string) string {
	if dialect == "mysql" {
		return "concat(lower(username), '@example.com')"
	}
	return "lower(username) || '@example.com'"
}
