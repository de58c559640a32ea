package graph

import (
	"errors"

	"github.com/vikstrous/dataloadgen"

	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/rewards"
)

// nilIfNotFound turns a not-found error into a null result, as GraphQL look-ups by id expect.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if errors.Is(err, members.ErrNotFound) || errors.Is(err, ledger.ErrProgramNotFound) ||
		errors.Is(err, ledger.ErrTransactionNotFound) || errors.Is(err, dataloadgen.ErrNotFound) ||
		errors.Is(err, campaigns.ErrNotFound) || errors.Is(err, engine.ErrNotFound) || errors.Is(err, pluginhost.ErrNotFound) ||
		errors.Is(err, rewards.ErrNotFound) || errors.Is(err, rewards.ErrOrderNotFound) {
		return nil, nil
	}
	return v, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
