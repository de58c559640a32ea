package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/hook"
)

// TestMain gives the package a database when there is a server; without one only the tests that
// need none (the fuzz test's seeds) can pass.
func TestMain(m *testing.M) {
	if dbtest.AdminURL() == "" {
		os.Exit(m.Run())
	}
	os.Exit(dbtest.Main(m))
}

// ticker is a programme plugin whose Tick answers with tick.
type ticker struct {
	sdk.Base
	tick func(req sdk.TickRequest) sdk.TickResponse
}

func (ticker) Describe(context.Context) (sdk.Description, error) { return sdk.Description{}, nil }
func (ticker) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, nil
}
func (p ticker) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	return p.tick(req), nil
}

// host hands the engine one plugin for every campaign.
// tickFixture is a campaign of the fake plugin with members enrolled once each, in order, and
// its hook run due at due.
type tickFixture struct {
	bdb      *db.DB
	eng      *engine.Engine
	run      hook.Run
	members  []int64
	enrolled []int64 // enrolment ids, in member order
	now      time.Time
}

func newTickFixture(t *testing.T, n int, tick func(req sdk.TickRequest) sdk.TickResponse) *tickFixture {
	t.Helper()
	bdb := dbtest.DB(t)
	ctx := context.Background()
	tk := enginetest.NewTick(t, bdb, "tick", ticker{tick: tick})
	f := &tickFixture{bdb: bdb, now: tk.Now, run: tk.Run, eng: tk.Engine}
	c, now := tk.Run.Campaign, tk.Now
	for i := 0; i < n; i++ {
		f.members = append(f.members, f.member(t, fmt.Sprintf("%s-%d", tk.Code, i)))
		f.enrolled = append(f.enrolled, f.enrol(t, f.members[i]))
	}
	if _, err := bdb.ExecContext(ctx, `INSERT INTO tick_runs (campaign_id, hook, due_at, lease_until, owner, started_at)
		VALUES (?, ?, ?, ?, 'test', ?)`, c.ID, f.run.Hook, f.run.Due, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *tickFixture) member(t *testing.T, ref string) int64 {
	t.Helper()
	var id int64
	if err := f.bdb.NewRaw(`INSERT INTO members (external_ref) VALUES (?) RETURNING id`, ref).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *tickFixture) enrol(t *testing.T, member int64) int64 {
	t.Helper()
	var id int64
	if err := f.bdb.NewRaw(`INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, enrolled_at)
		VALUES (?, ?, ?, '\x00', ?) RETURNING id`,
		f.run.Campaign.ID, member, fmt.Sprintf("k%d-%d", member, len(f.enrolled)), f.now).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// setState stores a member's plugin state row.
func (f *tickFixture) setState(t *testing.T, member int64, state string, version int64) {
	t.Helper()
	if _, err := f.bdb.ExecContext(context.Background(), `INSERT INTO plugin_state (campaign_id, member_id, state, version, updated_at)
		VALUES (?, ?, ?::jsonb, ?, ?)`, f.run.Campaign.ID, member, state, version, f.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

type stateRow struct {
	State     string
	Version   int64
	UpdatedAt time.Time
}

// states returns every member's state row (state as jsonb text; "" without a row).
func (f *tickFixture) states(t *testing.T) map[int64]stateRow {
	t.Helper()
	var rows []struct {
		MemberID int64
		stateRow
	}
	if err := f.bdb.NewRaw(`SELECT member_id, state::text AS state, version, updated_at FROM plugin_state WHERE campaign_id = ?`,
		f.run.Campaign.ID).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[int64]stateRow{}
	for _, r := range rows {
		out[r.MemberID] = r.stateRow
	}
	return out
}

type runRow struct {
	Cursor, Processed int64
	Status, LastError string
}

func (f *tickFixture) tickRun(t *testing.T) runRow {
	t.Helper()
	var r runRow
	if err := f.bdb.NewRaw(`SELECT cursor, processed, status, last_error FROM tick_runs WHERE campaign_id = ? AND hook = ? AND due_at = ?`,
		f.run.Campaign.ID, f.run.Hook, f.run.Due).Scan(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTickPageWritesMembersTogetherAsOneByOne: in one page, members whose effects are only grants
// (without codes) and put_state are written together, the others one by one, with the same
// result as applying each member's effects on its own: same benefit and state rows, ids in
// member order, a refused member gets nothing and a problem, a member without a state row gets
// one with the state it put.
func TestTickPageWritesMembersTogetherAsOneByOne(t *testing.T) {
	from := time.Date(2021, 4, 29, 0, 0, 0, 0, time.FixedZone("Kyiv", 3*3600))
	before := from.Add(-time.Second)
	gift := func(key, title string) sdk.Effect {
		return sdk.GrantBenefit{Key: key, Kind: "gift", Title: title, Recipient: "Employee", ValidFrom: &from,
			Attributes: sdk.Values{"month": "2021-04", "items": []any{"calculator"}}}.Effect()
	}
	put := func(s string) sdk.Effect { return sdk.PutState{State: json.RawMessage(s)}.Effect() }
	var f *tickFixture
	f = newTickFixture(t, 9, func(req sdk.TickRequest) sdk.TickResponse {
		m := f.members
		effects := map[int64][]sdk.Effect{
			m[0]: {gift("gift", "Calculator"), put(`{"n": 1}`)},                                     // together
			m[1]: {gift("gift", "Calculator"), put(`{"n": 1}`), sdk.SetTier{Tier: "gold"}.Effect()}, // one by one
			m[2]: {sdk.GrantBenefit{Key: "bad", Kind: "gift", ValidFrom: &from, ValidUntil: &before}.Effect(), put(`{"n": 3}`)},
			m[3]: {put(`{"n": 1}`), put(`{"n": 2}`)},          // no state row: the last put_state
			m[4]: {gift("g-5", "new title"), put(`{"n": 5}`)}, // has g-5 already
			m[5]: {gift("g-6", "first"), gift("g-6", "second"), put(`{"n": "a"}`), put(`{"n": "b\\ \"q\" ü {x, NULL}"}`)},
			m[7]: {sdk.EndBenefit{Key: "nope"}.Effect(), gift("g-8", "never")}, // refused one by one
			m[8]: {gift("g-9", "last")},
		}
		resp := sdk.TickResponse{Results: []sdk.MemberEffects{{MemberID: "999999", Effects: []sdk.Effect{put(`{}`)}}}}
		for _, mem := range req.Members {
			id, _ := strconv.ParseInt(mem.ID, 10, 64)
			if e := effects[id]; e != nil {
				resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: mem.ID, Effects: e})
			}
		}
		return resp
	})
	m := f.members
	ctx := context.Background()
	f.setState(t, m[0], `{"n": 0}`, 3)
	f.setState(t, m[1], `{"n": 0}`, 3)
	f.setState(t, m[2], `{"s": 3}`, 2)
	f.setState(t, m[4], `null`, 0)
	f.setState(t, m[5], `null`, 1)
	f.setState(t, m[6], `{"s": 7}`, 5)
	f.setState(t, m[7], `null`, 0)
	if _, _, err := benefits.Grant(ctx, f.bdb, benefits.Target{MemberID: m[4], CampaignID: f.run.Campaign.ID}, &benefits.Spec{Key: "g-5", Kind: "gift", Title: "old"}, f.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}

	next, done, err := f.eng.TickPage(ctx, f.run, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if last := f.enrolled[len(f.enrolled)-1]; next != last || !done {
		t.Fatalf("TickPage = %d, %v; want %d, true", next, done, last)
	}
	wantRun := runRow{Cursor: next, Processed: 9, Status: "done", LastError: fmt.Sprint([]string{
		`result for member "999999" outside the page`,
		fmt.Sprintf("member %d: effect 0 (grant_benefit): invalid benefit: validUntil is before validFrom", m[2]),
		fmt.Sprintf(`member %d: effect 0 (end_benefit): benefit not found: key "nope"`, m[7]),
	})}
	if got := f.tickRun(t); got != wantRun {
		t.Errorf("tick run %+v\nwant %+v", got, wantRun)
	}

	now := f.now
	wantStates := map[int64]stateRow{
		m[0]: {`{"n": 1}`, 4, now}, m[1]: {`{"n": 1}`, 4, now}, m[2]: {`{"s": 3}`, 2, now.Add(-time.Hour)},
		m[3]: {`{"n": 2}`, 1, now}, m[4]: {`{"n": 5}`, 1, now}, m[5]: {`{"n": "b\\ \"q\" ü {x, NULL}"}`, 2, now},
		m[6]: {`{"s": 7}`, 5, now.Add(-time.Hour)}, m[7]: {`null`, 0, now.Add(-time.Hour)}, m[8]: {`null`, 1, now},
	}
	got := f.states(t)
	for id, want := range wantStates {
		if g := got[id]; g.State != want.State || g.Version != want.Version || !g.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("member %d: state %+v, want %+v", id, g, want)
		}
	}
	if len(got) != len(wantStates) {
		t.Errorf("%d state rows, want %d", len(got), len(wantStates))
	}

	var bs []benefits.Benefit
	if err := f.bdb.NewSelect().Model(&bs).Where("campaign_id = ?", f.run.Campaign.ID).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, b := range bs {
		order = append(order, fmt.Sprintf("%d:%s:%s", b.MemberID, b.Key, b.Title))
	}
	wantOrder := []string{fmt.Sprintf("%d:g-5:old", m[4]), fmt.Sprintf("%d:gift:Calculator", m[0]), fmt.Sprintf("%d:gift:Calculator", m[1]),
		fmt.Sprintf("%d:g-6:first", m[5]), fmt.Sprintf("%d:g-9:last", m[8])}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Fatalf("benefits in id order %q\nwant %q", order, wantOrder)
	}
	together, alone := bs[1], bs[2]
	if together.Status != "active" || together.Fulfillment != "to_deliver" || !together.ValidFrom.Equal(from) || !together.CreatedAt.Equal(now) ||
		together.EventID != nil || !reflect.DeepEqual(together.Attributes, map[string]any{"month": "2021-04", "items": []any{"calculator"}}) {
		t.Errorf("gift written together: %+v", together)
	}
	together.ID, together.MemberID, alone.ID, alone.MemberID = 0, 0, 0, 0
	if !reflect.DeepEqual(together, alone) {
		t.Errorf("the same gift written together\n%+v\nand one by one\n%+v", together, alone)
	}
	var tiers int
	if err := f.bdb.NewRaw(`SELECT count(*) FROM tiers WHERE member_id = ? AND tier = 'gold'`, m[1]).Scan(ctx, &tiers); err != nil || tiers != 1 {
		t.Errorf("tier of the member written one by one: %d (%v)", tiers, err)
	}
}

// TestApplyTickOnceAcrossReplicas: two replicas evaluate the same page; the first applies it, the
// second writes nothing and learns the run's cursor; a page evaluated on a stale cursor writes
// nothing either.
func TestApplyTickOnceAcrossReplicas(t *testing.T) {
	var calls atomic.Int64
	f := newTickFixture(t, 5, func(req sdk.TickRequest) sdk.TickResponse {
		calls.Add(1)
		var resp sdk.TickResponse
		for _, mem := range req.Members {
			resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: mem.ID, Effects: []sdk.Effect{
				sdk.GrantBenefit{Key: "once", Kind: "gift"}.Effect(), sdk.PutState{State: json.RawMessage(`{"done": true}`)}.Effect()}})
		}
		return resp
	})
	ctx := context.Background()
	for _, id := range f.members {
		f.setState(t, id, `null`, 0)
	}
	plan := func(cursor int64) hook.Page {
		p, err := f.eng.ReadTick(ctx, f.run, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.eng.EvaluateTick(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := plan(0), plan(0)
	if a.Cursor() != 0 || a.Next() != f.enrolled[2] || !a.More() {
		t.Fatalf("first page: cursor %d, next %d, more %v; want 0, %d, true", a.Cursor(), a.Next(), a.More(), f.enrolled[2])
	}
	apply := func(p hook.Page, wantNext int64, wantDone bool) {
		t.Helper()
		next, done, err := f.eng.ApplyTick(ctx, p)
		if err != nil || next != wantNext || done != wantDone {
			t.Fatalf("ApplyTick = %d, %v, %v; want %d, %v", next, done, err, wantNext, wantDone)
		}
	}
	apply(a, f.enrolled[2], false)
	apply(b, f.enrolled[2], false) // the other replica's copy: nothing written
	stale := plan(0)
	last := plan(f.enrolled[2])
	if last.More() || last.Next() != f.enrolled[4] || last.Shares(a) || !stale.Shares(a) {
		t.Fatalf("second page: next %d, more %v, shares %v; stale shares %v", last.Next(), last.More(), last.Shares(a), stale.Shares(a))
	}
	apply(last, f.enrolled[4], true)
	apply(stale, f.enrolled[4], false)
	if got, want := f.tickRun(t), (runRow{Cursor: f.enrolled[4], Processed: 5, Status: "done"}); got != want {
		t.Errorf("tick run %+v, want %+v", got, want)
	}
	for id, s := range f.states(t) {
		if s.Version != 1 || s.State != `{"done": true}` {
			t.Errorf("member %d: %+v, want the state put once (version 1)", id, s)
		}
	}
	var n int
	if err := f.bdb.NewRaw(`SELECT count(*) FROM benefits WHERE campaign_id = ?`, f.run.Campaign.ID).Scan(ctx, &n); err != nil || n != 5 {
		t.Errorf("%d benefits (%v), want 5", n, err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d plugin calls, want 4", calls.Load())
	}
}

// counter is a tick plugin's view of a member: its state {"n": N} and what it asks for: the
// state {"n": N+1}, a gift keyed by N+1, and for alone members a tier (written one by one).
type counter struct {
	mu    sync.Mutex
	seen  map[int64][]int // the n of each evaluation of a member
	alone map[int64]bool
	// during is called while a member is evaluated (after its snapshot), with its evaluation count.
	during func(member int64, evaluation int)
}

func (c *counter) tick(req sdk.TickRequest) sdk.TickResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	var resp sdk.TickResponse
	for _, mem := range req.Members {
		id, _ := strconv.ParseInt(mem.ID, 10, 64)
		var s struct{ N int }
		if len(mem.State) > 0 {
			if err := json.Unmarshal(mem.State, &s); err != nil {
				panic(fmt.Sprintf("state %s: %v", mem.State, err)) // only this counter writes it
			}
		}
		c.seen[id] = append(c.seen[id], s.N)
		if c.during != nil {
			c.during(id, len(c.seen[id]))
		}
		effects := []sdk.Effect{sdk.GrantBenefit{Key: fmt.Sprintf("g%d", s.N+1), Kind: "gift"}.Effect(),
			sdk.PutState{State: json.RawMessage(fmt.Sprintf(`{"n": %d}`, s.N+1))}.Effect()}
		if c.alone[id] {
			effects = append(effects, sdk.SetTier{Tier: "gold"}.Effect())
		}
		resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: mem.ID, Effects: effects})
	}
	return resp
}

// TestApplyTickReevaluatesMembersChangedSinceEvaluation: a member whose state an event changed
// between the page's evaluation and its apply is evaluated again on its new state, whether its
// effects are written together or one by one, and whether or not it had a state row; the
// others are evaluated once. Nothing the stale evaluation asked for is written.
func TestApplyTickReevaluatesMembersChangedSinceEvaluation(t *testing.T) {
	c := &counter{seen: map[int64][]int{}, alone: map[int64]bool{}}
	f := newTickFixture(t, 5, c.tick)
	m := f.members
	ctx := context.Background()
	c.alone[m[1]], c.alone[m[4]] = true, true
	f.setState(t, m[0], `{"n": 1}`, 3)
	f.setState(t, m[1], `{"n": 1}`, 3)
	f.setState(t, m[2], `{"n": 1}`, 3)
	// m[3] and m[4] have no state row.

	p, err := f.eng.ReadTick(ctx, f.run, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.eng.EvaluateTick(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Events change m[0], m[1] (rows with a version) and give m[3], m[4] their first state.
	for _, id := range []int64{m[0], m[1]} {
		if _, err := f.bdb.ExecContext(ctx, `UPDATE plugin_state SET state = '{"n": 10}', version = version + 1
			WHERE campaign_id = ? AND member_id = ?`, f.run.Campaign.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{m[3], m[4]} {
		f.setState(t, id, `{"n": 20}`, 1)
	}
	next, done, err := f.eng.ApplyTick(ctx, p)
	if err != nil || next != f.enrolled[4] || !done {
		t.Fatalf("ApplyTick = %d, %v, %v; want %d, true", next, done, err, f.enrolled[4])
	}
	wantSeen := map[int64][]int{m[0]: {1, 10}, m[1]: {1, 10}, m[2]: {1}, m[3]: {0, 20}, m[4]: {0, 20}}
	if !reflect.DeepEqual(c.seen, wantSeen) {
		t.Errorf("evaluations (n seen) %v, want %v", c.seen, wantSeen)
	}
	wantStates := map[int64]stateRow{m[0]: {`{"n": 11}`, 5, f.now}, m[1]: {`{"n": 11}`, 5, f.now}, m[2]: {`{"n": 2}`, 4, f.now},
		m[3]: {`{"n": 21}`, 2, f.now}, m[4]: {`{"n": 21}`, 2, f.now}}
	got := f.states(t)
	if len(got) != len(wantStates) {
		t.Errorf("%d state rows, want %d", len(got), len(wantStates))
	}
	for id, want := range wantStates {
		if g := got[id]; g.State != want.State || g.Version != want.Version || !g.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("member %d: state %+v, want %+v", id, g, want)
		}
	}
	var keys []string
	if err := f.bdb.NewRaw(`SELECT member_id || ':' || key FROM benefits WHERE campaign_id = ? ORDER BY id`, f.run.Campaign.ID).
		Scan(ctx, &keys); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{fmt.Sprintf("%d:g11", m[0]), fmt.Sprintf("%d:g11", m[1]), fmt.Sprintf("%d:g2", m[2]),
		fmt.Sprintf("%d:g21", m[3]), fmt.Sprintf("%d:g21", m[4])}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("benefits %q, want %q", keys, wantKeys)
	}
	if got, want := f.tickRun(t), (runRow{Cursor: f.enrolled[4], Processed: 5, Status: "done"}); got != want {
		t.Errorf("tick run %+v, want %+v", got, want)
	}
}

// TestApplyTickGivesUpOnAMemberThatKeepsChanging: a member whose state changes during every
// evaluation stops the page after maxTickEvaluations evaluations with an error; nothing of the
// page is written and the run's cursor stays where it was.
func TestApplyTickGivesUpOnAMemberThatKeepsChanging(t *testing.T) {
	c := &counter{seen: map[int64][]int{}, alone: map[int64]bool{}}
	f := newTickFixture(t, 3, c.tick)
	m := f.members
	ctx := context.Background()
	for _, id := range m {
		f.setState(t, id, `{"n": 1}`, 1)
	}
	c.during = func(member int64, evaluation int) {
		if member != m[1] {
			return
		}
		// An event for the member commits while the plugin evaluates it.
		if _, err := f.bdb.ExecContext(ctx, `UPDATE plugin_state SET version = version + 1 WHERE campaign_id = ? AND member_id = ?`,
			f.run.Campaign.ID, member); err != nil {
			t.Error(err)
		}
	}
	_, _, err := f.eng.TickPage(ctx, f.run, 0, 10)
	if err == nil || !strings.Contains(err.Error(), "the states of 1 members kept changing during 4 evaluations") {
		t.Fatalf("TickPage: %v, want the page given up after 4 evaluations", err)
	}
	if want := map[int64][]int{m[0]: {1}, m[1]: {1, 1, 1, 1}, m[2]: {1}}; !reflect.DeepEqual(c.seen, want) {
		t.Errorf("evaluations %v, want %v", c.seen, want)
	}
	var n int
	if err := f.bdb.NewRaw(`SELECT count(*) FROM benefits WHERE campaign_id = ?`, f.run.Campaign.ID).Scan(ctx, &n); err != nil || n != 0 {
		t.Errorf("%d benefits (%v), want none", n, err)
	}
	for id, s := range f.states(t) {
		if s.State != `{"n": 1}` {
			t.Errorf("member %d: state %s, want it unchanged", id, s.State)
		}
	}
	if got, want := f.tickRun(t), (runRow{Cursor: 0, Processed: 0, Status: "running"}); got != want {
		t.Errorf("tick run %+v, want %+v", got, want)
	}
}
