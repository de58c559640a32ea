package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/rewards"
)

// TestRewardsAvailableToTakesTheRememberedMember: rewards(filter: {availableTo}) filters by the
// member a root field of the same request read (here a copy that differs from the stored row,
// so that the test sees which one was used), and reads the member itself otherwise.
func TestRewardsAvailableToTakesTheRememberedMember(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	now := func() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) }
	led := ledger.New(bdb, now)
	mem := members.NewStore(bdb, now)
	svc := rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Now: now})
	r := &Resolver{Ledger: led, MemberStore: mem, Rewards: svc, Now: now}
	p, err := led.CreateProgram(ctx, fmt.Sprintf("remember-%d", time.Now().UnixNano()), "Remember", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, rewards.CreateInput{ProgramID: p.ID, Code: "kyiv-only", Title: "Kyiv only", Category: "test",
		Price: 1, Regions: []string{"Kyiv"}}); err != nil {
		t.Fatal(err)
	}
	moscow := "Moscow"
	m, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: fmt.Sprintf("remember-%d", time.Now().UnixNano()), Region: &moscow})
	if err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context) int {
		t.Helper()
		id := globalID(typeMember, m.ID)
		conn, err := (&queryResolver{r}).Rewards(ctx, &model.RewardFilter{Program: &p.Code, AvailableTo: &id}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(conn.Edges)
	}
	var l *Loaders
	r.WithLoaders(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		l = r.loaders(req.Context())
		if n := list(req.Context()); n != 0 {
			t.Errorf("nothing remembered: %d rewards available to a Moscow member, want 0", n)
		}
		kyiv := *m
		kyiv.Region = "Kyiv"
		l.remember(&kyiv)
		if n := list(req.Context()); n != 1 {
			t.Errorf("remembered in Kyiv: %d rewards available, want 1", n)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/graphql", nil))
	if l == nil || l.remembered(m.ID) == nil || l.remembered(m.ID+1) != nil {
		t.Errorf("remembered: %v", l)
	}
}
