package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// countingPlugin credits each purchase with one point more than the purchases its state has counted
// for the member, and counts it: decided one after another on fresh state, a member's n
// purchases earn 1, 2, …, n points, each amount once.
type countingPlugin struct{ sdk.Base }

func (countingPlugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{EventTypes: []string{"purchase"}}, nil
}

func (countingPlugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	out := sdk.EvaluateResponse{Results: make([]sdk.EvaluateResult, len(req.Items))}
	for i, it := range req.Items {
		var n int64
		if len(it.Member.State) > 0 {
			if err := json.Unmarshal(it.Member.State, &n); err != nil {
				return sdk.EvaluateResponse{}, err
			}
		}
		st, err := sdk.StoreState(n + 1)
		if err != nil {
			return sdk.EvaluateResponse{}, err
		}
		out.Results[i].Effects = []sdk.Effect{sdk.Credit(n+1, "purchase"), st}
	}
	return out, nil
}

// routing serves prog for every plugin key and describes every plugin as evaluating purchases.
type routing struct{ prog sdk.Program }

func (h routing) Program(pluginhost.Key) pluginhost.Program { return pluginhost.Adapt(h.prog) }

func (routing) Entry(context.Context, pluginhost.Key) (*pluginhost.Entry, error) {
	return &pluginhost.Entry{Description: pluginhost.Description{EventTypes: []string{"purchase"}}}, nil
}

// TestGroupCommitKeepsAMembersDecisionsInOrder records purchases of one member from concurrent
// calls (two of 60 events, whose waves each go to the group commit, and 40 single-event calls
// merged by the coalescer), so that group commits hold decisions of that member from different
// calls taken on the same state: only the first of them may be applied, the others are stale and
// decided again. In the end the member's 160 purchases earned 1, 2, …, 160 points, each amount
// once, and the state counts 160.
func TestGroupCommitKeepsAMembersDecisionsInOrder(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	fx := enginetest.NewTick(t, bdb, "commit", countingPlugin{})
	var clockMu sync.Mutex
	at := fx.Now
	now := func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		return at
	}
	mem := members.NewStore(bdb, now)
	eng := engine.New(bdb, fx.Ledger, mem, campaigns.NewStore(bdb, now, nil), benefits.NewStore(bdb), routing{countingPlugin{}},
		hclog.NewNullLogger(), now, engine.Options{})
	ref := "counted-" + fx.Code
	m, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	purchase := func(id string) event.Input {
		return event.Input{Type: "purchase", MemberRef: ref, Source: "shop", ExternalID: id, OccurredAt: fx.Now.Add(-time.Hour)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 42)
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins := make([]event.Input, 60)
			for i := range ins {
				ins[i] = purchase(fmt.Sprintf("big%d-%d", c, i))
			}
			if _, err := eng.Record(ctx, ins); err != nil {
				errs <- err
			}
		}()
	}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := eng.Record(ctx, []event.Input{purchase(fmt.Sprintf("small-%d", i))}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Decisions found stale on a call's last evaluation wait for the worker; each pass is a
	// minute later, when every waiting event is due.
	for pass := 0; ; pass++ {
		clockMu.Lock()
		at = at.Add(time.Minute)
		clockMu.Unlock()
		var pending int
		if err := bdb.NewRaw("SELECT count(*) FROM events WHERE member_id = ? AND status = 'pending'", m.ID).Scan(ctx, &pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if pass == 20 {
			t.Fatalf("%d events still pending after %d worker passes", pending, pass)
		}
		if _, err := eng.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var points []int64
	if err := bdb.NewRaw("SELECT points FROM transactions WHERE member_id = ? ORDER BY points", m.ID).Scan(ctx, &points); err != nil {
		t.Fatal(err)
	}
	want := make([]int64, 160)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(points, want) {
		t.Fatalf("credits %v, want 1 to 160 once each", points)
	}
	st, err := eng.State(ctx, fx.Run.Campaign.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(st) != "160" {
		t.Fatalf("state %s, want 160", st)
	}
}
