package e2e

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// consolePlugins are the plugins the console test registers at start (--plugins-dir), as
// `make run` does: the five seed programmes and the weekenddouble example.
var consolePlugins = map[string]string{
	"giftbymonth": "plugins/giftbymonth", "earntable": "plugins/earntable", "tierstatus": "plugins/tierstatus",
	"tariffpromo": "plugins/tariffpromo", "referral": "plugins/referral", "weekenddouble": "plugins/examples/weekenddouble",
}

// artifactsDir is where browser tests leave their screenshots: $PROMOGATE_ARTIFACTS, else
// e2e/artifacts (gitignored).
func artifactsDir(t *testing.T, name string) string {
	t.Helper()
	base := os.Getenv("PROMOGATE_ARTIFACTS")
	if base == "" {
		base = filepath.Join(repoRoot(), "e2e", "artifacts")
	}
	dir := filepath.Join(base, name)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserTools returns node and Debian's Chromium, with the console's npm packages installed
// (playwright-core, pinned in ui/package-lock.json). Without node or Chromium the test is
// skipped, except in CI (.ci/run installs both), where it fails.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", what)
		}
		t.Skipf("%s is not installed (Debian: apt-get install nodejs npm chromium)", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium")
	}
	ui := filepath.Join(repoRoot(), "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--prefix", ui, "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci --prefix ui: %v\n%s", err, out)
		}
	}
	return node, chromium
}

// TestConsoleInBrowser drives the marketing console (/console) in Chromium against the real
// core with the demo programmes and every plugin (ui/tests/console.mjs): as marketing, create a
// weekend-double campaign on the demo programme from the plugin's form, see the plugin's field
// error and fix it, simulate, activate; record an event through the API and see it in the
// campaign's figures and in the member lookup; see a shadow run's diff and promote it; export April 2021's fulfilment list of the gift
// programme as CSV and mark a gift delivered; backtest a draft of the gift programme over 2021 and see its two gifts
// charted per day; a frontend key cannot reach the admin pages; no request leaves the server.
// Screenshots of each page go to e2e/artifacts/console.
func TestConsoleInBrowser(t *testing.T) {
	node, chromium := browserTools(t)
	dir := t.TempDir()
	for name, pkg := range consolePlugins {
		src := build(t, pkg, name)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := startCore(t, newDatabase(t), "--demo", "--plugins-dir", dir)
	key := func(name, role string) string {
		return data(t, c.gql(`mutation($n: String!, $r: Role!) { createApiKey(input: {name: $n, roles: [$r]}) { key } }`,
			map[string]any{"n": name, "r": role}), "createApiKey", "key").(string)
	}
	art := artifactsDir(t, "console")
	cmd := exec.Command(node, filepath.Join(repoRoot(), "ui", "tests", "console.mjs"))
	cmd.Env = append(os.Environ(), "BASE_URL="+c.URL, "ARTIFACTS="+art, "CHROMIUM="+chromium,
		"MARKETING_KEY="+key("console-marketing", "MARKETING"), "FRONTEND_KEY="+key("console-frontend", "FRONTEND"),
		"INGEST_KEY="+key("console-ingest", "INGEST"), "ADMIN_KEY="+adminKey)
	out, err := cmd.CombinedOutput()
	t.Logf("ui/tests/console.mjs:\n%s", out)
	if err != nil || !strings.Contains(string(out), "\nPASS\n") {
		t.Fatalf("the browser test failed (%v); screenshots in %s", err, art)
	}

	// The exported CSV holds exactly the API's April 2021 fulfilment list.
	f, err := os.Open(filepath.Join(art, "fulfilment-its-gifts-2021-2021-04.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"recipient", "member_ref", "member_name", "gift", "status", "benefit_id"}}
	list := data(t, c.gql(`{ campaign(code: "its-gifts-2021") { fulfillment(month: "2021-04") {
		id recipient title fulfillmentStatus fulfillmentNote member { externalRef name } } } }`, nil), "campaign", "fulfillment").([]any)
	for i, x := range list {
		b := x.(map[string]any)
		m := b["member"].(map[string]any)
		status := b["fulfillmentStatus"].(string)
		if i == 0 {
			// The browser marked the first gift delivered after the export.
			if status != "DELIVERED" || b["fulfillmentNote"] != "courier AB-123" {
				t.Errorf("first gift after the browser marked it: %v", b)
			}
			status = "TO_DELIVER"
		}
		want = append(want, []string{b["recipient"].(string), m["externalRef"].(string), m["name"].(string), b["title"].(string), status, b["id"].(string)})
	}
	if len(want) < 2 {
		t.Fatalf("the demo has no gift in April 2021: %v", list)
	}
	if got, exp := compactRows(rows), compactRows(want); got != exp {
		t.Errorf("fulfilment CSV:\n got %s\nwant %s", got, exp)
	}
	if rows[1][0] != "Olena Petrenko" || rows[1][1] != "its-april-24" {
		t.Errorf("first gift: got %q for %q, want the demo's Olena Petrenko for its-april-24", rows[1][0], rows[1][1])
	}
}

func compactRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|"))
		b.WriteString("\n")
	}
	return b.String()
}
