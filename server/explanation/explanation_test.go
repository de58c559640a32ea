package explanation_test

import (
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/explanation"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// welcomer welcomes an enrolled member with 5 points and credits 7 at each scheduled close.
type welcomer struct{ sdk.Base }

func (welcomer) Describe(context.Context) (sdk.Description, error) { return sdk.Description{}, nil }
func (welcomer) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, nil
}
func (welcomer) CheckEligibility(context.Context, sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	return sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{sdk.CreditPoints{Amount: 5, Reason: "welcome"}.Effect()}}, nil
}
func (welcomer) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	out := sdk.TickResponse{}
	for _, m := range req.Members {
		out.Results = append(out.Results, sdk.MemberEffects{MemberID: m.ID, Effects: []sdk.Effect{sdk.CreditPoints{Amount: 7, Reason: "close"}.Effect()}})
	}
	return out, nil
}

// TestOriginsOutsideEvents explains the postings no event made: an enrolment's welcome credit
// and a scheduled close's credit (both naming the campaign's plugin at the version the
// transaction recorded, with the catalogue's checksum), an operator's adjustment, its reversal,
// and a credit written straight to the ledger. (Postings made by events are explained in
// e2e/explain_test.go, through real plugin processes and an upgrade.)
func TestOriginsOutsideEvents(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	fx := enginetest.NewTick(t, bdb, "explain", welcomer{})
	c := fx.Run.Campaign
	m, _, err := members.NewStore(bdb, nil).Upsert(ctx, members.UpsertInput{ExternalRef: "explain-" + fx.Code})
	if err != nil {
		t.Fatal(err)
	}
	enrolled, err := fx.Engine.Enroll(ctx, m.ID, c.ID, nil, "enrol-1")
	if err != nil || enrolled.Enrollment == nil {
		t.Fatalf("enrol: %+v, %v", enrolled, err)
	}
	if _, err := db.PG(bdb).Exec(ctx, `INSERT INTO tick_runs (campaign_id, hook, due_at, lease_until, owner, started_at)
		VALUES ($1, $2, $3, $4, 'test', $5)`, c.ID, fx.Run.Hook, fx.Run.Due, fx.Now.Add(time.Hour), fx.Now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.Engine.TickPage(ctx, fx.Run, 0, 10); err != nil {
		t.Fatal(err)
	}
	adjusted, err := fx.Ledger.Adjust(ctx, c.ProgramID, m.ID, 3, "goodwill", "adj-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Ledger.Reverse(ctx, adjusted.ID, "mistake"); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Ledger.Credit(ctx, ledger.CreditInput{ProgramID: c.ProgramID, MemberID: m.ID, Amount: 2, Reason: "import",
		IdempotencyKey: "import-1"}); err != nil {
		t.Fatal(err)
	}

	trs, _, err := fx.Ledger.Transactions(ctx, ledger.TransactionPage{MemberID: m.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	store := explanation.NewStore(bdb)
	plugin := &explanation.Plugin{Name: "fake", Version: "1.0.0", Checksum: strings.Repeat("0", 64)}
	due := fx.Run.Due.Truncate(time.Second).UTC()
	cid := c.ID
	want := map[string]explanation.Explanation{
		"welcome":  {MemberID: m.ID, Origin: explanation.OriginEnrollment, CampaignID: &cid, Plugin: plugin, Enrollment: enrolled.Enrollment},
		"close":    {MemberID: m.ID, Origin: explanation.OriginSchedule, CampaignID: &cid, Plugin: plugin, Hook: "close", DueAt: &due},
		"goodwill": {MemberID: m.ID, Origin: explanation.OriginAdjustment},
		"mistake":  {MemberID: m.ID, Origin: explanation.OriginReversal, ReversesID: &adjusted.ID},
		"import":   {MemberID: m.ID, Origin: explanation.OriginDirect},
	}
	if len(trs) != len(want) {
		t.Fatalf("%d transactions, want %d: %+v", len(trs), len(want), trs)
	}
	for i := range trs {
		tr := &trs[i]
		got, err := store.Transaction(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[tr.Reason]
		if got.Enrollment != nil && w.Enrollment != nil && got.Enrollment.ID == w.Enrollment.ID {
			got.Enrollment = w.Enrollment // the row as read back; its id is what matters
		}
		if !ok || !reflect.DeepEqual(*got, w) {
			t.Errorf("transaction %q (key %s):\n got %+v\nwant %+v", tr.Reason, tr.IdempotencyKey, *got, w)
		}
	}
}

// TestCampaignKeysOfCallers: an idempotency key shaped like the engine's says nothing unless
// the transaction carries a campaign, which API callers' transactions never do.
func TestCampaignKeysOfCallers(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	store := explanation.NewStore(bdb)
	for _, key := range []string{"enr:1:0", "tick:1:close:1619654400:1:0", "evt:1:1:0"} {
		got, err := store.Transaction(ctx, &ledger.Transaction{ID: 1, MemberID: 9, Kind: ledger.KindAdjust, IdempotencyKey: key})
		if err != nil || got.Origin != explanation.OriginAdjustment || got.Plugin != nil {
			t.Errorf("adjustment keyed %s: %+v, %v", key, got, err)
		}
	}
	// A malformed engine key of a campaign's credit falls back to a direct credit.
	cid := int64(1)
	got, err := store.Transaction(ctx, &ledger.Transaction{ID: 1, MemberID: 9, Kind: ledger.KindEarn, CampaignID: &cid,
		IdempotencyKey: "enr:x:" + strconv.Itoa(0)})
	if err != nil || got.Origin != explanation.OriginDirect {
		t.Errorf("malformed key: %+v, %v", got, err)
	}
}
