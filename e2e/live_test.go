package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveDriver runs e2e/live_client.mjs: graphql-ws clients driven by commands, reporting what
// they see.
type liveDriver struct {
	t       *testing.T
	in      io.WriteCloser
	lines   chan map[string]any
	pending []map[string]any
}

func startLiveDriver(t *testing.T) *liveDriver {
	t.Helper()
	node := nodePackage(t, "e2e", "graphql-ws/package.json")
	cmd := exec.Command(node, filepath.Join(repoRoot(), "e2e", "live_client.mjs"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &liveDriver{t: t, in: in, lines: make(chan map[string]any, 100)}
	go func() {
		defer close(d.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"unparsed": sc.Text()}
			}
			d.lines <- m
		}
	}()
	t.Cleanup(func() {
		_ = in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("live_client.mjs stderr:\n%s", stderr.String())
		}
	})
	return d
}

func (d *liveDriver) send(cmd map[string]any) {
	d.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		d.t.Fatalf("driver: %v", err)
	}
}

// next returns the next line about client's subscription id ("" for the client's connection
// events), keeping lines about others for later.
func (d *liveDriver) next(client, id string) map[string]any {
	d.t.Helper()
	match := func(m map[string]any) bool {
		got, _ := m["id"].(string)
		return m["client"] == client && got == id
	}
	for i, m := range d.pending {
		if match(m) {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return m
		}
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("driver ended while waiting for %s/%s", client, id)
			}
			if match(m) {
				return m
			}
			d.pending = append(d.pending, m)
		case <-deadline:
			d.t.Fatalf("nothing for %s/%s within 30s; seen meanwhile: %v", client, id, d.pending)
		}
	}
}

// expect waits for the next message of client's subscription id and compares it with want:
// "next <JSON payload>", "error <JSON payload>" or "complete" (JSON compared canonically).
func (d *liveDriver) expect(client, id, want string) {
	d.t.Helper()
	m := d.next(client, id)
	got := fmt.Sprint(m["type"])
	if p, ok := m["payload"]; ok {
		got += " " + compact(p)
	}
	if typ, doc, ok := strings.Cut(want, " "); ok {
		want = typ + " " + compactJSON(doc)
	}
	if got != want {
		d.t.Fatalf("%s/%s:\n got: %s\nwant: %s", client, id, got, want)
	}
}

// expectCode waits for the next message of client's subscription id and checks that it
// refuses the operation with the code: a next message with null data and the code on its
// first error, or an error message with it.
func (d *liveDriver) expectCode(client, id, typ, code string) {
	d.t.Helper()
	m := d.next(client, id)
	raw, _ := json.Marshal(m["payload"])
	var errs []struct {
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	if typ == "next" {
		var p struct {
			Data   json.RawMessage `json:"data"`
			Errors json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(raw, &p); err != nil || string(p.Data) != "null" {
			d.t.Fatalf("%s/%s: expected no data, got %s", client, id, raw)
		}
		raw = p.Errors
	}
	if err := json.Unmarshal(raw, &errs); err != nil || m["type"] != typ || len(errs) == 0 || errs[0].Extensions.Code != code {
		d.t.Fatalf("%s/%s: expected a %s message with %s, got %v", client, id, typ, code, m)
	}
}

// expectClosed waits for client's connection to close with the code, and a reason that starts
// with reason.
func (d *liveDriver) expectClosed(client string, code int, reason string) {
	d.t.Helper()
	for {
		m := d.next(client, "")
		if m["event"] == "connected" {
			d.t.Fatalf("%s: connected, expected a refusal %d", client, code)
		}
		if m["event"] != "closed" {
			continue
		}
		if got, _ := m["code"].(float64); int(got) != code || !strings.HasPrefix(fmt.Sprint(m["reason"]), reason) {
			d.t.Fatalf("%s: expected close %d %q, got %v", client, code, reason, m)
		}
		return
	}
}

// devKeys writes a development signing key pair with `promogate token keygen` and returns the
// private and public key files.
func devKeys(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "dev-jwt-key.pem"), filepath.Join(dir, "dev-jwt-public.pem")
	out, err := exec.Command(build(t, "server", "promogate"), "token", "keygen", "--key", key, "--public", pub).CombinedOutput()
	if err != nil {
		t.Fatalf("token keygen: %v\n%s", err, out)
	}
	return key, pub
}

// memberToken mints a member token with `promogate token member REF`.
func memberToken(t *testing.T, key, ref string) string {
	t.Helper()
	cmd := exec.Command(build(t, "server", "promogate"), "token", "member", ref)
	cmd.Env = append(os.Environ(), "PROMOGATE_JWT_SIGNING_KEY="+key, "PROMOGATE_JWT_ISSUER=promogate-dev",
		"PROMOGATE_JWT_AUDIENCE=promogate-dev")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token member %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

// liveSubscriptions reads promogate_live_subscriptions from the core's /metrics.
func (c *core) liveSubscriptions(t *testing.T) int {
	t.Helper()
	for _, line := range strings.Split(httpGet(t, c.URL+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, "promogate_live_subscriptions "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no promogate_live_subscriptions in /metrics")
	return 0
}

// TestLiveUpdates drives real graphql-ws clients (Node.js, e2e/live_client.mjs) against the
// second of two cores on one database while the first one changes things: a member token
// follows its own balance (and is refused another member's), a frontend key follows a
// campaign's status and figures, an ingest key follows an event that waits for its plugin
// until it is decided; credentials are checked at connection_init, a connection holds at most
// --live-max-subscriptions-per-connection, and nothing is left open once the clients go.
func TestLiveUpdates(t *testing.T) {
	d := startLiveDriver(t)
	dbURL := newDatabase(t)
	key, pub := devKeys(t)
	args := []string{"--jwt-issuer", "promogate-dev", "--jwt-audience", "promogate-dev", "--jwt-keys-file", pub,
		"--plugin-call-timeout", "300ms", "--event-retry-max", "200ms", "--plugin-backoff-max", "200ms"}
	a := startCore(t, dbURL, args...)
	b := startCore(t, dbURL, append(args, "--live-max-subscriptions-per-connection", "3")...)
	a.setup(t, "shop", 2)
	path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
	data(t, a.register(t, "misbehave", "1.0.0", path, sum))
	campaign := a.campaign(t, "live", "shop", "misbehave", "1.0.0", map[string]any{"mode": "ok"})
	apiKey := func(role string) string {
		return data(t, a.gql(`mutation($r: Role!) { createApiKey(input: {name: "live", roles: [$r]}) { key } }`,
			map[string]any{"r": role}), "createApiKey", "key").(string)
	}
	frontend, ingest := apiKey("FRONTEND"), apiKey("INGEST")
	anna := memberToken(t, key, "m1")
	url := "ws" + strings.TrimPrefix(b.URL, "http") + "/graphql"
	now := func() string { return time.Now().UTC().Format(time.RFC3339) }

	// A member token follows its own balance; the credits are made on the other core.
	const own = `subscription($ref: String) { member(externalRef: $ref) { externalRef balances { program { code } available } } }`
	d.send(map[string]any{"op": "connect", "client": "anna", "url": url, "authorization": "Bearer " + anna})
	d.send(map[string]any{"op": "subscribe", "client": "anna", "id": "own", "query": own, "variables": map[string]any{"ref": "m1"}})
	d.expect("anna", "own", `next {"data":{"member":{"externalRef":"m1","balances":[]}}}`)
	a.record(t, "m1", "live-1", now(), nil)
	d.expect("anna", "own", `next {"data":{"member":{"externalRef":"m1","balances":[{"program":{"code":"shop"},"available":10}]}}}`)
	// … and is refused another member's, and a campaign's.
	d.send(map[string]any{"op": "subscribe", "client": "anna", "id": "other", "query": own, "variables": map[string]any{"ref": "m2"}})
	d.expectCode("anna", "other", "next", "FORBIDDEN")
	d.expect("anna", "other", "complete")
	d.send(map[string]any{"op": "subscribe", "client": "anna", "id": "camp", "query": `subscription { campaign(code: "live") { code } }`})
	d.expectCode("anna", "camp", "next", "FORBIDDEN")

	// A frontend key follows the campaign: its status and its figures.
	const camp = `subscription($id: ID) { campaign(id: $id) { code status figures { total { applied pointsIssued } } } }`
	figures := func(status string, applied, points int) string {
		return fmt.Sprintf(`next {"data":{"campaign":{"code":"live","status":%q,"figures":{"total":{"applied":%d,"pointsIssued":%d}}}}}`,
			status, applied, points)
	}
	d.send(map[string]any{"op": "connect", "client": "front", "url": url, "authorization": "Bearer " + frontend})
	d.send(map[string]any{"op": "subscribe", "client": "front", "id": "camp", "query": camp, "variables": map[string]any{"id": campaign}})
	d.expect("front", "camp", figures("ACTIVE", 1, 10))
	a.record(t, "m2", "live-2", now(), nil)
	d.expect("front", "camp", figures("ACTIVE", 2, 20))
	data(t, a.gql(`mutation($id: ID!) { pauseCampaign(id: $id) { status } }`, map[string]any{"id": campaign}))
	d.expect("front", "camp", figures("PAUSED", 2, 20))
	data(t, a.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": campaign}))
	d.expect("front", "camp", figures("ACTIVE", 2, 20))

	// An ingest key follows an event whose plugin does not answer in time, until it is decided.
	data(t, a.gql(`mutation($id: ID!, $c: JSON!) { updateCampaignConfig(id: $id, config: $c) { id } }`,
		map[string]any{"id": campaign, "c": map[string]any{"mode": "sleep", "sleepMs": 2000}}))
	ev := a.record(t, "m1", "live-3", now(), nil)["event"].(map[string]any)
	if ev["status"] != "PENDING" {
		t.Fatalf("the event with a sleeping plugin: %s", compact(ev))
	}
	const event = `subscription($id: ID!) { event(id: $id) { externalId status outcome {
		campaigns { campaign { code } status effects { points } } waiting { campaign { code } } } } }`
	d.send(map[string]any{"op": "connect", "client": "ingest", "url": url, "authorization": "Bearer " + ingest})
	d.send(map[string]any{"op": "subscribe", "client": "ingest", "id": "ev", "query": event, "variables": map[string]any{"id": ev["id"]}})
	d.expect("ingest", "ev", `next {"data":{"event":{"externalId":"live-3","status":"PENDING","outcome":{"campaigns":[],"waiting":[{"campaign":{"code":"live"}}]}}}}`)
	// The plugin was restarted after missing its deadline; the configuration is validated by it
	// once it is back.
	waitFor(t, "the plugin to take the configuration", func() bool {
		resp := a.gql(`mutation($id: ID!, $c: JSON!) { updateCampaignConfig(id: $id, config: $c) { id } }`,
			map[string]any{"id": campaign, "c": map[string]any{"mode": "ok"}})
		if errorCode(resp) == "PLUGIN_UNAVAILABLE" {
			return false
		}
		data(t, resp)
		return true
	})
	d.expect("ingest", "ev", `next {"data":{"event":{"externalId":"live-3","status":"DONE","outcome":{"campaigns":[{"campaign":{"code":"live"},"status":"APPLIED","effects":[{"points":10}]}],"waiting":[]}}}}`)
	d.expect("ingest", "ev", "complete")
	d.expect("anna", "own", `next {"data":{"member":{"externalRef":"m1","balances":[{"program":{"code":"shop"},"available":20}]}}}`)
	d.expect("front", "camp", figures("ACTIVE", 3, 30))

	// The front connection holds three subscriptions at most.
	for _, id := range []string{"m1", "m2"} {
		d.send(map[string]any{"op": "subscribe", "client": "front", "id": id, "query": `subscription($r: String) { member(externalRef: $r) { externalRef } }`,
			"variables": map[string]any{"r": id}})
		d.expect("front", id, fmt.Sprintf(`next {"data":{"member":{"externalRef":%q}}}`, id))
	}
	d.send(map[string]any{"op": "subscribe", "client": "front", "id": "fourth", "query": `subscription { member(externalRef: "m1") { externalRef } }`})
	d.expectCode("front", "fourth", "error", "TOO_MANY_SUBSCRIPTIONS")

	// Credentials in the upgrade request's header instead of connection_init.
	d.send(map[string]any{"op": "connect", "client": "header", "url": url, "headers": map[string]any{"Authorization": "Bearer " + anna}})
	d.send(map[string]any{"op": "subscribe", "client": "header", "id": "own", "query": own, "variables": map[string]any{"ref": "m1"}})
	d.expect("header", "own", `next {"data":{"member":{"externalRef":"m1","balances":[{"program":{"code":"shop"},"available":20}]}}}`)

	// Refused at connection_init: bad credentials, none at all.
	d.send(map[string]any{"op": "connect", "client": "stranger", "url": url, "authorization": "Bearer not-a-token"})
	d.send(map[string]any{"op": "subscribe", "client": "stranger", "id": "s", "query": own, "variables": map[string]any{"ref": "m1"}})
	d.expectClosed("stranger", 4403, "Forbidden: the API key or token is invalid")
	d.send(map[string]any{"op": "connect", "client": "nobody", "url": url})
	d.send(map[string]any{"op": "subscribe", "client": "nobody", "id": "s", "query": own, "variables": map[string]any{"ref": "m1"}})
	d.expectClosed("nobody", 4403, "Forbidden: send connection_init")

	// Over HTTP a subscription is refused.
	if _, _, body := b.request(bearer(frontend), gqlBody(own, map[string]any{"ref": "m1"})); errorCodeOf(t, body) != "WEBSOCKET_REQUIRED" {
		t.Errorf("a subscription over HTTP POST: %s", body)
	}

	// Every subscription ends with its client's connection.
	if n := b.liveSubscriptions(t); n != 5 {
		t.Errorf("expected 5 open subscriptions (anna 1, front 3, header 1), the core reports %d", n)
	}
	for _, c := range []string{"anna", "front", "header", "ingest"} {
		d.send(map[string]any{"op": "dispose", "client": c})
	}
	waitFor(t, "the subscriptions to end", func() bool { return b.liveSubscriptions(t) == 0 })

	// A core that stops closes its connections (1000; graphql-ws would reconnect, to another
	// replica) and does not wait for them to drain.
	d.send(map[string]any{"op": "connect", "client": "last", "url": url, "authorization": "Bearer " + anna})
	d.send(map[string]any{"op": "subscribe", "client": "last", "id": "own", "query": own, "variables": map[string]any{"ref": "m1"}})
	d.expect("last", "own", `next {"data":{"member":{"externalRef":"m1","balances":[{"program":{"code":"shop"},"available":20}]}}}`)
	if m := d.next("last", ""); m["event"] != "connected" {
		t.Fatalf("last: expected connected, got %v", m)
	}
	start := time.Now()
	if err := b.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("core B after SIGTERM with a subscriber: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("core B took %s to stop with a subscriber", took)
	}
	d.expectClosed("last", 1000, "")
}
