// Package examples holds the example plans, one per playbook, embedded in the
// binary so that `shepherd demo` works from any folder.
package examples

import "embed"

// Plans are the example plan files.
//
//go:embed *.yaml
var Plans embed.FS
