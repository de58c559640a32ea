package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const shadowDiffQ = `query($id: ID!) { campaign(id: $id) { shadow { status pluginVersion config
	diff { events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits
		membersAffected lastError
		examples(first: 3) { edges { node { event { externalId } member { externalRef }
			live { points effects { kind } } shadow { points noEffectReason error } } }
			pageInfo { hasNextPage } } } } } }`

// shadowDiff reads the campaign's shadow diff.
func (c *core) shadowDiff(t *testing.T, campaign string) map[string]any {
	t.Helper()
	return data(t, c.gql(shadowDiffQ, map[string]any{"id": campaign}), "campaign", "shadow", "diff").(map[string]any)
}

// waitShadow waits until the shadow has been given want events and none is pending, and
// returns the diff.
func (c *core) waitShadow(t *testing.T, campaign string, want int, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d := c.shadowDiff(t, campaign)
		if int(d["events"].(float64)) == want && d["pending"].(float64) == 0 {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("shadow not done within %s: %s", within, compact(d))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func weekendConfig(multiplier int) map[string]any {
	return map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": multiplier, "eventType": "purchase",
		"expiresInDays": 365}
}

// TestShadowDiffWeekendDouble attaches a shadow of weekenddouble with the weekend multiplier 3
// to a live campaign with 2, records a week of purchases (half in one recordEvents batch, half
// one by one) and checks the diff exactly: weekday events agree, weekend events disagree, with
// the points each side issues; nothing of the shadow's is applied.
func TestShadowDiffWeekendDouble(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	c.setup(t, "shop", 4)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	camp := c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0", weekendConfig(2))

	attach := `mutation($in: AttachShadowInput!) { attachShadow(input: $in) { status pluginVersion config } }`
	for _, tc := range []struct {
		name string
		in   map[string]any
		code string
	}{
		{"nothing differs", map[string]any{"campaignId": camp, "config": weekendConfig(2)}, "INVALID_INPUT"},
		{"bad config", map[string]any{"campaignId": camp, "config": weekendConfig(0)}, "INVALID_CONFIG"},
		{"unknown version", map[string]any{"campaignId": camp, "pluginVersion": "9.9.9"}, "PLUGIN_NOT_FOUND"},
		{"bad id", map[string]any{"campaignId": "nope", "config": weekendConfig(3)}, "INVALID_ID"},
	} {
		if resp := c.gql(attach, map[string]any{"in": tc.in}); errorCode(resp) != tc.code {
			t.Fatalf("%s: want %s, got %s", tc.name, tc.code, compact(resp))
		}
	}
	resp := c.gql(attach, map[string]any{"in": map[string]any{"campaignId": camp, "config": weekendConfig(0)}})
	if got := compact(resp["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["fields"]); !strings.Contains(got, `"field":"/weekendMultiplier"`) {
		t.Fatalf("INVALID_CONFIG fields: %s", got)
	}
	got := data(t, c.gql(attach, map[string]any{"in": map[string]any{"campaignId": camp, "config": weekendConfig(3)}}), "attachShadow")
	if compact(got) != `{"config":{"eventType":"purchase","expiresInDays":365,"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":3},"pluginVersion":"1.0.0","status":"ATTACHED"}` {
		t.Fatalf("attachShadow: %s", compact(got))
	}
	if resp := c.gql(attach, map[string]any{"in": map[string]any{"campaignId": camp, "config": weekendConfig(4)}}); errorCode(resp) != "SHADOW_EXISTS" {
		t.Fatalf("second shadow: %s", compact(resp))
	}

	// A week of purchases, Monday 12 to Sunday 18 April 2021 (noon in Kyiv).
	const n = 28
	var livePoints, shadowPoints, agreed int
	weekendMembers := map[string]bool{}
	var batch []map[string]any
	for i := 0; i < n; i++ {
		member, day, amount := fmt.Sprintf("m%d", i%4+1), 12+i%7, 100*(i+1)
		at := fmt.Sprintf("2021-04-%02dT12:00:00+03:00", day)
		units := amount / 100
		if day >= 17 {
			livePoints, shadowPoints = livePoints+2*units, shadowPoints+3*units
			weekendMembers[member] = true
		} else {
			livePoints, shadowPoints, agreed = livePoints+units, shadowPoints+units, agreed+1
		}
		in := map[string]any{"type": "purchase", "memberRef": member, "occurredAt": at, "source": "shop",
			"externalId": fmt.Sprintf("o-%d", i), "attributes": map[string]any{"amount": amount}}
		if i%2 == 0 {
			batch = append(batch, in)
			continue
		}
		if ev := c.record(t, member, in["externalId"].(string), at, in["attributes"].(map[string]any))["event"].(map[string]any); ev["status"] != "DONE" {
			t.Fatalf("event %d: %s", i, compact(ev))
		}
	}
	res := data(t, c.gql(`mutation($in: [EventInput!]!) { recordEvents(inputs: $in) { event { status } } }`,
		map[string]any{"in": batch}), "recordEvents").([]any)
	for i, r := range res {
		if st := r.(map[string]any)["event"].(map[string]any)["status"]; st != "DONE" {
			t.Fatalf("batch event %d: %v", i, st)
		}
	}

	d := c.waitShadow(t, camp, n, 30*time.Second)
	// The session shown in docs/shadow.md.
	session, _ := json.MarshalIndent(data(t, c.gql(`query($id: ID!) { campaign(id: $id) { code
		shadow { status pluginVersion
			diff(from: "2021-04-12T00:00:00+03:00", until: "2021-04-19T00:00:00+03:00") {
				events agreed disagreed failed livePoints shadowPoints membersAffected
				examples(first: 2) { edges { node { event { externalId occurredAt } member { externalRef }
					live { points } shadow { points } } } pageInfo { hasNextPage endCursor } } } } } }`,
		map[string]any{"id": camp})), "", "  ")
	t.Logf("docs/shadow.md session:\n%s", session)
	examples := d["examples"].(map[string]any)
	delete(d, "examples")
	want := fmt.Sprintf(`{"agreed":%d,"decided":%d,"disagreed":%d,"events":%d,"failed":0,"lastError":null,"liveBenefits":0,`+
		`"livePoints":%d,"membersAffected":%d,"pending":0,"shadowBenefits":0,"shadowPoints":%d}`,
		agreed, n, n-agreed, n, livePoints, len(weekendMembers), shadowPoints)
	if compact(d) != want {
		t.Fatalf("diff:\n got %s\nwant %s", compact(d), want)
	}
	// The first disagreements in event order: the odd purchases were recorded one by one before
	// the batch of the even ones, so o-5 (Saturday, 6 units), o-13 (Sunday, 14) and o-19
	// (Saturday, 20) come first.
	wantEx := `{"edges":[` +
		`{"node":{"event":{"externalId":"o-5"},"live":{"effects":[{"kind":"credit_points"}],"points":12},"member":{"externalRef":"m2"},"shadow":{"error":null,"noEffectReason":null,"points":18}}},` +
		`{"node":{"event":{"externalId":"o-13"},"live":{"effects":[{"kind":"credit_points"}],"points":28},"member":{"externalRef":"m2"},"shadow":{"error":null,"noEffectReason":null,"points":42}}},` +
		`{"node":{"event":{"externalId":"o-19"},"live":{"effects":[{"kind":"credit_points"}],"points":40},"member":{"externalRef":"m4"},"shadow":{"error":null,"noEffectReason":null,"points":60}}}` +
		`],"pageInfo":{"hasNextPage":true}}`
	if compact(examples) != wantEx {
		t.Fatalf("examples:\n got %s\nwant %s", compact(examples), wantEx)
	}
	var balances int64
	for i := 1; i <= 4; i++ {
		balances += c.available(t, fmt.Sprintf("m%d", i), "shop")
	}
	if balances != int64(livePoints) {
		t.Fatalf("balances sum to %d, want the live points %d (nothing of the shadow's applied)", balances, livePoints)
	}

	dropped := data(t, c.gql(`mutation($id: ID!) { dropShadow(campaignId: $id) { status diff { events } } }`,
		map[string]any{"id": camp}), "dropShadow")
	if compact(dropped) != fmt.Sprintf(`{"diff":{"events":%d},"status":"DROPPED"}`, n) {
		t.Fatalf("dropShadow: %s", compact(dropped))
	}
	if resp := c.gql(`mutation($id: ID!) { dropShadow(campaignId: $id) { status } }`, map[string]any{"id": camp}); errorCode(resp) != "SHADOW_NOT_FOUND" {
		t.Fatalf("second drop: %s", compact(resp))
	}
}

// TestShadowHangOrCrashChangesNothingLive: a shadow whose plugin process hangs past the shadow
// deadline, or crashes, on every call fails its own decisions only; the live campaign's events
// are applied as before, each recordEvent answering well within the shadow's deadline, and the
// live plugin process is never restarted.
func TestShadowHangOrCrashChangesNothingLive(t *testing.T) {
	for _, tc := range []struct {
		mode, lastError string
	}{
		{"sleep", "plugin unavailable: misbehave@1.0.0"},
		{"crash", "plugin unavailable: misbehave@1.0.0"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := startCore(t, newDatabase(t), append(clock2021, "--shadow-deadline", "2s")...)
			c.setup(t, "shop", 2)
			path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
			data(t, c.register(t, "misbehave", "1.0.0", path, sum))
			camp := c.campaign(t, "ok", "shop", "misbehave", "1.0.0", map[string]any{"mode": "ok"})
			data(t, c.gql(`mutation($in: AttachShadowInput!) { attachShadow(input: $in) { status } }`, map[string]any{"in": map[string]any{
				"campaignId": camp, "config": map[string]any{"mode": tc.mode, "sleepMs": 20000}}}))
			const n = 10
			var slowest time.Duration
			for i := 0; i < n; i++ {
				start := time.Now()
				ev := c.record(t, fmt.Sprintf("m%d", i%2+1), fmt.Sprintf("e-%d", i), "2021-04-14T12:00:00Z", nil)["event"].(map[string]any)
				slowest = max(slowest, time.Since(start))
				if got := compact(ev["outcome"].(map[string]any)["campaigns"]); ev["status"] != "DONE" ||
					got != `[{"campaign":{"code":"ok"},"code":null,"effects":[{"kind":"credit_points","points":10}],"reason":null,"status":"APPLIED"}]` {
					t.Fatalf("event %d: %s", i, compact(ev))
				}
			}
			// Wide margin: a live call waiting on the shadow would take its 2s deadline.
			if slowest > 1500*time.Millisecond {
				t.Fatalf("slowest recordEvent took %s", slowest)
			}
			d := c.waitShadow(t, camp, n, 90*time.Second)
			if d["failed"].(float64) != n || d["decided"].(float64) != 0 || !strings.Contains(fmt.Sprint(d["lastError"]), tc.lastError) {
				t.Fatalf("diff: %s", compact(d))
			}
			if a, b := c.available(t, "m1", "shop"), c.available(t, "m2", "shop"); a != 50 || b != 50 {
				t.Fatalf("balances %d and %d, want 50 each", a, b)
			}
			health := data(t, c.gql(`{ plugins { health { state restarts consecutiveFailures } } }`, nil), "plugins")
			if compact(health) != `[{"health":{"consecutiveFailures":0,"restarts":0,"state":"RUNNING"}}]` {
				t.Fatalf("the live plugin process was disturbed: %s", compact(health))
			}
			sh := data(t, c.gql(`query($id: ID!) { campaign(id: $id) { shadow { health { consecutiveFailures } } } }`,
				map[string]any{"id": camp}), "campaign", "shadow", "health", "consecutiveFailures").(float64)
			if sh < 1 {
				t.Fatalf("the shadow's own process shows no failure (%v)", sh)
			}
		})
	}
}

// TestShadowPromotionLosesNothing records weekend purchases from 8 clients while the shadow
// (multiplier 3) is promoted over the live campaign (multiplier 2): every event is applied
// exactly once, by one of the two (events answered before the promotion started by the old
// configuration, events sent after it returned by the new), and the balances are the sums.
func TestShadowPromotionLosesNothing(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	const members, clients, perClient = 8, 8, 40
	c.setup(t, "shop", members)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	camp := c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0", weekendConfig(2))
	data(t, c.gql(`mutation($in: AttachShadowInput!) { attachShadow(input: $in) { status } }`, map[string]any{"in": map[string]any{
		"campaignId": camp, "config": weekendConfig(3)}}))

	type sent struct {
		member        string
		start, end    time.Time
		points, count int
	}
	var (
		mu      sync.Mutex
		results []sent
		wg      sync.WaitGroup
	)
	promoteAt := make(chan struct{})
	var once sync.Once
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				if i == perClient/3 && w == 0 {
					once.Do(func() { close(promoteAt) })
				}
				member := fmt.Sprintf("m%d", w%members+1)
				s := sent{member: member, start: time.Now()}
				// Saturday 17 April 2021: 5 units, 10 points live, 15 shadowed.
				ev := c.record(t, member, fmt.Sprintf("w%d-%d", w, i), "2021-04-17T12:00:00+03:00", map[string]any{"amount": 500})["event"].(map[string]any)
				s.end = time.Now()
				for _, co := range ev["outcome"].(map[string]any)["campaigns"].([]any) {
					for _, eff := range co.(map[string]any)["effects"].([]any) {
						s.points += int(eff.(map[string]any)["points"].(float64))
						s.count++
					}
				}
				mu.Lock()
				results = append(results, s)
				mu.Unlock()
			}
		}()
	}
	<-promoteAt
	promoteStart := time.Now()
	got := data(t, c.gql(`mutation($id: ID!) { promoteShadow(campaignId: $id) { status replacedConfig campaign { config } } }`,
		map[string]any{"id": camp}), "promoteShadow")
	promoteEnd := time.Now()
	wg.Wait()
	if compact(got) != `{"campaign":{"config":{"eventType":"purchase","expiresInDays":365,"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":3}},`+
		`"replacedConfig":{"eventType":"purchase","expiresInDays":365,"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":2},"status":"PROMOTED"}` {
		t.Fatalf("promoteShadow: %s", compact(got))
	}
	if len(results) != clients*perClient {
		t.Fatalf("%d results, want %d", len(results), clients*perClient)
	}
	balances := map[string]int{}
	var old, promoted int
	for _, s := range results {
		if s.count != 1 || (s.points != 10 && s.points != 15) {
			t.Fatalf("event of %s applied %d effects for %d points, want one of 10 or 15", s.member, s.count, s.points)
		}
		if s.end.Before(promoteStart) && s.points != 10 {
			t.Fatalf("an event answered before the promotion started got %d points", s.points)
		}
		if s.start.After(promoteEnd) && s.points != 15 {
			t.Fatalf("an event sent after the promotion returned got %d points", s.points)
		}
		if s.points == 10 {
			old++
		} else {
			promoted++
		}
		balances[s.member] += s.points
	}
	if old == 0 || promoted == 0 {
		t.Fatalf("the promotion did not fall inside the load: %d old, %d promoted", old, promoted)
	}
	for m, want := range balances {
		if got := c.available(t, m, "shop"); got != int64(want) {
			t.Fatalf("%s: balance %d, want %d", m, got, want)
		}
	}
	if sh := data(t, c.gql(`query($id: ID!) { campaign(id: $id) { shadow { status } } }`, map[string]any{"id": camp}), "campaign", "shadow"); sh != nil {
		t.Fatalf("a promoted shadow is still attached: %v", sh)
	}
	t.Logf("%d events by the old configuration, %d by the promoted one", old, promoted)
}
