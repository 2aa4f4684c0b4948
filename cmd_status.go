package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// newStatusCmd is `shepherd status [PLAN...]`: the plan list in a terminal,
// text or JSON (with the audit log on --log) otherwise.
func newStatusCmd(g *globals) *cobra.Command {
	var asJSON, withLog bool
	ff := &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "status [PLAN...]",
		Short: "every plan's state in this database; PLAN is a plan file or a plan's name",
		RunE: func(cmd *cobra.Command, args []string) error {
			if on, err := ff.on(g); on || err != nil {
				return orFleet(err, func() error { return statusFleet(cmd, ff, args, asJSON, withLog) })
			}
			targets, err := statusTargets(args)
			if err != nil {
				return err
			}
			if !asJSON && !withLog && interactive(cmd) {
				files := statusFiles(targets)
				if len(args) == 0 {
					files = planFiles()
				}
				return planListTUI(cmd, g, files, "", engine.Options{})
			}
			eng, err := engine.Open(cmd.Context(), g.dsn())
			if err != nil {
				return err
			}
			defer eng.Close()
			all, err := eng.Status(cmd.Context())
			if err != nil {
				return err
			}
			shown := all
			if len(targets) > 0 {
				if shown, err = selectTargets(all, targets); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				var logs [][]engine.LogEntry
				if withLog {
					for _, p := range shown {
						entries, err := eng.Log(cmd.Context(), p.Name)
						if err != nil {
							return err
						}
						logs = append(logs, entries)
					}
				}
				return printer.StatusJSON(out, shown, logs)
			}
			printer.Status(out, shown)
			if withLog {
				for _, p := range shown {
					entries, err := eng.Log(cmd.Context(), p.Name)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "\nlog of %s:\n", p.Name)
					printer.Log(out, entries)
				}
			}
			return nil
		},
	}
	cmd.Flags().VarP(outputFlag{&asJSON}, "output", "o", "text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", completeOutput())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the same as --output json)")
	_ = cmd.Flags().MarkHidden("json")
	ff.define(cmd)
	cmd.Flags().BoolVar(&withLog, "log", false, "also print each plan's audit log")
	cmd.Example = statusExample
	return cmd
}

// statusTarget is one argument of `shepherd status`: a plan file, or the
// name of a plan as status prints it.
type statusTarget struct {
	arg  string
	plan *phases.Plan // nil for a name
}

// statusTargets reads status's arguments, before any database is touched:
// a file that is there is a plan file (read and checked as run reads it);
// anything else that is a valid plan name is a name, looked up in the
// database later; the rest are plan files that cannot be read.
func statusTargets(args []string) ([]statusTarget, error) {
	var out []statusTarget
	for _, a := range args {
		if fi, err := os.Stat(a); (err != nil || fi.IsDir()) && phases.IsPlanName(a) {
			out = append(out, statusTarget{arg: a})
			continue
		}
		p, err := phases.Load(a)
		if err != nil {
			return nil, err
		}
		out = append(out, statusTarget{arg: a, plan: p})
	}
	return out, nil
}

// files are the targets given as plan files.
func statusFiles(targets []statusTarget) []string {
	var files []string
	for _, t := range targets {
		if t.plan != nil {
			files = append(files, t.arg)
		}
	}
	return files
}

// selectTargets keeps the plans the arguments name, in the order given. A
// plan file that has not started here shows every phase pending; a name
// that no plan here has is a usage error that lists the names there are.
func selectTargets(all []engine.PlanStatus, targets []statusTarget) ([]engine.PlanStatus, error) {
	var out []engine.PlanStatus
	for _, t := range targets {
		named, ok := plansNamed(all, t)
		if !ok {
			return nil, unknownPlanName(t.arg, all)
		}
		out = append(out, named...)
	}
	return out, nil
}

// plansNamed is what one argument of status names among all: the plans of
// its name, or for a plan file that has not started, its phases pending;
// ok is false for a name that no plan has.
func plansNamed(all []engine.PlanStatus, t statusTarget) (named []engine.PlanStatus, ok bool) {
	name := t.arg
	if t.plan != nil {
		name = t.plan.Name
	}
	for _, s := range all {
		if s.Name == name {
			named = append(named, s)
		}
	}
	switch {
	case len(named) > 0:
		return named, true
	case t.plan == nil:
		return nil, false
	}
	ps := engine.PlanStatus{Name: t.plan.Name, Playbook: t.plan.Playbook, Table: t.plan.Table}
	for _, id := range t.plan.PlaybookDef().IDs() {
		ps.Phases = append(ps.Phases, engine.PhaseStatus{ID: id, Status: phases.Pending})
	}
	return []engine.PlanStatus{ps}, true
}

func unknownPlanName(name string, all []engine.PlanStatus) error {
	if len(all) == 0 {
		return &engine.UsageError{Msg: fmt.Sprintf("status %s: no plan has run in this database, and there is no plan file %s here", name, name)}
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	return &engine.UsageError{Msg: fmt.Sprintf("status %s: this database has no plan named %s; its plans are %s (or give a plan file)", name, name, phases.WordList(names))}
}
