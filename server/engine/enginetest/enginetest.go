// Package enginetest sets up engines for tests of scheduled hooks: a programme, an active
// campaign of a fake plugin answered by an in-process sdk.Program, and an engine on a manual
// clock. It is imported by tests only.
package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/hook"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// Host serves Prog for every plugin key and describes none.
type Host struct{ Prog sdk.Program }

// Program returns h.Prog as the core sees it (through the host's translation).
func (h Host) Program(pluginhost.Key) pluginhost.Program { return pluginhost.Adapt(h.Prog) }

// Entry reports every plugin as not registered.
func (h Host) Entry(context.Context, pluginhost.Key) (*pluginhost.Entry, error) {
	return nil, pluginhost.ErrNotFound
}

// Tick is what NewTick sets up.
type Tick struct {
	Ledger *ledger.Ledger
	Engine *engine.Engine
	// Run is the campaign's "close" hook, due 5 seconds before Now.
	Run hook.Run
	// Code is the programme's and campaign's code, unique in the test database.
	Code string
	// Now is the engine's clock: 29 April 2021 00:00:05 UTC.
	Now time.Time
}

var seq atomic.Int64

// NewTick creates in bdb a programme and an active campaign, both coded prefix plus a number
// unique to this process, of plugin fake@1.0.0 (registered with a non-existent path), and an
// engine whose plugin calls go to prog.
func NewTick(t testing.TB, bdb *db.DB, prefix string, prog sdk.Program) *Tick {
	t.Helper()
	ctx := context.Background()
	code := fmt.Sprintf("%s%d", prefix, seq.Add(1))
	now := time.Date(2021, 4, 29, 0, 0, 5, 0, time.UTC)
	clk := clock.NewManual(now)
	if _, err := db.PG(bdb).Exec(ctx, `INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ('fake', '1.0.0', '/nonexistent', repeat('0', 64), 1, now(), 'test') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	led := ledger.New(bdb, clk.Now)
	p, err := led.CreateProgram(ctx, code, prefix, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &campaigns.Campaign{Code: code, Name: prefix, ProgramID: p.ID, PluginName: "fake", PluginVersion: "1.0.0",
		Config: json.RawMessage(`{}`), TimeZone: "UTC", StartsAt: now.AddDate(0, -1, 0), Status: campaigns.Active, CreatedAt: now, UpdatedAt: now}
	if _, err := bdb.NewInsert().Model(c).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(bdb, led, members.NewStore(bdb, clk.Now), campaigns.NewStore(bdb, clk.Now, nil), benefits.NewStore(bdb),
		Host{prog}, hclog.NewNullLogger(), clk.Now, engine.Options{})
	return &Tick{Ledger: led, Engine: eng, Run: hook.Run{Campaign: c, Hook: "close", Due: now.Add(-5 * time.Second)},
		Code: code, Now: now}
}
