package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/members"
)

// TestCampaignFigures counts stored outcomes per day of occurrence in the zone asked for:
// applied (with their positive points), no effect (and its reasons, most frequent first),
// waiting and refused (rejected or failed); another campaign's outcomes and events outside the
// period are not counted; days without events are listed with zeros.
func TestCampaignFigures(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	fx := enginetest.NewTick(t, bdb, "figures", ticker{tick: func(sdk.TickRequest) sdk.TickResponse { return sdk.TickResponse{} }})
	m, _, err := members.NewStore(bdb, nil).Upsert(ctx, members.UpsertInput{ExternalRef: "fig-" + fx.Code})
	if err != nil {
		t.Fatal(err)
	}
	var cid int64
	if err := bdb.NewRaw("SELECT id FROM campaigns WHERE code = ?", fx.Code).Scan(ctx, &cid); err != nil {
		t.Fatal(err)
	}
	other := cid + 1000
	n := 0
	event := func(at string, outcome string) {
		t.Helper()
		n++
		occurred, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bdb.ExecContext(ctx, `INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at, status, next_attempt_at, outcome)
			VALUES ('test', ?, 'purchase', ?, ?, '\x00', ?, 'done', ?, ?::jsonb)`,
			fmt.Sprintf("%s-%d", fx.Code, n), m.ID, occurred, occurred, occurred, outcome); err != nil {
			t.Fatal(err)
		}
	}
	applied := func(id int64, points ...int64) string {
		effects := ""
		for i, p := range points {
			if i > 0 {
				effects += ","
			}
			effects += fmt.Sprintf(`{"kind":"credit_points","points":%d}`, p)
		}
		return fmt.Sprintf(`{"campaigns":[{"campaignId":%d,"status":"applied","effects":[%s]}]}`, id, effects)
	}
	noEffect := func(reason string) string {
		return fmt.Sprintf(`{"campaigns":[{"campaignId":%d,"status":"no_effect","reason":%q}]}`, cid, reason)
	}
	// Moscow is UTC+3: 21:30 UTC on 9 April is 10 April there.
	event("2021-04-09T21:30:00Z", applied(cid, 30, -5)) // 10 Apr: 30 points (the debit is not issued)
	event("2021-04-10T08:00:00Z", applied(cid, 10))     // 10 Apr
	event("2021-04-10T09:00:00Z", noEffect("amount is below one unit"))
	event("2021-04-12T09:00:00Z", noEffect("amount is below one unit"))
	event("2021-04-12T10:00:00Z", noEffect("not a purchase"))
	event("2021-04-12T11:00:00Z", fmt.Sprintf(`{"campaigns":[{"campaignId":%d,"status":"rejected","code":"TERM"},{"campaignId":%d,"status":"applied","effects":[{"kind":"credit_points","points":99}]}]}`, cid, other))
	event("2021-04-12T12:00:00Z", fmt.Sprintf(`{"campaigns":[{"campaignId":%d,"status":"failed","code":"PLUGIN_ERROR"}]}`, cid))
	event("2021-04-12T13:00:00Z", fmt.Sprintf(`{"campaigns":[],"waiting":[{"campaignId":%d,"error":"unavailable"}]}`, cid))
	event("2021-04-12T14:00:00Z", applied(other, 7))  // another campaign
	event("2021-04-12T21:00:00Z", applied(cid, 1000)) // 13 Apr in Moscow: outside the period
	event("2021-04-09T20:59:00Z", applied(cid, 1000)) // 9 Apr 23:59 in Moscow: outside

	moscow, _ := time.LoadLocation("Europe/Moscow")
	day := func(d int) time.Time { return time.Date(2021, 4, d, 0, 0, 0, 0, time.UTC) }
	f, err := fx.Engine.CampaignFigures(ctx, cid, moscow, day(10), day(12))
	if err != nil {
		t.Fatal(err)
	}
	want := &engine.Figures{
		Days: []engine.DayFigures{
			{Date: day(10), Applied: 2, NoEffect: 1, PointsIssued: 40},
			{Date: day(11)},
			{Date: day(12), NoEffect: 2, Waiting: 1, Refused: 2},
		},
		Total:   engine.DayFigures{Applied: 2, NoEffect: 3, Waiting: 1, Refused: 2, PointsIssued: 40},
		Reasons: []engine.ReasonCount{{Reason: "amount is below one unit", Count: 2}, {Reason: "not a purchase", Count: 1}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("figures:\n got %+v\nwant %+v", f, want)
	}
}
