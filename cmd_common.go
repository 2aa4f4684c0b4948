package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/tui"
)

// What every command may use: the global flags, the check of positional
// arguments, whether a terminal is there, and the plan list's TUI.

type globals struct {
	db      string
	started bool   // a command's RunE began: errors after this are its own
	plan    string // the plan's name, once its file is read, for error lines
}

// scrub masks the DSN's passwords in a message, should any text carry it;
// a DSN shepherd does not read is not shown at all.
func (g *globals) scrub(msg string) string {
	if d, err := engine.ParseDSN(g.dsn()); err == nil {
		return d.Scrub(msg)
	}
	if g.dsn() != "" {
		msg = strings.ReplaceAll(msg, g.dsn(), "(the DSN given)")
	}
	return msg
}

func (g *globals) dsn() string {
	if g.db != "" {
		return g.db
	}
	return os.Getenv("SHEPHERD_DB")
}

// exactArgs checks the positional arguments; a mistake exits 2.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &flagError{fmt.Errorf("%s takes %s (usage: %s)", cmd.Name(), what, cmd.UseLine())}
		}
		return nil
	}
}

// interactive reports whether the command talks to a terminal, on both
// sides: the TUI needs one; scripts and pipes get text.
func interactive(cmd *cobra.Command) bool {
	out, ok := cmd.OutOrStdout().(*os.File)
	in, ok2 := cmd.InOrStdin().(*os.File)
	return ok && ok2 && term.IsTerminal(out.Fd()) && term.IsTerminal(in.Fd())
}

// planFiles are the plan files in ./plans.
func planFiles() []string {
	files, _ := filepath.Glob(filepath.Join("plans", "*.yaml"))
	return files
}

// planListTUI opens the TUI on the plan list: `status`, `shepherd --db DSN`
// and `demo`.
func planListTUI(cmd *cobra.Command, g *globals, files []string, label string, opts engine.Options) error {
	eng, err := engine.Open(cmd.Context(), g.dsn())
	if err != nil {
		return err
	}
	defer eng.Close()
	sources := "in this database and in ./plans"
	if label == "demo" {
		sources = "the bundled examples, on the demo database"
	}
	tuiHoldsTerminal(cmd.Context())
	return tui.Run(cmd.Context(), tui.Config{Engine: tui.Live(eng), Plans: files, Sources: sources, Label: label, Options: opts})
}
