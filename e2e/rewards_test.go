package e2e

import "testing"

// TestRewardsWithRealPlugin runs the rewards catalogue on the real binary with the quoter test
// plugin (e2e/plugins/quoter) registered at run time: a Gold status discount, a seminar at most
// half payable with points (the rest is money due), one exchange a month counted by the plugin
// from the reward.redeemed events the core sends it, and a replayed order.
func TestRewardsWithRealPlugin(t *testing.T) {
	c := startCore(t, newDatabase(t), "--dev-clock", "--clock-start", "2026-03-10T09:00:00Z", "--scheduler-interval", "100ms")
	data(t, c.gql(`mutation { createProgram(input: {code: "shop", name: "Shop"}) { code } }`, nil))
	path, sum := pluginBinary(t, "e2e/plugins/quoter", "quoter")
	data(t, c.register(t, "quoter", "1.0.0", path, sum))
	camp := c.campaign(t, "quoter", "shop", "quoter", "1.0.0",
		map[string]any{"tierDiscounts": map[string]any{"Gold": 10}, "caps": map[string]any{"seminar": 50}, "monthlyLimit": 1})
	anna := c.member(t, "anna", map[string]any{"region": "Kyiv", "attributes": map[string]any{"services": []string{"tv"}}})
	c.enroll(t, anna, camp, "join", map[string]any{"tier": "Gold"})
	data(t, c.gql(`mutation($m: ID!) { adjustPoints(memberId: $m, program: "shop", amount: 5000, reason: "welcome", idempotencyKey: "w") { replayed } }`,
		map[string]any{"m": anna}))

	create := func(in map[string]any) string {
		in["program"], in["campaign"] = "shop", camp
		return data(t, c.gql(`mutation($in: CreateRewardInput!) { createReward(input: $in) { id } }`, map[string]any{"in": in}),
			"createReward", "id").(string)
	}
	film := create(map[string]any{"code": "film", "title": "Film rental", "category": "tv", "price": 800, "validity": "hours:48",
		"servicesRequired": []string{"tv"}})
	seminar := create(map[string]any{"code": "seminar", "title": "Seminar", "category": "seminar", "price": 3000, "validity": "calendar_month"})

	quote := data(t, c.gql(`query($m: ID!, $r: ID!) { member(id: $m) { rewardQuote(rewardId: $r) {
		listPrice price maxPointsPayable points moneyDue allowed reasons { code } } } }`, map[string]any{"m": anna, "r": seminar}),
		"member", "rewardQuote")
	if got, want := compact(quote), `{"allowed":true,"listPrice":3000,"maxPointsPayable":1350,"moneyDue":1350,"points":1350,"price":2700,"reasons":[]}`; got != want {
		t.Fatalf("seminar quote: got %s, want %s", got, want)
	}

	const redeemQ = `mutation($m: ID!, $r: [ID!]!, $k: String!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k) {
		replayed rejection { code message } redemption { points priceTotal moneyDue lines { reward { code } points benefit { kind status } } } } }`
	redeem := func(key string, rewards ...string) string {
		return compact(data(t, c.gql(redeemQ, map[string]any{"m": anna, "r": rewards, "k": key}), "redeemRewards"))
	}
	first := redeem("o1", film)
	if want := `{"redemption":{"lines":[{"benefit":{"kind":"REWARD","status":"ACTIVE"},"points":720,"reward":{"code":"film"}}],"moneyDue":0,"points":720,"priceTotal":720},"rejection":null,"replayed":false}`; first != want {
		t.Fatalf("first order: got %s\nwant %s", first, want)
	}
	if got := c.available(t, "anna", "shop"); got != 4280 {
		t.Fatalf("balance %d, want 4280", got)
	}
	if again := redeem("o1", film); again != `{"redemption":{"lines":[{"benefit":{"kind":"REWARD","status":"ACTIVE"},"points":720,"reward":{"code":"film"}}],"moneyDue":0,"points":720,"priceTotal":720},"rejection":null,"replayed":true}` {
		t.Fatalf("replay: %s", again)
	}

	// Three days on (still March in Kyiv) the 48-hour film has ended, so only the plugin's state,
	// fed by the reward.redeemed event, remembers this month's exchange.
	c.setClock(t, "2026-03-13T10:00:00Z")
	waitFor(t, "the film to end", func() bool {
		return compact(data(t, c.gql(`query { member(externalRef: "anna") { benefits(activeOnly: true) { edges { node { key } } } } }`, nil),
			"member", "benefits", "edges")) == "[]"
	})
	if got, want := redeem("o2", seminar), `{"redemption":null,"rejection":{"code":"FREQUENCY_LIMIT","message":"points can be exchanged 1 time(s) a month and 2026-03's exchange was made (order-1)"},"replayed":false}`; got != want {
		t.Fatalf("second order in March: got %s\nwant %s", got, want)
	}

	// April in Kyiv: a new month. The seminar takes half its discounted price in points.
	c.setClock(t, "2026-03-31T21:30:00Z")
	if got, want := redeem("o3", seminar), `{"redemption":{"lines":[{"benefit":{"kind":"REWARD","status":"ACTIVE"},"points":1350,"reward":{"code":"seminar"}}],"moneyDue":1350,"points":1350,"priceTotal":2700},"rejection":null,"replayed":false}`; got != want {
		t.Fatalf("April order: got %s\nwant %s", got, want)
	}
	if got := c.available(t, "anna", "shop"); got != 4280-1350 {
		t.Fatalf("balance %d, want %d", got, 4280-1350)
	}
	orders := data(t, c.gql(`query { member(externalRef: "anna") { redemptions { edges { node { idempotencyKey status } } } } }`, nil),
		"member", "redemptions", "edges")
	if got, want := compact(orders), `[{"node":{"idempotencyKey":"o3","status":"COMPLETED"}},{"node":{"idempotencyKey":"o1","status":"COMPLETED"}}]`; got != want {
		t.Fatalf("redemptions: got %s, want %s", got, want)
	}
}
