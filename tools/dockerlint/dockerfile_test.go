// Package dockerlint checks the repository's Dockerfile without a Docker
// engine: buildkit's own parser and linter (the checks `docker build
// --check` runs) must find nothing, and the image must be what the README
// promises. It is a module of its own so that buildkit's dependencies stay
// out of shepherd's go.mod and of the goreleaser tools module.
package dockerlint

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// offline answers the linter's look-ups of base images with an empty image
// of the asked platform, instead of asking a registry: the rules look at
// the Dockerfile, not at what the images hold.
type offline struct{}

func (offline) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	img := ocispecs.Image{Platform: p, RootFS: ocispecs.RootFS{Type: "layers"}}
	dt, err := json.Marshal(img)
	return ref, "", dt, err
}

// lint runs buildkit's linter on a Dockerfile: every warning, and the
// error that would stop a build.
func lint(t *testing.T, dt []byte) []string {
	t.Helper()
	ctx := context.Background()
	// The source the warnings point into, as buildkit's frontend makes it.
	src := llb.Scratch()
	def, err := src.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	smap := llb.NewSourceMap(&src, "Dockerfile", "Dockerfile", dt)
	smap.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{SourceMap: smap, MetaResolver: offline{}})
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	var out []string
	if res.Error != nil {
		out = append(out, "error: "+res.Error.Message)
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		out = append(out, w.RuleName+" (line "+strconv.Itoa(line)+"): "+w.Detail)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	dt, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, w := range ast.Warnings {
		t.Errorf("parser: %s", w.Short)
	}
	for _, w := range lint(t, dt) {
		t.Errorf("lint: %s", w)
	}

	// What the README promises: a static binary on distroless (or
	// scratch), run as a user without privileges, with shepherd as the
	// entrypoint.
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatalf("instructions: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and the image", len(stages))
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		t.Errorf("the image is FROM %s, want gcr.io/distroless/static… or scratch", final.BaseName)
	}
	var user, entrypoint string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entrypoint = strings.Join(c.CmdLine, " ")
			if c.PrependShell {
				t.Errorf("ENTRYPOINT in shell form: signals would go to a shell, not shepherd")
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("the image runs as %q, want a user without privileges (nonroot)", user)
	}
	if !strings.HasSuffix(strings.Fields(entrypoint + " x")[0], "/shepherd") {
		t.Errorf("ENTRYPOINT is %q, want the shepherd binary", entrypoint)
	}
	static := false
	for _, c := range stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "CGO_ENABLED=0 go build") {
			static = true
		}
	}
	if !static {
		t.Error("the build stage has no CGO_ENABLED=0 go build: the binary would not be static")
	}
}

// The linter really runs: a Dockerfile with the usual mistakes gets its
// warnings.
func TestLintFindsMistakes(t *testing.T) {
	bad := []byte("from golang:1.26 as Build\nRUN go build -o /shepherd .\nFROM scratch\nCOPY --from=build /shepherd /shepherd\nENTRYPOINT /shepherd\n")
	got := strings.Join(lint(t, bad), "\n")
	for _, rule := range []string{"StageNameCasing", "ConsistentInstructionCasing", "JSONArgsRecommended"} {
		if !strings.Contains(got, rule) {
			t.Errorf("no %s warning for a Dockerfile that earns one; got:\n%s", rule, got)
		}
	}
}
