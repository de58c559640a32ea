// Command loadgen drives Promogate's GraphQL API for the benchmarks (scripts/bench.sh): it
// prepares a programme, registers a plugin and starts a campaign, then sends bounded load from
// a fixed number of concurrent clients and prints one RESULT line of JSON per run.
//
// Usage:
//
//	loadgen setup -url URL -program P -plugin-path PATH [-plugin-name N -plugin-version V]
//	loadgen e1    -url URL -clients 16 -duration 20s [-members N -member-prefix b-]
//	loadgen e2    -url URL -clients 2 -batch 500 -duration 20s
//	loadgen q1    -url URL -clients 32 -duration 20s [-members N -member-prefix q- -query-file F]
//	loadgen r1    -url URL -clients 16 -duration 20s [-members N -member-prefix r- -reward bench-r1]
//
// e1 sends recordEvent (one event per request), e2 recordEvents (a batch per request), q1 the
// member-cabinet query: the member, balances, the last 20 transactions, and whatever tier,
// benefit and reward fields the server's schema has (found by introspection), r1 redeemRewards
// of one catalogue reward (setup creates the rewards when the server has a catalogue). q1 with
// -query-file posts that query instead (with $r, the member's external reference; its data must
// hold a non-null "member"), e.g. the same cabinet on PostGraphile (bench/postgraphile). e1 with
// -occurred-at sends events that occurred then (bench phase H: events only a campaign of that
// period takes). Every run has a
// warm-up (not counted), then counts what completes within the measured window. Only loopback
// addresses are accepted. -H adds a request header (repeatable), e.g. an API key:
//
//	-H 'Authorization: Bearer KEY'
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promogate/promogate/bench/cpustat"
	"github.com/promogate/promogate/bench/histogram"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen setup|e1|e2|q1|r1 [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "setup":
		err = runSetup(os.Args[2:])
	case "e1", "e2", "q1", "r1":
		err = runLoad(os.Args[1], os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// headerList is a repeatable -H flag.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not 'Name: value'", v)
	}
	*h = append(*h, v)
	return nil
}

// client posts GraphQL requests to one loopback server.
type client struct {
	url     string
	headers http.Header
	http    *http.Client
}

func newClient(base string, headers headerList, conns int) (*client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("refusing %s: the load generator only talks to loopback addresses", base)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ":")
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, DisableCompression: true,
		IdleConnTimeout: time.Minute}
	return &client{url: strings.TrimRight(base, "/") + "/graphql", headers: h,
		http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

// gqlResponse is a GraphQL response with its data left raw.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// post sends one GraphQL request and decodes the response; a transport failure, a non-200
// status or GraphQL errors are errors.
func (c *client) post(ctx context.Context, body []byte) (*gqlResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = c.headers.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("HTTP %d, not JSON: %.200s", resp.StatusCode, raw)
	}
	if len(out.Errors) > 0 {
		return &out, fmt.Errorf("HTTP %d: %s (%v)", resp.StatusCode, out.Errors[0].Message, out.Errors[0].Extensions["code"])
	}
	if resp.StatusCode != http.StatusOK {
		return &out, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return &out, nil
}

func (c *client) do(ctx context.Context, query string, vars map[string]any, into any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	resp, err := c.post(ctx, body)
	if err != nil {
		return err
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(resp.Data, into)
}

// runSetup creates the programme, registers the plugin and creates and activates a campaign.
// Things that already exist (a reused database) are left as they are.
func runSetup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	var headers headerList
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	program := fs.String("program", "bench", "programme code")
	pluginPath := fs.String("plugin-path", "", "absolute path of the plugin binary")
	pluginName := fs.String("plugin-name", "weekenddouble", "plugin name")
	pluginVersion := fs.String("plugin-version", "1.0.0", "plugin version")
	campaign := fs.String("campaign", "bench-weekend", "campaign code")
	startsAt := fs.String("starts-at", "2020-01-01T00:00:00Z", "campaign start (RFC 3339)")
	endsAt := fs.String("ends-at", "", "campaign end (RFC 3339; empty: none); a period already over ends the campaign at activation")
	rewards := fs.Int("rewards", 10, "catalogue rewards bound to the campaign to create when the server has a catalogue (and one unbound, bench-r1, for R1)")
	config := fs.String("config", `{"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":2,"eventType":"purchase","expiresInDays":365}`,
		"campaign configuration (JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pluginPath == "" {
		return errors.New("-plugin-path is required")
	}
	c, err := newClient(*base, headers, 1)
	if err != nil {
		return err
	}
	ctx := context.Background()
	exists := func(err error) bool { return err != nil && strings.Contains(err.Error(), "ALREADY_EXISTS") }

	err = c.do(ctx, `mutation($c: String!) { createProgram(input: {code: $c, name: "Benchmark"}) { code } }`,
		map[string]any{"c": *program}, nil)
	if err != nil && !exists(err) {
		return fmt.Errorf("createProgram: %w", err)
	}
	bin, err := os.ReadFile(*pluginPath)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(bin)
	err = c.do(ctx, `mutation($n: String!, $v: String!, $p: String!, $s: String!) {
		registerPlugin(input: {name: $n, version: $v, path: $p, sha256: $s}) { name version } }`,
		map[string]any{"n": *pluginName, "v": *pluginVersion, "p": *pluginPath, "s": hex.EncodeToString(sum[:])}, nil)
	if err != nil && !exists(err) {
		return fmt.Errorf("registerPlugin: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(*config), &cfg); err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	var created struct {
		CreateCampaign struct{ ID string } `json:"createCampaign"`
	}
	in := map[string]any{
		"code": *campaign, "name": *campaign, "program": *program, "plugin": *pluginName, "pluginVersion": *pluginVersion,
		"config": cfg, "timeZone": "Europe/Kyiv", "startsAt": *startsAt,
	}
	if *endsAt != "" {
		in["endsAt"] = *endsAt
	}
	err = c.do(ctx, `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": in}, &created)
	if exists(err) {
		fmt.Fprintf(os.Stderr, "loadgen setup: campaign %s exists; leaving it as it is\n", *campaign)
		return nil
	}
	if err != nil {
		return fmt.Errorf("createCampaign: %w", err)
	}
	var act struct {
		ActivateCampaign struct{ Status string } `json:"activateCampaign"`
	}
	if err := c.do(ctx, `mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": created.CreateCampaign.ID}, &act); err != nil {
		return fmt.Errorf("activateCampaign: %w", err)
	}
	if want := "ACTIVE"; act.ActivateCampaign.Status != want && (*endsAt == "" || act.ActivateCampaign.Status != "ENDED") {
		return fmt.Errorf("campaign status %s, want %s", act.ActivateCampaign.Status, want)
	}
	fmt.Fprintf(os.Stderr, "loadgen setup: programme %s, plugin %s@%s, campaign %s %s\n", *program, *pluginName, *pluginVersion, *campaign,
		strings.ToLower(act.ActivateCampaign.Status))
	if *rewards == 0 {
		return nil
	}
	return setupRewards(ctx, c, *program, created.CreateCampaign.ID, *rewards)
}

// setupRewards adds, when the server has a rewards catalogue, n catalogue rewards bench-q1 …
// bench-qn bound to the campaign (as in production: a campaign's plugin prices them; the
// cabinet shows each with its campaign) and then bench-r1, unbound (R1 redeems it at its
// listed price); all priced 250, with no stock or per-member limit. The bound ones come first
// in the catalogue, so a cabinet's first 10 rewards are bound.
func setupRewards(ctx context.Context, c *client, program, campaignID string, n int) error {
	for i := 0; i <= n; i++ {
		in := map[string]any{"program": program, "code": "bench-r1", "title": "Benchmark reward", "category": "bench", "price": 250}
		if i < n {
			in["code"], in["title"], in["campaign"] = fmt.Sprintf("bench-q%d", i+1), fmt.Sprintf("Benchmark reward %d", i+1), campaignID
		}
		err := c.do(ctx, `mutation($in: CreateRewardInput!) { createReward(input: $in) { id } }`, map[string]any{"in": in}, nil)
		if err != nil && !strings.Contains(err.Error(), "ALREADY_EXISTS") {
			// No catalogue on this server, or one that does not work yet: R1 cannot run.
			fmt.Fprintf(os.Stderr, "loadgen setup: no rewards: createReward: %v\n", err)
			fmt.Printf("REWARDS 0 %s\n", err)
			return nil
		}
	}
	fmt.Fprintf(os.Stderr, "loadgen setup: catalogue rewards bench-q1 … bench-q%d bound to the campaign, bench-r1 unbound\n", n)
	fmt.Printf("REWARDS %d\n", n+1)
	return nil
}

// result is what a load run prints as JSON after "RESULT ".
type result struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients"`
	Batch     int     `json:"batch,omitempty"`
	WindowSec float64 `json:"window_s"`
	Requests  uint64  `json:"requests"`
	Items     uint64  `json:"items"`
	AllItems  uint64  `json:"all_items"`
	Errors    uint64  `json:"errors"`
	NotDone   uint64  `json:"not_done"`
	ReqRate   float64 `json:"req_per_s"`
	ItemRate  float64 `json:"items_per_s"`
	MeanMs    float64 `json:"mean_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// IdleCPU is the share of the machine's CPU time that was idle in the window (-1: unknown).
	IdleCPU    float64 `json:"idle_cpu"`
	ErrorFirst string  `json:"first_error,omitempty"`
	Query      string  `json:"query,omitempty"`
}

// request builds one request body for worker w's n-th request and checks its response,
// returning how many items (events) it carried and how many of them did not finish (DONE).
type workload interface {
	body(w, n int, r *rand.Rand) ([]byte, int)
	check(data json.RawMessage) (notDone int, err error)
}

func runLoad(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	var headers headerList
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	clients := fs.Int("clients", 16, "concurrent clients, each with one request in flight")
	duration := fs.Duration("duration", 20*time.Second, "measured window")
	warmup := fs.Duration("warmup", 3*time.Second, "warm-up before the window (not counted)")
	maxReq := fs.Int("max-requests", 0, "stop each client after this many requests (0: no limit)")
	members := fs.Int("members", 10000, "members to pick from at random: PREFIX1 … PREFIXn")
	prefix := fs.String("member-prefix", "b-", "externalRef prefix of the members")
	batch := fs.Int("batch", 500, "events per recordEvents call (e2)")
	source := fs.String("source", "", "event source (default: bench-NAME-<time>), unique per run")
	reward := fs.String("reward", "bench-r1", "code of the reward r1 redeems")
	queryFile := fs.String("query-file", "", "q1: post this query (variable $r: the member's external reference) instead of Promogate's cabinet")
	occurredAt := fs.String("occurred-at", "", "e1, e2: the events' occurrence time (RFC 3339; default: a second before sending)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *members < 1 || *batch < 1 {
		return errors.New("-clients, -members and -batch must be positive")
	}
	c, err := newClient(*base, headers, *clients)
	if err != nil {
		return err
	}
	if *source == "" {
		*source = fmt.Sprintf("bench-%s-%d", name, time.Now().UnixNano())
	}
	var wl workload
	res := result{Name: name, Clients: *clients}
	switch name {
	case "e1", "e2":
		ev := &events{source: *source, members: *members, prefix: *prefix, batch: 1}
		if name == "e2" {
			ev.batch, res.Batch = *batch, *batch
		}
		if *occurredAt != "" {
			if _, err := time.Parse(time.RFC3339, *occurredAt); err != nil {
				return fmt.Errorf("-occurred-at: %w", err)
			}
			ev.at = *occurredAt
		}
		wl = ev
	case "q1":
		if *queryFile != "" {
			q, err := os.ReadFile(*queryFile)
			if err != nil {
				return err
			}
			res.Query = string(q)
			wl = &cabinet{query: string(q), members: *members, prefix: *prefix}
			break
		}
		q, extras, needIDs, err := cabinetQuery(context.Background(), c)
		if err != nil {
			return err
		}
		if len(extras) > 0 {
			fmt.Fprintf(os.Stderr, "loadgen q1: the schema has %s; querying them too\n", strings.Join(extras, ", "))
		}
		res.Query = q
		cab := &cabinet{query: q, members: *members, prefix: *prefix}
		if needIDs {
			if cab.ids, err = memberIDs(context.Background(), c, *prefix, *members, *clients); err != nil {
				return err
			}
		}
		wl = cab
	case "r1":
		ids, err := memberIDs(context.Background(), c, *prefix, *members, *clients)
		if err != nil {
			return err
		}
		var rw struct {
			Rewards struct {
				Edges []struct{ Node struct{ ID, Code string } }
			}
		}
		if err := c.do(context.Background(), `{ rewards(first: 100) { edges { node { id code } } } }`, nil, &rw); err != nil {
			return fmt.Errorf("rewards: %w", err)
		}
		red := &redemption{ids: ids, clients: *clients, run: strconv.FormatInt(time.Now().UnixNano(), 36)}
		for _, e := range rw.Rewards.Edges {
			if e.Node.Code == *reward {
				red.reward = e.Node.ID
			}
		}
		if red.reward == "" {
			return fmt.Errorf("no reward with code %q in the catalogue", *reward)
		}
		wl = red
	}

	start := time.Now()
	winStart := start.Add(*warmup)
	winEnd := winStart.Add(*duration)
	ctx, cancel := context.WithDeadline(context.Background(), winEnd.Add(2*time.Minute))
	defer cancel()

	type stats struct {
		h                    histogram.Histogram
		reqs, items, notDone uint64
		reqShare, itemShare  float64 // requests and items, weighted by their overlap with the window
		allItems, errs       uint64
		firstErr             string
	}
	idle := make(chan float64, 1)
	go func() {
		time.Sleep(time.Until(winStart))
		a, err := cpustat.Read()
		time.Sleep(time.Until(winEnd))
		b, err2 := cpustat.Read()
		if err != nil || err2 != nil {
			idle <- -1
			return
		}
		idle <- cpustat.IdleShare(a, b)
	}()
	all := make([]*stats, *clients)
	var wg sync.WaitGroup
	var failing atomic.Int64
	for w := 0; w < *clients; w++ {
		st := &stats{}
		all[w] = st
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			for n := 0; *maxReq == 0 || n < *maxReq; n++ {
				t0 := time.Now()
				if !t0.Before(winEnd) {
					return
				}
				body, items := wl.body(w, n, r)
				resp, err := c.post(ctx, body)
				var notDone int
				if err == nil {
					notDone, err = wl.check(resp.Data)
				}
				t1 := time.Now()
				counted := !t1.Before(winStart) && !t1.After(winEnd)
				if err != nil {
					st.errs++
					if st.firstErr == "" {
						st.firstErr = err.Error()
						fmt.Fprintf(os.Stderr, "loadgen %s: client %d: %v\n", name, w, err)
					}
					if failing.Add(1) > 1000 {
						fmt.Fprintf(os.Stderr, "loadgen %s: more than 1000 failed requests; stopping\n", name)
						cancel()
						return
					}
					if ctx.Err() != nil {
						return
					}
					continue
				}
				st.allItems += uint64(items)
				// A request counts toward the rates by the share of its time inside the window, so
				// long requests (batches) straddling an edge count partly rather than not at all.
				if in := minTime(t1, winEnd).Sub(maxTime(t0, winStart)); in > 0 {
					share := 1.0
					if d := t1.Sub(t0); d > 0 {
						share = float64(in) / float64(d)
					}
					st.reqShare += share
					st.itemShare += share * float64(items)
				}
				if counted {
					st.h.Record(t1.Sub(t0))
					st.reqs++
					st.items += uint64(items)
					st.notDone += uint64(notDone)
				}
			}
		}(w)
	}
	wg.Wait()
	res.IdleCPU = <-idle

	var h histogram.Histogram
	var reqShare, itemShare float64
	for _, st := range all {
		reqShare += st.reqShare
		itemShare += st.itemShare
		res.AllItems += st.allItems
		h.Merge(&st.h)
		res.Requests += st.reqs
		res.Items += st.items
		res.NotDone += st.notDone
		res.Errors += st.errs
		if res.ErrorFirst == "" {
			res.ErrorFirst = st.firstErr
		}
	}
	win := duration.Seconds()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	res.WindowSec = win
	res.ReqRate = reqShare / win
	res.ItemRate = itemShare / win
	res.MeanMs, res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs = ms(h.Mean()), ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Max())
	fmt.Fprintf(os.Stderr, "loadgen %s: %d clients, %.0fs window: %d requests completed, %.1f items/s, %d errors; latency %s; idle CPU %.1f %%\n",
		name, *clients, win, res.Requests, res.ItemRate, res.Errors, h.String(), 100*res.IdleCPU)
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	if res.Requests == 0 {
		return errors.New("no request completed in the measured window")
	}
	return nil
}

// events is the e1/e2 workload: purchases of random members, each with a unique external id.
type events struct {
	source  string
	members int
	prefix  string
	batch   int
	at      string // occurrence time; "" for a second before sending
}

const recordOne = `mutation($in: EventInput!) { recordEvent(input: $in) { duplicate error { code message } event { id status } } }`
const recordMany = `mutation($in: [EventInput!]!) { recordEvents(inputs: $in) { duplicate error { code message } event { id status } } }`

func (e *events) body(w, n int, r *rand.Rand) ([]byte, int) {
	at := e.at
	if at == "" {
		at = time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	}
	ins := make([]map[string]any, e.batch)
	for i := range ins {
		ins[i] = map[string]any{
			"type": "purchase", "memberRef": fmt.Sprintf("%s%d", e.prefix, r.IntN(e.members)+1), "occurredAt": at,
			"source": e.source, "externalId": fmt.Sprintf("%d-%d-%d", w, n, i),
			"attributes": map[string]any{"amount": 100 + r.IntN(9900)},
		}
	}
	var body []byte
	if e.batch == 1 {
		body, _ = json.Marshal(map[string]any{"query": recordOne, "variables": map[string]any{"in": ins[0]}})
	} else {
		body, _ = json.Marshal(map[string]any{"query": recordMany, "variables": map[string]any{"in": ins}})
	}
	return body, e.batch
}

type payload struct {
	Duplicate bool
	Error     *struct{ Code, Message string }
	Event     *struct{ ID, Status string }
}

func (e *events) check(data json.RawMessage) (int, error) {
	var ps []payload
	if e.batch == 1 {
		var one struct{ RecordEvent payload }
		if err := json.Unmarshal(data, &one); err != nil {
			return 0, err
		}
		ps = []payload{one.RecordEvent}
	} else {
		var many struct{ RecordEvents []payload }
		if err := json.Unmarshal(data, &many); err != nil {
			return 0, err
		}
		ps = many.RecordEvents
		if len(ps) != e.batch {
			return 0, fmt.Errorf("%d payloads for %d events", len(ps), e.batch)
		}
	}
	notDone := 0
	for _, p := range ps {
		switch {
		case p.Error != nil:
			return 0, fmt.Errorf("event refused: %s: %s", p.Error.Code, p.Error.Message)
		case p.Duplicate:
			return 0, errors.New("event reported as a duplicate")
		case p.Event == nil:
			return 0, errors.New("payload without event")
		case p.Event.Status != "DONE":
			notDone++
		}
	}
	return notDone, nil
}

// cabinet is the q1 workload: one member's cabinet per request.
type cabinet struct {
	query   string
	members int
	prefix  string
	ids     []string // global ids, when the query needs them ($id)
}

func (q *cabinet) body(_, _ int, r *rand.Rand) ([]byte, int) {
	i := r.IntN(q.members)
	vars := map[string]any{"r": fmt.Sprintf("%s%d", q.prefix, i+1)}
	if q.ids != nil {
		vars["id"] = q.ids[i]
	}
	b, _ := json.Marshal(map[string]any{"query": q.query, "variables": vars})
	return b, 1
}

// memberIDs resolves the global ids of members PREFIX1 … PREFIXn, with the given concurrency.
func memberIDs(ctx context.Context, c *client, prefix string, n, clients int) ([]string, error) {
	ids := make([]string, n)
	errs := make(chan error, clients)
	var next atomic.Int64
	for range clients {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					errs <- nil
					return
				}
				var d struct{ Member *struct{ ID string } }
				if err := c.do(ctx, `query($r: String!) { member(externalRef: $r) { id } }`,
					map[string]any{"r": fmt.Sprintf("%s%d", prefix, i+1)}, &d); err != nil {
					errs <- err
					return
				}
				if d.Member == nil {
					errs <- fmt.Errorf("no member %s%d", prefix, i+1)
					return
				}
				ids[i] = d.Member.ID
			}
		}()
	}
	var first error
	for range clients {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return ids, first
}

// redemption is the r1 workload: one reward per request, members taken in turn so that no
// member is asked twice at once and none runs out of points early.
type redemption struct {
	ids     []string
	clients int
	reward  string
	run     string
}

const redeemQ = `mutation($m: ID!, $r: [ID!]!, $k: String!) { redeemRewards(memberId: $m, rewardIds: $r, idempotencyKey: $k) {
	replayed rejection { code message } redemption { id points } } }`

func (q *redemption) body(w, n int, _ *rand.Rand) ([]byte, int) {
	m := (n*q.clients + w) % len(q.ids)
	b, _ := json.Marshal(map[string]any{"query": redeemQ, "variables": map[string]any{
		"m": q.ids[m], "r": []string{q.reward}, "k": fmt.Sprintf("bench-%s-%d-%d", q.run, w, n)}})
	return b, 1
}

func (q *redemption) check(data json.RawMessage) (int, error) {
	var d struct {
		RedeemRewards struct {
			Replayed   bool
			Rejection  *struct{ Code, Message string }
			Redemption *struct {
				ID     string
				Points int
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, err
	}
	r := d.RedeemRewards
	switch {
	case r.Rejection != nil:
		return 0, fmt.Errorf("redemption refused: %s: %s", r.Rejection.Code, r.Rejection.Message)
	case r.Redemption == nil:
		return 0, errors.New("no redemption in the result")
	case r.Replayed:
		return 0, errors.New("redemption reported as replayed")
	}
	return 0, nil
}

func (q *cabinet) check(data json.RawMessage) (int, error) {
	var d struct{ Member *json.RawMessage }
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, err
	}
	if d.Member == nil || string(*d.Member) == "null" {
		return 0, errors.New("member not found")
	}
	return 0, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
