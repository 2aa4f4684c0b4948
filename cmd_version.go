package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/internal/version"
)

// newVersionCmd is `shepherd version`: which shepherd this is, as a bug
// report needs it (the root's --version prints the same on one line).
func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print shepherd's version and the commit it was built from",
		Example: `  shepherd version
  shepherd version -o json
  shepherd --version`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := version.Get()
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				return json.NewEncoder(out).Encode(in)
			case "text":
			default:
				return &flagError{fmt.Errorf("--output %q: use text or json", output)}
			}
			fmt.Fprintf(out, "shepherd   %s\n", in.Version)
			if in.Commit != "" {
				modified := ""
				if in.Modified {
					modified = " (with uncommitted changes)"
				}
				fmt.Fprintf(out, "commit     %s%s\n", in.Commit, modified)
			}
			if in.Time != "" {
				fmt.Fprintf(out, "committed  %s\n", in.Time)
			}
			fmt.Fprintf(out, "go         %s %s\n", in.Go, in.Platform)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", completeOutput())
	return cmd
}
