package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCmd is `shepherd gen-docs DIR`, hidden: the man pages and the
// shell completion scripts, generated from the commands themselves so they
// never drift from --help. For packagers and release builds.
func newGenDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "write the man pages (DIR/man1) and shell completion scripts (DIR/completion)",
		Hidden: true,
		Example: `  shepherd gen-docs dist/docs
  man -l dist/docs/man1/shepherd-run.1`,
		Args:              exactArgs(1, "one folder"),
		ValidArgsFunction: cobra.FixedCompletions(nil, cobra.ShellCompDirectiveFilterDirs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			root.DisableAutoGenTag = true // the same pages from the same source
			man := filepath.Join(args[0], "man1")
			comp := filepath.Join(args[0], "completion")
			for _, d := range []string{man, comp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("gen-docs: creating %s: %w", d, err)
				}
			}
			header := &doc.GenManHeader{Title: "SHEPHERD", Section: "1", Source: "shepherd", Manual: "shepherd manual"}
			if err := doc.GenManTree(root, header, man); err != nil {
				return fmt.Errorf("gen-docs: writing the man pages in %s: %w", man, err)
			}
			scripts := map[string]func(f *os.File) error{
				"shepherd.bash": func(f *os.File) error { return root.GenBashCompletionV2(f, true) },
				"_shepherd":     func(f *os.File) error { return root.GenZshCompletion(f) },
				"shepherd.fish": func(f *os.File) error { return root.GenFishCompletion(f, true) },
				"shepherd.ps1":  func(f *os.File) error { return root.GenPowerShellCompletionWithDesc(f) },
			}
			for name, gen := range scripts {
				if err := writeWith(filepath.Join(comp, name), gen); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote the man pages in %s and the completion scripts in %s\n", man, comp)
			return nil
		},
	}
}

// writeWith creates the file and has gen write it.
func writeWith(path string, gen func(f *os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gen-docs: creating %s: %w", path, err)
	}
	if err := gen(f); err != nil {
		f.Close()
		return fmt.Errorf("gen-docs: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gen-docs: writing %s: %w", path, err)
	}
	return nil
}
