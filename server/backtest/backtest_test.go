package backtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/backtest"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// counter is an in-process plugin: a purchase earns amount/10 points and counts in the member's
// state; the third purchase grants benefit "third"; a refund debits its points; the daily hook
// grants "loyal" to enrolled members with at least two purchases. Enrolment needs the answer
// ok=true.
type counter struct {
	sdk.Program
	evaluations atomic.Int64
	// stopAfter, when set, is called once Evaluate has been called that many times.
	stopAfter int64
	stop      func()
}

type count struct {
	N int `json:"n"`
}

func state(m sdk.Member) count {
	var c count
	if len(m.State) > 0 {
		_ = json.Unmarshal(m.State, &c)
	}
	return c
}

func (p *counter) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	if n := p.evaluations.Add(1); p.stop != nil && n == p.stopAfter {
		p.stop()
	}
	out := sdk.EvaluateResponse{Results: make([]sdk.EvaluateResult, len(req.Items))}
	for i, it := range req.Items {
		switch it.Event.Type {
		case "purchase":
			c := state(it.Member)
			c.N++
			put, _ := sdk.StoreState(c)
			effects := []sdk.Effect{put}
			if amount, _ := it.Event.Attributes.Int("amount"); amount >= 10 {
				effects = append(effects, sdk.Credit(amount/10, "purchase"))
			}
			if c.N == 3 {
				effects = append(effects, sdk.GrantBenefit{Key: "third", Kind: "gift", Title: "Third purchase"}.Effect())
			}
			out.Results[i].Effects = effects
		case "refund":
			points, _ := it.Event.Attributes.Int("points")
			out.Results[i].Effects = []sdk.Effect{sdk.Debit(points, "refund")}
		}
	}
	return out, nil
}

func (p *counter) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	if req.Answers["ok"] != true {
		return sdk.EligibilityResponse{Reasons: []sdk.Reason{{Code: "NO", Message: "not ok"}}}, nil
	}
	return sdk.EligibilityResponse{Eligible: true}, nil
}

func (p *counter) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	var out sdk.TickResponse
	for _, m := range req.Members {
		if state(m).N >= 2 && len(m.Enrollments) > 0 && !slices.ContainsFunc(m.Benefits, func(b sdk.Benefit) bool { return b.Key == "loyal" }) {
			out.Results = append(out.Results, sdk.MemberEffects{MemberID: m.ID,
				Effects: []sdk.Effect{sdk.GrantBenefit{Key: "loyal", Kind: "gift", Title: "Loyal"}.Effect()}})
		}
	}
	return out, nil
}

func (p *counter) ValidateConfig(context.Context, sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return sdk.ValidateConfigResponse{}, nil
}

// host serves one in-process plugin under every key.
type host struct{ prog sdk.Program }

func (h host) Program(pluginhost.Key) pluginhost.Program { return pluginhost.Adapt(h.prog) }
func (h host) Entry(_ context.Context, k pluginhost.Key) (*pluginhost.Entry, error) {
	return &pluginhost.Entry{Name: k.Name, Version: k.Version, SHA256: "0000", Description: pluginhost.Description{
		EventTypes: []string{"purchase", "refund"}, Schedules: []pluginhost.Schedule{{Name: "daily", Spec: "daily at=00:00:00"}}}}, nil
}
func (h host) ValidateConfig(context.Context, string, string, json.RawMessage) ([]pluginhost.FieldError, error) {
	return nil, nil
}

var seq atomic.Int64

// fixture is a programme with a live campaign that recorded enrolments, a draft to backtest,
// and June 2021's events of 40 members.
type fixture struct {
	bdb     *db.DB
	draft   *campaigns.Campaign
	points  int64 // what the events earn
	members []int64
}

var (
	june = time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	july = june.AddDate(0, 1, 0)
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	code := fmt.Sprintf("bt%d-%d", seq.Add(1), time.Now().UnixNano())
	pg := db.PG(bdb)
	if _, err := pg.Exec(ctx, `INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ('counter', '1.0.0', '/nonexistent', repeat('0', 64), 1, now(), 'test') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	led := ledger.New(bdb, time.Now)
	p, err := led.CreateProgram(ctx, code, code, "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bdb: bdb}
	var ids [2]int64
	for i, status := range []string{"active", "draft"} {
		if err := pg.QueryRow(ctx, `INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, config, time_zone,
				starts_at, status, created_at, updated_at)
			VALUES ($1, $1, $2, 'counter', '1.0.0', '{}', 'Europe/Kyiv', $3, $4, now(), now()) RETURNING id`,
			fmt.Sprintf("%s-%d", code, i), p.ID, june.AddDate(0, -1, 0), status).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	mem := members.NewStore(bdb, time.Now)
	for i := range 40 {
		name := fmt.Sprintf("m%d", i)
		m, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: code + "-" + name, Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		f.members = append(f.members, m.ID)
		if i%4 == 0 { // ten enrolments in the live campaign, the last one refused by the plugin
			if _, err := pg.Exec(ctx, `INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, answers, enrolled_at)
				VALUES ($1, $2, $3, '\x00', $4, $5)`, ids[0], m.ID, name, map[string]any{"ok": i != 36}, june.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 1,200 purchases over June (and one in July, outside the period), member i every i-th hour.
	for k := range 1200 {
		m := f.members[k%40]
		amount := int64(5 + k%50)
		at := june.Add(time.Duration(k) * 33 * time.Minute)
		if _, err := pg.Exec(ctx, `INSERT INTO events (source, external_id, type, member_id, occurred_at, attributes, input_hash, received_at,
				next_attempt_at) VALUES ('t', $1, 'purchase', $2, $3, $4, '\x00', now(), now())`, fmt.Sprintf("%s-%d", code, k), m, at,
			map[string]any{"amount": amount}); err != nil {
			t.Fatal(err)
		}
		if amount >= 10 {
			f.points += amount / 10
		}
	}
	for _, ev := range []struct {
		at     time.Time
		typ    string
		member int64
		attrs  map[string]any
	}{
		{july.Add(time.Hour), "purchase", f.members[1], map[string]any{"amount": 1000}},
		{june.Add(25 * 24 * time.Hour), "refund", f.members[2], map[string]any{"points": 1_000_000}}, // refused: beyond the balance
		{june.Add(29 * 24 * time.Hour), "refund", f.members[3], map[string]any{"points": 5}},
	} {
		if _, err := pg.Exec(ctx, `INSERT INTO events (source, external_id, type, member_id, occurred_at, attributes, input_hash, received_at,
				next_attempt_at) VALUES ('t', $1, $2, $3, $4, $5, '\x00', now(), now())`, fmt.Sprintf("%s-x%d", code, seq.Add(1)), ev.typ,
			ev.member, ev.at, ev.attrs); err != nil {
			t.Fatal(err)
		}
	}
	camps := campaigns.NewStore(bdb, time.Now, nil)
	if f.draft, err = camps.Get(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) service(prog sdk.Program, opts backtest.Options) *backtest.Service {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := host{prog}
	led := ledger.New(f.bdb, clk.Now)
	mem := members.NewStore(f.bdb, clk.Now)
	camps := campaigns.NewStore(f.bdb, clk.Now, nil)
	eng := engine.New(f.bdb, led, mem, camps, benefits.NewStore(f.bdb), h, hclog.NewNullLogger(), clk.Now, engine.Options{})
	return backtest.New(f.bdb, h, eng, camps, led, mem, hclog.NewNullLogger(), clk.Now, opts)
}

// live counts the rows a backtest must never write.
func (f *fixture) live(t *testing.T) string {
	t.Helper()
	var s string
	if err := db.PG(f.bdb).QueryRow(context.Background(), `SELECT (SELECT count(*) FROM benefits) || '/' || (SELECT count(*) FROM transactions)
		|| '/' || (SELECT count(*) FROM plugin_state) || '/' || (SELECT count(*) FROM enrollments) || '/' || (SELECT count(*) FROM accounts)
		|| '/' || (SELECT count(*) FROM tiers)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// result is everything a backtest produced, for comparing two runs.
type result struct {
	Status  string
	Totals  backtest.Totals
	Days    []backtest.Day
	Members []backtest.MemberResult
}

func (f *fixture) result(t *testing.T, s *backtest.Service, id int64) result {
	t.Helper()
	ctx := context.Background()
	b, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r := result{Status: b.Status, Totals: b.Totals, Days: b.Days}
	var after int64
	for {
		page, more, err := s.Members(ctx, id, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		r.Members = append(r.Members, page...)
		if !more {
			return r
		}
		after = page[len(page)-1].MemberID
	}
}

// TestBacktestOutcome checks a backtest's totals, days and members against what the fixture's
// history must give, that nothing live was written, and that a run interrupted at every
// checkpoint and resumed by another runner gives exactly the same result.
func TestBacktestOutcome(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	before := f.live(t)
	s := f.service(&counter{}, backtest.Options{PageSize: 100, BatchSize: 30})
	b, err := s.Start(ctx, backtest.StartInput{CampaignID: f.draft.ID, From: june, To: july, By: "test",
		Value: &backtest.PointValue{Minor: 3, Points: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, backtest.StartInput{CampaignID: f.draft.ID, From: june, To: july}); !errors.Is(err, backtest.ErrRunning) {
		t.Fatalf("a second start while one runs: %v, want ErrRunning", err)
	}
	if ran, err := s.RunOnce(ctx); !ran || err != nil {
		t.Fatalf("RunOnce: %v %v", ran, err)
	}
	whole := f.result(t, s, b.ID)
	if after := f.live(t); after != before {
		t.Errorf("live rows (benefits/transactions/states/enrolments/accounts/tiers) %s before, %s after", before, after)
	}
	// Every purchase earns once; member 3 refunds 5; member 2's refund is refused. Every
	// member makes 30 purchases: each gets "third"; the nine enrolled "loyal" on 2 June.
	want := backtest.Totals{EventsEvaluated: 1202, Applied: 1201 + 9 + 9, NoEffect: 0, Rejected: 1, Refused: 1,
		EnrollmentsReplayed: 10, EnrollmentsAccepted: 9, HookRuns: 30, PointsIssued: f.points, PointsDebited: 5,
		BenefitsGranted: 40 + 9, MembersReached: 40}
	if whole.Status != backtest.StatusDone || whole.Totals != want {
		t.Fatalf("status %s, totals\n got %+v\nwant %+v", whole.Status, whole.Totals, want)
	}
	done, err := s.Get(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := done.Cost(); c == nil || *c != f.points*3/2 || done.Progress() != 1 || done.EventsDone != 1202 || done.EventsTotal != 1202 {
		t.Errorf("cost %v (want %d), progress %v, events %d of %d", done.Cost(), f.points*3/2, done.Progress(), done.EventsDone, done.EventsTotal)
	}
	var sumDays backtest.Day
	for _, d := range whole.Days {
		sumDays.EventsEvaluated += d.EventsEvaluated
		sumDays.PointsIssued += d.PointsIssued
		sumDays.BenefitsGranted += d.BenefitsGranted
	}
	// Events from 1 to 28 June and a refund on 30 June (Kyiv days); nothing on 29 June.
	if len(whole.Days) != 29 || whole.Days[0].Day != "2021-06-01" || sumDays.EventsEvaluated != 1202 || sumDays.PointsIssued != f.points ||
		sumDays.BenefitsGranted != 49 {
		t.Errorf("days: %d from %s, sums %+v", len(whole.Days), whole.Days[0].Day, sumDays)
	}
	if len(whole.Members) != 40 {
		t.Fatalf("%d members, want 40", len(whole.Members))
	}
	for i, m := range whole.Members {
		wantBenefits := 1
		if i%4 == 0 && i != 36 {
			wantBenefits = 2
		}
		third := slices.ContainsFunc(m.Benefits, func(b backtest.Benefit) bool { return b.Key == "third" })
		if m.MemberID != f.members[i] || len(m.Benefits) != wantBenefits || !third || m.Enrolled != (wantBenefits == 2) || m.EventsEvaluated < 30 {
			t.Errorf("member %d: %+v", i, m)
		}
	}
	if m := whole.Members[3]; m.Available != m.PointsIssued-5 || m.PointsDebited != 5 {
		t.Errorf("member 3 after its refund: %+v", m)
	}

	// Interrupted at every checkpoint: each runner stops after one more plugin call, and the
	// next one resumes from the checkpoint.
	p := &counter{}
	opts := backtest.Options{PageSize: 100, BatchSize: 30, Checkpoint: time.Nanosecond, Lease: time.Nanosecond}
	b2, err := f.service(p, opts).Start(ctx, backtest.StartInput{CampaignID: f.draft.ID, From: june, To: july, By: "test",
		Value: &backtest.PointValue{Minor: 3, Points: 2}})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for {
		runs++
		rctx, cancel := context.WithCancel(ctx)
		p.stopAfter, p.stop = p.evaluations.Load()+8, cancel
		ran, err := f.service(p, opts).RunOnce(rctx)
		cancel()
		if err != nil || !ran {
			t.Fatalf("run %d: %v %v", runs, ran, err)
		}
		got, err := s.Get(ctx, b2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != backtest.StatusRunning || runs > 200 {
			break
		}
	}
	if runs < 5 {
		t.Errorf("the backtest finished in %d runs; the test wants it interrupted more often", runs)
	}
	if resumed := f.result(t, s, b2.ID); !reflect.DeepEqual(resumed, whole) {
		t.Errorf("resumed %d times: %+v\nwant %+v", runs, resumed.Totals, whole.Totals)
	}
}

// TestBacktestCancel: a cancelled backtest stops, keeps its status, and is not run again;
// cancelling it again is ErrFinished.
func TestBacktestCancel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.service(&counter{}, backtest.Options{})
	b, err := s.Start(ctx, backtest.StartInput{CampaignID: f.draft.ID, From: june, To: july})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Cancel(ctx, b.ID); err != nil || c.Status != backtest.StatusCancelled {
		t.Fatalf("cancel: %v %v", c, err)
	}
	if _, err := s.Cancel(ctx, b.ID); !errors.Is(err, backtest.ErrFinished) {
		t.Errorf("cancel again: %v, want ErrFinished", err)
	}
	if ran, err := s.RunOnce(ctx); ran || err != nil {
		t.Errorf("RunOnce after the cancel: %v %v, want nothing to run", ran, err)
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{{"reversed", july, june}, {"empty", june, june}, {"future", june, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := s.Start(ctx, backtest.StartInput{CampaignID: f.draft.ID, From: tc.from, To: tc.to}); !errors.Is(err, backtest.ErrInvalidPeriod) {
			t.Errorf("%s period: %v, want ErrInvalidPeriod", tc.name, err)
		}
	}
}
