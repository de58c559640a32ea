package graph

import (
	"context"

	"github.com/promogate/promogate/server/backtest"
)

// backtestService is what the backtest resolvers need of backtest.Service.
type backtestService interface {
	Start(ctx context.Context, in backtest.StartInput) (*backtest.Backtest, error)
	Get(ctx context.Context, id int64) (*backtest.Backtest, error)
	List(ctx context.Context, campaignID int64, limit int) ([]backtest.Backtest, error)
	Cancel(ctx context.Context, id int64) (*backtest.Backtest, error)
	Members(ctx context.Context, id, after int64, limit int) ([]backtest.MemberResult, bool, error)
}

// backtests returns r.Backtests, or a service refusing everything with DISABLED when the
// server runs none.
func (r *Resolver) backtests() backtestService {
	if r.Backtests == nil {
		return noBacktests{}
	}
	return r.Backtests
}

type noBacktests struct{}

const backtestsOff = errDisabled("backtests are not available on this server")

func (noBacktests) Start(context.Context, backtest.StartInput) (*backtest.Backtest, error) {
	return nil, backtestsOff
}
func (noBacktests) Get(context.Context, int64) (*backtest.Backtest, error) { return nil, backtestsOff }
func (noBacktests) List(context.Context, int64, int) ([]backtest.Backtest, error) {
	return nil, backtestsOff
}
func (noBacktests) Cancel(context.Context, int64) (*backtest.Backtest, error) {
	return nil, backtestsOff
}
func (noBacktests) Members(context.Context, int64, int64, int) ([]backtest.MemberResult, bool, error) {
	return nil, false, backtestsOff
}
