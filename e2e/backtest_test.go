package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const backtestFields = `id status progress eventsTotal eventsDone error pluginVersion
	totals { eventsEvaluated applied noEffect rejected refused enrollmentsReplayed enrollmentsAccepted hookRuns
		pointsIssued benefitsGranted membersReached }
	days { date benefitsGranted membersReached }
	members(first: 10) { edges { node { member { externalRef } enrolled benefitsGranted
		benefits { key kind title recipient validFrom attributes } } } pageInfo { hasNextPage } }`

// waitBacktest polls a backtest until it is no longer running and returns it.
func (c *core) waitBacktest(t *testing.T, key, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b := data(t, c.gqlWith(key, `query($id: ID!) { backtest(id: $id) { `+backtestFields+` } }`, map[string]any{"id": id}),
			"backtest").(map[string]any)
		if b["status"] != "RUNNING" {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("backtest still running after 2 minutes: %v", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBacktestGiftProgramme backtests the demo's 2021 gift programme with the real giftbymonth
// plugin: a draft with the live campaign's plugin and configuration, run over 2021, replays the
// two registrations the demo recorded and the daily month close, and grants exactly the gifts
// the live campaign granted (same keys, titles, recipients, validity, attributes) on the days
// the months closed; a draft whose gift table changes April's 24-month gift and has no row for
// June's 12-month contracts grants one gift, the changed one. Nothing live changes. Bad input
// gets its documented code, and only marketing and admin keys may backtest.
func TestBacktestGiftProgramme(t *testing.T) {
	dir := t.TempDir()
	src := build(t, "plugins/giftbymonth", "giftbymonth")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "giftbymonth"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	c := startCore(t, newDatabase(t), "--demo", "--plugins-dir", dir, "--scheduler-interval", "200ms")
	key := func(name, role string) string {
		return data(t, c.gql(`mutation($n: String!, $r: Role!) { createApiKey(input: {name: $n, roles: [$r]}) { key } }`,
			map[string]any{"n": name, "r": role}), "createApiKey", "key").(string)
	}
	marketing, frontend := key("bt-marketing", "MARKETING"), key("bt-frontend", "FRONTEND")

	// The live campaign's gifts, once the scheduler's month close has released them.
	const giftQuery = `query($r: String!) { member(externalRef: $r) { benefits { edges { node {
		key kind title recipient validFrom attributes campaign { code } } } } } }`
	live := map[string][]any{}
	deadline := time.Now().Add(time.Minute)
	for _, ref := range []string{"its-april-24", "its-june-12", "its-six-months"} {
		for {
			var gifts []any
			for _, e := range data(t, c.gql(giftQuery, map[string]any{"r": ref}), "member", "benefits", "edges").([]any) {
				n := e.(map[string]any)["node"].(map[string]any)
				if n["campaign"].(map[string]any)["code"] == "its-gifts-2021" {
					delete(n, "campaign")
					gifts = append(gifts, n)
				}
			}
			if len(gifts) > 0 || ref == "its-six-months" || time.Now().After(deadline) {
				live[ref] = gifts
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(live["its-april-24"]) != 1 || len(live["its-june-12"]) != 1 || len(live["its-six-months"]) != 0 {
		t.Fatalf("live gifts of the demo: %v; want one for its-april-24 and its-june-12, none for its-six-months", live)
	}

	camp := data(t, c.gql(`{ campaign(code: "its-gifts-2021") { id pluginVersion: plugin { version } config } }`, nil),
		"campaign").(map[string]any)
	version := camp["pluginVersion"].(map[string]any)["version"].(string)
	config := camp["config"].(map[string]any)
	draft := func(code string, cfg map[string]any) string {
		return data(t, c.gqlWith(marketing, `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id status } }`,
			map[string]any{"in": map[string]any{"code": code, "name": code, "program": "its-gifts-2021", "plugin": "giftbymonth",
				"pluginVersion": version, "config": cfg, "timeZone": "Europe/Kyiv", "startsAt": "2021-01-01T00:00:00+02:00"}}),
			"createCampaign", "id").(string)
	}
	start := func(k string, in map[string]any) map[string]any {
		return c.gqlWith(k, `mutation($in: StartBacktestInput!) { startBacktest(input: $in) { id status } }`, map[string]any{"in": in})
	}
	period := func(id string) map[string]any {
		return map[string]any{"campaign": id, "from": "2021-01-01T00:00:00+02:00", "to": "2022-01-01T00:00:00+02:00"}
	}

	same := draft("its-gifts-bt-same", config)
	res := c.waitBacktest(t, marketing, data(t, start(marketing, period(same)), "startBacktest", "id").(string))
	if res["status"] != "DONE" || res["progress"] != 1.0 || res["error"] != nil {
		t.Fatalf("backtest: %v", res)
	}
	wantTotals := map[string]any{"eventsEvaluated": 0.0, "applied": 4.0, "noEffect": 0.0, "rejected": 0.0, "refused": 0.0,
		"enrollmentsReplayed": 2.0, "enrollmentsAccepted": 2.0, "hookRuns": 365.0, "pointsIssued": 0.0, "benefitsGranted": 2.0,
		"membersReached": 2.0}
	if !reflect.DeepEqual(res["totals"], wantTotals) {
		t.Errorf("totals:\n got %v\nwant %v", res["totals"], wantTotals)
	}
	// Benefits are counted on the days the months closed (00:00 Kyiv on 29 April and 29 June);
	// the registrations reached nobody (a plugin state is not a grant).
	wantDays := []any{
		map[string]any{"date": "2021-04-29", "benefitsGranted": 1.0, "membersReached": 1.0},
		map[string]any{"date": "2021-06-29", "benefitsGranted": 1.0, "membersReached": 1.0},
	}
	if days := nonEmptyDays(res["days"].([]any)); !reflect.DeepEqual(days, wantDays) {
		t.Errorf("days:\n got %v\nwant %v", days, wantDays)
	}
	got := backtestGifts(res)
	for _, ref := range []string{"its-april-24", "its-june-12"} {
		if !reflect.DeepEqual(got[ref], live[ref]) {
			t.Errorf("%s: backtest gifts\n %v\nlive gifts\n %v", ref, got[ref], live[ref])
		}
	}

	// The changed table: April's 24-month gift gets a third item, June's 12-month row is gone.
	changed := map[string]any{}
	raw, _ := json.Marshal(config)
	_ = json.Unmarshal(raw, &changed)
	var gifts []any
	for _, g := range changed["gifts"].([]any) {
		row := g.(map[string]any)
		switch {
		case row["startMonth"] == "2021-04" && row["termMonths"] == 24.0:
			row["items"] = []any{"branded calculator", "branded travel hair dryer", "thermos mug"}
		case row["startMonth"] == "2021-06" && row["termMonths"] == 12.0:
			continue
		}
		gifts = append(gifts, row)
	}
	changed["gifts"] = gifts
	other := draft("its-gifts-bt-changed", changed)
	res2 := c.waitBacktest(t, marketing, data(t, start(marketing, period(other)), "startBacktest", "id").(string))
	if tot := res2["totals"].(map[string]any); res2["status"] != "DONE" || tot["benefitsGranted"] != 1.0 ||
		tot["membersReached"] != 1.0 || tot["enrollmentsAccepted"] != 2.0 {
		t.Fatalf("backtest of the changed table: %v", res2)
	}
	got2 := backtestGifts(res2)
	april := got2["its-april-24"]
	if len(april) != 1 || april[0].(map[string]any)["title"] != "Branded calculator + branded travel hair dryer + thermos mug" ||
		april[0].(map[string]any)["key"] != "gift-2021-04-ITS-0424" {
		t.Errorf("its-april-24 with the changed table: %v", april)
	}
	if len(got2["its-june-12"]) != 0 {
		t.Errorf("its-june-12 with no June 12-month row: %v, want no gift", got2["its-june-12"])
	}
	if days := nonEmptyDays(res2["days"].([]any)); !reflect.DeepEqual(days, wantDays[:1]) {
		t.Errorf("days of the changed table: %v, want %v", days, wantDays[:1])
	}

	// Nothing live changed: the members' gifts are the live campaign's two, and the drafts have none.
	for _, ref := range []string{"its-april-24", "its-june-12"} {
		edges := data(t, c.gql(giftQuery, map[string]any{"r": ref}), "member", "benefits", "edges").([]any)
		if len(edges) != 1 {
			t.Errorf("%s has %d benefits after the backtests, want the live gift only", ref, len(edges))
		}
	}
	list := data(t, c.gqlWith(marketing, `query($c: ID!) { backtests(campaign: $c) { id status } }`, map[string]any{"c": other}),
		"backtests").([]any)
	if len(list) != 1 || list[0].(map[string]any)["status"] != "DONE" {
		t.Errorf("backtests of the changed draft: %v", list)
	}

	// Bad input and roles.
	liveID := camp["id"].(string)
	badConfig := map[string]any{}
	_ = json.Unmarshal(raw, &badConfig)
	badConfig["registrationLastDay"] = 40
	for _, tc := range []struct {
		name, key string
		in        map[string]any
		code      string
	}{
		{"reversed period", marketing, map[string]any{"campaign": same, "from": "2022-01-01T00:00:00Z", "to": "2021-01-01T00:00:00Z"}, "INVALID_PERIOD"},
		{"period in the future", marketing, map[string]any{"campaign": same, "from": "2021-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}, "INVALID_PERIOD"},
		{"unknown plugin version", marketing, merge(period(same), map[string]any{"pluginVersion": "9.9.9"}), "PLUGIN_NOT_FOUND"},
		{"invalid config", marketing, merge(period(same), map[string]any{"config": badConfig}), "INVALID_CONFIG"},
		{"not a draft", marketing, period(liveID), "CAMPAIGN_NOT_DRAFT"},
		{"bad point value", marketing, merge(period(same), map[string]any{"pointValue": map[string]any{"minorUnits": 1, "points": 0}}), "INVALID_INPUT"},
		{"frontend key", frontend, period(same), "FORBIDDEN"},
	} {
		resp := start(tc.key, tc.in)
		if code := errorCode(resp); code != tc.code {
			t.Errorf("%s: code %q, want %s (%v)", tc.name, code, tc.code, resp)
		}
		if tc.code == "INVALID_CONFIG" {
			fields := resp["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["fields"].([]any)
			if f := fields[0].(map[string]any); len(fields) != 1 || f["field"] != "/registrationLastDay" {
				t.Errorf("invalid config: fields %v, want one for /registrationLastDay", fields)
			}
		}
	}
	if code := errorCode(c.gqlWith(marketing, `mutation($id: ID!) { cancelBacktest(id: $id) { status } }`,
		map[string]any{"id": res["id"]})); code != "BACKTEST_FINISHED" {
		t.Errorf("cancelling a finished backtest: %q, want BACKTEST_FINISHED", code)
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// nonEmptyDays keeps the days on which a benefit was granted.
func nonEmptyDays(days []any) []any {
	out := []any{}
	for _, d := range days {
		if d.(map[string]any)["benefitsGranted"] != 0.0 {
			out = append(out, d)
		}
	}
	return out
}

// backtestGifts returns each member's backtest benefits as the live query shows benefits.
func backtestGifts(res map[string]any) map[string][]any {
	out := map[string][]any{}
	for _, e := range res["members"].(map[string]any)["edges"].([]any) {
		n := e.(map[string]any)["node"].(map[string]any)
		ref := n["member"].(map[string]any)["externalRef"].(string)
		out[ref] = append(out[ref], n["benefits"].([]any)...)
	}
	return out
}
