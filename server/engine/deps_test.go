package engine_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/promogate/promogate"

// mayUseEngine lists the packages that may depend on the engine (directly or not), each with
// its reason: the layers around it. The domain packages below it (stores, the plugin host, the
// event and hook types) and the services that drive it through an interface of their own
// (consumers) must not; see docs/architecture.md.
var mayUseEngine = map[string]string{
	"server":                   "the binary wires every service",
	"server/internal/demo":     "loads the demo programmes by recording their events",
	"server/engine/enginetest": "builds engines for tests",
	"server/shadow":            "implements engine.Shadows, the engine's hand-off of decided events to shadow runs",
	"graph":                    "the GraphQL API calls the engine",
	"graph/model":              "GraphQL models of the engine's simulations and figures",
	"bench/monthclose":         "drives the engine's month close for the benchmark",
	"bench/backtest":           "gives the backtest it times the engine's rules for decisions",
}

// consumers drive the engine through interfaces they declare (*engine.Engine implements them).
var consumers = []string{"server/referral", "server/rewards", "server/scheduler", "server/backtest"}

// TestEngineIsNoHub keeps the dependency direction of docs/architecture.md: only the layers in
// mayUseEngine depend on server/engine, and the engine depends neither on them nor on its
// consumers.
func TestEngineIsNoHub(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	engine := module + "/server/engine"
	around := append(slices.Sorted(maps.Keys(mayUseEngine)), consumers...)
	listed := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		depends := slices.Contains(strings.Fields(deps), engine)
		if pkg == engine {
			listed = true
			for _, p := range around {
				if slices.Contains(strings.Fields(deps), module+"/"+p) {
					t.Errorf("server/engine depends on %s, a layer around it", p)
				}
			}
			continue
		}
		if _, ok := mayUseEngine[strings.TrimPrefix(pkg, module+"/")]; depends && !ok {
			t.Errorf("%s depends on server/engine; only %v may (docs/architecture.md): declare the interface it needs "+
				"and take the shared types from server/event or server/hook, or add it to mayUseEngine with its reason",
				pkg, slices.Sorted(maps.Keys(mayUseEngine)))
		}
	}
	if !listed {
		t.Fatalf("go list did not list %s", engine)
	}
}
