package engine_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/members"
)

// TestRecordStoresInputsExactly records, in one call, events whose texts need quoting in an
// array literal, a duplicate of one of them, a reuse of an id with other content and an unknown
// member, then delivers the first again: every result is the one expected, and the stored rows
// hold the inputs exactly (times to the microsecond PostgreSQL keeps, truncated).
func TestRecordStoresInputsExactly(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	fx := enginetest.NewTick(t, bdb, "record", ticker{tick: func(sdk.TickRequest) sdk.TickResponse { return sdk.TickResponse{} }})
	store := members.NewStore(bdb, nil)
	refs := []string{`m "quoted" \ {braced}, ` + fx.Code, "NULL" + fx.Code}
	ids := make([]int64, len(refs))
	for i, ref := range refs {
		m, _, err := store.Upsert(ctx, members.UpsertInput{ExternalRef: ref})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	at := time.Date(2021, 4, 28, 23, 59, 59, 123456789, time.FixedZone("Kyiv", 3*3600))
	first := event.Input{Type: "purchase", MemberRef: refs[0], Source: "shop:" + fx.Code, ExternalID: `a,"b"\c{}` + "пароль",
		OccurredAt: at, Attributes: map[string]any{"note": `say "hi" \ {x}`, "amount": 12.5, "tags": []any{"a", "b"}}}
	second := event.Input{Type: "visit", MemberRef: refs[1], Source: "shop:" + fx.Code, ExternalID: "NULL", OccurredAt: at}
	conflict := second
	conflict.Attributes = map[string]any{"other": true}
	unknown := second
	unknown.ExternalID, unknown.MemberRef = "x", "nobody"+fx.Code

	res, err := fx.Engine.Record(ctx, []event.Input{first, second, first, conflict, unknown})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d results for 5 inputs", len(res))
	}
	for i, want := range []struct {
		err       error
		duplicate bool
	}{{nil, false}, {nil, false}, {nil, true}, {engine.ErrEventConflict, false}, {engine.ErrUnknownMember, false}} {
		if !errors.Is(res[i].Err, want.err) || res[i].Duplicate != want.duplicate {
			t.Fatalf("result %d: error %v, duplicate %v; want %v, %v", i, res[i].Err, res[i].Duplicate, want.err, want.duplicate)
		}
	}
	if res[2].Event.ID != res[0].Event.ID {
		t.Fatalf("the duplicate in the batch is event %d, the first delivery %d", res[2].Event.ID, res[0].Event.ID)
	}
	for i, in := range []event.Input{first, second} {
		var stored event.Event
		if err := bdb.NewSelect().Model(&stored).Where("id = ?", res[i].Event.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		attrs := in.Attributes
		if attrs == nil {
			attrs = map[string]any{}
		}
		if stored.Source != in.Source || stored.ExternalID != in.ExternalID || stored.Type != in.Type || stored.MemberID != ids[i] ||
			!stored.OccurredAt.Equal(at.Truncate(time.Microsecond)) || !reflect.DeepEqual(stored.Attributes, attrs) ||
			!stored.ReceivedAt.Equal(fx.Now) || stored.Status != event.StatusDone || len(stored.InputHash) != 32 {
			t.Fatalf("input %d stored as %+v", i, stored)
		}
		if !reflect.DeepEqual(stored.Outcome, res[i].Event.Outcome) || stored.Outcome.Reason == "" {
			t.Fatalf("input %d: outcome %+v returned, %+v stored", i, res[i].Event.Outcome, stored.Outcome)
		}
	}

	again, err := fx.Engine.Record(ctx, []event.Input{first})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Err != nil || !again[0].Duplicate || !reflect.DeepEqual(again[0].Event, res[0].Event) {
		t.Fatalf("redelivery: %+v (%v), want the first event %+v", again[0].Event, again[0].Err, res[0].Event)
	}
}
