package model

import "github.com/promogate/promogate/server/shadow"

// ShadowDiff is Shadow.diff's result: the summary, and what its examples are read from.
type ShadowDiff struct {
	shadow.Summary
	ShadowID int64
	Period   shadow.Period
}
