package e2e

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devEnv is the environment of a developer's shell: the test's, without Promogate's settings.
func devEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROMOGATE_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestMakeRunDevelopment runs scripts/run.sh, what `make run` runs, against a test database
// (DATABASE_URL set, so no private cluster) with its development files in a temporary
// directory, and checks its development settings as a frontend developer meets them: a page on
// http://localhost:3000 (or Vite's 127.0.0.1:5173) may call the API and another site's may not;
// scripts/member-token.sh (`make member-token REF=…`) prints a member token the server trusts,
// and refuses without the development key; `promogate token` prints its help without a database.
func TestMakeRunDevelopment(t *testing.T) {
	bin := build(t, "server", "promogate")
	dev := t.TempDir()
	addr := freeAddr(t)
	env := devEnv("DATABASE_URL="+newDatabase(t), "PROMOGATE_LISTEN="+addr, "PROMOGATE_DEV_DIR="+dev,
		"PROMOGATE_BIN="+bin, "PROMOGATE_PLUGINS_DIR="+t.TempDir())
	logs := &syncBuffer{}
	cmd := exec.Command(filepath.Join(repoRoot(), "scripts", "run.sh"))
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("scripts/run.sh:\n%s", logs.String())
		}
	})
	c := &core{t: t, URL: "http://" + addr}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(c.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("scripts/run.sh exited: %v\n%s", exitErr, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("scripts/run.sh not serving within 60s\n%s", logs.String())
		}
	}

	preflight := func(origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodOptions, c.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin")
	}
	for origin, want := range map[string]int{"http://localhost:3000": 204, "http://127.0.0.1:5173": 204, "https://evil.example.com": 403} {
		status, allow := preflight(origin)
		if status != want || (want == 204) != (allow == origin) {
			t.Errorf("preflight from %s: expected %d, got %d with Access-Control-Allow-Origin %q", origin, want, status, allow)
		}
	}

	// The admin key run.sh keeps and prints.
	adminKey, err := os.ReadFile(filepath.Join(dev, "dev-admin-key"))
	if err != nil || !strings.Contains(logs.String(), strings.TrimSpace(string(adminKey))) {
		t.Fatalf("the development admin key: %v, printed: %v", err, strings.Contains(logs.String(), "admin API key"))
	}
	if _, _, body := c.request(bearer(strings.TrimSpace(string(adminKey))), gqlBody(`{ viewer { kind } }`, nil)); compactJSON(body) != `{"data":{"viewer":{"kind":"API_KEY"}}}` {
		t.Errorf("the printed admin key: %s", body)
	}

	token := func(ref string, extra ...string) (string, string, error) {
		cmd := exec.Command(filepath.Join(repoRoot(), "scripts", "member-token.sh"), ref)
		cmd.Env = append(devEnv("PROMOGATE_DEV_DIR="+dev, "PROMOGATE_BIN="+bin), extra...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return strings.TrimSpace(stdout.String()), stderr.String(), err
	}
	anna, stderr, err := token("demo-anna")
	if err != nil {
		t.Fatalf("member-token.sh demo-anna: %v\n%s", err, stderr)
	}
	status, _, body := c.request(bearer(anna), gqlBody(`{ viewer { kind memberRef } member(externalRef: "demo-anna") { name } }`, nil))
	if status != 200 || compactJSON(body) != `{"data":{"member":{"name":"Anna Kovalenko"},"viewer":{"kind":"MEMBER_TOKEN","memberRef":"demo-anna"}}}` {
		t.Errorf("demo-anna's development token: %d %s", status, body)
	}
	if _, _, body := c.request(bearer(anna), gqlBody(`{ member(externalRef: "demo-boris") { name } }`, nil)); errorCodeOf(t, body) != "FORBIDDEN" {
		t.Errorf("demo-anna's token reading demo-boris: %s", body)
	}

	// With JWT settings of one's own there is no development key, and nothing is signed.
	out, stderr, err := token("demo-anna", "PROMOGATE_JWT_ISSUER=https://id.example.com")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || out != "" || !strings.Contains(stderr, "no development signing key configured") {
		t.Errorf("member-token.sh with another issuer: expected exit 1 and no token, got %v %q %q", err, out, stderr)
	}

	// Help without a database.
	help := exec.Command(bin, "token")
	help.Env = devEnv()
	var helpErr bytes.Buffer
	help.Stderr = &helpErr
	if err := help.Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(helpErr.String(), "promogate token member [flags] REF") {
		t.Errorf("promogate token without arguments: expected its help and exit 2, got %v %q", err, helpErr.String())
	}
	help = exec.Command(bin, "token", "-h")
	help.Env = devEnv()
	if out, err := help.Output(); err != nil || !strings.Contains(string(out), "Development only") {
		t.Errorf("promogate token -h: expected its help, got %v %q", err, out)
	}
}
