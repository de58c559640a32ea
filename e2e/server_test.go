package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeDemoAndShutdown starts the real binary with --demo, reads the demo programme and a
// demo member's balance over HTTP, checks the explorer and probes, restarts it on the same
// database (demo loading is idempotent), and stops it with SIGTERM.
func TestServeDemoAndShutdown(t *testing.T) {
	dbURL := newDatabase(t)
	c := startCore(t, dbURL, "--demo")

	got := c.gql(`{ programs { code name } }`, nil)
	want := `{"data":{"programs":[{"code":"demo","name":"Demo points programme"}]}}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("programs: got %s want %s", b, want)
	}
	const cabinet = `{ member(externalRef: "demo-anna") { name balances { program { code } available pending lifetimeEarned } } }`
	wantCabinet := `{"data":{"member":{"balances":[{"available":1100,"lifetimeEarned":1650,"pending":150,"program":{"code":"demo"}}],"name":"Anna Kovalenko"}}}`
	if b, _ := json.Marshal(c.gql(cabinet, nil)); string(b) != wantCabinet {
		t.Fatalf("cabinet: got %s want %s", b, wantCabinet)
	}

	for path, wantType := range map[string]string{"/": "text/html", "/healthz": "application/json", "/readyz": "application/json"} {
		resp, err := http.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), wantType) {
			t.Fatalf("GET %s: %d %s %.200s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if path == "/" && strings.Contains(string(body), "https://") {
			t.Fatalf("explorer page references a remote URL")
		}
	}

	if err := c.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, c.logs.String())
	}
	if !strings.Contains(c.logs.String(), `"@message":"stopped"`) {
		t.Fatalf("no clean shutdown log line:\n%s", c.logs.String())
	}

	// A second start on the same database reuses the data: nothing is loaded twice.
	c2 := startCore(t, dbURL, "--demo")
	if b, _ := json.Marshal(c2.gql(cabinet, nil)); string(b) != wantCabinet {
		t.Fatalf("cabinet after restart: got %s want %s", b, wantCabinet)
	}
	if err := c2.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
