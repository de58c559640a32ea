package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/promogate/promogate/plugins/sdk"
)

// lockedBuffer is an io.Writer safe for the plugin client's stdio goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// spawnPlugin starts the plugin file at path exactly as server/pluginhost does (checksum,
// AutoMTLS, no host environment, gRPC only) and returns the client and its Program. Standard
// output arriving over go-plugin's stdio stream goes to stdout.
func spawnPlugin(t *testing.T, path, sum string, stdout *lockedBuffer) (*plugin.Client, sdk.Program) {
	t.Helper()
	raw, err := hex.DecodeString(sum)
	if err != nil {
		t.Fatal(err)
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(),
		Cmd:              exec.Command(path),
		SecureConfig:     &plugin.SecureConfig{Checksum: raw, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     10 * time.Second,
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "host", Output: &testWriter{t}, Level: hclog.Warn}),
		SyncStdout:       stdout,
	})
	t.Cleanup(c.Kill)
	rpc, err := c.Client()
	if err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	if v := c.NegotiatedVersion(); v != sdk.ProtocolVersion {
		t.Fatalf("negotiated protocol %d, want %d", v, sdk.ProtocolVersion)
	}
	if err := rpc.Ping(); err != nil {
		t.Fatalf("health ping: %v", err)
	}
	p, err := sdk.Dispense(rpc)
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// testWriter sends the host's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// asJSON renders v for exact comparison, failing the test if it cannot.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

// TestTypeScriptPluginProtocol spawns the TypeScript SDK's conformance plugin through
// go-plugin with the Go SDK's client, as the core does, and checks every field of every
// method in both directions, the error table, deadlines, go-plugin's stdio stream, the health
// service and a graceful shutdown.
func TestTypeScriptPluginProtocol(t *testing.T) {
	path, sum := tsPlugin(t, "fixtures/conformance.ts", "conformance.cjs")
	stdout := &lockedBuffer{}
	client, p := spawnPlugin(t, path, sum, stdout)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	startsAt, endsAt := at("2021-04-01T00:00:00Z"), at("2021-06-30T21:00:00.5Z")
	occurred, now := at("2021-04-14T09:30:00.125Z"), at("2021-04-20T10:00:00Z")
	tierUntil, validFrom, validUntil, enrolled := at("2022-01-01T00:00:00Z"), at("2021-03-01T00:00:00Z"), at("2021-12-31T00:00:00Z"), at("2021-04-02T08:00:00Z")
	campaign := sdk.Campaign{ID: "c-1", Code: "spring", Program: "shop", TimeZone: "Europe/Kyiv", StartsAt: startsAt, EndsAt: endsAt,
		Config: json.RawMessage(`{"mode":"ok","n":1}`)}
	member := sdk.Member{
		ID: "m-1", ExternalRef: "ref-1", Name: "Anna", Email: "anna@example.com", Phone: "+380501234567", BirthDate: "1990-02-03",
		Region: "north", Status: "active", Attributes: sdk.Values{"vip": true, "tier": "gold"},
		Balances:    []sdk.Balance{{Program: "shop", Available: 9007199254740991, Pending: 2, LifetimeEarned: 3, StatusBalance: 4}},
		Tiers:       []sdk.Tier{{Program: "shop", Tier: "gold", ValidUntil: &tierUntil}},
		Benefits:    []sdk.Benefit{{ID: "b-1", Key: "k-1", Campaign: "spring", Kind: "discount", Title: "Ten", Code: "CODE", Percent: 1000, Scope: "all", Exclusions: []string{"x", "y"}, ValidFrom: &validFrom, ValidUntil: &validUntil, Status: "active", Attributes: sdk.Values{"a": "b"}}},
		Enrollments: []sdk.Enrollment{{Campaign: "spring", EnrolledAt: enrolled, Answers: sdk.Values{"q": "yes"}, RegisteredBy: "crm", Responsible: "bob"}},
		State:       json.RawMessage(`{"seen":2}`),
		Version:     7,
	}
	event := func(typ string) sdk.Event {
		return sdk.Event{ID: "e-1", Type: typ, Source: "shop", ExternalID: "o-1", OccurredAt: occurred, Attributes: sdk.Values{"amount": 1250, "sku": "A"}}
	}
	evaluate := func(typ string) (sdk.EvaluateResponse, error) {
		return p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: campaign, Items: []sdk.EvaluateItem{{Event: event(typ), Member: member}}})
	}

	t.Run("Describe", func(t *testing.T) {
		d, err := p.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.Description{Name: "conformance", Version: "0.1.0", EventTypes: []string{"purchase", "empty"},
			ConfigSchema: json.RawMessage(`{"type":"object"}`), DefaultConfig: json.RawMessage(`{"mode":"ok"}`),
			Schedules:    []sdk.Schedule{{Name: "month-close", Spec: "monthly day=28 at=23:59:59"}},
			BenefitKinds: []string{"discount"}, RewardKinds: []string{"gift"}}
		if got, want := asJSON(t, d), asJSON(t, want); got != want {
			t.Fatalf("Describe:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("ValidateConfig", func(t *testing.T) {
		resp, err := p.ValidateConfig(ctx, sdk.ValidateConfigRequest{Config: json.RawMessage(`{"mode":"bad"}`)})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"Errors":[{"Field":"mode","Code":"unsupported","Message":"mode bad is not supported"},{"Field":"","Code":"second","Message":"another"}]}`
		if got := asJSON(t, resp); got != want {
			t.Fatalf("ValidateConfig:\n got %s\nwant %s", got, want)
		}
		if resp, err := p.ValidateConfig(ctx, sdk.ValidateConfigRequest{}); err != nil || resp.Errors != nil {
			t.Fatalf("no config: %+v, %v", resp, err)
		}
		for _, tc := range []struct {
			mode, msg string
			kind      error
		}{
			{"throw", "invalid campaign config: mode throw", sdk.ErrInvalidConfig},
			{"boom", "plugin internal error: boom", sdk.ErrInternal},
		} {
			_, err := p.ValidateConfig(ctx, sdk.ValidateConfigRequest{Config: json.RawMessage(`{"mode":"` + tc.mode + `"}`)})
			if !errors.Is(err, tc.kind) || err.Error() != tc.msg {
				t.Errorf("mode %s: error %v, want %q (%v)", tc.mode, err, tc.msg, tc.kind)
			}
		}
	})

	t.Run("CheckEligibility", func(t *testing.T) {
		resp, err := p.CheckEligibility(ctx, sdk.EligibilityRequest{Campaign: campaign, Member: member, Answers: sdk.Values{"q": "yes"}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		state := `{"answers":{"q":"yes"},"now":"2021-04-20T10:00:00.000Z","enrolled":["spring@2021-04-02T08:00:00.000Z/bob/{\"q\":\"yes\"}"]}`
		want := sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{sdk.PutState{State: json.RawMessage(state)}.Effect()}}
		if got, want := asJSON(t, resp), asJSON(t, want); got != want {
			t.Fatalf("CheckEligibility:\n got %s\nwant %s", got, want)
		}
		plain := member
		plain.Attributes = nil
		resp, err = p.CheckEligibility(ctx, sdk.EligibilityRequest{Campaign: campaign, Member: plain, Now: now})
		if err != nil || resp.Eligible || asJSON(t, resp.Reasons) != `[{"Code":"not_vip","Message":"ref-1"}]` {
			t.Fatalf("not eligible: %s, %v", asJSON(t, resp), err)
		}
	})

	t.Run("Evaluate", func(t *testing.T) {
		resp, err := evaluate("purchase")
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{Effects: []sdk.Effect{
			sdk.Credit(1250, "spring@Europe/Kyiv", sdk.AvailableAt(occurred), sdk.ExpiresAt(endsAt), sdk.WithStatusPoints(9007199254740991)),
			sdk.Debit(7, `{"seen":2}`),
			sdk.GrantBenefit{Key: "o-1", Kind: "discount", Title: "Anna", Percent: 1000, Scope: "anna@example.com|+380501234567|1990-02-03|north|active",
				Exclusions: []string{"x", "y"}, Quantity: 1, Recipient: "crm", Code: "e-1/shop/m-1/ref-1", ValidFrom: &tierUntil, ValidUntil: &startsAt,
				Attributes: sdk.Values{"amount": json.Number("1250"), "sku": "A"}}.Effect(),
			sdk.ChangeBenefit{Key: "k-1", Percent: ptr(0)}.Effect(),
			sdk.ChangeBenefit{Key: "unchanged"}.Effect(),
			sdk.EndBenefit{Key: "b-1", Reason: "active", At: &occurred}.Effect(),
			sdk.SetTier{Tier: "gold"}.Effect(),
			sdk.IssueCode{Purpose: `{"mode":"ok","n":1}`}.Effect(),
			sdk.Notify{Channel: "sms", Template: "tier,vip", Params: map[string]string{"program": "shop", "id": "c-1"}}.Effect(),
			sdk.PutState{State: json.RawMessage(`null`)}.Effect(),
			sdk.Reject{Code: "refused", Message: "spring/Ten/CODE/2021-03-01T00:00:00.000Z"}.Effect(),
		}}}}
		if got, want := asJSON(t, resp), asJSON(t, want); got != want {
			t.Fatalf("Evaluate:\n got %s\nwant %s", got, want)
		}
		// A batch: one result per item, in order.
		resp, err = p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: campaign, Items: []sdk.EvaluateItem{
			{Event: event("empty"), Member: member}, {Event: event("print"), Member: member}, {Event: event("empty")}}})
		if err != nil || asJSON(t, resp) != `{"Results":[{"Effects":null,"NoEffectReason":"nothing to do"},{"Effects":null,"NoEffectReason":"printed"},{"Effects":null,"NoEffectReason":"nothing to do"}]}` {
			t.Fatalf("batch: %s, %v", asJSON(t, resp), err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			typ, msg string
			kind     error
		}{
			{"two-payloads", `malformed effect: results[0].effects[0]: effect of kind "credit_points" has 2 payloads, at most one may be set`, sdk.ErrMalformedEffect},
			{"unsafe", "malformed effect: results[0].effects[0].credit.amount: 1152921504606847000 is not a safe integer", sdk.ErrMalformedEffect},
			{"unsupported", "unsupported event type: no unsupported", sdk.ErrUnsupportedEvent},
			{"other", "plugin internal error: cannot read other", sdk.ErrInternal},
		} {
			_, err := evaluate(tc.typ)
			if !errors.Is(err, tc.kind) || err.Error() != tc.msg {
				t.Errorf("%s: error %q, want %q (%v)", tc.typ, err, tc.msg, tc.kind)
			}
		}
		big := member
		big.Balances = []sdk.Balance{{Program: "shop", Available: 1 << 60}}
		_, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: campaign, Items: []sdk.EvaluateItem{{Event: event("empty"), Member: big}}})
		if want := "invalid request: member.balances.available: 1152921504606846976 is not a safe integer"; !errors.Is(err, sdk.ErrInvalidRequest) || err.Error() != want {
			t.Errorf("unsafe integer in the request: error %q, want %q", err, want)
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := p.Evaluate(short, sdk.EvaluateRequest{Campaign: campaign, Items: []sdk.EvaluateItem{{Event: event("wait"), Member: member}}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call past its deadline: error %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("the call took %s with a 300ms deadline", took)
		}
		if _, err := evaluate("empty"); err != nil {
			t.Fatalf("after the deadline: %v", err)
		}
	})

	t.Run("Quote", func(t *testing.T) {
		resp, err := p.Quote(ctx, sdk.QuoteRequest{Campaign: campaign, Member: member, Now: now,
			Item: sdk.QuoteItem{RewardID: "r-1", Category: "gift", Code: "G1", Price: 500, Attributes: sdk.Values{"discount": 120}}})
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.QuoteResponse{Price: 380, MaxPointsPayable: 9007199254740991, Allowed: true, Reasons: []sdk.Reason{{Code: "item", Message: "r-1/gift/G1"}}}
		if got, want := asJSON(t, resp), asJSON(t, want); got != want {
			t.Fatalf("Quote:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("Tick", func(t *testing.T) {
		other := sdk.Member{ID: "m-2"}
		resp, err := p.Tick(ctx, sdk.TickRequest{Campaign: campaign, Hook: "month-close", Now: now, Members: []sdk.Member{member, other}, Cursor: "abc"})
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.TickResponse{NextCursor: "abc+", Results: []sdk.MemberEffects{
			{MemberID: "m-1", Effects: []sdk.Effect{sdk.Credit(2, "month-close@2021-04-20T10:00:00.000Z")}},
			{MemberID: "m-2", Effects: []sdk.Effect{sdk.Credit(1, "month-close@2021-04-20T10:00:00.000Z")}},
		}}
		if got, want := asJSON(t, resp), asJSON(t, want); got != want {
			t.Fatalf("Tick:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("Stdio", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for stdout.String() != "printed by the plugin\n" {
			if time.Now().After(deadline) {
				t.Fatalf("standard output over the stdio stream: %q, want %q", stdout.String(), "printed by the plugin\n")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	// Kill asks the plugin to shut down (GRPCController.Shutdown) and waits up to 2s for it to
	// exit before killing it: a graceful exit is well under that.
	start := time.Now()
	client.Kill()
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("Kill took %s: the plugin did not exit on Shutdown", took)
	}
	if !client.Exited() {
		t.Error("the plugin process is still running after Kill")
	}
}

// TestTypeScriptPluginCrashAndDefaults: a plugin that leaves out the optional methods gets the
// defaults (the Go SDK's sdk.Base), and a plugin process that exits mid-call fails that call as
// unavailable.
func TestTypeScriptPluginCrashAndDefaults(t *testing.T) {
	path, sum := tsPlugin(t, "examples/weekenddouble/main.ts", "weekenddouble-ts.cjs")
	_, p := spawnPlugin(t, path, sum, &lockedBuffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := p.Quote(ctx, sdk.QuoteRequest{Item: sdk.QuoteItem{Price: 700}, Now: time.Now()})
	if err != nil || asJSON(t, q) != `{"Price":700,"MaxPointsPayable":-1,"Allowed":true,"Reasons":null}` {
		t.Errorf("default Quote: %s, %v", asJSON(t, q), err)
	}
	e, err := p.CheckEligibility(ctx, sdk.EligibilityRequest{Now: time.Now()})
	if err != nil || asJSON(t, e) != `{"Eligible":true,"Reasons":null,"Effects":null}` {
		t.Errorf("default CheckEligibility: %s, %v", asJSON(t, e), err)
	}
	tk, err := p.Tick(ctx, sdk.TickRequest{Hook: "x", Now: time.Now()})
	if err != nil || asJSON(t, tk) != `{"Results":null,"NextCursor":""}` {
		t.Errorf("default Tick: %s, %v", asJSON(t, tk), err)
	}

	conf, csum := tsPlugin(t, "fixtures/conformance.ts", "conformance.cjs")
	client, cp := spawnPlugin(t, conf, csum, &lockedBuffer{})
	_, err = cp.Evaluate(ctx, sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{Event: sdk.Event{Type: "crash", OccurredAt: time.Now()}}}})
	if !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("a crash mid-call: error %v, want sdk.ErrUnavailable", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !client.Exited() {
		if time.Now().After(deadline) {
			t.Fatal("the crashed plugin is not reported as exited")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTypeScriptPluginRefusesToRunDirectly: without the core's magic cookie the plugin exits 1
// with go-plugin's message.
func TestTypeScriptPluginRefusesToRunDirectly(t *testing.T) {
	path, _ := tsPlugin(t, "examples/weekenddouble/main.ts", "weekenddouble-ts.cjs")
	out, err := exec.Command(path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.HasPrefix(string(out), "This binary is a plugin.") {
		t.Fatalf("run directly: %v\n%s", err, out)
	}
}

// TestTypeScriptPluginInTheCore is the partner path in TypeScript: bundle the sample plugin
// into one file, register it on a running core with its checksum, have the plugin refuse a bad
// campaign configuration, create and activate a campaign, record events and see the plugin's
// decisions in the outcome and the balance.
func TestTypeScriptPluginInTheCore(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	c.setup(t, "shop", 1)
	path, sum := tsPlugin(t, "examples/weekenddouble/main.ts", "weekenddouble-ts.cjs")

	if code := errorCode(c.register(t, "weekenddouble-ts", "1.0.0", path, strings.Repeat("0", 64))); code != "CHECKSUM_MISMATCH" {
		t.Fatalf("wrong sha256: code %q", code)
	}
	got := data(t, c.register(t, "weekenddouble-ts", "1.0.0", path, sum), "registerPlugin")
	if want := `{"checksum":"` + sum + `","eventTypes":["purchase"],"name":"weekenddouble-ts","version":"1.0.0"}`; compact(got) != want {
		t.Fatalf("registerPlugin: got %s want %s", compact(got), want)
	}

	bad := c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": "bad", "name": "bad", "program": "shop", "plugin": "weekenddouble-ts", "pluginVersion": "1.0.0",
		"config": map[string]any{"unitAmount": 0, "colour": "red"}, "timeZone": "Europe/Kyiv", "startsAt": "2020-01-01T00:00:00Z",
	}})
	errs, _ := bad["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("a bad config: %s", compact(bad))
	}
	ext := errs[0].(map[string]any)["extensions"].(map[string]any)
	if want := `[{"code":"unknown_field","field":"colour","message":"colour is not a setting of weekenddouble-ts"},` +
		`{"code":"must_be_positive","field":"unitAmount","message":"unitAmount is 0, it must be between 1 and 9007199254740991"}]`; ext["code"] != "INVALID_CONFIG" || compact(ext["fields"]) != want {
		t.Fatalf("a bad config: got %s\nwant INVALID_CONFIG with fields %s", compact(ext), want)
	}

	c.campaign(t, "weekend", "shop", "weekenddouble-ts", "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})
	// 2021-04-14 is a Wednesday, 2021-04-17 a Saturday (Europe/Kyiv).
	wed := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 1250})
	if want := `{"campaigns":[{"campaign":{"code":"weekend"},"code":null,"effects":[{"kind":"credit_points","points":12}],"reason":null,"status":"APPLIED"}],"reason":null,"waiting":[]}`; compact(wed["event"].(map[string]any)["outcome"]) != want {
		t.Fatalf("weekday outcome: got %s\nwant %s", compact(wed["event"].(map[string]any)["outcome"]), want)
	}
	sat := c.record(t, "m1", "o-2", "2021-04-17T00:00:00+03:00", map[string]any{"amount": 1000})
	if want := `{"campaigns":[{"campaign":{"code":"weekend"},"code":null,"effects":[{"kind":"credit_points","points":20}],"reason":null,"status":"APPLIED"}],"reason":null,"waiting":[]}`; compact(sat["event"].(map[string]any)["outcome"]) != want {
		t.Fatalf("weekend outcome: got %s\nwant %s", compact(sat["event"].(map[string]any)["outcome"]), want)
	}
	small := c.record(t, "m1", "o-3", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 99})
	if want := `{"campaigns":[{"campaign":{"code":"weekend"},"code":null,"effects":[],"reason":"amount 99 is below one unit of 100","status":"NO_EFFECT"}],"reason":null,"waiting":[]}`; compact(small["event"].(map[string]any)["outcome"]) != want {
		t.Fatalf("no-effect outcome: got %s\nwant %s", compact(small["event"].(map[string]any)["outcome"]), want)
	}
	if got := c.available(t, "m1", "shop"); got != 12+20 {
		t.Fatalf("balance %d, want 32", got)
	}
	// The points expire 365 calendar days after the purchase, at the same wall-clock time in
	// the campaign's zone.
	lots := data(t, c.gql(`{ member(externalRef: "m1") { balances { nextExpiration { amount at } } } }`, nil), "member", "balances")
	if want := `[{"nextExpiration":{"amount":12,"at":"2022-04-14T09:00:00Z"}}]`; compact(lots) != want {
		t.Fatalf("expiry: got %s want %s", compact(lots), want)
	}
	plugins := data(t, c.gql(`{ plugins { name version checksum health { state } campaigns { code } } }`, nil), "plugins")
	if want := `[{"campaigns":[{"code":"weekend"}],"checksum":"` + sum + `","health":{"state":"RUNNING"},"name":"weekenddouble-ts","version":"1.0.0"}]`; compact(plugins) != want {
		t.Fatalf("plugins: got %s want %s", compact(plugins), want)
	}
}

// TestTypeScriptSDKUnitTests runs the TypeScript SDK's own checks (npm test in
// plugins/sdk-ts): the type check, that src/gen/descriptors.ts is generated from the current
// .proto files, and its unit tests.
func TestTypeScriptSDKUnitTests(t *testing.T) {
	nodePackage(t, sdkTS, "typescript/package.json")
	cmd := exec.Command("npm", "test")
	cmd.Dir = filepath.Join(repoRoot(), sdkTS)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm test in %s: %v\n%s", sdkTS, err, out)
	}
	if !strings.Contains(string(out), "\n# fail 0\n") {
		t.Fatalf("npm test in %s: no test summary:\n%s", sdkTS, out)
	}
}
