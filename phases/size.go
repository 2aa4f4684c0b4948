package phases

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxPlanBytes bounds a plan: its file, and what it holds once YAML anchors
// and aliases are expanded. A real plan is a few hundred bytes of YAML with
// a handful of hand-written SQL expressions; 1 MiB is a thousand times that,
// so no plan written by hand comes near it, while a file named by mistake (a
// log, a dump, something generated) is refused before it is read whole.
// shepherd keeps the plan's canonical text in shepherd_log (to explain a
// later edit): bounded so, it fits that column on every dialect (MySQL's
// MEDIUMTEXT holds 16 MiB, which is also MariaDB's default
// max_allowed_packet), with room for the log row of an edit, which quotes a
// changed field's old and new values.
const MaxPlanBytes = 1 << 20

// limitText is MaxPlanBytes as people read it.
const limitText = "1 MiB"

// readPlanFile reads a plan file, refusing one over MaxPlanBytes before it
// reads it: by its size when the file system gives one, else (a pipe) by
// reading no more than one byte past the limit.
func readPlanFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &PlanError{File: path, Problem: fmt.Sprintf("cannot read the plan: %v", errors.Unwrap(err)), Fix: "check the path"}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxPlanBytes {
		return nil, tooBig(path, fmt.Sprintf("the file is %s", sizeText(fi.Size())))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
	if err != nil {
		return nil, &PlanError{File: path, Problem: fmt.Sprintf("cannot read the plan: %v", err), Fix: "check the path"}
	}
	if len(data) > MaxPlanBytes {
		return nil, tooBig(path, "the file is larger than that")
	}
	return data, nil
}

// checkSize refuses plan text over the limit (Parse is given text from
// elsewhere than Load too), and a plan whose fields, aliases expanded, add
// up to more than the limit.
func checkSize(file string, data []byte) error {
	if len(data) > MaxPlanBytes {
		return tooBig(file, fmt.Sprintf("the plan is %s", sizeText(int64(len(data)))))
	}
	return nil
}

func checkCanonicalSize(p *Plan) error {
	if n := len(p.Canonical()); n > MaxPlanBytes {
		return tooBig(p.File, fmt.Sprintf("its fields come to %s once YAML anchors and aliases are expanded", sizeText(int64(n))))
	}
	return nil
}

func tooBig(file, what string) *PlanError {
	return &PlanError{File: file, Problem: fmt.Sprintf("%s: a plan may be at most %s (%d bytes)", what, limitText, MaxPlanBytes),
		Fix: "a plan is a few lines of YAML (see examples/): check that this is the plan file"}
}

// sizeText says a size in bytes as MiB or KiB, with the exact count.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}
