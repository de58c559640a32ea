package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// clientTS is the TypeScript client package, relative to the repository root.
const clientTS = "clients/typescript"

var clientBuild struct {
	once sync.Once
	out  []byte
	err  error
}

// buildClient runs npm test in clients/typescript once per test binary: the check that src/gen
// is generated from the current schema and documents, and tsc, which type-checks the
// documents' use and compiles the package and its end-to-end scenario into dist/.
func buildClient(t *testing.T) string {
	t.Helper()
	node := nodePackage(t, clientTS, "@urql/core/package.json")
	clientBuild.once.Do(func() {
		cmd := exec.Command("npm", "test")
		cmd.Dir = filepath.Join(repoRoot(), clientTS)
		clientBuild.out, clientBuild.err = cmd.CombinedOutput()
	})
	if clientBuild.err != nil {
		t.Fatalf("npm test in %s: %v\n%s", clientTS, clientBuild.err, clientBuild.out)
	}
	return node
}

// TestTypeScriptClientCabinet runs the client package's scenario (clients/typescript/test/
// cabinet.ts, urql from Node.js) against a real core: with a member token it reads the
// cabinet, the shop's ingest key records a purchase that a plugin credits, the cabinet shows
// it, the member redeems a reward (a retry replays the order) and sees the balance after it.
func TestTypeScriptClientCabinet(t *testing.T) {
	node := buildClient(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keysFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(keysFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCore(t, newDatabase(t), append(clock2021,
		"--jwt-issuer", "https://id.example.com", "--jwt-audience", "cabinet", "--jwt-keys-file", keysFile)...)
	c.setup(t, "shop", 0)
	data(t, c.gql(`mutation { upsertMember(input: {externalRef: "anna", name: "Anna Kovalenko"}) { created } }`, nil))
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})
	data(t, c.gql(`mutation { createReward(input: {program: "shop", code: "coffee", title: "A coffee", category: "gift", price: 10, stock: 5}) { id } }`, nil))
	ingest := data(t, c.gql(`mutation { createApiKey(input: {name: "shop-billing", roles: [INGEST]}) { key } }`, nil), "createApiKey", "key").(string)
	token, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://id.example.com", "aud": "cabinet",
		"sub": "anna", "iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, "dist/test/cabinet.js")
	cmd.Dir = filepath.Join(repoRoot(), clientTS)
	cmd.Env = append(os.Environ(), "PROMOGATE_URL="+c.URL+"/graphql", "MEMBER_TOKEN="+token, "INGEST_KEY="+ingest,
		"MEMBER_REF=anna", "PROGRAM=shop")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the client scenario: %v\n%s%s", err, out, stderr.String())
	}
	want := `{"viewer":{"kind":"MEMBER_TOKEN","roles":["MEMBER"],"memberRef":"anna"},` +
		`"before":{"name":"Anna Kovalenko","balances":[],"transactions":[]},` +
		`"recorded":{"duplicate":false,"error":null,"status":"DONE","outcome":{"reason":null,"campaigns":[{"campaign":{"code":"weekend"},"status":"APPLIED","code":null,"reason":null,"effects":[{"kind":"credit_points","points":12}]}],"waiting":[]}},` +
		`"afterEvent":{"name":"Anna Kovalenko","balances":[{"program":"shop","available":12,"pending":0,"lifetimeEarned":12,"nextExpiration":{"amount":12,"at":"2022-04-14T09:00:00Z"}}],"transactions":[{"kind":"EARN","points":12,"reason":"purchase","program":"shop"}]},` +
		`"rewards":[{"code":"coffee","title":"A coffee","category":"gift","price":10,"stock":5}],` +
		`"quote":{"listPrice":10,"price":10,"maxPointsPayable":null,"allowed":true,"reasons":[]},` +
		`"redeemed":{"replayed":false,"rejection":null,"redemption":{"status":"COMPLETED","points":10,"listTotal":10,"priceTotal":10,"moneyDue":0,"lines":[{"line":1,"reward":{"code":"coffee"},"quote":{"price":10}}]}},` +
		`"retried":{"replayed":true,"rejection":null,"redemption":{"status":"COMPLETED","points":10,"listTotal":10,"priceTotal":10,"moneyDue":0,"lines":[{"line":1,"reward":{"code":"coffee"},"quote":{"price":10}}]},"sameOrder":true},` +
		`"afterOrder":{"name":"Anna Kovalenko","balances":[{"program":"shop","available":2,"pending":0,"lifetimeEarned":12,"nextExpiration":{"amount":2,"at":"2022-04-14T09:00:00Z"}}],"transactions":[{"kind":"REDEEM","points":-10,"reason":"reward order 1","program":"shop"},{"kind":"EARN","points":12,"reason":"purchase","program":"shop"}]},` +
		`"memberRecords":["FORBIDDEN"]}`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("the client's transcript:\n got %s\nwant %s", got, want)
	}
	if got := c.available(t, "anna", "shop"); got != 2 {
		t.Fatalf("balance %d, want 2", got)
	}
}
