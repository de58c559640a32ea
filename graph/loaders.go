package graph

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

// Loaders batch the look-ups that lists would otherwise make once per row. A fresh set is made
// per request (see WithLoaders), so nothing is cached across requests.
type Loaders struct {
	Program  *dataloadgen.Loader[int64, *ledger.Program]
	Member   *dataloadgen.Loader[int64, *members.Member]
	Balances *dataloadgen.Loader[int64, []ledger.Balance]

	mu      sync.Mutex
	members map[int64]*members.Member // see remember
}

// remember keeps a member that a root field read, for the fields resolved after it in the same
// request (Query's fields are resolved in order): the cabinet asks for member(externalRef:) and
// rewards(filter: {availableTo:}) of the same member, and reads it once.
func (l *Loaders) remember(m *members.Member) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.members == nil {
		l.members = map[int64]*members.Member{}
	}
	l.members[m.ID] = m
}

// remembered returns the member with the id that a root field of the request read, or nil.
func (l *Loaders) remembered(id int64) *members.Member {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.members[id]
}

type loadersKey struct{}

func newLoaders(r *Resolver) *Loaders {
	wait := dataloadgen.WithWait(time.Millisecond)
	return &Loaders{
		Program: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*ledger.Program, error) {
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
		}, wait),
		Member: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*members.Member, error) {
			return r.MemberStore.GetMany(ctx, ids)
		}, wait),
		Balances: dataloadgen.NewMappedLoader(r.balances, wait),
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

// memberBalances returns the member's balances: through the request's dataloader when the
// member is an element of a list, with a look-up of its own otherwise.
func (r *Resolver) memberBalances(ctx context.Context, id int64) ([]ledger.Balance, error) {
	if inList(ctx) {
		return r.loaders(ctx).Balances.Load(ctx, id)
	}
	bs, err := r.balances(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	return bs[id], nil
}

// inList reports whether the field being resolved belongs to an element of a list, whose
// siblings may ask a dataloader for their keys at the same time. Outside lists a dataloader
// has nothing to batch, and its wait only adds to the request's latency.
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
	return r.loaders(ctx).Program.Load(ctx, id)
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
