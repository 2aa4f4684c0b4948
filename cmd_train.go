package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/training"
)

// newTrainCmd is `shepherd train`: lessons in a sandbox, in a TUI or
// scripted.
func newTrainCmd() *cobra.Command {
	var lesson, steps, output string
	var list bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "training lessons: break a simulated application by changing its schema in the wrong order",
		Long: `train opens the training lessons: each has an SQLite sandbox that shepherd's own
engine changes for real, and an application fleet that keeps reading and writing it.
Pick actions in the wrong order and the fleet breaks; the score shows your sequence
beside the safe one.

Scripted, for tests and course authors (one JSON object a line with --output json).`,
		Example: `  # the lessons, in the TUI
  shepherd train

  # scripted
  shepherd train --list --output json
  shepherd train --lesson add-column --steps add-column,deploy-readers,backfill,deploy-writers,enforce -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &flagError{fmt.Errorf("--output %q: use text or json", output)}
			}
			out := cmd.OutOrStdout()
			if list {
				return training.PrintList(out, output == "json")
			}
			if steps == "" {
				if output == "json" {
					return &flagError{errors.New("--output json needs --lesson NAME --steps a,b,c (or --list)")}
				}
				tuiHoldsTerminal(cmd.Context())
				return wrapTrainErr(training.Interactive(cmd.Context(), lesson, out))
			}
			if lesson == "" {
				return &flagError{fmt.Errorf("--steps needs --lesson NAME (lessons: %s)", strings.Join(training.LessonNames(), ", "))}
			}
			_, err := training.Script(cmd.Context(), out, lesson, strings.Split(steps, ","), output == "json")
			return wrapTrainErr(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&lesson, "lesson", "", "the lesson: "+strings.Join(training.LessonNames(), ", "))
	fl.StringVar(&steps, "steps", "", "run the lesson's actions in this order, comma-separated, without the TUI")
	fl.StringVarP(&output, "output", "o", "text", "text or json (one event a line)")
	_ = cmd.RegisterFlagCompletionFunc("output", completeOutput())
	_ = cmd.RegisterFlagCompletionFunc("lesson", completeWords(training.LessonNames()...))
	fl.BoolVar(&list, "list", false, "list the lessons, their actions and the safe sequence")
	return cmd
}

// wrapTrainErr makes an unknown lesson or action a usage error (exit 2).
func wrapTrainErr(err error) error {
	var ue *training.UsageError
	if errors.As(err, &ue) {
		return &flagError{err}
	}
	return err
}
