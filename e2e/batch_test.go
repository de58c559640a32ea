package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestBatchEqualsOneByOne records the same 32 events on two cores: on one as a single
// recordEvents batch (applied by group commit: credit-only events together, events with a
// debit one by one under savepoints), on the other with one recordEvent call each, one after
// another. Three campaigns of a real plugin process take part: "ok" credits 10 points per
// event, "debit" (live 10–20 March) debits 25 and is refused when the balance is short,
// "reject" (live 1–10 April) rejects. Every event's outcome and every balance must be the same
// on both cores, and one member's balance is checked by hand.
func TestBatchEqualsOneByOne(t *testing.T) {
	const members = 8
	type event struct{ member, id, at string }
	var events []event
	for k := 1; k <= 4; k++ {
		for i := 1; i <= members; i++ {
			at := map[int]string{1: "2021-03-01T12:00:00Z", 2: "2021-03-15T12:00:00Z", 3: "2021-04-12T12:00:00Z", 4: "2021-04-15T12:00:00Z"}[k]
			if k == 3 && i%3 == 0 {
				at = "2021-04-05T12:00:00Z" // the reject campaign's window
			}
			if k == 4 && i%2 == 0 {
				at = "2021-03-16T12:00:00Z" // the debit campaign's window
			}
			events = append(events, event{fmt.Sprintf("m%d", i), fmt.Sprintf("e-%d-%d", i, k), at})
		}
	}
	input := func(e event) map[string]any {
		return map[string]any{"type": "purchase", "memberRef": e.member, "occurredAt": e.at, "source": "shop", "externalId": e.id}
	}
	const selection = `duplicate error { code } event { externalId status outcome { reason
		campaigns { campaign { code } status code reason effects { kind points } } waiting { campaign { code } } } }`

	var outcomes [2]string
	var balances [2][members]int64
	for run, batch := range []bool{true, false} {
		c := startCore(t, newDatabase(t), clock2021...)
		c.setup(t, "shop", members)
		path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
		data(t, c.register(t, "misbehave", "1.0.0", path, sum))
		c.campaign(t, "ok", "shop", "misbehave", "1.0.0", map[string]any{"mode": "ok"})
		c.campaignWindow(t, "debit", map[string]any{"mode": "debit"}, "2021-03-10T00:00:00Z", "2021-03-20T00:00:00Z")
		c.campaignWindow(t, "reject", map[string]any{"mode": "reject"}, "2021-04-01T00:00:00Z", "2021-04-10T00:00:00Z")
		var got []any
		if batch {
			ins := make([]any, len(events))
			for i, e := range events {
				ins[i] = input(e)
			}
			got = data(t, c.gql(`mutation($in: [EventInput!]!) { recordEvents(inputs: $in) { `+selection+` } }`,
				map[string]any{"in": ins}), "recordEvents").([]any)
		} else {
			for _, e := range events {
				got = append(got, data(t, c.gql(`mutation($in: EventInput!) { recordEvent(input: $in) { `+selection+` } }`,
					map[string]any{"in": input(e)}), "recordEvent"))
			}
		}
		outcomes[run] = compact(got)
		for i := range members {
			balances[run][i] = c.available(t, fmt.Sprintf("m%d", i+1), "shop")
		}
	}
	if outcomes[0] != outcomes[1] {
		t.Fatalf("outcomes differ:\n batch %s\n  solo %s", outcomes[0], outcomes[1])
	}
	if balances[0] != balances[1] {
		t.Fatalf("balances differ: batch %v, one by one %v", balances[0], balances[1])
	}
	// m6: +10 (1 March); +10 then the debit of 25 refused at 20 (15 March); 5 April is in the
	// reject window: +10 and a rejection; 16 March: +10 then the debit of 25 applied: 40 - 25.
	if balances[0][5] != 15 {
		t.Fatalf("m6 has %d points, want 15", balances[0][5])
	}
	want := `{"duplicate":false,"error":null,"event":{"externalId":"e-6-2","outcome":{"campaigns":[` +
		`{"campaign":{"code":"ok"},"code":null,"effects":[{"kind":"credit_points","points":10}],"reason":null,"status":"APPLIED"},` +
		`{"campaign":{"code":"debit"},"code":"INSUFFICIENT_POINTS","effects":[],"reason":"effect 0 (debit_points): insufficient points","status":"FAILED"}` +
		`],"reason":null,"waiting":[]},"status":"DONE"}}`
	var all []any
	if err := json.Unmarshal([]byte(outcomes[0]), &all); err != nil {
		t.Fatal(err)
	}
	if got := compact(all[8+5]); got != want {
		t.Fatalf("m6's second event:\n got %s\nwant %s", got, want)
	}
}

// campaignWindow creates and activates a misbehave campaign in programme "shop" live from
// starts to ends.
func (c *core) campaignWindow(t *testing.T, code string, config map[string]any, starts, ends string) {
	t.Helper()
	id := data(t, c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": code, "name": code, "program": "shop", "plugin": "misbehave", "pluginVersion": "1.0.0",
		"config": config, "timeZone": "UTC", "startsAt": starts, "endsAt": ends,
	}}), "createCampaign", "id")
	data(t, c.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": id}))
}
