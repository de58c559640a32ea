// Command versioned is a program plugin for the explanation tests: one source built as several
// versions (go build -ldflags "-X main.version=2.0.0"), each deciding differently, so a
// posting's explanation can be checked to name the version that made it.
//
// For a purchase it credits 10 points per major version ("v<version>: <n> points"). A purchase
// with attribute "gift" true also grants a promo code (key "thanks-<event id>"), sets the tier
// "gold" and sends the code by SMS (template "thanks"). A purchase with attribute "spend" debits
// that many points instead (refused by the ledger when the balance is short).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// version is what Describe reports; the build sets it.
var version = "1.0.0"

// Plugin decides as its version says.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

func main() {
	sdk.Serve(Plugin{})
}

// Describe reports the plugin; it handles purchase events.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          "versioned",
		Version:       version,
		EventTypes:    []string{"purchase"},
		ConfigSchema:  json.RawMessage(`{"type":"object"}`),
		DefaultConfig: json.RawMessage(`{}`),
	}, nil
}

// ValidateConfig accepts any configuration.
func (Plugin) ValidateConfig(context.Context, sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return sdk.ValidateConfigResponse{}, nil
}

// points is what this version credits per purchase: 10 per major version.
func points() int64 {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.ParseInt(major, 10, 64)
	if err != nil || n < 1 {
		n = 1
	}
	return 10 * n
}

// Evaluate decides each purchase of the batch.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		attrs := item.Event.Attributes
		if spend, ok := attrs.Int("spend"); ok {
			results[i].Effects = []sdk.Effect{sdk.DebitPoints{Amount: spend, Reason: fmt.Sprintf("v%s: spend %d", version, spend)}.Effect()}
			continue
		}
		n := points()
		effects := []sdk.Effect{sdk.CreditPoints{Amount: n, Reason: fmt.Sprintf("v%s: %d points", version, n)}.Effect()}
		if attrs.Bool("gift") {
			key := "thanks-" + item.Event.ID
			effects = append(effects,
				sdk.GrantBenefit{Key: key, Kind: "promo_code", Title: "Thank you"}.Effect(),
				sdk.SetTier{Tier: "gold"}.Effect(),
				sdk.Notify{Channel: "sms", Template: "thanks", To: "+10000000000", Params: map[string]string{"code": "$benefit:" + key + ".code"}}.Effect())
		}
		results[i].Effects = effects
	}
	return sdk.EvaluateResponse{Results: results}, nil
}
