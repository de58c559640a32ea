package graph

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/rewards"
)

// Loaders batch the look-ups that the elements of a list would otherwise make once per row
// (gqlgen resolves a list's elements, and an object's resolver fields, concurrently; each
// loader collects the keys asked for within its wait and reads them with one statement). A
// fresh set is made per request (see WithLoaders), so nothing is cached across requests.
//
// Outside lists a loader has nothing to batch, and its wait would only add to the request's
// latency: a field of a single object (one member, one event) reads with a look-up of its own
// (see loader.load).
type Loaders struct {
	Program         loader[int64, *ledger.Program]
	Member          loader[int64, *members.Member]
	Balances        loader[int64, []ledger.Balance]
	Campaign        loader[int64, *campaigns.Campaign]
	Transaction     loader[int64, *ledger.Transaction]
	Reversal        loader[int64, *ledger.Transaction] // by the id of the transaction reversed
	Plugin          loader[pluginhost.Key, *pluginhost.Entry]
	PluginCampaigns loader[campaigns.PluginVersion, []campaigns.Campaign]
	Deliveries      loader[int64, []notify.Delivery] // by notification id

	mu      sync.Mutex
	members map[int64]*members.Member // see remember
}

// LoaderWait is how long a loader collects keys before it reads them: the elements of a list are
// resolved within microseconds of each other.
const LoaderWait = time.Millisecond

// loader reads values by key, in batches inside lists (see Loaders).
type loader[K comparable, V any] struct {
	batch *dataloadgen.Loader[K, V]
	fetch func(ctx context.Context, keys []K) (map[K]V, error)
	// absent is the value of a key fetch does not return; with notFound nil, that value is the
	// result, else notFound is the error.
	absent   V
	notFound error
}

func newLoader[K comparable, V any](wait time.Duration, notFound error, fetch func(ctx context.Context, keys []K) (map[K]V, error)) loader[K, V] {
	l := loader[K, V]{fetch: fetch, notFound: notFound}
	l.batch = dataloadgen.NewLoader(func(ctx context.Context, keys []K) ([]V, []error) {
		vs := make([]V, len(keys))
		m, err := fetch(ctx, keys)
		if err != nil {
			errs := make([]error, len(keys))
			for i := range errs {
				errs[i] = err
			}
			return vs, errs
		}
		var errs []error
		for i, k := range keys {
			v, ok := m[k]
			if !ok && notFound != nil {
				if errs == nil {
					errs = make([]error, len(keys))
				}
				errs[i] = notFound
			}
			vs[i] = v
		}
		return vs, errs
	}, dataloadgen.WithWait(wait))
	return l
}

// load returns the value of key: through the batch when the field being resolved belongs to an
// element of a list, whose siblings ask for their keys at the same time, else with a read of
// its own.
func (l loader[K, V]) load(ctx context.Context, key K) (V, error) {
	if inList(ctx) {
		return l.batch.Load(ctx, key)
	}
	m, err := l.fetch(ctx, []K{key})
	if err != nil {
		return l.absent, err
	}
	v, ok := m[key]
	if !ok && l.notFound != nil {
		return l.absent, l.notFound
	}
	return v, nil
}

// remember keeps a member that a root field read, for the fields resolved after it in the same
// request: the cabinet asks for member(externalRef:) and rewards(filter: {availableTo:}) of the
// same member, which then need not read it again. The loaders' member cache is primed too.
func (l *Loaders) remember(m *members.Member) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.members == nil {
		l.members = map[int64]*members.Member{}
	}
	l.members[m.ID] = m
	l.Member.batch.Prime(m.ID, m)
}

// remembered returns the member with the id that a root field of the request read, or nil.
func (l *Loaders) remembered(id int64) *members.Member {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.members[id]
}

type loadersKey struct{}

func newLoaders(r *Resolver) *Loaders {
	wait := r.LoaderWait
	if wait <= 0 {
		wait = LoaderWait
	}
	return &Loaders{
		Program: newLoader(wait, ledger.ErrProgramNotFound, func(ctx context.Context, ids []int64) (map[int64]*ledger.Program, error) {
			ps, err := r.Ledger.ProgramsByIDs(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := make(map[int64]*ledger.Program, len(ps))
			for i := range ps {
				out[ps[i].ID] = &ps[i]
				r.programs.put(&ps[i])
			}
			return out, nil
		}),
		Member:          newLoader(wait, members.ErrNotFound, r.MemberStore.GetMany),
		Balances:        newLoader(wait, nil, r.balances),
		Campaign:        newLoader(wait, campaigns.ErrNotFound, r.CampaignStore.GetMany),
		Transaction:     newLoader(wait, ledger.ErrTransactionNotFound, r.Ledger.TransactionsByIDs),
		Reversal:        newLoader(wait, nil, r.Ledger.ReversalsOf),
		Plugin:          newLoader(wait, pluginhost.ErrNotFound, r.Host.EntriesByKeys),
		PluginCampaigns: newLoader(wait, nil, r.CampaignStore.ByPlugins),
		Deliveries:      newLoader(wait, nil, r.NotificationStore.DeliveriesOf),
	}
}

// balances returns the balances of the members, an empty list for a member without any.
func (r *Resolver) balances(ctx context.Context, ids []int64) (map[int64][]ledger.Balance, error) {
	bs, err := r.Ledger.Balances(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := bs[id]; !ok {
			bs[id] = []ledger.Balance{}
		}
	}
	return bs, nil
}

// inList reports whether the field being resolved belongs to an element of a list, whose
// siblings may ask a loader for their keys at the same time.
func inList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

// programCacheSize bounds programCache; programmes are few.
const programCacheSize = 10_000

// programCache keeps the programmes read so far, by id, for the life of the process. A
// programme is never changed or deleted once created (no operation does either), so a cached
// one is never stale, and every element of a list that shows its programme (a cabinet's
// balances, transactions, tiers and rewards) finds it without a look-up or a dataloader's
// wait. The zero value is ready to use; it is safe for concurrent use.
type programCache struct {
	mu sync.RWMutex
	m  map[int64]*ledger.Program
}

func (c *programCache) get(id int64) *ledger.Program {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id]
}

func (c *programCache) put(p *ledger.Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]*ledger.Program{}
	}
	if len(c.m) < programCacheSize {
		c.m[p.ID] = p
	}
}

// program returns the programme with the id, from the cache or else through the request's
// dataloader (which fills the cache).
func (r *Resolver) program(ctx context.Context, id int64) (*ledger.Program, error) {
	if p := r.programs.get(id); p != nil {
		return p, nil
	}
	return r.loaders(ctx).Program.load(ctx, id)
}

// configCacheSize bounds configCache; campaigns are few.
const configCacheSize = 10_000

// configCache keeps the decoded configuration of each campaign shown so far, by campaign id,
// with the JSON it was decoded from: a hit needs the stored JSON to equal the campaign's (a
// changed configuration is decoded afresh and replaces the entry), so a cached value is never
// stale. Every reward of a catalogue bound to one campaign shows that campaign's configuration;
// it is decoded once, not once per reward and request. The values are shared and must not be
// modified (the JSON marshaller only reads them). The zero value is ready to use; it is safe
// for concurrent use.
type configCache struct {
	mu sync.RWMutex
	m  map[int64]decodedConfig
}

type decodedConfig struct {
	raw   []byte
	value map[string]any
}

// of returns campaign c's configuration as a JSON object (see jsonObject).
func (cc *configCache) of(c *campaigns.Campaign) (map[string]any, error) {
	cc.mu.RLock()
	e, ok := cc.m[c.ID]
	cc.mu.RUnlock()
	if ok && bytes.Equal(e.raw, c.Config) {
		return e.value, nil
	}
	v, err := jsonObject(c.Config)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[int64]decodedConfig{}
	}
	if _, ok := cc.m[c.ID]; ok || len(cc.m) < configCacheSize {
		cc.m[c.ID] = decodedConfig{raw: bytes.Clone(c.Config), value: v}
	}
	return v, nil
}

// primeCampaigns reads the campaigns the rewards are bound to with one statement and primes
// the request's campaign loader with them, so that the rewards' campaign fields find them
// whenever each is resolved (a loader's batch holds only the keys asked for within its wait).
// It reads nothing unless the connection being resolved (in a GraphQL request) selects
// edges { node { campaign } }.
func (r *Resolver) primeCampaigns(ctx context.Context, rs []rewards.Reward) error {
	if len(rs) == 0 || !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil ||
		!graphql.FieldRequested(ctx, "edges.node.campaign") {
		return nil
	}
	var ids []int64
	seen := map[int64]bool{}
	for i := range rs {
		if id := rs[i].CampaignID; id != nil && !seen[*id] {
			seen[*id] = true
			ids = append(ids, *id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cs, err := r.CampaignStore.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	l := r.loaders(ctx)
	for id, c := range cs {
		l.Campaign.batch.Prime(id, c)
	}
	return nil
}

type clientAddrKey struct{}

// clientAddr returns the network address (IP) of the request's client, or "".
func clientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}

// WithLoaders wraps next so that every request carries its own Loaders and its client's address.
func (r *Resolver) WithLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host, _, err := net.SplitHostPort(req.RemoteAddr)
		if err != nil {
			host = req.RemoteAddr
		}
		ctx := context.WithValue(req.Context(), loadersKey{}, newLoaders(r))
		ctx = context.WithValue(ctx, clientAddrKey{}, host)
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// loaders returns the request's loaders; outside a request (tests calling resolvers directly)
// it makes a fresh set.
func (r *Resolver) loaders(ctx context.Context) *Loaders {
	if l, ok := ctx.Value(loadersKey{}).(*Loaders); ok {
		return l
	}
	return newLoaders(r)
}
