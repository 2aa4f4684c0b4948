package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/phases"
)

// Shell completion of flag values: what a flag accepts, and for --phase,
// --until and --confirm, the phases of the plan file on the command line.
// cobra's `completion` command writes the scripts that call these.

// completeWords completes a flag from a fixed list of words.
func completeWords(words ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
}

// The flags whose values are a fixed list.
func completeOutput() cobra.CompletionFunc  { return completeWords("text", "json") }
func completeDialect() cobra.CompletionFunc { return completeWords(phases.Dialects()...) }
func completeFormat() cobra.CompletionFunc  { return completeWords(export.Formats()...) }
func completeLocks() cobra.CompletionFunc   { return completeWords("shared", "exclusive") }

// completePhases completes a phase id of the plan file given as the first
// argument. Without a readable plan, nothing completes.
func completePhases(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	pb := planOnLine(args)
	if pb == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return pb.IDs(), cobra.ShellCompDirectiveNoFileComp
}

// completeGates completes a gate or point of no return of the plan file
// given as the first argument, leaving out those already confirmed on the
// line.
func completeGates(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	pb := planOnLine(args)
	if pb == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var done []string
	if f := cmd.Flags().Lookup("confirm"); f != nil {
		if sv, ok := f.Value.(interface{ GetSlice() []string }); ok {
			done = sv.GetSlice()
		}
	}
	var out []cobra.Completion
	for _, id := range pb.Gates() {
		if !slices.Contains(done, id) {
			out = append(out, id)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// planOnLine is the playbook of the plan file the command line names first,
// or nil when there is none or it cannot be read.
func planOnLine(args []string) *phases.Playbook {
	if len(args) == 0 {
		return nil
	}
	plan, err := phases.Load(args[0])
	if err != nil {
		return nil
	}
	return plan.PlaybookDef()
}

// completePlanFiles completes the one PLAN argument with YAML files.
func completePlanFiles(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// outputFlag is status's --output (-o): text or json, kept in the bool that
// its older --json sets, so both spellings mean the same.
type outputFlag struct{ json *bool }

func (o outputFlag) String() string {
	if o.json != nil && *o.json {
		return "json"
	}
	return "text"
}

func (o outputFlag) Set(v string) error {
	switch v {
	case "text", "json":
		*o.json = v == "json"
		return nil
	}
	return fmt.Errorf("use text or json")
}

func (o outputFlag) Type() string { return "string" }

// statusExample is status's Example (kept here, with the other help of the
// CLI conventions, so cmd_status.go holds only its own behaviour).
const statusExample = `  # every plan in this database (the TUI in a terminal)
  shepherd status --db "$DSN"

  # one plan, as JSON, with its audit log
  shepherd status plans/users-email.yaml -o json --log`
