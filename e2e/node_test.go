package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// nodePackage returns the path of node after making sure the npm package in dir (relative to
// the repository root) has its locked dependencies installed; probe is a file under
// node_modules that an install leaves. .ci/run installs them; a developer's first run of the
// tests does it here. Without node the test fails in CI and is skipped elsewhere.
func nodePackage(t *testing.T, dir, probe string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; .ci/run installs it")
		}
		t.Skip("node is not installed")
	}
	npmMu.Lock()
	defer npmMu.Unlock()
	abs := filepath.Join(repoRoot(), dir)
	if _, err := os.Stat(filepath.Join(abs, "node_modules", probe)); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = abs
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return node
}

var (
	npmMu     sync.Mutex
	bundleMu  sync.Mutex
	bundleOut = map[string]string{}
)

// sdkTS is the TypeScript plugin SDK's package directory, relative to the repository root.
const sdkTS = "plugins/sdk-ts"

// tsPlugin bundles the TypeScript plugin whose entry script is entry (relative to
// plugins/sdk-ts) into one executable file with a node shebang (scripts/bundle.mjs), once per
// test binary, and returns a fresh copy of it for this test, named name, with its hex SHA-256:
// the file a partner registers.
func tsPlugin(t *testing.T, entry, name string) (string, string) {
	t.Helper()
	node := nodePackage(t, sdkTS, "esbuild/package.json")
	bundleMu.Lock()
	src, ok := bundleOut[entry]
	if !ok {
		src = filepath.Join(binDir, name)
		cmd := exec.Command(node, "scripts/bundle.mjs", entry, src)
		cmd.Dir = filepath.Join(repoRoot(), sdkTS)
		if out, err := cmd.CombinedOutput(); err != nil {
			bundleMu.Unlock()
			t.Fatalf("bundle %s: %v\n%s", entry, err, out)
		}
		bundleOut[entry] = src
	}
	bundleMu.Unlock()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return dst, hex.EncodeToString(sum[:])
}
