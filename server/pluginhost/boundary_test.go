package pluginhost_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyThePluginHostImportsTheSDK keeps the SDK's types out of the core's domain: apart from
// this package, which translates (translate.go), and enginetest, which serves test fakes
// written against the SDK, no package of the core's server, graph or db imports plugins/sdk.
func TestOnlyThePluginHostImportsTheSDK(t *testing.T) {
	const module = "github.com/promogate/promogate"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		module+"/server/...", module+"/graph/...", module+"/db/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{module + "/server/pluginhost": true, module + "/server/engine/enginetest": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, module+"/plugins/sdk") && !allowed[pkg] {
				t.Errorf("%s imports %s; the core's packages use pluginhost's types", pkg, imp)
			}
		}
	}
}
