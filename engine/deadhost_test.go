package engine

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A runner killed on this host is dead as soon as it exits, before its
// parent reaps it: a zombie holds no lock, and must not keep the next
// runner out (SQLite's lease) or show as alive in status.
func TestDeadOnThisHostCountsAZombie(t *testing.T) {
	host, _ := os.Hostname()
	if deadOnThisHost(host, int64(os.Getpid())) {
		t.Fatal("this process counts as dead")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if deadOnThisHost(host, int64(pid)) {
		t.Fatal("a live child counts as dead")
	}
	cmd.Process.Kill() // not reaped: a zombie until Wait
	defer cmd.Wait()
	deadline := time.Now().Add(time.Minute)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Skipf("no /proc here: %v", err)
		}
		if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed child did not become a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !deadOnThisHost(host, int64(pid)) {
		t.Error("a killed runner that is not reaped yet (a zombie) counts as alive")
	}
	if deadOnThisHost("another-host", int64(pid)) {
		t.Error("a process on another host counts as dead")
	}
}
