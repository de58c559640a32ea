package sdk_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// allowedModules are the modules the SDK may require directly. Everything a
// partner's plugin module ends up with must be one of these, or required by
// one of them (directly or not): see plugins/sdk/README.md. The two JSON Schema
// libraries generate and check campaign configurations (Config).
var allowedModules = []string{
	"github.com/hashicorp/go-plugin",
	"github.com/hashicorp/go-hclog",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"github.com/invopop/jsonschema",
	"github.com/santhosh-tekuri/jsonschema/v6",
}

// partnerMain is a plugin as a partner writes it: it imports only the SDK.
const partnerMain = `package main

import (
	"context"

	"github.com/promogate/promogate/plugins/sdk"
)

type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

func main() { sdk.Serve(Plugin{}) }

func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "partner", Version: "1.0.0", EventTypes: []string{"purchase"}}, nil
}

func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i := range results {
		results[i].Effects = []sdk.Effect{sdk.Credit(1, "partner")}
	}
	return sdk.EvaluateResponse{Results: results}, nil
}
`

// partnerTest tests it with the in-process harness.
const partnerTest = `package main

import (
	"context"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

func TestEvaluate(t *testing.T) {
	p := sdktest.Connect(t, Plugin{})
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{}}})
	if err != nil || len(resp.Results) != 1 || resp.Results[0].Effects[0].Credit.Amount != 1 {
		t.Fatalf("Evaluate = %+v, %v; want one credit of 1", resp, err)
	}
}
`

// TestPartnerModuleDependencies builds and tests a plugin in a fresh module
// that requires only the SDK (through a replace of this directory, as a
// partner without a published tag does) and checks that every module in its
// build list is an allowed module or a dependency of one: nothing of the
// core's (bun, gqlgen, prometheus...) leaks into a partner's module.
func TestPartnerModuleDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy, go build and go test in a fresh module")
	}
	sdkDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/partner\n\ngo 1.24.0\n\n" +
		"require github.com/promogate/promogate/plugins/sdk v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/promogate/promogate/plugins/sdk => " + sdkDir + "\n"
	for name, body := range map[string]string{"go.mod": goMod, "main.go": partnerMain, "main_test.go": partnerTest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	goCmd("build", "-o", filepath.Join(dir, "partner"), ".")
	goCmd("test", "-count=1", "./...")

	// Every module reachable from an allowed one in the module graph.
	reach := map[string]bool{}
	edges := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(goCmd("mod", "graph")), "\n") {
		from, to, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		from, _, _ = strings.Cut(from, "@")
		to, _, _ = strings.Cut(to, "@")
		edges[from] = append(edges[from], to)
	}
	var visit func(string)
	visit = func(m string) {
		if reach[m] {
			return
		}
		reach[m] = true
		for _, next := range edges[m] {
			visit(next)
		}
	}
	for _, m := range allowedModules {
		visit(m)
	}

	var extra []string
	list := strings.Fields(goCmd("list", "-m", "-f", "{{.Path}}", "all"))
	for _, m := range list {
		switch {
		case m == "example.com/partner", m == "github.com/promogate/promogate/plugins/sdk", reach[m]:
		default:
			extra = append(extra, m)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("a partner's module needs %s, which are neither %s nor their dependencies",
			strings.Join(extra, ", "), strings.Join(allowedModules, ", "))
	}
	// And the SDK requires nothing directly beyond the allowed modules and their dependencies.
	for _, m := range edges["github.com/promogate/promogate/plugins/sdk"] {
		if !reach[m] {
			t.Errorf("plugins/sdk/go.mod requires %s, which is not allowed", m)
		}
	}
	t.Logf("a partner's build list: %d modules", len(list))
}
