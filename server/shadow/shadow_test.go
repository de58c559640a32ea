package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/pluginhost"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// fakePlugins is the plugin host of these tests: every version of "fake" is registered,
// configurations with "bad" are refused, and the shadow lane's Evaluate is answer.
type fakePlugins struct {
	mu     sync.Mutex
	answer func(pluginhost.EvaluateRequest) (pluginhost.EvaluateResponse, error)
	asked  []pluginhost.EvaluateRequest
}

func (f *fakePlugins) Isolated(k pluginhost.Key, lane string, _ time.Duration) pluginhost.Program {
	if lane != Lane {
		panic("lane " + lane)
	}
	return fakeProgram{f}
}

func (f *fakePlugins) IsolatedHealth(pluginhost.Key, string) pluginhost.Health {
	return pluginhost.Health{}
}

func (f *fakePlugins) Entry(_ context.Context, k pluginhost.Key) (*pluginhost.Entry, error) {
	if k.Name != "fake" || k.Version == "9.9.9" {
		return nil, pluginhost.ErrNotFound
	}
	return &pluginhost.Entry{Name: k.Name, Version: k.Version}, nil
}

func (f *fakePlugins) ValidateConfig(_ context.Context, _, _ string, config json.RawMessage) ([]pluginhost.FieldError, error) {
	if strings.Contains(string(config), "bad") {
		return []pluginhost.FieldError{{Field: "/points", Code: "invalid", Message: "bad"}}, nil
	}
	return nil, nil
}

type fakeProgram struct{ f *fakePlugins }

func (p fakeProgram) Describe(context.Context) (pluginhost.Description, error) {
	return pluginhost.Description{}, nil
}
func (p fakeProgram) ValidateConfig(context.Context, pluginhost.ValidateConfigRequest) (pluginhost.ValidateConfigResponse, error) {
	return pluginhost.ValidateConfigResponse{}, nil
}
func (p fakeProgram) CheckEligibility(context.Context, pluginhost.EligibilityRequest) (pluginhost.EligibilityResponse, error) {
	return pluginhost.EligibilityResponse{}, nil
}
func (p fakeProgram) Quote(context.Context, pluginhost.QuoteRequest) (pluginhost.QuoteResponse, error) {
	return pluginhost.QuoteResponse{}, nil
}
func (p fakeProgram) Tick(context.Context, pluginhost.TickRequest) (pluginhost.TickResponse, error) {
	return pluginhost.TickResponse{}, nil
}
func (p fakeProgram) Evaluate(_ context.Context, req pluginhost.EvaluateRequest) (pluginhost.EvaluateResponse, error) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	p.f.asked = append(p.f.asked, req)
	return p.f.answer(req)
}

// fixture is a campaign of "fake" with n members and one event each.
type fixture struct {
	campaign int64
	members  []int64
	events   []int64
}

var seq int

func newFixture(t *testing.T, bdb *db.DB, status string, n int) fixture {
	t.Helper()
	ctx := context.Background()
	seq++
	code := fmt.Sprintf("c%d", seq)
	var f fixture
	if err := bdb.NewRaw(`WITH p AS (INSERT INTO programs (code, name) VALUES (?, 'P') RETURNING id),
		pl AS (INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		       VALUES ('fake', '1.0.0', '/x', repeat('0', 64), 1, now(), 'test'), ('fake', '2.0.0', '/y', repeat('1', 64), 1, now(), 'test')
		       ON CONFLICT DO NOTHING RETURNING id)
		INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, config, status, starts_at, created_at, updated_at)
		SELECT ?, 'C', p.id, 'fake', '1.0.0', '{"points": 1}', ?, now(), now(), now() FROM p RETURNING id`, code, code, status).
		Scan(ctx, &f.campaign); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var m, e int64
		if err := bdb.NewRaw(`WITH m AS (INSERT INTO members (external_ref) VALUES (?) RETURNING id)
			INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at, next_attempt_at)
			SELECT 't', ?, 'purchase', m.id, '2021-04-17T12:00:00Z', '\x00', now(), now() FROM m RETURNING member_id, id`,
			fmt.Sprintf("%s-m%d", code, i), fmt.Sprintf("%s-e%d", code, i)).Scan(ctx, &m, &e); err != nil {
			t.Fatal(err)
		}
		f.members, f.events = append(f.members, m), append(f.events, e)
	}
	return f
}

func credit(n int64) []pluginhost.Effect {
	return []pluginhost.Effect{{Kind: pluginhost.KindCreditPoints, Credit: &pluginhost.CreditPoints{Amount: n, Reason: "r"}}}
}

// enqueue records the live decision (a credit of points) on the fixture's event i, as the
// engine's apply transaction does.
func enqueue(t *testing.T, s *Service, bdb *db.DB, f fixture, i int, points int64) {
	t.Helper()
	err := db.RunInTx(context.Background(), bdb, func(ctx context.Context, tx db.Tx) error {
		return s.Enqueue(ctx, tx, []engine.Decided{{CampaignID: f.campaign, EventID: f.events[i], MemberID: f.members[i],
			OccurredAt: time.Date(2021, 4, 17, 12, 0, 0, 0, time.UTC),
			Campaign:   pluginhost.Campaign{ID: fmt.Sprint(f.campaign), Code: "c", Config: json.RawMessage(`{"points": 1}`)},
			Item:       pluginhost.EvaluateItem{Event: pluginhost.Event{ID: fmt.Sprint(f.events[i]), Type: "purchase"}},
			Result:     pluginhost.EvaluateResult{Effects: credit(points)}, Outcome: engine.CampaignOutcome{Status: "applied"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAttachRefusals(t *testing.T) {
	bdb := dbtest.DB(t)
	s := New(bdb, &fakePlugins{}, hclog.NewNullLogger(), time.Now, Options{})
	ctx := context.Background()
	active, draft := newFixture(t, bdb, "active", 0), newFixture(t, bdb, "draft", 0)
	var cfgErr *campaigns.ConfigError
	for _, tc := range []struct {
		name string
		in   AttachInput
		ok   func(error) bool
	}{
		{"unknown campaign", AttachInput{CampaignID: 1 << 40, PluginVersion: "2.0.0"}, func(err error) bool { return errors.Is(err, campaigns.ErrNotFound) }},
		{"draft", AttachInput{CampaignID: draft.campaign, PluginVersion: "2.0.0"}, func(err error) bool { return errors.Is(err, ErrInvalid) }},
		{"nothing differs", AttachInput{CampaignID: active.campaign, Config: json.RawMessage(`{ "points" : 1 }`)}, func(err error) bool { return errors.Is(err, ErrInvalid) }},
		{"not JSON", AttachInput{CampaignID: active.campaign, Config: json.RawMessage(`{`)}, func(err error) bool { return errors.Is(err, ErrInvalid) }},
		{"unknown version", AttachInput{CampaignID: active.campaign, PluginVersion: "9.9.9"}, func(err error) bool { return errors.Is(err, pluginhost.ErrNotFound) }},
		{"refused config", AttachInput{CampaignID: active.campaign, Config: json.RawMessage(`{"points": "bad"}`)}, func(err error) bool {
			return errors.As(err, &cfgErr) && cfgErr.Errors[0].Field == "/points"
		}},
	} {
		if _, err := s.Attach(ctx, tc.in); !tc.ok(err) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
	if s.Shadowed(active.campaign) {
		t.Fatal("a refused attach marked the campaign shadowed")
	}
	sh, err := s.Attach(ctx, AttachInput{CampaignID: active.campaign, PluginVersion: "2.0.0", By: "test"})
	if err != nil || sh.PluginVersion != "2.0.0" || string(sh.Config) != `{"points": 1}` || !s.Shadowed(active.campaign) {
		t.Fatalf("attach: %+v, %v", sh, err)
	}
	if _, err := s.Attach(ctx, AttachInput{CampaignID: active.campaign, Config: json.RawMessage(`{"points": 2}`)}); !errors.Is(err, ErrExists) {
		t.Fatalf("second attach: %v, want ErrExists", err)
	}
}

// TestEnqueueOnceWhileAttached: an event is recorded for a shadow once, however often it is
// settled; nothing is recorded for a campaign whose shadow was dropped, even by a replica that
// still believes it shadowed.
func TestEnqueueOnceWhileAttached(t *testing.T) {
	bdb := dbtest.DB(t)
	s := New(bdb, &fakePlugins{}, hclog.NewNullLogger(), time.Now, Options{})
	ctx := context.Background()
	f := newFixture(t, bdb, "active", 2)
	sh, err := s.Attach(ctx, AttachInput{CampaignID: f.campaign, Config: json.RawMessage(`{"points": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, bdb, f, 0, 10)
	enqueue(t, s, bdb, f, 0, 10)
	if _, err := s.Drop(ctx, f.campaign, "test"); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, bdb, f, 1, 10)
	d, err := s.Diff(ctx, sh.ID, Period{})
	if err != nil || d.Events != 1 || d.Pending != 1 || d.LivePoints != 0 {
		t.Fatalf("diff %+v, %v; want one pending event", d, err)
	}
	if _, err := s.Drop(ctx, f.campaign, "test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second drop: %v, want ErrNotFound", err)
	}
}

// TestPassDecidesRetriesAndFails: the worker shows the shadow's plugin the stored snapshot
// with the shadow's configuration, stores its decisions compared with the live ones, retries
// rows while the plugin is unavailable and fails them after MaxAttempts.
func TestPassDecidesRetriesAndFails(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	now := time.Date(2021, 4, 20, 0, 0, 0, 0, time.UTC)
	plugins := &fakePlugins{}
	s := New(bdb, plugins, hclog.NewNullLogger(), func() time.Time { return now }, Options{MaxAttempts: 2, RetryMin: time.Second})
	f := newFixture(t, bdb, "active", 3)
	sh, err := s.Attach(ctx, AttachInput{CampaignID: f.campaign, Config: json.RawMessage(`{"points": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.events {
		enqueue(t, s, bdb, f, i, 10)
	}
	// Doubles every credit but the first event's.
	plugins.answer = func(req pluginhost.EvaluateRequest) (pluginhost.EvaluateResponse, error) {
		out := pluginhost.EvaluateResponse{Results: make([]pluginhost.EvaluateResult, len(req.Items))}
		for i, it := range req.Items {
			out.Results[i].Effects = credit(20)
			if it.Event.ID == fmt.Sprint(f.events[0]) {
				out.Results[i].Effects = credit(10)
			}
		}
		return out, nil
	}
	if n, err := s.Pass(ctx); n != 3 || err != nil {
		t.Fatalf("pass: %d, %v", n, err)
	}
	if got := string(plugins.asked[0].Campaign.Config); got != `{"points": 2}` || len(plugins.asked[0].Items) != 3 {
		t.Fatalf("the plugin was asked with config %s about %d items", got, len(plugins.asked[0].Items))
	}
	d, err := s.Diff(ctx, sh.ID, Period{})
	want := Summary{Events: 3, Decided: 3, Agreed: 1, Disagreed: 2, LivePoints: 30, ShadowPoints: 50, MembersAffected: 2}
	if err != nil || *d != want {
		t.Fatalf("diff %+v, %v; want %+v", d, err, want)
	}
	exs, more, err := s.Examples(ctx, sh.ID, Period{}, 0, 1)
	if err != nil || !more || len(exs) != 1 || exs[0].EventID != f.events[1] || exs[0].Shadow.Points() != 20 || exs[0].Live.Points() != 10 {
		t.Fatalf("examples %+v, more %v, %v", exs, more, err)
	}

	// A second campaign whose shadow's plugin is unavailable: retried once after RetryMin,
	// then failed.
	g := newFixture(t, bdb, "active", 1)
	sg, err := s.Attach(ctx, AttachInput{CampaignID: g.campaign, PluginVersion: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, bdb, g, 0, 10)
	plugins.answer = func(pluginhost.EvaluateRequest) (pluginhost.EvaluateResponse, error) {
		return pluginhost.EvaluateResponse{}, fmt.Errorf("%w: fake@2.0.0: down", pluginhost.ErrUnavailable)
	}
	if n, err := s.Pass(ctx); n != 1 || err != nil {
		t.Fatalf("pass: %d, %v", n, err)
	}
	if n, _ := s.Pass(ctx); n != 0 {
		t.Fatalf("a row was claimed again before its retry time")
	}
	now = now.Add(time.Second)
	if n, err := s.Pass(ctx); n != 1 || err != nil {
		t.Fatalf("retry pass: %d, %v", n, err)
	}
	d, err = s.Diff(ctx, sg.ID, Period{})
	if err != nil || d.Events != 1 || d.Failed != 1 || d.Pending != 0 || d.LastError != "plugin unavailable: fake@2.0.0: down" {
		t.Fatalf("diff after the plugin stayed down: %+v, %v", d, err)
	}
}
