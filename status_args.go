package main

import (
	"fmt"
	"os"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

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
		name := t.arg
		if t.plan != nil {
			name = t.plan.Name
		}
		found := false
		for _, s := range all {
			if s.Name == name {
				out = append(out, s)
				found = true
			}
		}
		switch {
		case found:
		case t.plan == nil:
			return nil, unknownPlanName(t.arg, all)
		default:
			ps := engine.PlanStatus{Name: t.plan.Name, Playbook: t.plan.Playbook, Table: t.plan.Table}
			for _, id := range t.plan.PlaybookDef().IDs() {
				ps.Phases = append(ps.Phases, engine.PhaseStatus{ID: id, Status: phases.Pending})
			}
			out = append(out, ps)
		}
	}
	return out, nil
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
