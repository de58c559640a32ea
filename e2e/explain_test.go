package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promogate/promogate/db"
)

// versionedPlugin builds e2e/plugins/versioned as version and returns its path and hex SHA-256.
func versionedPlugin(t *testing.T, version string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "versioned-"+version)
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+version, "./e2e/plugins/versioned")
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build versioned %s: %v\n%s", version, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return out, hex.EncodeToString(sum[:])
}

// explainQ reads a member's transactions, benefits and tiers with their explanations.
const explainQ = `query($r: String!) { member(externalRef: $r) {
	transactions { edges { node { points reason explanation { ...chain } } } }
	benefits { edges { node { key kind explanation { ...chain } } } }
	tiers { tier explanation { ...chain } } } }
fragment chain on Explanation {
	origin event { externalId } campaign { code } plugin { name version checksum } effectIndex
	outcome { status code reason decision { kind points detail } effects { kind points detail } } }`

// TestExplanationNamesTheVersionThatDecided is issue 17's acceptance for explanations: a
// campaign's plugin is upgraded from 1.0.0 to 2.0.0 between two credited events, and each
// transaction's chain names its own version and checksum (as its outcome recorded them when
// it was applied, not the campaign's plugin now). The benefit and tier of the first event lead
// back to it, the event leads to everything it wrote, a refused decision says what was asked
// and why it was refused, and a member token reads its own chains but no other member's.
func TestExplanationNamesTheVersionThatDecided(t *testing.T) {
	key, pub := devKeys(t)
	c := startCore(t, newDatabase(t), append(clock2021,
		"--jwt-issuer", "promogate-dev", "--jwt-audience", "promogate-dev", "--jwt-keys-file", pub)...)
	c.setup(t, "shop", 2)
	p1, sum1 := versionedPlugin(t, "1.0.0")
	p2, sum2 := versionedPlugin(t, "2.0.0")
	if sum1 == sum2 {
		t.Fatal("the two builds have one checksum")
	}
	data(t, c.register(t, "versioned", "1.0.0", p1, sum1))
	loyal := c.campaign(t, "loyal", "shop", "versioned", "1.0.0", nil)

	first := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"gift": true})
	if got := compact(first["event"].(map[string]any)["outcome"]); got != `{"campaigns":[{"campaign":{"code":"loyal"},"code":null,"effects":[{"kind":"credit_points","points":10},{"kind":"grant_benefit","points":null},{"kind":"set_tier","points":null},{"kind":"notify","points":null}],"reason":null,"status":"APPLIED"}],"reason":null,"waiting":[]}` {
		t.Fatalf("first outcome: %s", got)
	}

	// The upgrade: version 2.0.0 is registered, attached to the campaign as a shadow, and
	// promoted (the campaign runs 2.0.0 from then on).
	data(t, c.register(t, "versioned", "2.0.0", p2, sum2))
	if got := compact(data(t, c.gql(`mutation($id: ID!) { attachShadow(input: {campaignId: $id, pluginVersion: "2.0.0"}) { status } }`,
		map[string]any{"id": loyal}))); got != `{"attachShadow":{"status":"ATTACHED"}}` {
		t.Fatalf("attachShadow: %s", got)
	}
	if got := compact(data(t, c.gql(`mutation($id: ID!) { promoteShadow(campaignId: $id) { status } }`, map[string]any{"id": loyal}))); got != `{"promoteShadow":{"status":"PROMOTED"}}` {
		t.Fatalf("promoteShadow: %s", got)
	}
	bdb, err := db.Open(context.Background(), c.dbURL, db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	// The catalogue keeps a registered version's binary: nothing can swap 1.0.0's checksum.
	_, err = db.PG(bdb).Exec(context.Background(), `UPDATE plugins SET sha256 = $1 WHERE name = 'versioned' AND version = '1.0.0'`, sum2)
	if db.Constraint(err) != "plugins_identity_fixed" {
		t.Fatalf("changing a registered checksum: expected plugins_identity_fixed, got %v", err)
	}

	c.record(t, "m1", "o-2", "2021-04-15T12:00:00+03:00", nil)
	refused := c.record(t, "m1", "o-3", "2021-04-16T12:00:00+03:00", map[string]any{"spend": 1000000})
	c.record(t, "m2", "o-4", "2021-04-16T12:00:00+03:00", nil)

	v1 := fmt.Sprintf(`{"checksum":%q,"name":"versioned","version":"1.0.0"}`, sum1)
	v2 := fmt.Sprintf(`{"checksum":%q,"name":"versioned","version":"2.0.0"}`, sum2)
	firstOutcome := `{"code":null,"decision":[{"detail":"v1.0.0: 10 points","kind":"credit_points","points":10},{"detail":"promo_code thanks-1","kind":"grant_benefit","points":null},{"detail":"gold","kind":"set_tier","points":null},{"detail":"sms thanks to +10000000000","kind":"notify","points":null}],` +
		`"effects":[{"detail":"v1.0.0: 10 points","kind":"credit_points","points":10},{"detail":"promo_code thanks-1","kind":"grant_benefit","points":null},{"detail":"gold","kind":"set_tier","points":null},{"detail":"sms thanks to +10000000000","kind":"notify","points":null}],"reason":null,"status":"APPLIED"}`
	chain := func(ext, plugin string, effect int, outcome string) string {
		return fmt.Sprintf(`{"campaign":{"code":"loyal"},"effectIndex":%d,"event":{"externalId":%q},"origin":"EVENT","outcome":%s,"plugin":%s}`,
			effect, ext, outcome, plugin)
	}
	want := `{"member":{"benefits":{"edges":[{"node":{"explanation":` + chain("o-1", v1, 1, firstOutcome) + `,"key":"thanks-1","kind":"PROMO_CODE"}}]},` +
		`"tiers":[{"explanation":` + chain("o-1", v1, 2, firstOutcome) + `,"tier":"gold"}],` +
		`"transactions":{"edges":[` +
		`{"node":{"explanation":` + chain("o-2", v2, 0, `{"code":null,"decision":[{"detail":"v2.0.0: 20 points","kind":"credit_points","points":20}],"effects":[{"detail":"v2.0.0: 20 points","kind":"credit_points","points":20}],"reason":null,"status":"APPLIED"}`) + `,"points":20,"reason":"v2.0.0: 20 points"}},` +
		`{"node":{"explanation":` + chain("o-1", v1, 0, firstOutcome) + `,"points":10,"reason":"v1.0.0: 10 points"}}]}}}`
	admin := c.gql(explainQ, map[string]any{"r": "m1"})
	if got := compact(data(t, admin)); got != want {
		t.Fatalf("m1's explanations:\n got %s\nwant %s", got, want)
	}

	// The refused spend: the decision the plugin made, and why the core refused it.
	ev := refused["event"].(map[string]any)
	got := compact(data(t, c.gql(`query($id: ID!) { event(id: $id) { outcome { campaigns { pluginVersion status code reason decision { kind points detail } effects { kind } } }
		consequences { transactions { id } benefits { id } tiers { tier } notifications { id } } } }`, map[string]any{"id": ev["id"]}), "event"))
	if want := `{"consequences":{"benefits":[],"notifications":[],"tiers":[],"transactions":[]},"outcome":{"campaigns":[{"code":"INSUFFICIENT_POINTS","decision":[{"detail":"v2.0.0: spend 1000000","kind":"debit_points","points":-1000000}],"effects":[],"pluginVersion":"2.0.0","reason":"effect 0 (debit_points): insufficient points","status":"FAILED"}]}}`; got != want {
		t.Fatalf("refused decision:\n got %s\nwant %s", got, want)
	}

	// The reverse: from the first event to everything it wrote.
	ev = first["event"].(map[string]any)
	cons := data(t, c.gql(`query($id: ID!) { event(id: $id) { consequences {
		transactions { points reason explanation { plugin { version } } } benefits { key kind code status }
		tiers { tier program { code } } notifications { channel template recipient params } } } }`, map[string]any{"id": ev["id"]}),
		"event", "consequences").(map[string]any)
	code, _ := cons["benefits"].([]any)[0].(map[string]any)["code"].(string)
	if len(code) != 11 {
		t.Fatalf("promo code %q: %s", code, compact(cons))
	}
	if want := fmt.Sprintf(`{"benefits":[{"code":%q,"key":"thanks-1","kind":"PROMO_CODE","status":"ACTIVE"}],"notifications":[{"channel":"sms","params":{"code":%q},"recipient":"+10000000000","template":"thanks"}],"tiers":[{"program":{"code":"shop"},"tier":"gold"}],"transactions":[{"explanation":{"plugin":{"version":"1.0.0"}},"points":10,"reason":"v1.0.0: 10 points"}]}`,
		code, code); compact(cons) != want {
		t.Fatalf("consequences of o-1:\n got %s\nwant %s", compact(cons), want)
	}

	// The example session of docs/explain.md.
	for _, q := range []string{
		`{ member(externalRef: "m1") { transactions(first: 1) { edges { node { points reason explanation {
			origin event { externalId occurredAt } campaign { code } plugin { name version checksum } effectIndex
			outcome { status decision { kind points detail } effects { kind points detail } } } } } } } }`,
		fmt.Sprintf(`{ event(id: %q) { consequences { transactions { points reason } benefits { key kind code }
			tiers { tier } notifications { channel template params } } } }`, ev["id"]),
	} {
		b, _ := json.MarshalIndent(data(t, c.gql(q, nil)), "", "  ")
		t.Logf("docs/explain.md:\n%s\n%s", q, b)
	}

	// A member token reads its own chains, the same as the staff do, and no other member's.
	_, _, body := c.request(bearer(memberToken(t, key, "m1")), gqlBody(explainQ, map[string]any{"r": "m1"}))
	var own map[string]any
	if err := json.Unmarshal([]byte(body), &own); err != nil || compact(own) != compact(admin) {
		t.Fatalf("m1's token on its own explanations:\n got %s\nwant %s", own, compact(admin))
	}
	m2 := bearer(memberToken(t, key, "m2"))
	_, _, other := c.request(m2, gqlBody(explainQ, map[string]any{"r": "m1"}))
	if !strings.Contains(other, `"code":"FORBIDDEN"`) || strings.Contains(other, "v1.0.0") || strings.Contains(other, sum1) {
		t.Fatalf("m2's token on m1's explanations: %s", other)
	}
	txID := data(t, c.gql(`{ member(externalRef: "m1") { transactions(first: 1) { edges { node { id } } } } }`, nil),
		"member", "transactions", "edges", 0, "node", "id")
	_, _, other = c.request(m2, gqlBody(`query($id: ID!) { node(id: $id) { ... on Transaction { explanation { origin } } } }`, map[string]any{"id": txID}))
	if !strings.Contains(other, `"code":"FORBIDDEN"`) || strings.Contains(other, "EVENT") {
		t.Fatalf("m2's token on m1's transaction by id: %s", other)
	}
	_, _, mine := c.request(m2, gqlBody(`{ member(externalRef: "m2") { transactions { edges { node { explanation { event { externalId } plugin { version } } } } } } }`, nil))
	if want := `{"data":{"member":{"transactions":{"edges":[{"node":{"explanation":{"event":{"externalId":"o-4"},"plugin":{"version":"2.0.0"}}}}]}}}}`; mine != want {
		t.Fatalf("m2's token on its own explanation:\n got %s\nwant %s", mine, want)
	}
}
