package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/rewards"
)

// rwNow is the programme time of the rewards tests: Tuesday 10 March 2026, 11:00 in Kyiv.
var rwNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// quoterConfig: Gold members get 10% off, seminars are at most half payable with points, one
// exchange a month.
var quoterConfig = json.RawMessage(`{"tierDiscounts":{"Gold":10},"caps":{"seminar":50},"monthlyLimit":1}`)

// rwAPI is a GraphQL handler with the rewards service, a real plugin host running the quoter
// test plugin (e2e/plugins/quoter), the engine, and a fresh programme with a quoter campaign.
type rwAPI struct {
	t        *testing.T
	h        http.Handler
	replica  func() http.Handler // another core on the same database (its own rewards service)
	db       *db.DB
	led      *ledger.Ledger
	mem      *members.Store
	svc      *rewards.Service
	program  *ledger.Program
	campaign *campaigns.Campaign
}

var (
	quoterOnce sync.Once
	quoterHost *pluginhost.Host
	quoterErr  error
)

// sharedQuoterHost builds the quoter plugin once per test binary, registers it on the package
// database and returns the plugin host that runs it.
func sharedQuoterHost(t *testing.T, bdb *db.DB) *pluginhost.Host {
	t.Helper()
	quoterOnce.Do(func() {
		var path, sum string
		if path, sum, quoterErr = buildQuoter(); quoterErr != nil {
			return
		}
		quoterHost = pluginhost.New(bdb, hclog.NewNullLogger(), time.Now, nil, pluginhost.Options{})
		_, quoterErr = quoterHost.Register(context.Background(), pluginhost.RegisterInput{Name: "quoter", Version: "1.0.0",
			Path: path, SHA256: sum, By: "test"})
	})
	if quoterErr != nil {
		t.Fatal(quoterErr)
	}
	return quoterHost
}

// buildQuoter compiles the quoter into a file named after its checksum in the temporary
// directory, so concurrent test runs share one binary and nothing piles up.
func buildQuoter() (string, string, error) {
	dir, err := os.MkdirTemp("", "quoter-build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "quoter")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./e2e/plugins/quoter")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build quoter: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return "", "", err
	}
	h := sha256.Sum256(b)
	sum := hex.EncodeToString(h[:])
	final := filepath.Join(os.TempDir(), "promogate-quoter-"+sum[:16])
	if _, err := os.Stat(final); err != nil {
		if err := os.Rename(out, final); err != nil {
			return "", "", err
		}
	}
	return final, sum, nil
}

var rwSeq sync.Mutex
var rwN int

func newRewardsAPI(t *testing.T) *rwAPI {
	t.Helper()
	bdb := dbtest.DB(t)
	ctx := context.Background()
	clk := clock.NewManual(rwNow)
	host := sharedQuoterHost(t, bdb)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	camps := campaigns.NewStore(bdb, clk.Now, host)
	bens := benefits.NewStore(bdb)
	eng := engine.New(bdb, led, mem, camps, bens, host, hclog.NewNullLogger(), clk.Now, engine.Options{})
	svc := rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Campaigns: camps, Engine: eng, Plugins: host,
		Log: hclog.NewNullLogger(), Now: clk.Now})
	handler := func(svc *rewards.Service) http.Handler {
		r := &graph.Resolver{Ledger: led, MemberStore: mem, Host: host, CampaignStore: camps, Engine: eng, BenefitStore: bens,
			Rewards: svc, Log: hclog.NewNullLogger(), Now: clk.Now}
		principal := &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{auth.RoleAdmin}, KeyID: 1, KeyName: "test"}
		h := graph.NewHandler(r, graph.HandlerOptions{})
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			h.ServeHTTP(w, req.WithContext(auth.WithPrincipal(req.Context(), principal)))
		})
	}
	replica := func() http.Handler {
		return handler(rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Campaigns: camps, Engine: eng,
			Plugins: host, Log: hclog.NewNullLogger(), Now: clk.Now}))
	}
	rwSeq.Lock()
	rwN++
	n := rwN
	rwSeq.Unlock()
	p, err := led.CreateProgram(ctx, fmt.Sprintf("rw%d", n), "Rewards test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := camps.Create(ctx, campaigns.CreateInput{Code: fmt.Sprintf("rwq%d", n), Name: "Quoter", ProgramID: p.ID,
		PluginName: "quoter", PluginVersion: "1.0.0", Config: quoterConfig, TimeZone: "Europe/Kyiv",
		StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = camps.Transition(ctx, c.ID, campaigns.Active); err != nil {
		t.Fatal(err)
	}
	return &rwAPI{t: t, h: handler(svc), replica: replica, db: bdb, led: led, mem: mem, svc: svc, program: p, campaign: c}
}

// post sends a GraphQL request and returns the body.
func (a *rwAPI) post(query string, vars map[string]any) string {
	return postTo(a.h, query, vars)
}

func postTo(h http.Handler, query string, vars map[string]any) string {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.String()
}

// expect fails unless the response equals want as JSON.
func (a *rwAPI) expect(query string, vars map[string]any, want string) {
	a.t.Helper()
	got := rwCanonical(a.t, a.post(query, vars))
	if w := rwCanonical(a.t, want); got != w {
		a.t.Fatalf("query %s\nvars %v\n got: %s\nwant: %s", query, vars, got, w)
	}
}

// data returns the response's data, failing on errors.
func (a *rwAPI) data(query string, vars map[string]any) map[string]any {
	a.t.Helper()
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	raw := a.post(query, vars)
	if err := json.Unmarshal([]byte(raw), &resp); err != nil || len(resp.Errors) > 0 {
		a.t.Fatalf("query %s: %s", query, raw)
	}
	return resp.Data
}

func rwCanonical(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", doc, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func rwGID(typ string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", typ, id)))
}

// member creates a member with a profile.
func (a *rwAPI) member(ref, region string, attrs map[string]any) *members.Member {
	a.t.Helper()
	m, _, err := a.mem.Upsert(context.Background(), members.UpsertInput{ExternalRef: fmt.Sprintf("%s-%s", a.program.Code, ref),
		Region: &region, Attributes: attrs})
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

// credit gives a member points, expiring at exp (nil: never).
func (a *rwAPI) credit(m *members.Member, amount int64, exp *time.Time) {
	a.t.Helper()
	_, err := a.led.Credit(context.Background(), ledger.CreditInput{ProgramID: a.program.ID, MemberID: m.ID, Amount: amount,
		IdempotencyKey: fmt.Sprintf("credit-%d-%d-%d", m.ID, amount, time.Now().UnixNano()), ExpiresAt: exp})
	if err != nil {
		a.t.Fatal(err)
	}
}

// tier makes the member Gold (or another tier) in the programme until a year after rwNow.
func (a *rwAPI) tier(m *members.Member, tier string) {
	a.t.Helper()
	until := rwNow.AddDate(1, 0, 0)
	if err := benefits.SetTier(context.Background(), a.db, benefits.Target{MemberID: m.ID, ProgramID: a.program.ID,
		CampaignID: a.campaign.ID}, tier, &until, rwNow); err != nil {
		a.t.Fatal(err)
	}
}

// reward creates a reward in the programme.
func (a *rwAPI) reward(in rewards.CreateInput) *rewards.Reward {
	a.t.Helper()
	in.ProgramID = a.program.ID
	r, err := a.svc.Create(context.Background(), in)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

func (a *rwAPI) withCampaign() *int64 { id := a.campaign.ID; return &id }

func rwPtr[T any](v T) *T { return &v }

const redeemQ = `mutation($m: ID!, $r: [ID!]!, $k: String!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k) {
	replayed rejection { code message rewardId } rejections { code message rewardId }
	redemption { id status points listTotal priceTotal moneyDue idempotencyKey createdAt transaction { kind points }
		lines { line reward { code } points moneyDue code validFrom validUntil
			quote { listPrice price maxPointsPayable points moneyDue allowed reasons { code message } }
			benefit { key kind title code status validFrom validUntil campaign { code } } } } } }`

// redeem posts redeemRewards and returns the decoded result.
func (a *rwAPI) redeem(m *members.Member, key string, rs ...*rewards.Reward) map[string]any {
	a.t.Helper()
	return a.data(redeemQ, a.redeemVars(m, key, rs...))["redeemRewards"].(map[string]any)
}

func (a *rwAPI) redeemVars(m *members.Member, key string, rs ...*rewards.Reward) map[string]any {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = rwGID("Reward", r.ID)
	}
	return map[string]any{"m": rwGID("Member", m.ID), "r": ids, "k": key}
}

// balance returns the member's available points and next expiration.
func (a *rwAPI) balance(m *members.Member) string {
	a.t.Helper()
	d := a.data(`query($id: ID!, $p: String) { member(id: $id) { balances(program: $p) { available nextExpiration { amount at } } } }`,
		map[string]any{"id": rwGID("Member", m.ID), "p": a.program.Code})
	b, _ := json.Marshal(d["member"].(map[string]any)["balances"])
	return string(b)
}

func TestRewardRefIsTheGlobalID(t *testing.T) {
	if got, want := rewards.RewardRef(42), rwGID("Reward", 42); got != want {
		t.Fatalf("RewardRef(42) = %q, want the GraphQL id %q", got, want)
	}
}

// TestRewardCatalogue creates and updates rewards through the API and lists the catalogue with
// availableTo applying region, services, per-member limit and stock.
func TestRewardCatalogue(t *testing.T) {
	a := newRewardsAPI(t)
	const create = `mutation($in: CreateRewardInput!) { createReward(input: $in) { code title category price regions
		servicesRequired perMemberLimit validity stock codePool codesAvailable active attributes program { code } campaign { code } } }`
	a.expect(create, map[string]any{"in": map[string]any{"program": a.program.Code, "code": "antivirus-kaspersky",
		"title": "Kaspersky Internet Security", "category": "internet", "price": 600, "servicesRequired": []string{"internet"},
		"perMemberLimit": 1, "validity": "months:2", "campaign": rwGID("Campaign", a.campaign.ID),
		"attributes": map[string]any{"service": "internet"}}},
		fmt.Sprintf(`{"data":{"createReward":{"code":"antivirus-kaspersky","title":"Kaspersky Internet Security","category":"internet",
		"price":600,"regions":[],"servicesRequired":["internet"],"perMemberLimit":1,"validity":"months:2","stock":null,
		"codePool":false,"codesAvailable":0,"active":true,"attributes":{"service":"internet"},"program":{"code":%q},
		"campaign":{"code":%q}}}}`, a.program.Code, a.campaign.Code))

	const createCode = `mutation($in: CreateRewardInput!) { createReward(input: $in) { code } }`
	col := strings.Index(createCode, "createReward(") + 1
	a.expect(createCode,
		map[string]any{"in": map[string]any{"program": a.program.Code, "code": "antivirus-kaspersky", "title": "Again",
			"category": "internet", "price": 1}},
		fmt.Sprintf(`{"errors":[{"message":"reward code already exists in the programme","path":["createReward"],
		"locations":[{"line":1,"column":%d}],"extensions":{"code":"ALREADY_EXISTS"}}],"data":null}`, col))
	a.expect(createCode,
		map[string]any{"in": map[string]any{"program": a.program.Code, "code": "film", "title": "Film", "category": "tv",
			"price": 800, "validity": "weeks:2"}},
		fmt.Sprintf(`{"errors":[{"message":"invalid reward input: validity \"weeks:2\" is not none, hours:N (1..8760), months:N (1..120) or calendar_month",
		"path":["createReward"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"INVALID_INPUT"}}],"data":null}`, col))

	film := a.reward(rewards.CreateInput{Code: "film", Title: "Film", Category: "tv", Price: 800, Validity: "hours:48",
		ServicesRequired: []string{"tv"}})
	const update = `mutation($id: ID!, $in: UpdateRewardInput!) { updateReward(id: $id, input: $in) { code price regions stock validity } }`
	a.expect(update, map[string]any{"id": rwGID("Reward", film.ID), "in": map[string]any{"stock": 2, "regions": []string{"Moscow", "moscow", "Tver"}}},
		`{"data":{"updateReward":{"code":"film","price":800,"regions":["Moscow","Tver"],"stock":2,"validity":"hours:48"}}}`)
	a.expect(update, map[string]any{"id": rwGID("Reward", film.ID), "in": map[string]any{"addStock": -1, "price": 750}},
		`{"data":{"updateReward":{"code":"film","price":750,"regions":["Moscow","Tver"],"stock":1,"validity":"hours:48"}}}`)
	a.expect(update, map[string]any{"id": rwGID("Reward", film.ID), "in": map[string]any{"addStock": -2}},
		fmt.Sprintf(`{"errors":[{"message":"invalid reward input: addStock: -2 would leave -1 units","path":["updateReward"],
		"locations":[{"line":1,"column":%d}],"extensions":{"code":"INVALID_INPUT"}}],"data":null}`,
			strings.Index(update, "updateReward(")+1))

	a.reward(rewards.CreateInput{Code: "sold-out", Title: "Sold out", Category: "partner", Price: 10, Stock: rwPtr[int64](0)})
	pool := a.reward(rewards.CreateInput{Code: "ebook", Title: "E-book", Category: "partner", Price: 10, CodePool: true})
	a.reward(rewards.CreateInput{Code: "off", Title: "Withdrawn", Category: "partner", Price: 10, Active: rwPtr(false)})
	a.expect(`mutation($id: ID!, $c: [String!]!) { importRewardCodes(rewardId: $id, codes: $c) { imported duplicates reward { code codesAvailable } } }`,
		map[string]any{"id": rwGID("Reward", pool.ID), "c": []string{a.program.Code + "-A1", a.program.Code + "-a1", " " + a.program.Code + "-B2 "}},
		fmt.Sprintf(`{"data":{"importRewardCodes":{"imported":2,"duplicates":["%s-a1"],"reward":{"code":"ebook","codesAvailable":2}}}}`, a.program.Code))

	moscow := a.member("moscow", "moscow", map[string]any{"services": []string{"internet", "tv"}})
	tver := a.member("tver", "Tver", map[string]any{"services": []string{"phone"}})
	kyiv := a.member("kyiv", "Kyiv", map[string]any{"services": []string{"internet"}})
	const list = `query($f: RewardFilter, $first: Int, $after: String) { rewards(filter: $f, first: $first, after: $after) {
		edges { node { code } } pageInfo { hasNextPage } } }`
	codes := func(f map[string]any) string {
		d := a.data(list, map[string]any{"f": f, "first": 100})
		var out []string
		for _, e := range d["rewards"].(map[string]any)["edges"].([]any) {
			out = append(out, e.(map[string]any)["node"].(map[string]any)["code"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name   string
		filter map[string]any
		want   string
	}{
		{"whole catalogue", map[string]any{"program": a.program.Code}, "antivirus-kaspersky,film,sold-out,ebook,off"},
		{"inactive", map[string]any{"program": a.program.Code, "active": false}, "off"},
		{"category", map[string]any{"program": a.program.Code, "category": "partner"}, "sold-out,ebook,off"},
		{"region Tver (case-insensitive)", map[string]any{"program": a.program.Code, "region": "tver"}, "antivirus-kaspersky,film,sold-out,ebook,off"},
		{"region Kyiv", map[string]any{"program": a.program.Code, "region": "Kyiv"}, "antivirus-kaspersky,sold-out,ebook,off"},
		{"available to a Moscow member with internet and tv", map[string]any{"program": a.program.Code, "availableTo": rwGID("Member", moscow.ID)},
			"antivirus-kaspersky,film,ebook"},
		{"available to a Tver member with phone only", map[string]any{"program": a.program.Code, "availableTo": rwGID("Member", tver.ID)}, "ebook"},
		{"available to a Kyiv member with internet", map[string]any{"program": a.program.Code, "availableTo": rwGID("Member", kyiv.ID)},
			"antivirus-kaspersky,ebook"},
	} {
		if got := codes(tc.filter); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}

	// The per-member limit and the last unit of stock: once redeemed, gone from availableTo.
	a.credit(moscow, 5000, nil)
	all, _, err := a.svc.List(context.Background(), rewards.Filter{ProgramID: a.program.ID}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	res := a.redeem(moscow, "catalogue-1", &all[0], film)
	if res["rejection"] != nil {
		t.Fatalf("order refused: %v", res)
	}
	if got := codes(map[string]any{"program": a.program.Code, "availableTo": rwGID("Member", moscow.ID)}); got != "ebook" {
		t.Errorf("after redeeming the once-only antivirus and the last film: got %s, want ebook", got)
	}

	// Relay pagination.
	d := a.data(list, map[string]any{"f": map[string]any{"program": a.program.Code}, "first": 2})
	if got := rwCanonical(t, rwJSON(d)); got != `{"rewards":{"edges":[{"node":{"code":"antivirus-kaspersky"}},{"node":{"code":"film"}}],"pageInfo":{"hasNextPage":true}}}` {
		t.Errorf("first page: %s", got)
	}
	a.expect(`query($id: ID!) { reward(id: $id) { code } }`, map[string]any{"id": rwGID("Reward", film.ID)}, `{"data":{"reward":{"code":"film"}}}`)
	a.expect(`query($id: ID!) { reward(id: $id) { code } }`, map[string]any{"id": rwGID("Reward", 1<<40)}, `{"data":{"reward":null}}`)
}

func rwJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRewardQuote: the status discount and the 50% cap, from the quoter plugin through the real
// plugin host.
func TestRewardQuote(t *testing.T) {
	a := newRewardsAPI(t)
	gold := a.member("gold", "Kyiv", map[string]any{"services": []string{"tv"}})
	a.tier(gold, "Gold")
	plain := a.member("plain", "Kyiv", map[string]any{"services": []string{"tv"}})
	film := a.reward(rewards.CreateInput{Code: "film", Title: "Film", Category: "tv", Price: 805, Validity: "hours:48",
		CampaignID: a.withCampaign(), ServicesRequired: []string{"tv"}})
	seminar := a.reward(rewards.CreateInput{Code: "seminar", Title: "Seminar", Category: "seminar", Price: 3000, CampaignID: a.withCampaign()})
	listed := a.reward(rewards.CreateInput{Code: "listed", Title: "Listed", Category: "seminar", Price: 3000})
	const q = `query($m: ID!, $r: ID!) { member(id: $m) { rewardQuote(rewardId: $r) {
		reward { code } listPrice price maxPointsPayable points moneyDue allowed reasons { code message } } } }`
	for _, tc := range []struct {
		name   string
		member *members.Member
		reward *rewards.Reward
		want   string
	}{
		{"Gold: 10% off, rounded half up", gold, film,
			`{"reward":{"code":"film"},"listPrice":805,"price":725,"maxPointsPayable":null,"points":725,"moneyDue":0,"allowed":true,"reasons":[]}`},
		{"no status: the listed price", plain, film,
			`{"reward":{"code":"film"},"listPrice":805,"price":805,"maxPointsPayable":null,"points":805,"moneyDue":0,"allowed":true,"reasons":[]}`},
		{"Gold seminar: discounted, half payable with points", gold, seminar,
			`{"reward":{"code":"seminar"},"listPrice":3000,"price":2700,"maxPointsPayable":1350,"points":1350,"moneyDue":1350,"allowed":true,"reasons":[]}`},
		{"without a campaign: the listed price, no cap", gold, listed,
			`{"reward":{"code":"listed"},"listPrice":3000,"price":3000,"maxPointsPayable":null,"points":3000,"moneyDue":0,"allowed":true,"reasons":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			a.expect(q, map[string]any{"m": rwGID("Member", tc.member.ID), "r": rwGID("Reward", tc.reward.ID)},
				`{"data":{"member":{"rewardQuote":`+tc.want+`}}}`)
		})
	}
}

// TestRedeemRewards places an order of three rewards (a discounted film, a capped seminar, a
// partner promo code), checks the points, the money due, the lots consumed oldest-expiry-first,
// the benefits and their validity, the reward.redeemed event reaching the plugin (one exchange
// a month), the replay, the idempotency conflict, and the operator reversal.
func TestRedeemRewards(t *testing.T) {
	a := newRewardsAPI(t)
	m := a.member("anna", "Kyiv", map[string]any{"services": []string{"tv", "internet"}})
	a.tier(m, "Gold")
	soon, later := rwNow.AddDate(0, 0, 30), rwNow.AddDate(1, 0, 0)
	a.credit(m, 5000, &later)
	a.credit(m, 1000, &soon)
	a.credit(m, 500, nil)
	film := a.reward(rewards.CreateInput{Code: "film", Title: "Film rental", Category: "tv", Price: 800, Validity: "hours:48",
		CampaignID: a.withCampaign(), Stock: rwPtr[int64](3)})
	seminar := a.reward(rewards.CreateInput{Code: "seminar", Title: "Seminar", Category: "seminar", Price: 3000,
		Validity: "calendar_month", CampaignID: a.withCampaign()})
	book := a.reward(rewards.CreateInput{Code: "ebook", Title: "E-book", Category: "partner", Price: 300, CodePool: true})
	code := strings.ToUpper(a.program.Code) + "-LITRES-1"
	if _, err := a.svc.ImportCodes(context.Background(), book.ID, []string{code}); err != nil {
		t.Fatal(err)
	}

	res := a.redeem(m, "order-1", film, seminar, book)
	red := res["redemption"].(map[string]any)
	oid := red["id"].(string)
	var orderID int64
	raw, _ := base64.RawURLEncoding.DecodeString(oid)
	if _, err := fmt.Sscanf(string(raw), "Redemption:%d", &orderID); err != nil {
		t.Fatalf("redemption id %q: %v", oid, err)
	}
	want := fmt.Sprintf(`{"replayed":false,"rejection":null,"rejections":[],"redemption":{"id":%q,"status":"COMPLETED",
		"points":2370,"listTotal":4100,"priceTotal":3720,"moneyDue":1350,"idempotencyKey":"order-1","createdAt":"2026-03-10T09:00:00Z",
		"transaction":{"kind":"REDEEM","points":-2370},
		"lines":[
		 {"line":1,"reward":{"code":"film"},"points":720,"moneyDue":0,"code":null,"validFrom":"2026-03-10T09:00:00Z","validUntil":"2026-03-12T09:00:00Z",
		  "quote":{"listPrice":800,"price":720,"maxPointsPayable":null,"points":720,"moneyDue":0,"allowed":true,"reasons":[]},
		  "benefit":{"key":"order-%[2]d-1","kind":"REWARD","title":"Film rental","code":null,"status":"ACTIVE",
		   "validFrom":"2026-03-10T09:00:00Z","validUntil":"2026-03-12T09:00:00Z","campaign":{"code":%[3]q}}},
		 {"line":2,"reward":{"code":"seminar"},"points":1350,"moneyDue":1350,"code":null,"validFrom":"2026-02-28T22:00:00Z","validUntil":"2026-03-31T20:59:59Z",
		  "quote":{"listPrice":3000,"price":2700,"maxPointsPayable":1350,"points":1350,"moneyDue":1350,"allowed":true,"reasons":[]},
		  "benefit":{"key":"order-%[2]d-2","kind":"REWARD","title":"Seminar","code":null,"status":"ACTIVE",
		   "validFrom":"2026-02-28T22:00:00Z","validUntil":"2026-03-31T20:59:59Z","campaign":{"code":%[3]q}}},
		 {"line":3,"reward":{"code":"ebook"},"points":300,"moneyDue":0,"code":%[4]q,"validFrom":"2026-03-10T09:00:00Z","validUntil":null,
		  "quote":{"listPrice":300,"price":300,"maxPointsPayable":null,"points":300,"moneyDue":0,"allowed":true,"reasons":[]},
		  "benefit":null}]}}`, oid, orderID, a.campaign.Code, code)
	if got := rwCanonical(t, rwJSON(res)); got != rwCanonical(t, want) {
		t.Fatalf("redeemRewards:\n got: %s\nwant: %s", got, rwCanonical(t, want))
	}
	// 6500 − 2370: the lot expiring in 30 days (1000) went first, then 1370 of the one expiring
	// in a year; the points that never expire are untouched.
	if got, want := a.balance(m), fmt.Sprintf(`[{"available":4130,"nextExpiration":{"amount":3630,"at":%q}}]`, later.Format(time.RFC3339)); got != want {
		t.Fatalf("balance after the order: got %s, want %s", got, want)
	}

	// The same key and rewards: the same order, replayed.
	again := a.redeem(m, "order-1", film, seminar, book)
	if again["replayed"] != true || again["redemption"].(map[string]any)["id"] != oid {
		t.Fatalf("replay: %s", rwJSON(again))
	}
	const conflict = `mutation($m: ID!, $r: [ID!]!, $k: String!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k) { replayed } }`
	a.expect(conflict, a.redeemVars(m, "order-1", film), fmt.Sprintf(`{"errors":[{"message":"redemption: idempotency key reused with different input",
		"path":["redeemRewards"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"IDEMPOTENCY_CONFLICT"}}],"data":null}`,
		strings.Index(conflict, "redeemRewards(")+1))

	// The plugin saw reward.redeemed (month 2026-03 in Kyiv) and allows no second exchange.
	a.expect(redeemQ, a.redeemVars(m, "order-2", film), fmt.Sprintf(`{"data":{"redeemRewards":{"replayed":false,
		"rejection":{"code":"FREQUENCY_LIMIT","message":"points can be exchanged 1 time(s) a month and 2026-03's exchange was made (order-%[1]d)","rewardId":%[2]q},
		"rejections":[{"code":"FREQUENCY_LIMIT","message":"points can be exchanged 1 time(s) a month and 2026-03's exchange was made (order-%[1]d)","rewardId":%[2]q}],
		"redemption":null}}}`, orderID, rwGID("Reward", film.ID)))

	d := a.data(`query($id: ID!) { member(id: $id) { redemptions { edges { node { id lines { line } } } } } }`,
		map[string]any{"id": rwGID("Member", m.ID)})
	if got := rwJSON(d); got != fmt.Sprintf(`{"member":{"redemptions":{"edges":[{"node":{"id":%q,"lines":[{"line":1},{"line":2},{"line":3}]}}]}}}`, oid) {
		t.Fatalf("Member.redemptions: %s", got)
	}

	// The operator reversal: points back to the same lots, benefits ended, stock restored,
	// audited on the order.
	const reverse = `mutation($id: ID!, $why: String!) { reverseRedemption(orderId: $id, reason: $why) {
		status points reversal { at by reason transaction { kind points } }
		lines { line benefit { status endReason } } } }`
	a.expect(reverse, map[string]any{"id": oid, "why": "ordered by mistake"}, `{"data":{"reverseRedemption":{"status":"REVERSED","points":2370,
		"reversal":{"at":"2026-03-10T09:00:00Z","by":"apikey:1:test","reason":"ordered by mistake","transaction":{"kind":"REVERSE","points":2370}},
		"lines":[{"line":1,"benefit":{"status":"ENDED","endReason":"cancelled"}},{"line":2,"benefit":{"status":"ENDED","endReason":"cancelled"}},
		{"line":3,"benefit":null}]}}}`)
	if got, want := a.balance(m), fmt.Sprintf(`[{"available":6500,"nextExpiration":{"amount":1000,"at":%q}}]`, soon.Format(time.RFC3339)); got != want {
		t.Fatalf("balance after the reversal: got %s, want %s", got, want)
	}
	if r, _ := a.svc.Get(context.Background(), film.ID); r == nil || r.Stock == nil || *r.Stock != 3 {
		t.Fatalf("film stock after the reversal: %+v, want 3", r)
	}
	a.expect(reverse, map[string]any{"id": oid, "why": "twice"}, fmt.Sprintf(`{"errors":[{"message":"redemption already reversed",
		"path":["reverseRedemption"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"ALREADY_REVERSED"}}],"data":null}`,
		strings.Index(reverse, "reverseRedemption(")+1))
	a.expect(reverse, map[string]any{"id": rwGID("Redemption", 1<<40), "why": "none"}, fmt.Sprintf(`{"errors":[{"message":"redemption not found",
		"path":["reverseRedemption"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"REDEMPTION_NOT_FOUND"}}],"data":null}`,
		strings.Index(reverse, "reverseRedemption(")+1))
}

// TestRedeemWithFewerPoints pays part of the price with points (seed 001 §4.4): a member with
// 1,000 bonuses orders a 3,000 seminar (at most 1,500 payable with points) with points 1,000
// and owes 2,000; the points spread over lines in line order; points 0 takes no debit; the
// replay and the conflict; and every bound of points refused with POINTS_OUT_OF_RANGE, writing
// nothing.
func TestRedeemWithFewerPoints(t *testing.T) {
	a := newRewardsAPI(t)
	seminar := a.reward(rewards.CreateInput{Code: "seminar", Title: "Seminar", Category: "seminar", Price: 3000, CampaignID: a.withCampaign()})
	film := a.reward(rewards.CreateInput{Code: "film", Title: "Film rental", Category: "tv", Price: 800, CampaignID: a.withCampaign()})
	const q = `mutation($m: ID!, $r: [ID!]!, $k: String!, $p: Int) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k, points: $p) {
		replayed rejection { code message }
		redemption { points priceTotal moneyDue transaction { kind points }
			lines { line points moneyDue quote { price maxPointsPayable points moneyDue } benefit { attributes } } } } }`
	vars := func(m *members.Member, key string, points any, rs ...*rewards.Reward) map[string]any {
		v := a.redeemVars(m, key, rs...)
		v["p"] = points
		return v
	}
	// attrs is the attributes of the benefit of an order's line for reward r, paid with points.
	attrs := func(order string, r *rewards.Reward, points, due int64) string {
		return fmt.Sprintf(`{"category":%q,"month":"2026-03","moneyDue":%d,"orderId":%q,"points":%d,"rewardCode":%q,"rewardId":%q,"validity":"none"}`,
			r.Category, due, order, points, r.Code, rwGID("Reward", r.ID))
	}
	orderOf := func(m *members.Member) string {
		d := a.data(`query($id: ID!) { member(id: $id) { redemptions { edges { node { id } } } } }`, map[string]any{"id": rwGID("Member", m.ID)})
		edges := d["member"].(map[string]any)["redemptions"].(map[string]any)["edges"].([]any)
		if len(edges) != 1 {
			t.Fatalf("member %s has %d orders, want 1", m.ExternalRef, len(edges))
		}
		raw, _ := base64.RawURLEncoding.DecodeString(edges[0].(map[string]any)["node"].(map[string]any)["id"].(string))
		return "order-" + strings.TrimPrefix(string(raw), "Redemption:")
	}

	anna := a.member("anna", "Kyiv", nil)
	a.credit(anna, 1000, nil)
	// Without points the order takes the cap, which the balance does not cover.
	a.expect(q, vars(anna, "all", nil, seminar), `{"data":{"redeemRewards":{"replayed":false,
		"rejection":{"code":"INSUFFICIENT_POINTS","message":"the order takes 1500 points and the member has 1000 available"},"redemption":null}}}`)
	got := a.post(q, vars(anna, "part", 1000, seminar))
	want := fmt.Sprintf(`{"data":{"redeemRewards":{"replayed":false,"rejection":null,"redemption":{"points":1000,"priceTotal":3000,"moneyDue":2000,
		"transaction":{"kind":"REDEEM","points":-1000},
		"lines":[{"line":1,"points":1000,"moneyDue":2000,"quote":{"price":3000,"maxPointsPayable":1500,"points":1500,"moneyDue":1500},
			"benefit":{"attributes":%s}}]}}}}`, attrs(orderOf(anna), seminar, 1000, 2000))
	if rwCanonical(t, got) != rwCanonical(t, want) {
		t.Fatalf("points 1000:\n got: %s\nwant: %s", rwCanonical(t, got), rwCanonical(t, want))
	}
	if b := a.balance(anna); b != `[{"available":0,"nextExpiration":null}]` {
		t.Fatalf("balance after paying 1000: %s", b)
	}
	// The same key and points: the same order, read back as stored.
	a.expect(q, vars(anna, "part", 1000, seminar), strings.Replace(want, `"replayed":false`, `"replayed":true`, 1))
	col := strings.Index(q, "redeemRewards(") + 1
	conflict := fmt.Sprintf(`{"errors":[{"message":"redemption: idempotency key reused with different input","path":["redeemRewards"],
		"locations":[{"line":1,"column":%d}],"extensions":{"code":"IDEMPOTENCY_CONFLICT"}}],"data":null}`, col)
	a.expect(q, vars(anna, "part", 900, seminar), conflict)
	a.expect(q, vars(anna, "part", nil, seminar), conflict)

	// Two lines: the points pay the first line up to its quoted points, then the next.
	boris := a.member("boris", "Kyiv", nil)
	a.credit(boris, 5000, nil)
	got = a.post(q, vars(boris, "two", 1000, film, seminar))
	order := orderOf(boris)
	want = fmt.Sprintf(`{"data":{"redeemRewards":{"replayed":false,"rejection":null,"redemption":{"points":1000,"priceTotal":3800,"moneyDue":2800,
		"transaction":{"kind":"REDEEM","points":-1000},
		"lines":[{"line":1,"points":800,"moneyDue":0,"quote":{"price":800,"maxPointsPayable":null,"points":800,"moneyDue":0},"benefit":{"attributes":%s}},
			{"line":2,"points":200,"moneyDue":2800,"quote":{"price":3000,"maxPointsPayable":1500,"points":1500,"moneyDue":1500},"benefit":{"attributes":%s}}]}}}}`,
		attrs(order, film, 800, 0), attrs(order, seminar, 200, 2800))
	if rwCanonical(t, got) != rwCanonical(t, want) {
		t.Fatalf("points 1000 over two lines:\n got: %s\nwant: %s", rwCanonical(t, got), rwCanonical(t, want))
	}

	// Points 0: no debit, all of it money due.
	chen := a.member("chen", "Kyiv", nil)
	a.credit(chen, 100, nil)
	got = a.post(q, vars(chen, "none", 0, seminar))
	want = fmt.Sprintf(`{"data":{"redeemRewards":{"replayed":false,"rejection":null,"redemption":{"points":0,
		"priceTotal":3000,"moneyDue":3000,"transaction":null,
		"lines":[{"line":1,"points":0,"moneyDue":3000,"quote":{"price":3000,"maxPointsPayable":1500,"points":1500,"moneyDue":1500},
			"benefit":{"attributes":%s}}]}}}}`, attrs(orderOf(chen), seminar, 0, 3000))
	if rwCanonical(t, got) != rwCanonical(t, want) {
		t.Fatalf("points 0:\n got: %s\nwant: %s", rwCanonical(t, got), rwCanonical(t, want))
	}
	if b := a.balance(chen); b != `[{"available":100,"nextExpiration":null}]` {
		t.Fatalf("balance after paying 0: %s", b)
	}

	// Out of bounds: a named error, nothing written.
	dana := a.member("dana", "Kyiv", nil)
	a.credit(dana, 1200, nil)
	for _, tc := range []struct {
		points  int64
		message string
	}{
		{-1, "points out of range: points must be 0 to 1000000000000, not -1"},
		{1501, "points out of range: points 1501 is more than the 1500 points this order may be paid with (each reward's price, or the programme's cap on points when lower)"},
		{1300, "points out of range: points 1300 is more than the member's 1200 available points"},
	} {
		a.expect(q, vars(dana, fmt.Sprintf("bad-%d", tc.points), tc.points, seminar), fmt.Sprintf(`{"errors":[{"message":%q,"path":["redeemRewards"],
			"locations":[{"line":1,"column":%d}],"extensions":{"code":"POINTS_OUT_OF_RANGE"}}],"data":null}`, tc.message, col))
	}
	if b := a.balance(dana); b != `[{"available":1200,"nextExpiration":null}]` {
		t.Fatalf("balance after the refused orders: %s", b)
	}
	a.expect(`query($id: ID!) { member(id: $id) { redemptions { edges { node { id } } } } }`, map[string]any{"id": rwGID("Member", dana.ID)},
		`{"data":{"member":{"redemptions":{"edges":[]}}}}`)
}

// TestRewardKindForbidden: a programme refuses reward kinds it forbids (seed 001 §4.1: bonuses
// are never money). The quoter forbids cash, so a cash reward cannot be bound to its campaign,
// on creation or update, nor a bound reward become cash; one bound before (written directly, as
// if the plugin forbade cash only later) is quoted not allowed and its order refused.
func TestRewardKindForbidden(t *testing.T) {
	a := newRewardsAPI(t)
	const create = `mutation($in: CreateRewardInput!) { createReward(input: $in) { code category campaign { code } } }`
	const update = `mutation($id: ID!, $in: UpdateRewardInput!) { updateReward(id: $id, input: $in) { code category campaign { code } } }`
	why := fmt.Sprintf("reward kind forbidden: category: the programme of campaign %s (quoter@1.0.0) forbids rewards of category cash", a.campaign.Code)
	refused := func(q, field string) string {
		return fmt.Sprintf(`{"errors":[{"message":%q,"path":[%q],"locations":[{"line":1,"column":%d}],
			"extensions":{"code":"REWARD_KIND_FORBIDDEN"}}],"data":null}`, why, field, strings.Index(q, field+"(")+1)
	}
	campaign := rwGID("Campaign", a.campaign.ID)
	a.expect(create, map[string]any{"in": map[string]any{"program": a.program.Code, "code": "cashback", "title": "1,000 roubles",
		"category": "cash", "price": 1000, "campaign": campaign}}, refused(create, "createReward"))

	cash := a.reward(rewards.CreateInput{Code: "cash", Title: "1,000 roubles", Category: "cash", Price: 1000})
	a.expect(update, map[string]any{"id": rwGID("Reward", cash.ID), "in": map[string]any{"campaign": campaign}}, refused(update, "updateReward"))
	tv := a.reward(rewards.CreateInput{Code: "tv", Title: "TV package", Category: "tv", Price: 800, CampaignID: a.withCampaign()})
	a.expect(update, map[string]any{"id": rwGID("Reward", tv.ID), "in": map[string]any{"category": "cash"}}, refused(update, "updateReward"))
	// Nothing was written; without the campaign a cash reward is the catalogue's own business.
	a.expect(`query($a: ID!, $b: ID!) { a: reward(id: $a) { category campaign { code } } b: reward(id: $b) { category campaign { code } } }`,
		map[string]any{"a": rwGID("Reward", cash.ID), "b": rwGID("Reward", tv.ID)}, fmt.Sprintf(
			`{"data":{"a":{"category":"cash","campaign":null},"b":{"category":"tv","campaign":{"code":%q}}}}`, a.campaign.Code))

	if _, err := a.db.NewRaw(`UPDATE rewards SET campaign_id = ? WHERE id = ?`, a.campaign.ID, cash.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := a.member("anna", "Kyiv", nil)
	a.credit(m, 5000, nil)
	a.expect(`query($m: ID!, $r: ID!) { member(id: $m) { rewardQuote(rewardId: $r) { price maxPointsPayable points allowed reasons { code message } } } }`,
		map[string]any{"m": rwGID("Member", m.ID), "r": rwGID("Reward", cash.ID)}, fmt.Sprintf(
			`{"data":{"member":{"rewardQuote":{"price":1000,"maxPointsPayable":null,"points":1000,"allowed":false,
			"reasons":[{"code":"REWARD_KIND_FORBIDDEN","message":%q}]}}}}`, strings.TrimPrefix(why, "reward kind forbidden: category: ")))
	rej := fmt.Sprintf(`{"code":"REWARD_KIND_FORBIDDEN","message":%q,"rewardId":%q}`, strings.TrimPrefix(why, "reward kind forbidden: category: "),
		rwGID("Reward", cash.ID))
	a.expect(redeemQ, a.redeemVars(m, "cash-1", cash),
		`{"data":{"redeemRewards":{"replayed":false,"rejection":`+rej+`,"rejections":[`+rej+`],"redemption":null}}}`)
	if got := a.balance(m); got != `[{"available":5000,"nextExpiration":null}]` {
		t.Fatalf("balance after the refused order: %s", got)
	}
}

// TestRedeemRejections: one refused order per rejection code, through GraphQL, exact JSON.
func TestRedeemRejections(t *testing.T) {
	a := newRewardsAPI(t)
	camp := a.withCampaign()
	for _, tc := range []struct {
		name    string
		code    string
		attrs   map[string]any
		region  string
		points  int64
		reward  rewards.CreateInput
		before  bool // redeem once successfully first
		message string
		order   bool // the rejection concerns the order (rewardId null)
	}{
		{name: "insufficient points", code: "INSUFFICIENT_POINTS", points: 100,
			reward:  rewards.CreateInput{Code: "tv-pack", Title: "TV package", Category: "tv", Price: 800},
			message: "the order takes 800 points and the member has 100 available", order: true},
		{name: "already redeemed", code: "ALREADY_REDEEMED", points: 2000,
			reward: rewards.CreateInput{Code: "antivirus", Title: "Antivirus", Category: "internet", Price: 500, PerMemberLimit: 1},
			before: true, message: "antivirus can be redeemed once per member and was already redeemed"},
		{name: "frequency limit", code: "FREQUENCY_LIMIT", points: 2000, attrs: map[string]any{"frequencyLimited": true},
			reward:  rewards.CreateInput{Code: "minutes", Title: "Minutes", Category: "phone", Price: 370, CampaignID: camp},
			message: "the member may not exchange points now"},
		{name: "outstanding debt", code: "OUTSTANDING_DEBT", points: 2000, attrs: map[string]any{"debt": 250},
			reward:  rewards.CreateInput{Code: "quota", Title: "File quota", Category: "tv", Price: 300, CampaignID: camp},
			message: "there is an outstanding debt of 250 on the account"},
		{name: "not available in the region", code: "NOT_AVAILABLE", points: 2000, region: "Tver",
			reward:  rewards.CreateInput{Code: "match-futbol", Title: "Match! Futbol", Category: "tv", Price: 640, Regions: []string{"Moscow"}},
			message: "match-futbol is not offered in region Tver (only in Moscow)"},
		{name: "out of stock", code: "OUT_OF_STOCK", points: 2000,
			reward:  rewards.CreateInput{Code: "headphones", Title: "Headphones", Category: "shop", Price: 900, Stock: rwPtr[int64](0)},
			message: "headphones is out of stock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			m := a.member(strings.ReplaceAll(tc.name, " ", "-"), tc.region, tc.attrs)
			a.credit(m, tc.points, nil)
			r := a.reward(tc.reward)
			if tc.before {
				if res := a.redeem(m, "first", r); res["rejection"] != nil {
					t.Fatalf("first order refused: %s", rwJSON(res))
				}
			}
			rewardID := fmt.Sprintf("%q", rwGID("Reward", r.ID))
			if tc.order {
				rewardID = "null"
			}
			rej := fmt.Sprintf(`{"code":%q,"message":%q,"rewardId":%s}`, tc.code, tc.message, rewardID)
			a.expect(redeemQ, a.redeemVars(m, "refused", r),
				`{"data":{"redeemRewards":{"replayed":false,"rejection":`+rej+`,"rejections":[`+rej+`],"redemption":null}}}`)
			// Nothing was written: the balance is whole and there is no order.
			if got := a.balance(m); !strings.HasPrefix(got, fmt.Sprintf(`[{"available":%d,`, tc.points-map[bool]int64{true: r.Price}[tc.before])) {
				t.Errorf("balance after the refusal: %s", got)
			}
		})
	}
}

// TestRedeemConcurrency runs the acceptance storms through GraphQL, on one core and on four
// cores sharing the database (each with its own in-process queue, so orders of one member race
// in PostgreSQL and the account lock decides).
func TestRedeemConcurrency(t *testing.T) {
	for _, cores := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d cores", cores), func(t *testing.T) { redeemStorms(t, cores) })
	}
}

func redeemStorms(t *testing.T, cores int) {
	const n = 64
	storm := func(a *rwAPI, vars func(i int) map[string]any) []map[string]any {
		hs := []http.Handler{a.h}
		for len(hs) < cores {
			hs = append(hs, a.replica())
		}
		out := make([]map[string]any, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var resp struct {
					Data struct {
						RedeemRewards map[string]any `json:"redeemRewards"`
					} `json:"data"`
					Errors []any `json:"errors"`
				}
				raw := postTo(hs[i%len(hs)], redeemQ, vars(i))
				if err := json.Unmarshal([]byte(raw), &resp); err != nil || len(resp.Errors) > 0 {
					t.Errorf("request %d: %s", i, raw)
					return
				}
				out[i] = resp.Data.RedeemRewards
			}()
		}
		close(start)
		wg.Wait()
		return out
	}

	t.Run("last unit of stock", func(t *testing.T) {
		a := newRewardsAPI(t)
		r := a.reward(rewards.CreateInput{Code: "last-one", Title: "The last one", Category: "shop", Price: 100, Stock: rwPtr[int64](1)})
		ms := make([]*members.Member, n)
		for i := range ms {
			ms[i] = a.member(fmt.Sprintf("s%d", i), "", nil)
			a.credit(ms[i], 1000, nil)
		}
		won, outOfStock := 0, 0
		for _, res := range storm(a, func(i int) map[string]any { return a.redeemVars(ms[i], "stock", r) }) {
			switch {
			case res == nil:
			case res["redemption"] != nil:
				won++
			case res["rejection"].(map[string]any)["code"] == "OUT_OF_STOCK":
				outOfStock++
			default:
				t.Errorf("unexpected result %s", rwJSON(res))
			}
		}
		if won != 1 || outOfStock != n-1 {
			t.Fatalf("%d orders placed and %d out of stock; want 1 and %d", won, outOfStock, n-1)
		}
		if got, _ := a.svc.Get(context.Background(), r.ID); got.Stock == nil || *got.Stock != 0 {
			t.Fatalf("stock %v, want 0", got.Stock)
		}
	})

	t.Run("orders beyond the balance", func(t *testing.T) {
		a := newRewardsAPI(t)
		m := a.member("storm", "", nil)
		exp := rwNow.AddDate(0, 6, 0)
		a.credit(m, 650, &exp)
		a.credit(m, 400, nil) // 1050 points: ten orders of 100 fit, the eleventh does not
		r := a.reward(rewards.CreateInput{Code: "coffee", Title: "Coffee", Category: "shop", Price: 100})
		placed, refused := 0, 0
		for _, res := range storm(a, func(i int) map[string]any { return a.redeemVars(m, fmt.Sprintf("k%d", i), r) }) {
			switch {
			case res == nil:
			case res["redemption"] != nil:
				placed++
			case res["rejection"].(map[string]any)["code"] == "INSUFFICIENT_POINTS":
				refused++
			default:
				t.Errorf("unexpected result %s", rwJSON(res))
			}
		}
		if placed != 10 || refused != n-10 {
			t.Fatalf("%d orders placed, %d refused; want 10 and %d", placed, refused, n-10)
		}
		if got := a.balance(m); got != `[{"available":50,"nextExpiration":null}]` {
			t.Fatalf("balance %s, want 50 left of the points that never expire", got)
		}
		var negative int
		if err := a.db.NewRaw(`SELECT count(*) FROM accounts WHERE available < 0 OR pending < 0`).Scan(context.Background(), &negative); err != nil || negative != 0 {
			t.Fatalf("accounts below zero: %d (%v)", negative, err)
		}
	})

	t.Run("one exchange a month", func(t *testing.T) {
		a := newRewardsAPI(t)
		m := a.member("monthly", "", nil)
		a.credit(m, 100000, nil)
		r := a.reward(rewards.CreateInput{Code: "channels", Title: "Channel package", Category: "tv", Price: 1700,
			Validity: "months:1", CampaignID: a.withCampaign()})
		placed, limited := 0, 0
		for _, res := range storm(a, func(i int) map[string]any { return a.redeemVars(m, fmt.Sprintf("k%d", i), r) }) {
			switch {
			case res == nil:
			case res["redemption"] != nil:
				placed++
			case res["rejection"].(map[string]any)["code"] == "FREQUENCY_LIMIT":
				limited++
			default:
				t.Errorf("unexpected result %s", rwJSON(res))
			}
		}
		if placed != 1 || limited != n-1 {
			t.Fatalf("%d orders placed, %d refused FREQUENCY_LIMIT; want 1 and %d", placed, limited, n-1)
		}
	})

	t.Run("one key sent 64 times", func(t *testing.T) {
		a := newRewardsAPI(t)
		m := a.member("retry", "", nil)
		a.credit(m, 10000, nil)
		r := a.reward(rewards.CreateInput{Code: "cinema", Title: "Cinema ticket", Category: "shop", Price: 400})
		ids := map[string]int{}
		fresh := 0
		for _, res := range storm(a, func(int) map[string]any { return a.redeemVars(m, "same-key", r) }) {
			if res == nil || res["redemption"] == nil {
				t.Fatalf("unexpected result %s", rwJSON(res))
			}
			ids[res["redemption"].(map[string]any)["id"].(string)]++
			if res["replayed"] == false {
				fresh++
			}
		}
		if len(ids) != 1 || fresh != 1 {
			t.Fatalf("orders %v, %d not replayed; want one order placed once", ids, fresh)
		}
		if got := a.balance(m); got != `[{"available":9600,"nextExpiration":null}]` {
			t.Fatalf("balance %s, want 9600 (one debit)", got)
		}
		var debits int
		if err := a.db.NewRaw(`SELECT count(*) FROM transactions WHERE member_id = ? AND kind = 'redeem'`, m.ID).Scan(context.Background(), &debits); err != nil || debits != 1 {
			t.Fatalf("%d ledger debits (%v), want 1", debits, err)
		}
	})
}
