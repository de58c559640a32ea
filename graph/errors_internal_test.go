package graph

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promogate/promogate/db"
)

// unmappedSentinels are the exported error sentinels that never reach a GraphQL response, each
// with the reason. A sentinel that is neither here nor in errorCodes fails
// TestEverySentinelHasACode, so a new domain error cannot be shown as INTERNAL by oversight.
var unmappedSentinels = map[string]string{
	"server/engine.ErrEventConflict":       "reported in the event's outcome (EVENT_CONFLICT status), not as a GraphQL error",
	"server/notify.ErrInvalidNotification": "the engine's notify effect; an invalid one fails the plugin's evaluation",
	"server/notify.ErrNoRecipient":         "the engine records the notify effect as skipped",
	"server/notify.ErrMemberNotFound":      "the engine enqueues for members it has just read",
	"server/notify.ErrCampaignNotFound":    "the engine enqueues for campaigns it has just read",
	"server/notify.ErrEventNotFound":       "the engine enqueues for events it has just stored",
	"server/notify.ErrNotFound":            "notifications are listed, never looked up by id through GraphQL",
	"server/notify.ErrNoWebhook":           "the dispatcher's configuration error at start",
	"db.ErrNotFound":                       "the kind of the stores' not-found sentinels (db.NotFound); no store returns it itself",
	// A plugin's own failure: in an event's outcome the engine records it as FAILED with
	// PLUGIN_ERROR; from a call a resolver makes (ValidateConfig, CheckEligibility, Quote) it
	// is INTERNAL and logged at error level, as a defect to look into.
	"plugins/sdk.ErrUnavailable":      "the plugin host wraps it in pluginhost.ErrUnavailable (pluginhost/translate.go)",
	"plugins/sdk.ErrInvalidConfig":    "the plugin host wraps it in pluginhost.ErrInvalidConfig (pluginhost/translate.go)",
	"plugins/sdk.ErrInvalidRequest":   "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
	"plugins/sdk.ErrUnsupportedEvent": "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
	"plugins/sdk.ErrUnsupportedHook":  "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
	"plugins/sdk.ErrNotImplemented":   "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
	"plugins/sdk.ErrMalformedEffect":  "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
	"plugins/sdk.ErrInternal":         "a plugin's own failure (PLUGIN_ERROR in outcomes, else INTERNAL)",
}

// TestEverySentinelHasACode reads every exported package-level Err… variable of the packages
// behind the API (server/…, db, graph/scalar and the plugin SDK) and checks that errorCodes maps
// it to a code or unmappedSentinels says why it needs none; and that every sentinel mapped to a
// …_NOT_FOUND code is a db.NotFound sentinel, so that look-ups by id answer null for it
// (nilIfNotFound) without a list kept by hand.
func TestEverySentinelHasACode(t *testing.T) {
	mapped := mappedSentinels(t)
	var declared []string
	for _, dir := range sentinelDirs(t) {
		declared = append(declared, exportedSentinels(t, dir)...)
	}
	if len(declared) < 40 {
		t.Fatalf("found only %d sentinels: the source walk is broken: %v", len(declared), declared)
	}
	for _, name := range declared {
		_, isMapped := mapped[name]
		_, isExempt := unmappedSentinels[name]
		switch {
		case !isMapped && !isExempt:
			t.Errorf("%s has no GraphQL error code: add it to errorCodes (graph/errors.go), or to unmappedSentinels with the reason it never reaches a response", name)
		case isMapped && isExempt:
			t.Errorf("%s is in errorCodes and in unmappedSentinels: remove it from unmappedSentinels", name)
		}
	}
	for name := range unmappedSentinels {
		if !slices.Contains(declared, name) {
			t.Errorf("unmappedSentinels names %s, which no longer exists", name)
		}
	}
	for _, e := range errorCodes {
		if strings.HasSuffix(string(e.code), "_NOT_FOUND") && !errors.Is(e.err, db.ErrNotFound) {
			t.Errorf("%v maps to %s but is not a db.NotFound sentinel: look-ups by id would not answer null for it", e.err, e.code)
		}
	}
}

// mappedSentinels returns the sentinels errorCodes names, as "dir.Name" (dir relative to the
// repository root), read from graph/errors.go.
func mappedSentinels(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name -> directory
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		dir, ok := strings.CutPrefix(path, "github.com/promogate/promogate/")
		if !ok {
			continue
		}
		name := filepath.Base(dir)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = dir
	}
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "errorCodes" {
			return true
		}
		ast.Inspect(vs, func(n ast.Node) bool {
			if kv, ok := n.(*ast.CompositeLit); ok && len(kv.Elts) == 2 {
				if sel, ok := kv.Elts[0].(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && imports[pkg.Name] != "" {
						out[imports[pkg.Name]+"."+sel.Sel.Name] = true
					}
				}
			}
			return true
		})
		return false
	})
	if len(out) != len(errorCodes) {
		t.Fatalf("read %d sentinels from errorCodes in errors.go, but it has %d entries", len(out), len(errorCodes))
	}
	return out
}

// sentinelDirs lists the package directories whose sentinels can reach the API.
func sentinelDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{"db", "graph/scalar", "plugins/sdk"}
	err := filepath.WalkDir("../server", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		dirs = append(dirs, strings.TrimPrefix(filepath.ToSlash(path), "../"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// exportedSentinels returns the exported package-level variables named Err… declared in the
// non-test Go files of dir, as "dir.Name".
func exportedSentinels(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name == "main" {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(name.Name, "Err") && name.IsExported() {
						out = append(out, dir+"."+name.Name)
					}
				}
			}
		}
	}
	return out
}
