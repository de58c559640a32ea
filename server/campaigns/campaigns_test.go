package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/pluginhost"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// acceptAll is the plugin side of configuration validation in these storage tests: it accepts
// every configuration except one carrying "bad".
type acceptAll struct{}

func (acceptAll) ValidateConfig(_ context.Context, _, _ string, config json.RawMessage) ([]pluginhost.FieldError, error) {
	var m map[string]any
	_ = json.Unmarshal(config, &m)
	if _, bad := m["bad"]; bad {
		return []pluginhost.FieldError{{Field: "bad", Code: "unsupported", Message: "bad is not a setting"}}, nil
	}
	return nil, nil
}

var seq int

func newCampaign(t *testing.T, store *campaigns.Store, programID int64, starts time.Time) *campaigns.Campaign {
	t.Helper()
	seq++
	c, err := store.Create(context.Background(), campaigns.CreateInput{Code: fmt.Sprintf("c%d", seq), Name: "Test",
		ProgramID: programID, PluginName: "fake", PluginVersion: "1.0.0", Config: json.RawMessage(`{}`),
		TimeZone: "Europe/Kyiv", StartsAt: starts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setup(t *testing.T) (*campaigns.Store, *clock.Manual, int64) {
	t.Helper()
	bdb := dbtest.DB(t)
	ctx := context.Background()
	if _, err := bdb.ExecContext(ctx, `INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ('fake', '1.0.0', '/nonexistent', repeat('0', 64), 1, now(), 'test') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2021, 4, 10, 12, 0, 0, 0, time.UTC))
	seq++
	p, err := ledger.New(bdb, clk.Now).CreateProgram(ctx, fmt.Sprintf("p%d", seq), "Test", "")
	if err != nil {
		t.Fatal(err)
	}
	return campaigns.NewStore(bdb, clk.Now, acceptAll{}), clk, p.ID
}

// TestTransitions walks every (from, to) pair of states: the legal ones succeed, every other
// is refused with ErrIllegalTransition and leaves the state as it was.
func TestTransitions(t *testing.T) {
	store, clk, program := setup(t)
	ctx := context.Background()
	legal := map[[2]campaigns.Status]bool{
		{campaigns.Draft, campaigns.Active}: true, {campaigns.Draft, campaigns.Scheduled}: true, {campaigns.Draft, campaigns.Ended}: true,
		{campaigns.Scheduled, campaigns.Paused}: true, {campaigns.Scheduled, campaigns.Ended}: true,
		{campaigns.Active, campaigns.Paused}: true, {campaigns.Active, campaigns.Ended}: true,
		{campaigns.Paused, campaigns.Active}: true, {campaigns.Paused, campaigns.Ended}: true,
	}
	// reach puts a fresh campaign into state s through legal moves.
	reach := func(s campaigns.Status) *campaigns.Campaign {
		starts := clk.Now().Add(-time.Hour)
		if s == campaigns.Scheduled {
			starts = clk.Now().Add(24 * time.Hour)
		}
		c := newCampaign(t, store, program, starts)
		path := map[campaigns.Status][]campaigns.Status{
			campaigns.Draft: nil, campaigns.Scheduled: {campaigns.Active}, campaigns.Active: {campaigns.Active},
			campaigns.Paused: {campaigns.Active, campaigns.Paused}, campaigns.Ended: {campaigns.Ended},
		}[s]
		for _, step := range path {
			var err error
			if c, err = store.Transition(ctx, c.ID, step); err != nil {
				t.Fatalf("reaching %s: %v", s, err)
			}
		}
		if c.Status != s {
			t.Fatalf("reached %s, want %s", c.Status, s)
		}
		return c
	}
	all := []campaigns.Status{campaigns.Draft, campaigns.Scheduled, campaigns.Active, campaigns.Paused, campaigns.Ended}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s_to_%s", from, to), func(t *testing.T) {
				c := reach(from)
				got, err := store.Transition(ctx, c.ID, to)
				if from == to || (from == campaigns.Scheduled && to == campaigns.Active) {
					// The same state again (activating a scheduled campaign before its start
					// included) changes nothing.
					if err != nil || got.Status != from {
						t.Fatalf("%s → %s: got %v, %v; want unchanged", from, to, got, err)
					}
					return
				}
				if legal[[2]campaigns.Status{from, to}] {
					if err != nil || got.Status != to {
						t.Fatalf("%s → %s: got %v, %v", from, to, got, err)
					}
					return
				}
				if !errors.Is(err, campaigns.ErrIllegalTransition) {
					t.Fatalf("%s → %s: error %v, want ErrIllegalTransition", from, to, err)
				}
				again, _ := store.Get(ctx, c.ID)
				if again.Status != from {
					t.Fatalf("%s → %s refused but the state became %s", from, to, again.Status)
				}
			})
		}
	}
	// Activating a campaign whose start is ahead makes it scheduled; a draft's direct move to
	// scheduled is that same activation.
	future := newCampaign(t, store, program, clk.Now().Add(time.Minute))
	got, err := store.Transition(ctx, future.ID, campaigns.Active)
	if err != nil || got.Status != campaigns.Scheduled {
		t.Fatalf("activation before the start: %v, %v", got, err)
	}
}

// TestLiveWindow checks the campaign period at its edges: the start instant is in, the end
// instant is out (the period is [startsAt, endsAt)), across the autumn DST change in Kyiv.
func TestLiveWindow(t *testing.T) {
	kyiv, _ := time.LoadLocation("Europe/Kyiv")
	// The campaign runs through 29 October 2023, the 25-hour day when Kyiv leaves summer time.
	starts := time.Date(2023, 10, 29, 0, 0, 0, 0, kyiv)
	ends := time.Date(2023, 10, 30, 0, 0, 0, 0, kyiv)
	c := &campaigns.Campaign{Status: campaigns.Active, StartsAt: starts, EndsAt: &ends}
	if got := ends.Sub(starts); got != 25*time.Hour {
		t.Fatalf("the DST day lasts %s, want 25h", got)
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{starts.Add(-time.Nanosecond), false},
		{starts, true},
		{time.Date(2023, 10, 29, 3, 30, 0, 0, kyiv), true}, // the repeated hour
		{time.Date(2023, 10, 29, 23, 59, 59, 0, kyiv), true},
		{ends, false},
	} {
		if got := c.Live(tc.at); got != tc.want {
			t.Errorf("Live(%s) = %v, want %v", tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
	paused := *c
	paused.Status = campaigns.Paused
	if paused.Live(starts.Add(time.Hour)) {
		t.Errorf("a paused campaign takes events")
	}
}

// TestConfigValidation: the plugin's field errors refuse a configuration.
func TestConfigValidation(t *testing.T) {
	store, clk, program := setup(t)
	c := newCampaign(t, store, program, clk.Now())
	_, err := store.UpdateConfig(context.Background(), c.ID, json.RawMessage(`{"bad": 1}`))
	var cfg *campaigns.ConfigError
	if !errors.As(err, &cfg) || len(cfg.Errors) != 1 || cfg.Errors[0].Field != "bad" {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := store.Create(context.Background(), campaigns.CreateInput{Code: "zone", Name: "x", ProgramID: program,
		PluginName: "fake", PluginVersion: "1.0.0", Config: json.RawMessage(`{}`), TimeZone: "Mars/Olympus", StartsAt: clk.Now()}); !errors.Is(err, campaigns.ErrInvalid) {
		t.Fatalf("unknown zone: %v", err)
	}
}
