package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
)

// programCore starts a core with a movable programme clock and a fast scheduler, creates the
// programme, registers the plugin built from plugins/<plugin> and starts a campaign with the
// plugin's default configuration. It returns the core and the campaign id.
func programCore(t *testing.T, plugin, version, program, zone, starts, clockAt string) (*core, string) {
	t.Helper()
	c := startCore(t, newDatabase(t), "--dev-clock", "--clock-start", clockAt, "--scheduler-interval", "100ms")
	data(t, c.gql(`mutation($c: String!) { createProgram(input: {code: $c, name: "Programme"}) { code } }`, map[string]any{"c": program}))
	path, sum := pluginBinary(t, "plugins/"+plugin, plugin)
	data(t, c.register(t, plugin, version, path, sum))
	resp := c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": plugin, "name": plugin, "program": program, "plugin": plugin, "pluginVersion": version,
		"timeZone": zone, "startsAt": starts,
	}})
	id := data(t, resp, "createCampaign", "id").(string)
	data(t, c.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": id}))
	return c, id
}

func (c *core) setClock(t *testing.T, at string) {
	t.Helper()
	data(t, c.gql(`mutation($t: Time!) { setClock(now: $t) }`, map[string]any{"t": at}))
}

// schedulerPasses returns how many scheduler passes the core has completed
// (promogate_scheduler_passes_total at /metrics, both results).
func (c *core) schedulerPasses(t *testing.T) int {
	t.Helper()
	n, found := 0, 0
	for _, line := range strings.Split(httpGet(t, c.URL+"/metrics"), "\n") {
		if !strings.HasPrefix(line, "promogate_scheduler_passes_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
		found++
	}
	if found != 2 {
		t.Fatalf("metrics: expected the ok and error series of promogate_scheduler_passes_total, found %d", found)
	}
	return n
}

// awaitFullPass waits until the core has completed a scheduler pass that started after the
// call: two passes more than now (the first may have begun before, at the old clock).
func (c *core) awaitFullPass(t *testing.T) {
	t.Helper()
	want := c.schedulerPasses(t) + 2
	waitFor(t, "two scheduler passes", func() bool { return c.schedulerPasses(t) >= want })
}

// member upserts a member and returns its global id.
func (c *core) member(t *testing.T, ref string, extra map[string]any) string {
	t.Helper()
	in := map[string]any{"externalRef": ref, "name": ref}
	for k, v := range extra {
		in[k] = v
	}
	return data(t, c.gql(`mutation($in: UpsertMemberInput!) { upsertMember(input: $in) { member { id } } }`,
		map[string]any{"in": in}), "upsertMember", "member", "id").(string)
}

func (c *core) enroll(t *testing.T, member, campaign, key string, answers map[string]any) map[string]any {
	t.Helper()
	return data(t, c.gql(`mutation($m: ID!, $c: ID!, $a: JSON, $k: String!) {
		enroll(memberId: $m, campaignId: $c, answers: $a, idempotencyKey: $k) {
			enrollment { registeredBy responsible } reasons { code message } } }`,
		map[string]any{"m": member, "c": campaign, "a": answers, "k": key}), "enroll").(map[string]any)
}

// reward creates a reward in the programme, bound to the campaign (whose plugin quotes it), and
// returns its id.
func (c *core) reward(t *testing.T, program, campaign, code, category string, price int, attrs map[string]any) string {
	t.Helper()
	return data(t, c.gql(`mutation($in: CreateRewardInput!) { createReward(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"program": program, "campaign": campaign, "code": code, "title": code, "category": category, "price": price,
		"attributes": attrs}}), "createReward", "id").(string)
}

func (c *core) quote(t *testing.T, member, reward string) string {
	t.Helper()
	return compact(data(t, c.gql(`query($m: String!, $r: ID!) { member(externalRef: $m) { rewardQuote(rewardId: $r) {
		listPrice price maxPointsPayable points moneyDue allowed reasons { code } } } }`,
		map[string]any{"m": member, "r": reward}), "member", "rewardQuote"))
}

func (c *core) redeem(t *testing.T, member, key string, rewards ...string) string {
	t.Helper()
	return compact(data(t, c.gql(`mutation($m: ID!, $r: [ID!]!, $k: String!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k) {
		redemption { points } rejection { code } } }`, map[string]any{"m": member, "r": rewards, "k": key}), "redeemRewards"))
}

func (c *core) event(t *testing.T, typ, member, id, at string, attrs map[string]any) map[string]any {
	t.Helper()
	return data(t, c.gql(recordQ, map[string]any{"in": map[string]any{
		"type": typ, "memberRef": member, "occurredAt": at, "source": "crm", "externalId": id, "attributes": attrs,
	}}), "recordEvent").(map[string]any)
}

const benefitsQ = `query($r: String!) { member(externalRef: $r) { benefits(first: 50) { edges { node {
	key kind title percent scope exclusions quantity recipient code validFrom validUntil status fulfillment endReason } } } } }`

// benefit returns the member's benefit with the key, or nil.
func (c *core) benefit(t *testing.T, member, key string) map[string]any {
	t.Helper()
	edges := data(t, c.gql(benefitsQ, map[string]any{"r": member}), "member", "benefits", "edges").([]any)
	for _, e := range edges {
		n := e.(map[string]any)["node"].(map[string]any)
		if n["key"] == key {
			return n
		}
	}
	return nil
}

// waitFor polls cond every 100 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pick(m map[string]any, keys ...string) string {
	out := map[string]any{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return compact(out)
}

// TestGiftByMonth2021 runs the 2021 ITS PROF programme: an April 24-month contract registered on
// 10 April gets a calculator and a travel hair dryer after the April close, addressed to the
// employee who registered; registering on 29 April and a 6-month contract are refused with
// reasons naming the cause.
func TestGiftByMonth2021(t *testing.T) {
	c, camp := programCore(t, "giftbymonth", "1.0.0", "its2021", "Europe/Kyiv", "2021-01-01T00:00:00+02:00", "2021-04-10T10:00:00+03:00")
	contract := func(id string, term int) map[string]any {
		return map[string]any{"attributes": map[string]any{"productRegistered": true, "itsContracts": []any{map[string]any{
			"id": id, "level": "PROF", "termMonths": term, "paidInFull": true, "startMonth": "2021-04"}}}}
	}
	early := c.member(t, "company-early", contract("ITS-1", 24))
	late := c.member(t, "company-late", contract("ITS-2", 24))
	short := c.member(t, "company-short", contract("ITS-3", 6))

	got := c.enroll(t, early, camp, "reg-1", map[string]any{"contractId": "ITS-1", "registeredBy": "Olena Petrenko",
		"responsible": "Ivan Bondar", "howDidYouHear": "service company"})
	if want := `{"enrollment":{"registeredBy":"Olena Petrenko","responsible":"Ivan Bondar"},"reasons":[]}`; compact(got) != want {
		t.Fatalf("registration on 10 April: got %s want %s", compact(got), want)
	}
	got = c.enroll(t, short, camp, "reg-3", map[string]any{"contractId": "ITS-3", "registeredBy": "Petro"})
	if want := `{"enrollment":null,"reasons":[{"code":"NO_ELIGIBLE_CONTRACT","message":"a 6-month term is not eligible; terms of 12 (incl. 8+4) or 24 months are"}]}`; compact(got) != want {
		t.Fatalf("6-month contract: got %s want %s", compact(got), want)
	}

	c.setClock(t, "2021-04-29T00:00:00+03:00")
	got = c.enroll(t, late, camp, "reg-2", map[string]any{"contractId": "ITS-2", "registeredBy": "Maria"})
	if want := `{"enrollment":null,"reasons":[{"code":"REGISTRATION_CLOSED","message":"registration for April 2021 contracts closed on 28 April 2021"}]}`; compact(got) != want {
		t.Fatalf("registration on 29 April: got %s want %s", compact(got), want)
	}

	waitFor(t, "the April gift", func() bool { return c.benefit(t, "company-early", "gift-2021-04-ITS-1") != nil })
	gift := c.benefit(t, "company-early", "gift-2021-04-ITS-1")
	if want := `{"fulfillment":"to_deliver","kind":"GIFT","recipient":"Olena Petrenko","status":"ACTIVE","title":"Branded calculator + branded travel hair dryer"}`; pick(gift, "kind", "title", "recipient", "fulfillment", "status") != want {
		t.Fatalf("gift: got %s want %s", pick(gift, "kind", "title", "recipient", "fulfillment", "status"), want)
	}
	list := data(t, c.gql(`query($c: String) { campaign(code: $c) { fulfillment(month: "2021-04") { recipient title } participants { edges { node { member { externalRef } } } } } }`,
		map[string]any{"c": "giftbymonth"}), "campaign")
	if want := `{"fulfillment":[{"recipient":"Olena Petrenko","title":"Branded calculator + branded travel hair dryer"}],"participants":{"edges":[{"node":{"member":{"externalRef":"company-early"}}}]}}`; compact(list) != want {
		t.Fatalf("fulfilment list: got %s want %s", compact(list), want)
	}
	giftFulfilment(t, c)
}

// giftFulfilment works through the April fulfilment list as the marketing team would: the list
// names the company each gift is for, a gift is marked delivered (who, when and the note are
// kept on the gift and the change is in the audit log), marking it again changes nothing, and
// a delivered gift cannot be cancelled, nor a cancelled one delivered.
func giftFulfilment(t *testing.T, c *core) {
	t.Helper()
	resp := c.gql(`mutation { createApiKey(input: {name: "console", roles: [MARKETING]}) { key apiKey { id } } }`, nil)
	key, _ := data(t, resp, "createApiKey", "key").(string)
	keyID, _ := data(t, resp, "createApiKey", "apiKey", "id").(string)
	as := func(query string, vars map[string]any) string {
		_, _, body := c.request(bearer(key), gqlBody(query, vars))
		return compactJSON(body)
	}
	const fields = `member { externalRef name } title recipient fulfillment fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote`
	list := as(`{ campaign(code: "giftbymonth") { fulfillment(month: "2021-04") { id `+fields+` } } }`, nil)
	var got struct {
		Data struct {
			Campaign struct {
				Fulfillment []map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(list), &got); err != nil || len(got.Data.Campaign.Fulfillment) != 1 {
		t.Fatalf("fulfilment list as marketing: %s", list)
	}
	gift := got.Data.Campaign.Fulfillment[0]
	giftID := gift["id"].(string)
	delete(gift, "id")
	if want := `{"fulfillment":"to_deliver","fulfillmentChangedAt":null,"fulfillmentChangedBy":null,"fulfillmentNote":null,"fulfillmentStatus":"TO_DELIVER","member":{"externalRef":"company-early","name":"company-early"},"recipient":"Olena Petrenko","title":"Branded calculator + branded travel hair dryer"}`; compact(gift) != want {
		t.Fatalf("fulfilment list entry: got %s want %s", compact(gift), want)
	}

	set := func(status, note string) string {
		return as(`mutation($in: SetFulfillmentStatusInput!) { setFulfillmentStatus(input: $in) { benefit { `+fields+` } } }`,
			map[string]any{"in": map[string]any{"benefitId": giftID, "status": status, "note": note}})
	}
	actor := "apikey:" + localID(t, keyID) + ":console"
	delivered := `{"data":{"setFulfillmentStatus":{"benefit":{"fulfillment":"delivered","fulfillmentChangedAt":"2021-04-29T00:00:00+03:00",` +
		`"fulfillmentChangedBy":"` + actor + `","fulfillmentNote":"handed to Olena at the service company",` +
		`"fulfillmentStatus":"DELIVERED","member":{"externalRef":"company-early","name":"company-early"},"recipient":"Olena Petrenko",` +
		`"title":"Branded calculator + branded travel hair dryer"}}}}`
	// Programme time runs on from the clock set; the change is stamped with it.
	c.setClock(t, "2021-04-29T00:00:00+03:00")
	changedAt := regexp.MustCompile(`"fulfillmentChangedAt":"([^"]*)"`)
	first := set("DELIVERED", "handed to Olena at the service company")
	m := changedAt.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("mark delivered: got %s", first)
	}
	if at, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || at.Before(time.Date(2021, 4, 28, 21, 0, 0, 0, time.UTC)) ||
		at.After(time.Date(2021, 4, 28, 21, 1, 0, 0, time.UTC)) {
		t.Fatalf("mark delivered: changed at %s, expected the programme time 2021-04-29T00:00:00+03:00 (within a minute)", m[1])
	}
	delivered = strings.Replace(delivered, "2021-04-29T00:00:00+03:00", m[1], 1)
	if first != delivered {
		t.Fatalf("mark delivered: got %s want %s", first, delivered)
	}
	c.setClock(t, "2021-04-30T12:00:00+03:00")
	if body := set("DELIVERED", "handed to Olena at the service company"); body != delivered {
		t.Fatalf("mark delivered again (a retry): expected nothing changed, got %s want %s", body, delivered)
	}
	if body := set("CANCELLED", "lost"); errorCodeOf(t, body) != "ILLEGAL_TRANSITION" ||
		!strings.Contains(body, "is delivered and cannot become cancelled") {
		t.Fatalf("cancel a delivered gift: expected ILLEGAL_TRANSITION, got %s", body)
	}
	if body := set("TO_DELIVER", "marked by mistake"); !strings.Contains(body, `"fulfillmentStatus":"TO_DELIVER"`) {
		t.Fatalf("undo a mistaken delivery: %s", body)
	}
	if body := set("CANCELLED", "company closed"); !strings.Contains(body, `"fulfillmentStatus":"CANCELLED"`) ||
		!strings.Contains(body, `"fulfillmentChangedAt":"2021-04-30T09:00:0`) {
		t.Fatalf("cancel: %s", body)
	}
	if body := set("DELIVERED", ""); errorCodeOf(t, body) != "ILLEGAL_TRANSITION" ||
		!strings.Contains(body, "is cancelled and cannot become delivered") {
		t.Fatalf("deliver a cancelled gift: expected ILLEGAL_TRANSITION, got %s", body)
	}
	if body := as(`mutation($in: SetFulfillmentStatusInput!) { setFulfillmentStatus(input: $in) { benefit { id } } }`,
		map[string]any{"in": map[string]any{"benefitId": base64.RawURLEncoding.EncodeToString([]byte("Benefit:999999")), "status": "DELIVERED"}}); errorCodeOf(t, body) != "BENEFIT_NOT_FOUND" {
		t.Fatalf("unknown gift: expected BENEFIT_NOT_FOUND, got %s", body)
	}

	audit := compact(data(t, c.gql(`{ auditLog(filter: {operation: "setFulfillmentStatus"}, first: 10) { edges { node { actor role outcome errorCode } } } }`, nil),
		"auditLog", "edges"))
	ok := `{"node":{"actor":"` + actor + `","errorCode":null,"outcome":"OK","role":"marketing"}}`
	refused := `{"node":{"actor":"` + actor + `","errorCode":"ILLEGAL_TRANSITION","outcome":"ERROR","role":"marketing"}}`
	notFound := `{"node":{"actor":"` + actor + `","errorCode":"BENEFIT_NOT_FOUND","outcome":"ERROR","role":"marketing"}}`
	if want := "[" + strings.Join([]string{notFound, refused, ok, ok, refused, ok, ok}, ",") + "]"; audit != want {
		t.Fatalf("audit log of setFulfillmentStatus (newest first): got %s want %s", audit, want)
	}
}

// TestEarnTableRegistrationMatters: an interaction by a client that is not registered earns
// nothing and its outcome says why; a registered client earns the table's bonus.
func TestEarnTableRegistrationMatters(t *testing.T) {
	c, camp := programCore(t, "earntable", "1.0.0", "vashplus", "Europe/Moscow", "2020-01-01T00:00:00Z", "2024-03-01T10:00:00+03:00")
	c.member(t, "stranger", nil)
	client := c.member(t, "client", nil)
	out := c.event(t, "review", "stranger", "r-1", "2024-03-01T09:00:00+03:00", nil)["event"].(map[string]any)["outcome"]
	if want := `{"campaigns":[{"campaign":{"code":"earntable"},"code":null,"effects":[],"reason":"client is not registered in the programme's personal cabinet and has no linked bonus account","status":"NO_EFFECT"}],"reason":null,"waiting":[]}`; compact(out) != want {
		t.Fatalf("unregistered client: got %s want %s", compact(out), want)
	}
	if r := c.enroll(t, client, camp, "cabinet-1", nil); len(r["reasons"].([]any)) != 0 {
		t.Fatalf("registration refused: %s", compact(r))
	}
	// A dry run shows the decision and changes nothing.
	sim := data(t, c.gql(`mutation($id: ID!) { simulateCampaign(id: $id, events: [
		{type: "recommendation.sale", memberRef: "client", source: "crm", externalId: "sim-1", occurredAt: "2024-03-01T09:10:00+03:00"},
		{type: "review", memberRef: "stranger", source: "crm", externalId: "sim-2", occurredAt: "2024-03-01T09:10:00+03:00"}]) {
		effects { kind payload } noEffectReason problem } }`, map[string]any{"id": camp}), "simulateCampaign")
	if got := compact(sim); !strings.Contains(got, `"kind":"credit_points","payload":{"Amount":1000`) ||
		!strings.Contains(got, `"noEffectReason":"client is not registered in the programme's personal cabinet and has no linked bonus account"`) {
		t.Fatalf("simulateCampaign: %s", got)
	}
	if got := c.available(t, "client", "vashplus"); got != 0 {
		t.Fatalf("a simulation changed the balance to %d", got)
	}
	c.event(t, "review", "client", "r-2", "2024-03-01T09:30:00+03:00", nil)
	c.event(t, "recommendation.sale", "client", "r-3", "2024-03-01T09:40:00+03:00", nil)
	if got := c.available(t, "client", "vashplus"); got != 5+1000 {
		t.Fatalf("balance %d, want 1005", got)
	}
	// At most half of a seminar's price can be paid with bonuses.
	seminar := c.reward(t, "vashplus", camp, "seminar-tax-2024", "seminar", 3000, nil)
	if got := c.quote(t, "client", seminar); got != `{"allowed":true,"listPrice":3000,"maxPointsPayable":1500,"moneyDue":1500,"points":1500,"price":3000,"reasons":[]}` {
		t.Fatalf("seminar quote: %s", got)
	}
	// The client has 1,005 bonuses: it pays 1,000 of the seminar with them and owes 2,000.
	paid := compact(data(t, c.gql(`mutation($m: ID!, $r: [ID!]!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: "seminar-1", points: 1000) {
		rejection { code } redemption { points moneyDue lines { points moneyDue } } } }`, map[string]any{"m": client, "r": []string{seminar}}), "redeemRewards"))
	if want := `{"redemption":{"lines":[{"moneyDue":2000,"points":1000}],"moneyDue":2000,"points":1000},"rejection":null}`; paid != want {
		t.Fatalf("seminar paid with 1000 bonuses: got %s want %s", paid, want)
	}
	if got := c.available(t, "client", "vashplus"); got != 5 {
		t.Fatalf("balance after the seminar: %d, want 5", got)
	}
	// Bonuses are never money (§4.1): a cash reward cannot be bound to the programme's campaign.
	resp := c.gql(`mutation($in: CreateRewardInput!) { createReward(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"program": "vashplus", "campaign": camp, "code": "cash-1000", "title": "1,000 roubles", "category": "cash", "price": 1000}})
	if got := compact(resp["errors"]); !strings.Contains(got, `"extensions":{"code":"REWARD_KIND_FORBIDDEN"}`) ||
		!strings.Contains(got, `forbids rewards of category cash`) {
		t.Fatalf("a cash reward bound to VashPlus: %s", compact(resp))
	}
}

// TestTierStatusPrivilegeAndExpiry: 10,000 status points make a member Privilege for 24
// months; payments are pending until the 16th of the next month; points expire 24 months after
// they were credited and leave the balance when the scheduler runs.
func TestTierStatusPrivilegeAndExpiry(t *testing.T) {
	c, camp := programCore(t, "tierstatus", "1.0.0", "bonus", "Europe/Moscow", "2020-01-01T00:00:00Z", "2021-03-01T12:00:00+03:00")
	m := c.member(t, "subscriber", map[string]any{"region": "Moscow"})
	if r := c.enroll(t, m, camp, "join-1", map[string]any{"acceptTerms": true}); len(r["reasons"].([]any)) != 0 {
		t.Fatalf("joining refused: %s", compact(r))
	}
	// Events are recorded once they have happened (an event ahead of programme time is FUTURE_EVENT).
	c.setClock(t, "2021-03-02T10:00:30+03:00")
	for i := 0; i < 10; i++ {
		c.event(t, "survey.answered", "subscriber", fmt.Sprintf("s-%d", i), "2021-03-02T10:00:00+03:00",
			map[string]any{"points": 1000, "surveyId": fmt.Sprintf("survey-%d", i)})
	}
	c.setClock(t, "2021-03-10T10:00:30+03:00")
	c.event(t, "payment", "subscriber", "p-1", "2021-03-10T10:00:00+03:00", map[string]any{"service": "internet", "amountRub": 1000})
	tiers := data(t, c.gql(`{ member(externalRef: "subscriber") { tiers { program { code } tier validUntil }
		balances { available pending lifetimeEarned statusPoints } } }`, nil), "member")
	if want := `{"balances":[{"available":10500,"lifetimeEarned":10700,"pending":200,"statusPoints":10700}],"tiers":[{"program":{"code":"bonus"},"tier":"Privilege","validUntil":"2023-03-02T07:00:00Z"}]}`; compact(tiers) != want {
		t.Fatalf("after 10,000 status points: got %s want %s", compact(tiers), want)
	}
	// Privilege pays 540 for a reward listed at 600, and exchanges at most once a month.
	antivirus := c.reward(t, "bonus", camp, "kaspersky", "internet", 600, map[string]any{"service": "internet"})
	film := c.reward(t, "bonus", camp, "film", "tv", 800, map[string]any{"service": "tv"})
	if got := c.quote(t, "subscriber", antivirus); got != `{"allowed":true,"listPrice":600,"maxPointsPayable":null,"moneyDue":0,"points":540,"price":540,"reasons":[]}` {
		t.Fatalf("Privilege quote: %s", got)
	}
	if got := c.redeem(t, m, "order-1", antivirus); got != `{"redemption":{"points":540},"rejection":null}` {
		t.Fatalf("first exchange: %s", got)
	}
	waitFor(t, "the plugin to record the exchange", func() bool {
		return strings.Contains(c.quote(t, "subscriber", film), "FREQUENCY_LIMIT")
	})
	if got := c.redeem(t, m, "order-2", film); got != `{"redemption":null,"rejection":{"code":"FREQUENCY_LIMIT"}}` {
		t.Fatalf("second exchange in the month: %s", got)
	}
	// The payment's points become available at 00:00 on 16 April (Moscow).
	c.setClock(t, "2021-04-16T00:00:01+03:00")
	waitFor(t, "pending payment points", func() bool { return c.available(t, "subscriber", "bonus") == 10700-540 })
	// The joining bonus (2021-03-01) and the surveys (2021-03-02) expire 24 months later; the
	// order spent 540 of the oldest of them.
	c.setClock(t, "2023-03-02T10:00:01+03:00")
	waitFor(t, "expiry of the 2021-03 points", func() bool { return c.available(t, "subscriber", "bonus") == 200 })
	c.setClock(t, "2023-04-16T00:00:01+03:00")
	waitFor(t, "expiry of the payment points", func() bool { return c.available(t, "subscriber", "bonus") == 0 })
	hist := data(t, c.gql(`{ member(externalRef: "subscriber") { transactions(first: 3) { edges { node { kind points reason } } } } }`, nil),
		"member", "transactions", "edges").([]any)
	if !strings.Contains(compact(hist), `"kind":"EXPIRE","points":-200`) {
		t.Fatalf("no expiry transaction: %s", compact(hist))
	}
	bdb, err := db.Open(context.Background(), c.dbURL, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	assertConservation(t, bdb)
}

// TestTariffPromoSummer2023 runs A1's "summer of unlimited": the Drive 5 discount for a number
// connected on the last day of the subscription period until 23:59 of the last day of its
// sixth month, nothing for the next day or a prepaid number, the discount ended by a tariff
// change, and the 90-day unlimited-minutes add-on that a block does not extend.
func TestTariffPromoSummer2023(t *testing.T) {
	c, camp := programCore(t, "tariffpromo", "1.0.0", "a1", "Europe/Minsk", "2023-07-01T00:00:00+03:00", "2023-08-14T12:00:00+03:00")
	conn := func(payment string) map[string]any {
		return map[string]any{"tariffPlan": "Drive 5", "payment": payment, "reregistration": false, "clientType": "person",
			"number": "+375291112233", "newNumber": true}
	}
	c.member(t, "sub-0814", map[string]any{"phone": "+375291112233"})
	c.member(t, "sub-0815", map[string]any{"phone": "+375291112244"})
	c.member(t, "sub-prepaid", map[string]any{"phone": "+375291112255"})

	c.event(t, "subscriber.connected", "sub-0814", "c-1", "2023-08-14T11:00:00+03:00", conn("postpaid"))
	d := c.benefit(t, "sub-0814", "fee-discount")
	if want := `{"kind":"DISCOUNT","percent":25.01,"scope":"monthly_fee","status":"ACTIVE","validUntil":"2024-02-14T20:59:59Z"}`; pick(d, "kind", "percent", "scope", "validUntil", "status") != want {
		t.Fatalf("Drive 5 discount: got %s want %s", pick(d, "kind", "percent", "scope", "validUntil", "status"), want)
	}
	late := conn("postpaid")
	late["number"] = "+375291112244"
	c.setClock(t, "2023-08-15T00:00:30+03:00") // events are recorded once they have happened
	c.event(t, "subscriber.connected", "sub-0815", "c-2", "2023-08-15T00:00:00+03:00", late)
	if d := c.benefit(t, "sub-0815", "fee-discount"); d != nil {
		t.Fatalf("a number connected on 15 August got a discount: %s", compact(d))
	}
	pre := conn("prepaid")
	pre["number"] = "+375291112255"
	out := c.event(t, "subscriber.connected", "sub-prepaid", "c-3", "2023-08-14T12:00:00+03:00", pre)["event"].(map[string]any)["outcome"]
	if !strings.Contains(compact(out), `"reason":"not eligible: prepaid variants of the tariff plans are excluded","status":"NO_EFFECT"`) {
		t.Fatalf("prepaid: %s", compact(out))
	}

	// The add-on, activated on the last day of its activation period, runs 90 days; a block
	// does not move its end.
	c.setClock(t, "2023-09-30T12:00:00+03:00")
	act := data(t, c.gql(`mutation($m: ID!, $c: ID!) { activateBenefit(memberId: $m, campaignId: $c, kind: "unlimited_minutes", idempotencyKey: "a-1") {
		event { outcome { campaigns { status effects { kind } } } } } }`,
		map[string]any{"m": c.member(t, "sub-0814", nil), "c": camp}), "activateBenefit")
	if !strings.Contains(compact(act), `"status":"APPLIED"`) {
		t.Fatalf("activateBenefit: %s", compact(act))
	}
	addon := func() string {
		return pick(c.benefit(t, "sub-0814", "addon-unlimited_minutes-drive-5"), "kind", "validUntil", "status")
	}
	if want := `{"kind":"ADDON","status":"ACTIVE","validUntil":"2023-12-29T20:59:59Z"}`; addon() != want {
		t.Fatalf("add-on: got %s want %s", addon(), want)
	}
	c.setClock(t, "2023-10-26T10:00:30+03:00")
	c.event(t, "subscriber.status_changed", "sub-0814", "st-1", "2023-10-05T09:00:00+03:00", map[string]any{"status": "blocked"})
	c.event(t, "subscriber.status_changed", "sub-0814", "st-2", "2023-10-25T09:00:00+03:00", map[string]any{"status": "active"})
	if want := `{"kind":"ADDON","status":"ACTIVE","validUntil":"2023-12-29T20:59:59Z"}`; addon() != want {
		t.Fatalf("add-on after a block: got %s want %s", addon(), want)
	}

	// The video promo code goes out by SMS once per number, through the notifications outbox.
	c.event(t, "service.activated", "sub-0814", "sa-1", "2023-09-01T09:00:00+03:00", map[string]any{"number": "+375291112233"})
	c.event(t, "service.activated", "sub-0814", "sa-2", "2023-09-02T09:00:00+03:00", map[string]any{"number": "+375291112233"})
	promo := c.benefit(t, "sub-0814", "voka-375291112233")
	notes := data(t, c.gql(`{ member(externalRef: "sub-0814") { notifications { edges { node { channel template recipient params status } } } } }`, nil),
		"member", "notifications", "edges").([]any)
	if len(notes) != 1 || promo == nil || promo["code"] == nil {
		t.Fatalf("promo code %s, notifications %s", compact(promo), compact(notes))
	}
	note := notes[0].(map[string]any)["node"].(map[string]any)
	if params := note["params"].(map[string]any); note["channel"] != "sms" || note["template"] != "voka_promo_code" ||
		note["recipient"] != "+375291112233" || params["code"] != promo["code"] || note["status"] != "PENDING" {
		t.Fatalf("promo code SMS: %s (code %v)", compact(note), promo["code"])
	}

	// A tariff change ends the discount at 23:59:59 of its day (the programme clock is still
	// earlier: the end is planned; TestTariffPromoPlanChange follows one through).
	c.event(t, "subscriber.tariff_changed", "sub-0814", "tc-1", "2023-10-26T10:00:00+03:00", map[string]any{"from": "Drive 5", "to": "Drive 20"})
	if got := pick(c.benefit(t, "sub-0814", "fee-discount"), "status", "endReason", "validUntil"); got != `{"endReason":"plan_changed","status":"ACTIVE","validUntil":"2023-10-26T20:59:59Z"}` {
		t.Fatalf("discount after a tariff change: %s", got)
	}
	// The add-on's last moment is inclusive; the scheduler ends it right after.
	c.setClock(t, "2023-12-29T23:59:59+03:00")
	c.awaitFullPass(t)
	if got := pick(c.benefit(t, "sub-0814", "addon-unlimited_minutes-drive-5"), "status"); got != `{"status":"ACTIVE"}` {
		t.Fatalf("add-on at 23:59:59 of its last day: %s", got)
	}
	c.setClock(t, "2023-12-30T00:00:01+03:00")
	waitFor(t, "the add-on to end", func() bool {
		return pick(c.benefit(t, "sub-0814", "addon-unlimited_minutes-drive-5"), "status", "endReason") == `{"endReason":"expired","status":"ENDED"}`
	})
}

// TestTariffPromoPlanChange follows a change between participating plans (seed 002 §2.1, §2.3,
// §3.4, §3.5): the discount stays in force to 23:59:59 of the day of the change and its
// validUntil says so, then the scheduler ends it with reason plan_changed; the add-on of the
// old plan keeps running, and the member may switch it on again for the new plan at once, the
// new one replacing the old.
func TestTariffPromoPlanChange(t *testing.T) {
	c, camp := programCore(t, "tariffpromo", "1.0.0", "a1pc", "Europe/Minsk", "2023-07-01T00:00:00+03:00", "2023-08-14T12:00:00+03:00")
	m := c.member(t, "sub-pc", map[string]any{"phone": "+375291112233"})
	c.event(t, "subscriber.connected", "sub-pc", "c-1", "2023-08-14T11:00:00+03:00", map[string]any{"tariffPlan": "Drive 5",
		"payment": "postpaid", "number": "+375291112233", "newNumber": true})
	activate := func(key string) string {
		return compact(data(t, c.gql(`mutation($m: ID!, $c: ID!, $k: String!) { activateBenefit(memberId: $m, campaignId: $c, kind: "unlimited_minutes", idempotencyKey: $k) {
			event { outcome { campaigns { status code effects { kind } } } } } }`, map[string]any{"m": m, "c": camp, "k": key}),
			"activateBenefit", "event", "outcome", "campaigns"))
	}
	// Programme time runs on from the clock set, so an add-on's start is checked against the
	// clock to the minute only.
	benefit := func(key string) string {
		return pick(c.benefit(t, "sub-pc", key), "status", "endReason", "validUntil")
	}
	if got := activate("a-1"); got != `[{"code":null,"effects":[{"kind":"grant_benefit"},{"kind":"put_state"}],"status":"APPLIED"}]` {
		t.Fatalf("add-on on Drive 5: %s", got)
	}
	for key, want := range map[string]string{
		"fee-discount":                    `{"endReason":null,"status":"ACTIVE","validUntil":"2024-02-14T20:59:59Z"}`,
		"addon-unlimited_minutes-drive-5": `{"endReason":null,"status":"ACTIVE","validUntil":"2023-11-12T20:59:59Z"}`,
	} {
		if got := benefit(key); got != want {
			t.Fatalf("%s before the change: got %s want %s", key, got, want)
		}
	}

	c.setClock(t, "2023-09-10T10:00:00+03:00")
	c.event(t, "subscriber.tariff_changed", "sub-pc", "tc-1", "2023-09-10T09:30:00+03:00", map[string]any{"from": "Drive 5", "to": "Drive 20"})
	if got, want := benefit("fee-discount"), `{"endReason":"plan_changed","status":"ACTIVE","validUntil":"2023-09-10T20:59:59Z"}`; got != want {
		t.Fatalf("discount after the change: got %s want %s", got, want)
	}
	if got := activate("a-2"); got != `[{"code":null,"effects":[{"kind":"end_benefit"},{"kind":"grant_benefit"},{"kind":"put_state"}],"status":"APPLIED"}]` {
		t.Fatalf("add-on again on Drive 20: %s", got)
	}
	old, repl := c.benefit(t, "sub-pc", "addon-unlimited_minutes-drive-5"), c.benefit(t, "sub-pc", "addon-unlimited_minutes-drive-20")
	if got, want := pick(old, "status", "endReason"), `{"endReason":"replaced","status":"ENDED"}`; got != want {
		t.Fatalf("the Drive 5 add-on after switching it on for Drive 20: got %s want %s", got, want)
	}
	if got, want := pick(repl, "status", "endReason", "validUntil"), `{"endReason":null,"status":"ACTIVE","validUntil":"2023-12-09T20:59:59Z"}`; got != want {
		t.Fatalf("the Drive 20 add-on: got %s want %s", got, want)
	}
	// The old one's last moment is the new one's first, shortly after 10:00 Minsk.
	if from, _ := repl["validFrom"].(string); old["validUntil"] != from || !strings.HasPrefix(from, "2023-09-10T07:0") {
		t.Fatalf("the Drive 5 add-on ends %v, the Drive 20 one starts %v", old["validUntil"], repl["validFrom"])
	}
	if got := activate("a-3"); got != `[{"code":"ADDON_ALREADY_ACTIVE","effects":[],"status":"REJECTED"}]` {
		t.Fatalf("add-on a third time: %s", got)
	}

	c.setClock(t, "2023-09-11T00:00:01+03:00")
	waitFor(t, "the discount to end", func() bool {
		return benefit("fee-discount") == `{"endReason":"plan_changed","status":"ENDED","validUntil":"2023-09-10T20:59:59Z"}`
	})
}

// TestReferralLadder runs t2's invite programme: a new client applying a member's code 20 days
// after registering gets 20% for 3 months after its promo period and the referrer 20% for 3
// months; at the third friend the referrer has 60% for 12 months and 1,200 SMS; the discount
// never covers SMS packages; late, unknown and own codes are refused with distinct codes; the
// referrer sees its referees and discount history.
func TestReferralLadder(t *testing.T) {
	c, _ := programCore(t, "referral", "1.0.0", "t2pbx", "Europe/Minsk", "2023-01-01T00:00:00+03:00", "2023-03-21T09:00:00+03:00")
	old := c.member(t, "old", nil)
	code := data(t, c.gql(`{ member(externalRef: "old") { referral(program: "t2pbx") { code } } }`, nil), "member", "referral", "code").(string)
	invite := data(t, c.gql(`mutation($m: ID!) { sendInvite(memberId: $m, channel: SMS, to: "+375291234567") { channel template recipient params status } }`,
		map[string]any{"m": old}), "sendInvite")
	if want := fmt.Sprintf(`{"channel":"sms","params":{"code":%q,"inviterName":"old","program":"t2pbx"},"recipient":"+375291234567","status":"PENDING","template":"referral_invite"}`, code); compact(invite) != want {
		t.Fatalf("sendInvite: got %s want %s", compact(invite), want)
	}
	newcomer := func(ref, registered string) string {
		return c.member(t, ref, map[string]any{"attributes": map[string]any{"serviceRegisteredAt": registered, "promoPeriodEndsAt": "2023-03-31T23:59:59+03:00"}})
	}
	apply := func(member, code string) string {
		return compact(data(t, c.gql(`mutation($m: ID!, $c: String!) { applyReferralCode(memberId: $m, code: $c) { accepted rejection { code } } }`,
			map[string]any{"m": member, "c": code}), "applyReferralCode"))
	}
	f1 := newcomer("friend-1", "2023-03-01T10:00:00+03:00") // 20 days before the clock
	if got := apply(f1, strings.ToLower(code)); got != `{"accepted":true,"rejection":null}` {
		t.Fatalf("friend 1 (code typed in lower case): %s", got)
	}
	if got := pick(c.benefit(t, "friend-1", "referee-discount"), "percent", "validFrom", "validUntil", "exclusions"); got != `{"exclusions":["sms_package"],"percent":20,"validFrom":"2023-03-31T21:00:00Z","validUntil":"2023-06-30T20:59:59Z"}` {
		t.Fatalf("referee discount: %s", got)
	}
	if got := pick(c.benefit(t, "old", "referral-discount"), "percent", "validUntil", "exclusions"); got != `{"exclusions":["sms_package"],"percent":20,"validUntil":"2023-06-21T20:59:59Z"}` {
		t.Fatalf("referrer after one friend: %s", got)
	}
	// Applying the same code again is a retry: the first answer, and no second friend.
	if got := apply(f1, code); got != `{"accepted":true,"rejection":null}` {
		t.Fatalf("retry of the same code: %s", got)
	}
	c.member(t, "other", nil)
	otherCode := data(t, c.gql(`{ member(externalRef: "other") { referral(program: "t2pbx") { code } } }`, nil), "member", "referral", "code").(string)
	if got := apply(f1, otherCode); got != `{"accepted":false,"rejection":{"code":"CODE_ALREADY_APPLIED"}}` {
		t.Fatalf("a second, different code: %s", got)
	}
	if got := apply(newcomer("late", "2023-02-09T10:00:00+03:00"), code); got != `{"accepted":false,"rejection":{"code":"CODE_WINDOW_EXPIRED"}}` {
		t.Fatalf("40 days after registration: %s", got)
	}
	if got := apply(f1, "NOPE-NOPE"); got != `{"accepted":false,"rejection":{"code":"UNKNOWN_CODE"}}` {
		t.Fatalf("unknown code: %s", got)
	}
	if got := apply(old, code); got != `{"accepted":false,"rejection":{"code":"OWN_CODE"}}` {
		t.Fatalf("own code: %s", got)
	}
	// Codes are typed as people type them: without the dash, or with another separator.
	for i, typed := range []string{strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", " – "))} {
		if got := apply(newcomer(fmt.Sprintf("friend-%d", i+2), "2023-03-10T10:00:00+03:00"), typed); got != `{"accepted":true,"rejection":null}` {
			t.Fatalf("friend %d (code typed %q): %s", i+2, typed, got)
		}
	}
	if got := pick(c.benefit(t, "old", "referral-discount"), "percent", "validUntil", "exclusions", "status"); got != `{"exclusions":["sms_package"],"percent":60,"status":"ACTIVE","validUntil":"2024-03-21T20:59:59Z"}` {
		t.Fatalf("referrer after three friends: %s", got)
	}
	if got := pick(c.benefit(t, "old", "sms-package-3"), "kind", "quantity"); got != `{"kind":"SMS_PACKAGE","quantity":1200}` {
		t.Fatalf("SMS package at the third friend: %s", got)
	}
	summary := data(t, c.gql(`{ member(externalRef: "old") { referral(program: "t2pbx") {
		referees { member { externalRef } activatedAt } discountHistory { role change percent friends } } } }`, nil), "member", "referral").(map[string]any)
	for _, r := range summary["referees"].([]any) {
		ref := r.(map[string]any)
		if at := ref["activatedAt"].(string); !strings.HasPrefix(at, "2023-03-21T06:0") {
			t.Fatalf("referee activated at %s, want 2023-03-21 09:0x Minsk", at)
		}
		delete(ref, "activatedAt")
	}
	want := `{"discountHistory":[{"change":"granted","friends":1,"percent":20,"role":"referrer"},{"change":"increased","friends":2,"percent":40,"role":"referrer"},{"change":"increased","friends":3,"percent":60,"role":"referrer"}],` +
		`"referees":[{"member":{"externalRef":"friend-1"}},{"member":{"externalRef":"friend-2"}},{"member":{"externalRef":"friend-3"}}]}`
	if compact(summary) != want {
		t.Fatalf("referral summary:\n got %s\nwant %s", compact(summary), want)
	}
}

// localID is the database id inside a global id ("Type:123", base64url).
func localID(t *testing.T, gid string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	_, id, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		t.Fatalf("%q is not a global id", gid)
	}
	return id
}
