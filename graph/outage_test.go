package graph_test

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/rewards"
)

// TestLookupsDuringAnOutage: with the database gone, a look-up by id fails with INTERNAL; it
// never answers null as if the object did not exist.
func TestLookupsDuringAnOutage(t *testing.T) {
	ctx := context.Background()
	bdb, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(testNow)
	log := hclog.NewNullLogger()
	host := pluginhost.New(bdb, log, clk.Now, nil, pluginhost.Options{})
	defer host.Close()
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	camps := campaigns.NewStore(bdb, clk.Now, host)
	bens := benefits.NewStore(bdb)
	eng := engine.New(bdb, led, mem, camps, bens, host, log, clk.Now, engine.Options{})
	svc := rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Campaigns: camps, Engine: eng, Plugins: host, Log: log, Now: clk.Now})
	r := &graph.Resolver{Ledger: led, MemberStore: mem, Host: host, CampaignStore: camps, Engine: eng, BenefitStore: bens,
		Rewards: svc, Log: log, Now: clk.Now}
	a := &api{t: t, h: asAdmin(graph.NewHandler(r, graph.HandlerOptions{}))}
	bdb.Close() // every statement from now on fails

	for _, typ := range []string{"Member", "Program", "Transaction", "Campaign", "Event", "Plugin", "Reward", "Redemption"} {
		t.Run(typ, func(t *testing.T) {
			a.t = t
			a.expect(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": gid(typ, 1)},
				`{"data":{"node":null},"errors":[{"message":"internal error","locations":[{"line":1,"column":19}],"path":["node"],"extensions":{"code":"INTERNAL"}}]}`)
		})
	}
	for name, q := range map[string]string{
		"member":      `{ member(id: "` + gid("Member", 1) + `") { id } }`,
		"program":     `{ program(code: "p1") { id } }`,
		"transaction": `{ transaction(id: "` + gid("Transaction", 1) + `") { id } }`,
		"campaign":    `{ campaign(code: "c1") { id } }`,
		"event":       `{ event(id: "` + gid("Event", 1) + `") { id } }`,
	} {
		t.Run(name, func(t *testing.T) {
			a.t = t
			a.expect(q, nil, `{"data":{"`+name+`":null},"errors":[{"message":"internal error","locations":[{"line":1,"column":3}],"path":["`+name+`"],"extensions":{"code":"INTERNAL"}}]}`)
		})
	}
}
