// Package hook names the occurrences of campaigns' scheduled hooks and the pages of
// participants they are run in: the vocabulary the scheduler (which decides when a hook runs and
// owns its progress) shares with the engine (which runs a page: asks the campaign's plugin and
// applies its effects), so that the scheduler does not depend on the engine.
package hook

import (
	"time"

	"github.com/promogate/promogate/server/campaigns"
)

// Run names one occurrence of a campaign's scheduled hook.
type Run struct {
	Campaign *campaigns.Campaign
	Hook     string
	Due      time.Time
}

// Page is a page of a run's participants as the engine read it (the enrolments after a
// cursor). Only the engine that read a page evaluates and applies it; what it evaluated stays
// inside the page.
type Page interface {
	// Cursor is the run's cursor the page starts after.
	Cursor() int64
	// Next is the run's cursor once the page is applied (its last enrolment).
	Next() int64
	// More reports whether enrolments follow the page.
	More() bool
	// Shares reports whether the two pages have a member in common (a member enrolled more
	// than once): the later page must then be evaluated after the earlier one is applied, so
	// that the plugin sees what the earlier page did.
	Shares(q Page) bool
}
