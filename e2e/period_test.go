package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/promogate/promogate/db"
)

// TestFutureEventsAreRefused: programme time is Thursday 22 April 2021 and a campaign starts on
// Saturday 24 April (SCHEDULED). A purchase dated Saturday, and one dated 2030, are refused
// with FUTURE_EVENT naming occurredAt, and nothing is stored or credited; an event within the
// allowed skew (--event-max-skew 2m) is taken. simulateCampaign routes its events the same way
// (period and status): events before the start or at the end, and the events of a paused
// campaign, are not shown to the plugin and say why; Saturday's purchase (a what-if) and the
// events of a draft (simulated as it will run once activated) are decided.
func TestFutureEventsAreRefused(t *testing.T) {
	c := startCore(t, newDatabase(t), "--clock-start", "2021-04-22T10:00:00Z", "--event-max-skew", "2m")
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
	data(t, c.register(t, "misbehave", "1.0.0", path, sum))
	saturday := data(t, c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": "saturday", "name": "saturday", "program": "shop", "plugin": "misbehave", "pluginVersion": "1.0.0",
		"config": map[string]any{"mode": "ok"}, "timeZone": "UTC", "startsAt": "2021-04-24T00:00:00Z", "endsAt": "2021-04-25T00:00:00Z",
	}}), "createCampaign", "id").(string)
	if st := data(t, c.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": saturday}),
		"activateCampaign", "status"); st != "SCHEDULED" {
		t.Fatalf("Saturday's campaign: status %v, want SCHEDULED", st)
	}

	// Programme time runs on from 10:00:00 while the test runs: how far ahead an event is, in
	// the message, is a little less than the difference to 10:00.
	for _, tc := range []struct{ id, at, ahead string }{
		{"next-saturday", "2021-04-24T10:00:00Z", `4[78]h[0-9]+m[0-9]+s`},
		{"in-2030", "2030-01-01T00:00:00Z", `7621[34]h[0-9]+m[0-9]+s`},
		{"in-3-minutes", "2021-04-22T10:03:00Z", `[23]m[0-9]+s`},
	} {
		got := compact(c.record(t, "m1", tc.id, tc.at, nil))
		want := regexp.MustCompile(`^\{"duplicate":false,"error":\{"code":"FUTURE_EVENT","message":"event from the future: occurredAt ` +
			regexp.QuoteMeta(tc.at) + ` is ` + tc.ahead + ` ahead of programme time 2021-04-22T10:0[0-9]:[0-9]{2}Z; at most 2m0s is accepted"\},"event":null\}$`)
		if !want.MatchString(got) {
			t.Fatalf("event %s at %s: got %s, want it refused (%s)", tc.id, tc.at, got, want)
		}
	}
	bdb, err := db.Open(context.Background(), c.dbURL, db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var stored, postings int
	if err := bdb.NewRaw(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM postings)`).Scan(context.Background(), &stored, &postings); err != nil {
		t.Fatal(err)
	}
	if stored != 0 || postings != 0 {
		t.Fatalf("refused events left %d events and %d postings, want none", stored, postings)
	}
	// Within the skew: stored and evaluated (no campaign is live yet).
	if got := compact(c.record(t, "m1", "in-1-minute", "2021-04-22T10:01:00Z", nil)); !strings.Contains(got, `"error":null`) ||
		!strings.Contains(got, `"status":"DONE"`) || !strings.Contains(got, `"campaigns":[]`) {
		t.Fatalf("an event a minute ahead: %s", got)
	}

	simulate := func(campaign, at string) string {
		return compact(data(t, c.gql(`mutation($id: ID!, $at: Time!) { simulateCampaign(id: $id, events: [
			{type: "purchase", memberRef: "m1", source: "shop", externalId: "sim", occurredAt: $at}]) {
			effects { kind } noEffectReason problem } }`, map[string]any{"id": campaign, "at": at}), "simulateCampaign"))
	}
	const credited = `[{"effects":[{"kind":"credit_points"}],"noEffectReason":null,"problem":null}]`
	// A what-if: Saturday's purchase, simulated on Thursday, is decided as it will be on Saturday.
	if got := simulate(saturday, "2021-04-24T10:00:00Z"); got != credited {
		t.Fatalf("simulating Saturday's purchase: %s", got)
	}
	for _, tc := range []struct{ at, want string }{
		{"2021-04-22T09:00:00Z", "campaign saturday starts at 2021-04-24T00:00:00Z, after 2021-04-22T09:00:00Z"},
		{"2021-04-25T00:00:00Z", "campaign saturday ends at 2021-04-25T00:00:00Z, not after 2021-04-25T00:00:00Z"},
	} {
		if got := simulate(saturday, tc.at); got != `[{"effects":[],"noEffectReason":"`+tc.want+`","problem":null}]` {
			t.Fatalf("simulating an event at %s, outside the campaign's period: %s", tc.at, got)
		}
	}
	// A draft is simulated as it will run once activated; a paused campaign takes nothing.
	draft := data(t, c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": "draft", "name": "draft", "program": "shop", "plugin": "misbehave", "pluginVersion": "1.0.0",
		"config": map[string]any{"mode": "ok"}, "timeZone": "UTC", "startsAt": "2021-01-01T00:00:00Z",
	}}), "createCampaign", "id").(string)
	if got := simulate(draft, "2021-04-22T09:00:00Z"); got != credited {
		t.Fatalf("simulating a draft campaign: %s", got)
	}
	data(t, c.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": draft}))
	data(t, c.gql(`mutation($id: ID!) { pauseCampaign(id: $id) { status } }`, map[string]any{"id": draft}))
	if got := simulate(draft, "2021-04-22T09:00:00Z"); got !=
		`[{"effects":[],"noEffectReason":"campaign draft is paused: events that occur while it is paused are not evaluated","problem":null}]` {
		t.Fatalf("simulating a paused campaign: %s", got)
	}
	// The real path agrees: an event recorded while the campaign is paused is credited by no campaign.
	if got := compact(c.record(t, "m1", "while-paused", "2021-04-22T09:00:00Z", nil)); !strings.Contains(got, `"campaigns":[]`) {
		t.Fatalf("recording while the campaign is paused: %s", got)
	}
}

// TestCampaignPeriodEnd runs seed 000's programme "to 28 December" on two cores sharing one
// database, as a campaign that ends at 28 December 2021 23:59:59 (Kyiv): the eligibility check
// answers with reasons and writes nothing; the participants' names are public once the campaign
// says so, and only the names; at the end both schedulers move the campaign to ENDED once, and
// the December close, due on the 29th, still grants December's gift, once. A contract event of
// the period that arrives after the end still counts; enrolling after the end does not.
func TestCampaignPeriodEnd(t *testing.T) {
	dbURL := newDatabase(t)
	args := []string{"--dev-clock", "--clock-start", "2021-12-10T10:00:00+02:00", "--scheduler-interval", "100ms"}
	a := startCore(t, dbURL, args...)
	data(t, a.gql(`mutation { createProgram(input: {code: "its2021", name: "ITS 2021"}) { code } }`, nil))
	path, sum := pluginBinary(t, "plugins/giftbymonth", "giftbymonth")
	data(t, a.register(t, "giftbymonth", "1.0.0", path, sum))
	camp := data(t, a.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id publicParticipants } }`, map[string]any{"in": map[string]any{
		"code": "gifts", "name": "Gifts 2021", "program": "its2021", "plugin": "giftbymonth", "pluginVersion": "1.0.0",
		"timeZone": "Europe/Kyiv", "startsAt": "2021-01-01T00:00:00+02:00", "endsAt": "2021-12-28T23:59:59+02:00",
	}}), "createCampaign").(map[string]any)
	if camp["publicParticipants"] != false {
		t.Fatalf("a new campaign's participants are public: %s", compact(camp))
	}
	id := camp["id"].(string)
	data(t, a.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": id}))
	b := startCore(t, dbURL, args...)

	contract := func(id, month string) map[string]any {
		return map[string]any{"attributes": map[string]any{"productRegistered": true, "itsContracts": []any{map[string]any{
			"id": id, "level": "PROF", "termMonths": 12, "paidInFull": true, "startMonth": month}}}}
	}
	dec := a.member(t, "company-dec", contract("ITS-12", "2021-12"))
	none := a.member(t, "company-none", map[string]any{"attributes": map[string]any{"productRegistered": true}})

	check := func(member string, answers map[string]any) string {
		return compact(data(t, a.gql(`query($m: ID!, $c: ID!, $a: JSON) { checkEligibility(memberId: $m, campaignId: $c, answers: $a) {
			eligible reasons { code message } } }`, map[string]any{"m": member, "c": id, "a": answers}), "checkEligibility"))
	}
	if got := check(none, nil); got != `{"eligible":false,"reasons":[{"code":"NO_ITS_CONTRACT","message":"the account has no ITS contracts"}]}` {
		t.Fatalf("check without a contract: %s", got)
	}
	for i := range 2 { // checking twice: the first check wrote nothing
		if got := check(dec, map[string]any{"contractId": "ITS-12"}); got != `{"eligible":true,"reasons":[]}` {
			t.Fatalf("check %d with a December contract: %s", i+1, got)
		}
	}
	bdb, err := db.Open(context.Background(), dbURL, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	ctx := context.Background()
	var written int
	if err := bdb.NewRaw(`SELECT (SELECT count(*) FROM enrollments) + (SELECT count(*) FROM plugin_state) + (SELECT count(*) FROM events)`).
		Scan(ctx, &written); err != nil {
		t.Fatal(err)
	}
	if written != 0 {
		t.Fatalf("eligibility checks wrote %d enrolments, plugin states or events, want none", written)
	}
	if r := a.enroll(t, dec, id, "reg-dec", map[string]any{"contractId": "ITS-12", "registeredBy": "Oksana"}); len(r["reasons"].([]any)) != 0 {
		t.Fatalf("December registration refused: %s", compact(r))
	}
	if got := check(dec, map[string]any{"contractId": "ITS-12"}); got != `{"eligible":false,"reasons":[{"code":"ALREADY_REGISTERED","message":"contract ITS-12 is already registered (its gift is for December 2021)"}]}` {
		t.Fatalf("check after registering: %s", got)
	}

	// The list of registered participants: refused until the campaign publishes it, then names only.
	const listQ = `{ publicParticipants(campaign: "gifts") { edges { node { name } } pageInfo { hasNextPage } } }`
	if _, _, body := a.request(nil, gqlBody(listQ, nil)); errorCodeOf(t, body) != "PARTICIPANTS_NOT_PUBLIC" {
		t.Fatalf("anonymous list of a campaign that does not publish it: %s", body)
	}
	if got := compact(data(t, a.gql(`mutation($id: ID!) { setParticipantsPublic(id: $id, public: true) { publicParticipants } }`,
		map[string]any{"id": id}), "setParticipantsPublic")); got != `{"publicParticipants":true}` {
		t.Fatalf("setParticipantsPublic: %s", got)
	}
	if status, _, body := b.request(nil, gqlBody(listQ, nil)); status != 200 ||
		compactJSON(body) != `{"data":{"publicParticipants":{"edges":[{"node":{"name":"company-dec"}}],"pageInfo":{"hasNextPage":false}}}}` {
		t.Fatalf("anonymous list of a campaign that publishes it: %d %s", status, body)
	}
	if _, _, body := a.request(nil, gqlBody(`{ publicParticipants(campaign: "nope") { edges { cursor } } }`, nil)); errorCodeOf(t, body) != "PARTICIPANTS_NOT_PUBLIC" {
		t.Fatalf("anonymous list of an unknown campaign: %s", body)
	}

	// The end: 29 December 00:00 in Kyiv is the December close, after endsAt.
	for _, c := range []*core{a, b} {
		c.setClock(t, "2021-12-29T00:00:01+02:00")
	}
	campaignQ := `query($id: ID!) { node(id: $id) { ... on Campaign { status endedAt } } }`
	waitFor(t, "the campaign to end", func() bool {
		return compact(data(t, a.gql(campaignQ, map[string]any{"id": id}), "node")) == `{"endedAt":"2021-12-28T21:59:59Z","status":"ENDED"}`
	})
	waitFor(t, "December's gift", func() bool { return a.benefit(t, "company-dec", "gift-2021-12-ITS-12") != nil })
	gift := a.benefit(t, "company-dec", "gift-2021-12-ITS-12")
	if got := pick(gift, "title", "recipient", "fulfillment"); got != `{"fulfillment":"to_deliver","recipient":"Oksana","title":"2022 wall calendar"}` {
		t.Fatalf("December's gift: %s", got)
	}
	waitFor(t, "the period's work to be recorded done", func() bool {
		var done bool
		return bdb.NewRaw(`SELECT period_work_done FROM campaigns WHERE code = 'gifts'`).Scan(ctx, &done) == nil && done
	})
	var gifts, runs, lastRuns int
	if err := bdb.NewRaw(`SELECT (SELECT count(*) FROM benefits), (SELECT count(*) FROM tick_runs WHERE due_at > '2021-12-28T23:59:59+02:00'),
		(SELECT count(*) FROM tick_runs WHERE due_at = '2021-12-29T00:00:00+02:00' AND status = 'done')`).Scan(ctx, &gifts, &runs, &lastRuns); err != nil {
		t.Fatal(err)
	}
	if gifts != 1 || runs != 1 || lastRuns != 1 {
		t.Fatalf("after the end: %d gifts, %d hook runs due after endsAt (%d done at the December close); want 1, 1, 1", gifts, runs, lastRuns)
	}

	// A contract of the period reported late still counts; enrolling after the end does not.
	late := compact(a.event(t, "contract.signed", "company-none", "late-contract", "2021-12-20T12:00:00+02:00", map[string]any{
		"id": "ITS-13", "level": "PROF", "termMonths": 24, "paidInFull": true, "startMonth": "2021-12"}))
	if !strings.Contains(late, `"campaigns":[{"campaign":{"code":"gifts"},"code":null,"effects":[{"kind":"put_state","points":null}],"reason":null,"status":"APPLIED"}]`) {
		t.Fatalf("a late contract event of the period: %s", late)
	}
	if got := check(none, nil); got != `{"eligible":false,"reasons":[{"code":"CAMPAIGN_NOT_OPEN","message":"campaign gifts ended at 2021-12-28T21:59:59Z"}]}` {
		t.Fatalf("check after the end: %s", got)
	}
	resp := a.gql(`mutation($m: ID!, $c: ID!) { enroll(memberId: $m, campaignId: $c, idempotencyKey: "late") { reasons { code } } }`,
		map[string]any{"m": none, "c": id})
	if errorCode(resp) != "CAMPAIGN_NOT_OPEN" {
		t.Fatalf("enrolling after the end: %s", compact(resp))
	}
}
