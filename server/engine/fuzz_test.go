package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/pluginhost"
)

// FuzzValidateEffects feeds validateEffects whatever a plugin could send, decoded from JSON into
// the core's []pluginhost.Effect (the seeds are SDK effects: the field names are the same), and checks that it never panics, never changes its input, answers the same
// twice, wraps errInvalidEffect on every refusal, and lets through only effects within the
// limits. Run it with
//
//	go test -run '^$' -fuzz FuzzValidateEffects -fuzztime 60s ./server/engine
func FuzzValidateEffects(f *testing.F) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	soon, later, past := now.Add(time.Hour), now.Add(48*time.Hour), now.Add(-time.Hour)
	seeds := [][]sdk.Effect{
		{sdk.Credit(100, "welcome")},
		{sdk.Credit(5, "pending", sdk.AvailableAt(soon), sdk.ExpiresAt(later), sdk.WithStatusPoints(5))},
		{{Kind: sdk.KindCreditPoints, Credit: &sdk.CreditPoints{Amount: 1, ExpiresAt: &past}}},
		{{Kind: sdk.KindCreditPoints, Credit: &sdk.CreditPoints{Amount: -1}}},
		{{Kind: sdk.KindCreditPoints}},
		{sdk.DebitPoints{Amount: 7, Reason: "spend"}.Effect()},
		{sdk.PutState{State: json.RawMessage(`{"count":3}`)}.Effect()},
		{sdk.Reject{Code: "NOT_ELIGIBLE", Message: "no"}.Effect(), sdk.Credit(1, "x")},
		{sdk.Reject{}.Effect()},
		{sdk.GrantBenefit{Key: "gift-1", Kind: "gift", Percent: 2501, Quantity: 1, ValidUntil: &later}.Effect()},
		{sdk.GrantBenefit{Key: "", Kind: "unknown", Percent: -1}.Effect()},
		{sdk.ChangeBenefit{Key: "gift-1"}.Effect(), sdk.EndBenefit{Key: "gift-1", Reason: "expired", At: &soon}.Effect()},
		{sdk.SetTier{Tier: "gold", ValidUntil: &later}.Effect(), sdk.SetTier{}.Effect()},
		{sdk.Notify{Channel: "sms", Template: "welcome", Params: map[string]string{"code": "$benefit:gift-1.code"}}.Effect()},
		{sdk.Notify{Channel: "pigeon"}.Effect(), sdk.IssueCode{Purpose: "referral"}.Effect()},
		{{Kind: "launch_missiles"}},
		{},
	}
	for _, s := range seeds {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"Kind":"credit_points","Credit":{"Amount":9223372036854775807,"StatusPoints":-9223372036854775808}}]`))
	f.Add([]byte(`[{"Kind":"credit_points","Credit":{"Amount":1,"AvailableAt":"9999-12-31T23:59:59Z","ExpiresAt":"0001-01-01T00:00:00Z"}}]`))

	l := Limits{}
	l.defaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		var effects []pluginhost.Effect
		if err := json.Unmarshal(data, &effects); err != nil {
			return
		}
		var before []pluginhost.Effect
		if err := json.Unmarshal(data, &before); err != nil {
			t.Fatal(err)
		}

		err := validateEffects(effects, &l, now)
		if !reflect.DeepEqual(effects, before) {
			t.Fatalf("validateEffects changed its input")
		}
		if again := validateEffects(effects, &l, now); (again == nil) != (err == nil) {
			t.Fatalf("validateEffects answered %v, then %v", err, again)
		}
		if err != nil {
			if !errors.Is(err, errInvalidEffect) {
				t.Fatalf("refusal does not wrap errInvalidEffect: %v", err)
			}
			return
		}
		if len(effects) > l.MaxEffects {
			t.Fatalf("%d effects accepted, limit %d", len(effects), l.MaxEffects)
		}
		for i, e := range effects {
			if _, ok := appliers[e.Kind]; !ok {
				t.Fatalf("effect %d: unknown kind %q accepted", i, e.Kind)
			}
			switch e.Kind {
			case pluginhost.KindCreditPoints:
				c := e.Credit
				if c == nil || c.Amount < 1 || c.Amount > l.MaxPoints || c.StatusPoints < 0 || c.StatusPoints > l.MaxPoints {
					t.Fatalf("effect %d: credit outside the limits accepted: %+v", i, c)
				}
				if c.AvailableAt != nil && c.AvailableAt.After(now.Add(l.MaxHorizon)) {
					t.Fatalf("effect %d: availability beyond the horizon accepted: %s", i, c.AvailableAt)
				}
				if c.ExpiresAt != nil && (!c.ExpiresAt.After(now) || (c.AvailableAt != nil && !c.ExpiresAt.After(*c.AvailableAt))) {
					t.Fatalf("effect %d: points expiring before they are available accepted: %+v", i, c)
				}
			case pluginhost.KindDebitPoints:
				if d := e.Debit; d == nil || d.Amount < 1 || d.Amount > l.MaxPoints {
					t.Fatalf("effect %d: debit outside the limits accepted: %+v", i, d)
				}
			case pluginhost.KindPutState:
				if p := e.PutState; p == nil || len(p.State) > l.MaxStateBytes || (len(p.State) > 0 && !json.Valid(p.State)) {
					t.Fatalf("effect %d: bad state accepted", i)
				}
			case pluginhost.KindReject:
				if e.Reject == nil || e.Reject.Code == "" {
					t.Fatalf("effect %d: reject without a code accepted", i)
				}
			case pluginhost.KindGrantBenefit:
				g := e.GrantBenefit
				if g == nil || g.Key == "" || g.Percent < 0 || g.Percent > 10000 || g.Quantity < 0 {
					t.Fatalf("effect %d: bad grant accepted: %+v", i, g)
				}
			case pluginhost.KindNotify:
				if n := e.Notify; n == nil || (n.Channel != "sms" && n.Channel != "email") || n.Template == "" {
					t.Fatalf("effect %d: bad notify accepted: %+v", i, n)
				}
			case pluginhost.KindChangeBenefit, pluginhost.KindEndBenefit, pluginhost.KindSetTier:
				if e.ChangeBenefit == nil && e.EndBenefit == nil && e.SetTier == nil {
					t.Fatalf("effect %d: %s without its payload accepted", i, e.Kind)
				}
			}
		}
	})
}
