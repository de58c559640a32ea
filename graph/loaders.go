package graph

import (
	"context"
	"net"
	"net/http"
	"time"

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
			}
			return out, nil
		}, wait),
		Member: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*members.Member, error) {
			return r.MemberStore.GetMany(ctx, ids)
		}, wait),
		Balances: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64][]ledger.Balance, error) {
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
		}, wait),
	}
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
