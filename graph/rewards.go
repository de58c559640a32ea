package graph

import (
	"context"
	"errors"
	"math"

	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/rewards"
)

// Global id type names of the rewards types.
const (
	typeReward     = "Reward"
	typeRedemption = "Redemption"
)

// optionalID decodes an optional global id of type typ; nil stays nil.
func optionalID(typ string, gid *string) (*int64, error) {
	if gid == nil {
		return nil, nil
	}
	id, err := idOf(typ, *gid)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// smallInt converts an Int argument to an int, refusing values an int32 cannot hold.
func smallInt(name string, v *int64) (*int, error) {
	if v == nil {
		return nil, nil
	}
	if *v < 0 || *v > math.MaxInt32 {
		return nil, invalidInput("%s must be between 0 and %d", name, math.MaxInt32)
	}
	n := int(*v)
	return &n, nil
}

// programOf returns the id of the programme with the code.
func (r *Resolver) programOf(ctx context.Context, code string) (int64, error) {
	p, err := r.Ledger.ProgramByCode(ctx, code)
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

func rewardConnection(rs []rewards.Reward, more, hasPrevious bool) *model.RewardConnection {
	conn := &model.RewardConnection{Edges: make([]model.RewardEdge, len(rs))}
	cursors := make([]string, len(rs))
	for i := range rs {
		cursors[i] = cursor(rs[i].ID)
		conn.Edges[i] = model.RewardEdge{Cursor: cursors[i], Node: &rs[i]}
	}
	conn.PageInfo = pageInfo(cursors, more, hasPrevious)
	return conn
}

func redemptionConnection(os []rewards.Order, more, hasPrevious bool) *model.RedemptionConnection {
	conn := &model.RedemptionConnection{Edges: make([]model.RedemptionEdge, len(os))}
	cursors := make([]string, len(os))
	for i := range os {
		cursors[i] = cursor(os[i].ID)
		conn.Edges[i] = model.RedemptionEdge{Cursor: cursors[i], Node: &os[i]}
	}
	conn.PageInfo = pageInfo(cursors, more, hasPrevious)
	return conn
}

// nilIfNoReward turns a missing reward into a null result.
func nilIfNoReward(rw *rewards.Reward, err error) (*rewards.Reward, error) {
	if errors.Is(err, rewards.ErrNotFound) {
		return nil, nil
	}
	return rw, err
}

// transactionOrNil loads an optional ledger transaction.
func (r *Resolver) transactionOrNil(ctx context.Context, id *int64) (*ledger.Transaction, error) {
	if id == nil {
		return nil, nil
	}
	return r.loaders(ctx).Transaction.load(ctx, *id)
}
