package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

var (
	binDir   string
	buildMu  sync.Mutex
	builtBin = map[string]string{}
)

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "promogate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return dbtest.Main(m)
}

// repoRoot returns the module root (the parent of e2e/).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// build compiles the main package at pkg (relative to the repo root) once per test binary and
// returns the path of the executable.
func build(t *testing.T, pkg, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBin[pkg]; ok {
		return p
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builtBin[pkg] = out
	return out
}

// core is a running promogate binary.
type core struct {
	t     *testing.T
	cmd   *exec.Cmd
	URL   string
	dbURL string
	logs  *syncBuffer
	done  chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCore starts `promogate serve` on a free port against the package database with extra
// arguments and waits until /readyz answers 200. The process is stopped at test cleanup.
func startCore(t *testing.T, dbURL string, args ...string) *core {
	t.Helper()
	return startCoreIn(t, "", dbURL, args...)
}

// startCoreIn is startCore with the process's working directory dir ("": the test's).
func startCoreIn(t *testing.T, dir, dbURL string, args ...string) *core {
	t.Helper()
	bin := build(t, "server", "promogate")
	addr := freeAddr(t)
	c := &core{t: t, URL: "http://" + addr, dbURL: dbURL, logs: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(bin, append([]string{"serve", "--listen", addr, "--migrate"}, args...)...)
	c.cmd.Dir = dir
	// Tests drive the core harder than the default per-key rate allows; a test that checks the
	// rate limit passes --rate-limit, which overrides the environment.
	c.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PROMOGATE_BOOTSTRAP_ADMIN_KEY="+adminKey, "PROMOGATE_RATE_LIMIT=0")
	c.cmd.Stdout = c.logs
	c.cmd.Stderr = c.logs
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			<-c.done //nolint:errcheck // a killed core's exit status says nothing
		}
		if t.Failed() {
			t.Logf("core logs:\n%s", c.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case err := <-c.done:
			t.Fatalf("core exited before ready: %v\n%s", err, c.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("core not ready within 30s\n%s", c.logs.String())
	return nil
}

// stop sends sig and waits for the process to exit, returning its exit error.
func (c *core) stop(sig syscall.Signal, within time.Duration) error {
	c.t.Helper()
	_ = c.cmd.Process.Signal(sig)
	select {
	case err := <-c.done:
		return err
	case <-time.After(within):
		c.t.Fatalf("core did not exit within %s after %s", within, sig)
		return nil
	}
}

// adminKey is the API key every test core stores with the admin role at start
// (PROMOGATE_BOOTSTRAP_ADMIN_KEY), and that gql sends.
const adminKey = "pgk_e2e0000000000001_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// gql posts a GraphQL request as the admin and returns the decoded response.
func (c *core) gql(query string, vars map[string]any) map[string]any {
	c.t.Helper()
	return c.gqlWith(adminKey, query, vars)
}

// gqlWith posts a GraphQL request with API key key and returns the decoded response.
func (c *core) gqlWith(key, query string, vars map[string]any) map[string]any {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, c.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("response %d is not JSON: %s", resp.StatusCode, raw)
	}
	return out
}

// newDatabase creates a fresh database for one test (so tests can start cores independently).
func newDatabase(t *testing.T) string {
	t.Helper()
	url, drop, err := dbtest.CreateDatabase(context.Background(), dbtest.AdminURL(), "e2e_"+strings.ToLower(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return url
}
