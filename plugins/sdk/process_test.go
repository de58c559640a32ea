package sdk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/promogate/promogate/plugins/sdk"
)

// These tests and benchmarks run the weekenddouble example as a real plugin
// process, started the way the core starts plugins.

var (
	buildOnce  sync.Once
	binaryPath string
	binarySum  []byte
	buildErr   error
)

// TestMain removes the plugin binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		_ = os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// weekendDouble builds the example plugin once per test binary and returns
// its path and SHA-256.
func weekendDouble(tb testing.TB) (string, []byte) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds and spawns a plugin process")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promogate-plugin-")
		if err != nil {
			buildErr = err
			return
		}
		binaryPath = filepath.Join(dir, "weekenddouble")
		// The example lives in the core module (the repository root), which
		// requires this SDK through a replace of its local directory.
		cmd := exec.Command("go", "build", "-o", binaryPath, "./plugins/examples/weekenddouble")
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		b, err := os.ReadFile(binaryPath)
		if err != nil {
			buildErr = err
			return
		}
		sum := sha256.Sum256(b)
		binarySum = sum[:]
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binaryPath, binarySum
}

// start spawns the plugin at path exactly as a host does and returns its
// Program; the process is killed when the test ends.
func start(tb testing.TB, path string, sum []byte) (sdk.Program, error) {
	tb.Helper()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(),
		Cmd:              exec.Command(path),
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     10 * time.Second,
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		Logger:           hclog.NewNullLogger(),
	})
	tb.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	if v := client.NegotiatedVersion(); v != sdk.ProtocolVersion {
		tb.Fatalf("negotiated protocol %d, want %d", v, sdk.ProtocolVersion)
	}
	return sdk.Dispense(rpc)
}

func TestRealProcess(t *testing.T) {
	t.Parallel()
	path, sum := weekendDouble(t)
	p, err := start(t, path, sum)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := p.Describe(ctx)
	if err != nil || d.Name != "weekenddouble" {
		t.Fatalf("Describe = %q, %v; want weekenddouble", d.Name, err)
	}
	saturday := time.Date(2021, 4, 3, 12, 0, 0, 0, riga)
	resp, err := p.Evaluate(ctx, sdk.EvaluateRequest{
		Campaign: sdk.Campaign{TimeZone: "Europe/Riga", Config: json.RawMessage(`{"expiresInDays":0}`)},
		Items: []sdk.EvaluateItem{
			{Event: sdk.Event{Type: "purchase", OccurredAt: saturday, Attributes: sdk.Values{"amount": 1999}}},
			{Event: sdk.Event{Type: "purchase", OccurredAt: saturday.AddDate(0, 0, 2), Attributes: sdk.Values{"amount": 1999}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 2 || resp.Results[0].Effects[0].Credit.Amount != 38 || resp.Results[1].Effects[0].Credit.Amount != 19 {
		t.Errorf("Evaluate = %+v, want credits of 38 and 19", resp.Results)
	}
	_, err = p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: sdk.Campaign{Config: json.RawMessage(`{"unitAmount":0}`)}})
	if !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("invalid config: error %v, want sdk.ErrInvalidConfig", err)
	}
}

func TestRealProcessChecksumMismatch(t *testing.T) {
	t.Parallel()
	path, sum := weekendDouble(t)
	wrong := bytes.Clone(sum)
	wrong[0] ^= 0xff
	if _, err := start(t, path, wrong); !errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		t.Fatalf("start with a wrong checksum: error %v, want %v", err, plugin.ErrChecksumsDoNotMatch)
	}
}

// batchSize is the number of events per benchmark iteration.
const batchSize = 500

func benchmarkSetup(b *testing.B) (sdk.Program, sdk.Campaign, []sdk.EvaluateItem) {
	path, sum := weekendDouble(b)
	p, err := start(b, path, sum)
	if err != nil {
		b.Fatal(err)
	}
	campaign := sdk.Campaign{ID: "c", Code: "WEEKEND", TimeZone: "Europe/Riga", Config: json.RawMessage(`{"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":2,"eventType":"purchase","expiresInDays":365}`)}
	items := make([]sdk.EvaluateItem, batchSize)
	start := time.Date(2021, 4, 1, 0, 0, 0, 0, riga)
	for i := range items {
		items[i] = sdk.EvaluateItem{
			Event: sdk.Event{
				ID: fmt.Sprintf("e%d", i), Type: "purchase", Source: "billing", ExternalID: fmt.Sprintf("inv-%d", i),
				OccurredAt: start.Add(time.Duration(i) * 17 * time.Minute),
				Attributes: sdk.Values{"amount": 100 + i*37, "currency": "EUR"},
			},
			Member: sdk.Member{
				ID: fmt.Sprintf("m%d", i%50), Status: "active", Version: int64(i),
				Balances: []sdk.Balance{{Program: "bonus", Available: 1000, LifetimeEarned: 5000}},
				State:    json.RawMessage(`{"purchases":3}`),
			},
		}
	}
	return p, campaign, items
}

func reportPerEvent(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/event")
}

// BenchmarkEvaluateUnary evaluates 500 events as 500 calls of one event each.
func BenchmarkEvaluateUnary(b *testing.B) {
	p, campaign, items := benchmarkSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		for _, it := range items {
			resp, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: campaign, Items: []sdk.EvaluateItem{it}})
			if err != nil || len(resp.Results) != 1 {
				b.Fatalf("Evaluate: %d results, %v", len(resp.Results), err)
			}
		}
	}
	reportPerEvent(b)
}

// BenchmarkEvaluateBatched evaluates the same 500 events in one call.
func BenchmarkEvaluateBatched(b *testing.B) {
	p, campaign, items := benchmarkSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		resp, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: campaign, Items: items})
		if err != nil || len(resp.Results) != batchSize {
			b.Fatalf("Evaluate: %d results, %v", len(resp.Results), err)
		}
	}
	reportPerEvent(b)
}
