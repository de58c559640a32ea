package referral_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// ladder is an in-process referral plugin (the core's side is under test here; the real
// plugin's rules are tested in plugins/referral and e2e): it accepts a code with a welcome credit
// of 100 points unless the new client has the attribute refuse, and on each friend_joined
// appends the friend to the referrer's state with a discount of 5% per friend.
type ladder struct {
	sdk.Base
	down atomic.Bool // answer ErrUnavailable, as a plugin that cannot be reached
}

func (p *ladder) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "ladder", Version: "1.0.0", EventTypes: []string{referral.EventCodeApplied, referral.EventFriendJoined}}, nil
}

type state struct {
	Referees        []referral.Referee  `json:"referees"`
	DiscountHistory []referral.Discount `json:"discountHistory"`
}

func (p *ladder) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	if p.down.Load() {
		return sdk.EvaluateResponse{}, sdk.ErrUnavailable
	}
	out := make([]sdk.EvaluateResult, len(req.Items))
	for i, it := range req.Items {
		switch it.Event.Type {
		case referral.EventCodeApplied:
			if it.Member.Attributes["refuse"] == true {
				out[i].Effects = []sdk.Effect{sdk.Reject{Code: "CODE_WINDOW_EXPIRED", Message: "the promo period is over"}.Effect()}
				continue
			}
			out[i].Effects = []sdk.Effect{sdk.Credit(100, "welcome")}
		case referral.EventFriendJoined:
			var st state
			if it.Member.State != nil {
				if err := json.Unmarshal(it.Member.State, &st); err != nil {
					return sdk.EvaluateResponse{}, err
				}
			}
			at, _ := time.Parse(time.RFC3339, fmt.Sprint(it.Event.Attributes["appliedAt"]))
			st.Referees = append(st.Referees, referral.Referee{ID: fmt.Sprint(it.Event.Attributes["refereeId"]),
				Ref: fmt.Sprint(it.Event.Attributes["refereeRef"]), Name: fmt.Sprint(it.Event.Attributes["refereeName"]), ActivatedAt: at})
			n := len(st.Referees)
			st.DiscountHistory = append(st.DiscountHistory, referral.Discount{Key: "d" + strconv.Itoa(n), Role: "referrer",
				Change: "raised", Percent: 5 * n, From: &at, Friends: n})
			raw, err := json.Marshal(st)
			if err != nil {
				return sdk.EvaluateResponse{}, err
			}
			out[i].Effects = []sdk.Effect{sdk.PutState{State: raw}.Effect()}
		default:
			out[i].NoEffectReason = "not a referral event"
		}
	}
	return sdk.EvaluateResponse{Results: out}, nil
}

// host serves the ladder for every key and describes it.
type host struct{ prog *ladder }

func (h host) Program(pluginhost.Key) pluginhost.Program { return pluginhost.Adapt(h.prog) }

func (h host) Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error) {
	d, err := h.prog.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return &pluginhost.Entry{Name: k.Name, Version: k.Version, Status: "active", Description: pluginhost.Description{
		Name: d.Name, Version: d.Version, EventTypes: d.EventTypes}}, nil
}

var seq atomic.Int64

// fixture is a programme with a running referral campaign of the ladder plugin, a second
// programme with none, a referral service on a manual clock, and helpers.
type fixture struct {
	db        *db.DB
	clk       *clock.Manual
	prog      *ladder
	led       *ledger.Ledger
	members   *members.Store
	engine    *engine.Engine
	svc       *referral.Service
	program   *ledger.Program
	bare      *ledger.Program // no referral campaign
	campaign  *campaigns.Campaign
	tag       string
	memberSeq int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	tag := fmt.Sprintf("ref%d%d", time.Now().UnixNano()%1e6, seq.Add(1))
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	if _, err := db.PG(bdb).Exec(ctx, `INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ('ladder', '1.0.0', '/nonexistent', repeat('0', 64), 1, now(), 'test') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	led := ledger.New(bdb, clk.Now)
	p, err := led.CreateProgram(ctx, tag, "Referrals "+tag, "")
	if err != nil {
		t.Fatal(err)
	}
	bare, err := led.CreateProgram(ctx, tag+"-bare", "No referrals "+tag, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &campaigns.Campaign{Code: tag, Name: "Invite a friend", ProgramID: p.ID, PluginName: "ladder", PluginVersion: "1.0.0",
		Config: json.RawMessage(`{}`), TimeZone: "UTC", StartsAt: now.AddDate(0, -1, 0), Status: campaigns.Active, CreatedAt: now, UpdatedAt: now}
	if _, err := bdb.NewInsert().Model(c).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	prog := &ladder{}
	mem := members.NewStore(bdb, clk.Now)
	eng := engine.New(bdb, led, mem, campaigns.NewStore(bdb, clk.Now, nil), benefits.NewStore(bdb), host{prog},
		hclog.NewNullLogger(), clk.Now, engine.Options{RetryMin: time.Second, RetryMax: time.Second})
	return &fixture{db: bdb, clk: clk, prog: prog, led: led, members: mem, engine: eng, svc: referral.New(bdb, eng, mem, clk.Now),
		program: p, bare: bare, campaign: c, tag: tag}
}

// member creates a member named name with the given attributes.
func (f *fixture) member(t *testing.T, name string, attrs map[string]any) *members.Member {
	t.Helper()
	f.memberSeq++
	m, _, err := f.members.Upsert(context.Background(), members.UpsertInput{ExternalRef: fmt.Sprintf("%s-%d", f.tag, f.memberSeq),
		Name: &name, Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) code(t *testing.T, m *members.Member, programID int64) string {
	t.Helper()
	code, err := f.svc.Code(context.Background(), m.ID, programID)
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	return code
}

// recorded are a member's referral events by type; printed, each shows its external id.
type recorded map[string][]event.Event

func (r recorded) String() string {
	var out []string
	for typ, evs := range r {
		for _, e := range evs {
			out = append(out, typ+" "+e.ExternalID)
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// events returns the referral events recorded for member m, by type.
func (f *fixture) events(t *testing.T, m *members.Member) recorded {
	t.Helper()
	var evs []event.Event
	if err := f.db.NewSelect().Model(&evs).Where("source = 'referral' AND member_id = ?", m.ID).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := recorded{}
	for _, e := range evs {
		out[e.Type] = append(out[e.Type], e)
	}
	return out
}

func (f *fixture) balance(t *testing.T, m *members.Member) int64 {
	t.Helper()
	b, err := f.led.Balance(context.Background(), f.program.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Available
}

// TestCode: a member's code is made once per programme and then returned as it is; members and
// programmes each have their own.
func TestCode(t *testing.T) {
	f := newFixture(t)
	anna, boris := f.member(t, "Anna", nil), f.member(t, "Boris", nil)
	a1 := f.code(t, anna, f.program.ID)
	if a1 == "" || a1 != benefits.NormalizeCode(a1) {
		t.Fatalf("code %q, want a non-empty normalised code", a1)
	}
	if again := f.code(t, anna, f.program.ID); again != a1 {
		t.Fatalf("second call: %q, want the first code %q", again, a1)
	}
	b1, a2 := f.code(t, boris, f.program.ID), f.code(t, anna, f.bare.ID)
	if b1 == a1 || a2 == a1 || a2 == b1 {
		t.Fatalf("codes anna %q, boris %q, anna in another programme %q; want three different codes", a1, b1, a2)
	}
}

// TestApplyRefusals: what the core refuses before asking the plugin records no event.
func TestApplyRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anna, boris := f.member(t, "Anna", nil), f.member(t, "Boris", nil)
	own := f.code(t, anna, f.program.ID)
	bare := f.code(t, boris, f.bare.ID)

	for _, raw := range []string{"", " - ", strings.Repeat("A", 65)} {
		if res, err := f.svc.Apply(ctx, anna.ID, raw); !errors.Is(err, referral.ErrInvalid) || !strings.Contains(err.Error(), "code must be") {
			t.Errorf("apply %q: %+v, %v; want ErrInvalid naming the code", raw, res, err)
		}
	}
	cases := []struct {
		name, code, want string
	}{
		{"unknown", "NO-SUCH-" + strings.ToUpper(f.tag), referral.CodeUnknown},
		{"own", own, referral.CodeOwn},
		{"no campaign in the code's programme", bare, referral.CodeNoCampaign},
	}
	for _, c := range cases {
		res, err := f.svc.Apply(ctx, anna.ID, c.code)
		if err != nil || res.Accepted || res.Code != c.want || res.Message == "" || res.Event != nil {
			t.Errorf("%s: %+v, %v; want refusal %s with a message and no event", c.name, res, err, c.want)
		}
	}
	if evs := f.events(t, anna); len(evs) != 0 {
		t.Fatalf("events after refusals: %v, want none", evs)
	}
}

// TestApplyAccepted: an accepted code records the new client's event and then the referrer's,
// each once however often the call is repeated, and the referrer's summary shows the friend.
func TestApplyAccepted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anna, vera := f.member(t, "Anna", nil), f.member(t, "Vera", nil)
	code := f.code(t, anna, f.program.ID)
	typed := " " + strings.ToLower(code) + " " // as dictated: any case, stray spaces

	for attempt := 1; attempt <= 2; attempt++ {
		res, err := f.svc.Apply(ctx, vera.ID, typed)
		if err != nil || !res.Accepted || res.Code != "" {
			t.Fatalf("apply %d: %+v, %v; want accepted", attempt, res, err)
		}
		if res.Event == nil || res.Event.Type != referral.EventCodeApplied || res.Event.MemberID != vera.ID {
			t.Fatalf("apply %d: event %+v, want vera's %s", attempt, res.Event, referral.EventCodeApplied)
		}
		f.clk.Advance(time.Minute)
	}
	applied := f.events(t, vera)
	if len(applied) != 1 || len(applied[referral.EventCodeApplied]) != 1 {
		t.Fatalf("vera's events: %v, want one %s", applied, referral.EventCodeApplied)
	}
	ev := applied[referral.EventCodeApplied][0]
	wantAttrs := map[string]any{"referrerId": strconv.FormatInt(anna.ID, 10), "referrerRef": anna.ExternalRef, "referrerName": "Anna", "code": code}
	if !reflect.DeepEqual(ev.Attributes, wantAttrs) || ev.ExternalID != fmt.Sprintf("apply:%d:%s", vera.ID, code) {
		t.Fatalf("code_applied: external id %q, attributes %v; want apply:%d:%s and %v", ev.ExternalID, ev.Attributes, vera.ID, code, wantAttrs)
	}
	joined := f.events(t, anna)
	if len(joined) != 1 || len(joined[referral.EventFriendJoined]) != 1 {
		t.Fatalf("anna's events: %v, want one %s", joined, referral.EventFriendJoined)
	}
	j := joined[referral.EventFriendJoined][0]
	appliedAt := ev.OccurredAt.UTC().Format(time.RFC3339)
	wantAttrs = map[string]any{"refereeId": strconv.FormatInt(vera.ID, 10), "refereeRef": vera.ExternalRef, "refereeName": "Vera", "appliedAt": appliedAt}
	if !reflect.DeepEqual(j.Attributes, wantAttrs) || !j.OccurredAt.Equal(ev.OccurredAt) {
		t.Fatalf("friend_joined: attributes %v at %s; want %v at %s", j.Attributes, j.OccurredAt, wantAttrs, ev.OccurredAt)
	}
	if got := f.balance(t, vera); got != 100 {
		t.Fatalf("vera's balance %d, want the welcome credit of 100 once", got)
	}

	sum, err := f.svc.Summary(ctx, anna.ID, f.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := ev.OccurredAt.UTC()
	want := &referral.Summary{Code: code,
		Referees:        []referral.Referee{{ID: strconv.FormatInt(vera.ID, 10), Ref: vera.ExternalRef, Name: "Vera", ActivatedAt: at}},
		DiscountHistory: []referral.Discount{{Key: "d1", Role: "referrer", Change: "raised", Percent: 5, From: &at, Friends: 1}}}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("anna's summary:\n got %+v\nwant %+v", sum, want)
	}
	// A member without state has empty lists, not nil ones.
	empty, err := f.svc.Summary(ctx, vera.ID, f.program.ID)
	if err != nil || empty.Code == "" || empty.Referees == nil || len(empty.Referees) != 0 || empty.DiscountHistory == nil || len(empty.DiscountHistory) != 0 {
		t.Fatalf("vera's summary: %+v, %v; want her code and empty lists", empty, err)
	}
}

// TestApplyRefusedByThePlugin: the plugin's refusal is the answer (its code and message), and
// the referrer hears nothing.
func TestApplyRefusedByThePlugin(t *testing.T) {
	f := newFixture(t)
	anna, late := f.member(t, "Anna", nil), f.member(t, "Late", map[string]any{"refuse": true})
	res, err := f.svc.Apply(context.Background(), late.ID, f.code(t, anna, f.program.ID))
	if err != nil || res.Accepted || res.Code != "CODE_WINDOW_EXPIRED" || res.Message != "the promo period is over" || res.Event == nil {
		t.Fatalf("apply: %+v, %v; want CODE_WINDOW_EXPIRED with the plugin's message and the event", res, err)
	}
	if evs := f.events(t, anna); len(evs) != 0 {
		t.Fatalf("anna's events: %v, want none", evs)
	}
	if got := f.balance(t, late); got != 0 {
		t.Fatalf("balance %d, want 0", got)
	}
}

// TestApplyWhileThePluginIsDown: while the plugin cannot decide, the answer is
// PLUGIN_UNAVAILABLE and the referrer hears nothing; once the waiting event is decided, the same
// call finishes the job, once.
func TestApplyWhileThePluginIsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anna, vera := f.member(t, "Anna", nil), f.member(t, "Vera", nil)
	code := f.code(t, anna, f.program.ID)
	f.prog.down.Store(true)
	res, err := f.svc.Apply(ctx, vera.ID, code)
	if err != nil || res.Accepted || res.Code != referral.CodeNotDecided {
		t.Fatalf("apply while down: %+v, %v; want %s", res, err, referral.CodeNotDecided)
	}
	if evs := f.events(t, anna); len(evs) != 0 {
		t.Fatalf("anna's events while the plugin is down: %v, want none", evs)
	}

	f.prog.down.Store(false)
	f.clk.Advance(time.Minute) // past the waiting event's retry time
	if n, err := f.engine.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("worker: %d events, %v; want the waiting one", n, err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		res, err = f.svc.Apply(ctx, vera.ID, code)
		if err != nil || !res.Accepted {
			t.Fatalf("apply %d after the plugin is back: %+v, %v; want accepted", attempt, res, err)
		}
	}
	if evs := f.events(t, anna); len(evs[referral.EventFriendJoined]) != 1 {
		t.Fatalf("anna's events: %v, want one %s", evs, referral.EventFriendJoined)
	}
	if got := f.balance(t, vera); got != 100 {
		t.Fatalf("vera's balance %d, want 100", got)
	}
}

// TestInvite: the invite goes to the outbox once per address (e-mail case-insensitively), with
// the template's parameters; a bad channel or address is refused naming it.
func TestInvite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anna := f.member(t, "Anna", nil)
	code := f.code(t, anna, f.program.ID)

	for _, c := range []struct{ channel, to, field string }{
		{"fax", "+79000000000", "channel"},
		{referral.ChannelEmail, "  ", "to"},
		{referral.ChannelEmail, "friend.example.com", "e-mail address"},
		{referral.ChannelSMS, "call me", "phone number"},
	} {
		if n, err := f.svc.Invite(ctx, anna.ID, f.program.ID, f.program.Code, c.channel, c.to); !errors.Is(err, referral.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("invite by %s to %q: %+v, %v; want ErrInvalid naming %s", c.channel, c.to, n, err, c.field)
		}
	}

	first, err := f.svc.Invite(ctx, anna.ID, f.program.ID, f.program.Code, referral.ChannelEmail, "Friend@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"code": code, "inviterName": "Anna", "program": f.program.Code}
	if first.Template != "referral_invite" || first.Channel != referral.ChannelEmail || first.Recipient != "Friend@Example.com" ||
		first.MemberID != anna.ID || !reflect.DeepEqual(first.Params, want) {
		t.Fatalf("invite: %+v, want referral_invite to Friend@Example.com with %v", first, want)
	}
	again, err := f.svc.Invite(ctx, anna.ID, f.program.ID, f.program.Code, referral.ChannelEmail, " friend@example.COM ")
	if err != nil || again.ID != first.ID {
		t.Fatalf("same invite again: %+v, %v; want notification %d", again, err, first.ID)
	}
	sms, err := f.svc.Invite(ctx, anna.ID, f.program.ID, f.program.Code, referral.ChannelSMS, "+79000000000")
	if err != nil || sms.ID == first.ID || sms.Recipient != "+79000000000" {
		t.Fatalf("sms invite: %+v, %v; want a second notification", sms, err)
	}
	var n int
	if err := db.PG(f.db).QueryRow(ctx, `SELECT count(*) FROM notifications WHERE member_id = $1`, anna.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("notifications: %d, %v; want 2", n, err)
	}
}
