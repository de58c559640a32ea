package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docBlock is a fenced block of a Markdown document: its info string ("sh", "go file=main.go")
// and its text.
type docBlock struct {
	info, text string
}

// docBlocks returns the fenced blocks of the Markdown file at path, in order.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{info: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s: a fenced block is not closed", path)
	}
	return blocks
}

// TestPartnerQuickstart follows docs/partners.md literally: every sh block (except the setup of
// variables, which the test sets for its own core) runs in order in one shell, in an empty
// directory, with every go file= block written where the page says, against a real core and
// database. Then it checks what the page promises: the outputs shown in its text blocks, the
// member's balance, and that the page's Go files are the template plugin's.
func TestPartnerQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin in a fresh module and runs the quickstart against a core")
	}
	root := repoRoot()
	blocks := docBlocks(t, filepath.Join(root, "docs", "partners.md"))

	// The page's files are the template, byte for byte.
	files := 0
	for _, b := range blocks {
		name, ok := strings.CutPrefix(b.info, "go file=")
		if !ok {
			continue
		}
		files++
		template, err := os.ReadFile(filepath.Join(root, "plugins", "examples", "firstpurchase", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(template) != b.text {
			t.Errorf("docs/partners.md's %s differs from plugins/examples/firstpurchase/%s", name, name)
		}
	}
	if files != 3 {
		t.Fatalf("docs/partners.md has %d go file= blocks, want main.go, plugin.go and plugin_test.go", files)
	}

	// The page as one script: sh blocks as they are, file blocks as here-documents.
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	var shown []string // the lines of the text blocks, the outputs the page shows
	for _, b := range blocks {
		switch name, isFile := strings.CutPrefix(b.info, "go file="); {
		case isFile:
			fmt.Fprintf(&script, "cat > %s <<'PARTNERS_EOF'\n%sPARTNERS_EOF\n", name, b.text)
		case b.info == "sh":
			script.WriteString(b.text)
		case b.info == "text":
			shown = append(shown, strings.Split(strings.TrimRight(b.text, "\n"), "\n")...)
		case b.info == "sh setup", b.info == "json", b.info == "graphql":
		default:
			t.Fatalf("docs/partners.md has a block %q the test does not know how to follow", b.info)
		}
	}

	c := startCore(t, newDatabase(t))
	promogate := build(t, "server", "promogate")
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PROMOGATE="+root,
		"PROMOGATE_URL="+c.URL,
		"PROMOGATE_ADMIN_KEY="+adminKey,
		"DATABASE_URL="+c.dbURL,
		"PLUGINS="+filepath.Join(dir, "plugins"),
		"PATH="+filepath.Dir(promogate)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOWORK=off",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("following docs/partners.md: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("docs/partners.md followed in %s", time.Since(start).Round(time.Millisecond))

	// Every output line the page shows was printed; "…" stands for what differs between runs
	// (a checksum, a path, an id).
	out := stdout.String()
	for _, line := range shown {
		pattern := `(?m)^` + strings.ReplaceAll(regexp.QuoteMeta(line), "…", `[^ "]*`) + `$`
		if !regexp.MustCompile(pattern).MatchString(out) {
			t.Errorf("the page shows the output\n%s\nwhich was not printed; the output was:\n%s", line, out)
		}
	}

	// And the core agrees: the plugin is in the catalog, registered from the command line, and
	// the member has exactly the bonus of the first purchase.
	plugins := data(t, c.gql(`{ plugins { name version registeredBy } }`, nil), "plugins")
	if got, want := compact(plugins), `[{"name":"firstpurchase","registeredBy":"cli","version":"1.0.0"}]`; got != want {
		t.Errorf("plugins = %s, want %s", got, want)
	}
	balances := data(t, c.gql(`{ member(externalRef: "anna") { balances(program: "shop") { available lifetimeEarned } } }`, nil), "member", "balances")
	if got, want := compact(balances), `[{"available":100,"lifetimeEarned":100}]`; got != want {
		t.Errorf("anna's balance = %s, want %s", got, want)
	}

	// A configuration outside the schema is refused field by field, with JSON pointers.
	resp := c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { code } }`, map[string]any{"in": map[string]any{
		"code": "bad", "name": "Bad", "program": "shop", "plugin": "firstpurchase", "pluginVersion": "1.0.0",
		"startsAt": "2026-01-01T00:00:00Z", "config": map[string]any{"bonus": 0, "minAmount": -5, "colour": "red"}}})
	errs, _ := resp["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("a bad config: %s, want one INVALID_CONFIG error", compact(resp))
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	want := `[{"code":"out_of_range","field":"/bonus","message":"/bonus is 0, it must be at least 1"},` +
		`{"code":"unknown_field","field":"/colour","message":"/colour is not a setting of firstpurchase"},` +
		`{"code":"out_of_range","field":"/minAmount","message":"/minAmount is -5, it must be at least 0"}]`
	if ext["code"] != "INVALID_CONFIG" || compact(ext["fields"]) != want {
		t.Errorf("a bad config: got %s\nwant INVALID_CONFIG with fields %s", compact(ext), want)
	}
}
