package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/members"
)

// eligibilityRecorder is a plugin that finds every member eligible and keeps the member
// snapshots it was asked about.
type eligibilityRecorder struct {
	ticker
	mu   sync.Mutex
	seen []sdk.Member
}

func (p *eligibilityRecorder) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, req.Member)
	return sdk.EligibilityResponse{Eligible: true}, nil
}

// TestEnrollMemberWithProfile enrols a member whose profile has every field set, birth date
// included, and checks that the plugin is shown the profile exactly.
func TestEnrollMemberWithProfile(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	prog := &eligibilityRecorder{ticker: ticker{tick: func(sdk.TickRequest) sdk.TickResponse { return sdk.TickResponse{} }}}
	fx := enginetest.NewTick(t, bdb, "enrol", prog)
	str := func(s string) *string { return &s }
	born := time.Date(1990, 3, 15, 0, 0, 0, 0, time.UTC)
	m, _, err := members.NewStore(bdb, nil).Upsert(ctx, members.UpsertInput{ExternalRef: "profile-" + fx.Code,
		Name: str("Anna"), Email: str("anna@example.com"), Phone: str("+7 900 000-00-01"), BirthDate: &born,
		Region: str("Moscow"), Status: str("active"), Attributes: map[string]any{"plan": "Drive 5"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := fx.Engine.Enroll(ctx, m.ID, fx.Run.Campaign.ID, nil, "enrol-1")
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	if res.Enrollment == nil || res.Replayed {
		t.Fatalf("enrol: %+v", res)
	}
	if len(prog.seen) != 1 {
		t.Fatalf("plugin asked about %d members, want 1", len(prog.seen))
	}
	got := prog.seen[0]
	if got.ExternalRef != m.ExternalRef || got.Name != "Anna" || got.Email != "anna@example.com" || got.Phone != "+7 900 000-00-01" ||
		got.BirthDate != "1990-03-15" || got.Region != "Moscow" || got.Status != "active" || got.Attributes["plan"] != "Drive 5" {
		t.Fatalf("plugin saw member %+v", got)
	}
}
