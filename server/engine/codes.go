package engine

import (
	"context"
	"sync"

	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
)

// codeCache maps programme and campaign ids to their codes for member snapshots. Codes never
// change once created, so the maps are only reloaded (whole, from the database) when an id is
// missing from them, i.e. after a programme or campaign was created.
type codeCache struct {
	ledger    *ledger.Ledger
	campaigns *campaigns.Store

	mu            sync.Mutex
	programs      map[int64]string // replaced, never modified, once published
	campaignCodes map[int64]string
}

// get returns maps holding the codes of at least the given programmes and campaigns (ids that
// do not exist are absent). The maps are shared: callers must not modify them.
func (c *codeCache) get(ctx context.Context, programIDs, campaignIDs []int64) (map[int64]string, map[int64]string, error) {
	c.mu.Lock()
	progs, camps := c.programs, c.campaignCodes
	c.mu.Unlock()
	if progs != nil && hasAll(progs, programIDs) && hasAll(camps, campaignIDs) {
		return progs, camps, nil
	}
	ps, err := c.ledger.Programs(ctx)
	if err != nil {
		return nil, nil, err
	}
	progs = make(map[int64]string, len(ps))
	for _, p := range ps {
		progs[p.ID] = p.Code
	}
	if camps, err = c.campaigns.Codes(ctx); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.programs, c.campaignCodes = progs, camps
	c.mu.Unlock()
	return progs, camps, nil
}

func hasAll(m map[int64]string, ids []int64) bool {
	for _, id := range ids {
		if _, ok := m[id]; !ok {
			return false
		}
	}
	return true
}
