package main

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

var minsk = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Minsk")
	if err != nil {
		panic(err)
	}
	return loc
}()

// mt is a wall-clock time in Minsk.
func mt(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, minsk)
}

// ptr returns the instant t in UTC, as it arrives from the wire.
func ptr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

func campaign(config string) sdk.Campaign {
	return sdk.Campaign{ID: "c-tp", Code: "SUMMER23", Program: "a1", TimeZone: "Europe/Minsk", Config: json.RawMessage(config)}
}

// show renders v for a failure message.
func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func connect(t *testing.T) sdk.Program {
	t.Helper()
	return sdktest.Connect(t, Plugin{})
}

// evaluate sends one event of member m to p under the campaign config.
func evaluate(t *testing.T, p sdk.Program, config string, m sdk.Member, ev sdk.Event) sdk.EvaluateResult {
	t.Helper()
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{
		Campaign: campaign(config),
		Items:    []sdk.EvaluateItem{{Event: ev, Member: m}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("%d results for one item", len(resp.Results))
	}
	return resp.Results[0]
}

// split separates the put_state effect (decoded) from the others. A result
// may hold at most one put_state, and it must come last.
func split(t *testing.T, r sdk.EvaluateResult) ([]sdk.Effect, *State) {
	t.Helper()
	var others []sdk.Effect
	var st *State
	for i, e := range r.Effects {
		if e.Kind != sdk.KindPutState {
			others = append(others, e)
			continue
		}
		if st != nil || i != len(r.Effects)-1 {
			t.Fatalf("put_state is not the single last effect: %s", show(r.Effects))
		}
		s, err := sdk.ReadState[State](e.PutState.State)
		if err != nil {
			t.Fatalf("state %s: %v", e.PutState.State, err)
		}
		st = &s
	}
	return others, st
}

// check compares the effects (other than put_state) and the NoEffectReason
// of r with the wanted ones, and returns the new state (nil if none).
func check(t *testing.T, r sdk.EvaluateResult, want []sdk.Effect, wantReason string) *State {
	t.Helper()
	got, st := split(t, r)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("effects:\n%s\nwant:\n%s", show(got), show(want))
	}
	if r.NoEffectReason != wantReason {
		t.Errorf("NoEffectReason:\n%q\nwant:\n%q", r.NoEffectReason, wantReason)
	}
	if wantReason != "" && len(r.Effects) > 0 {
		t.Errorf("a result with a NoEffectReason has effects: %s", show(r.Effects))
	}
	return st
}

// stateJSON encodes s as it travels in Member.State.
func stateJSON(t *testing.T, s State) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// core plays the core for one member: it keeps the member's state from one
// event to the next, as the core applies put_state, and never applies the
// effects of a rejected event.
type core struct {
	t      *testing.T
	p      sdk.Program
	config string
	member sdk.Member
}

func newCore(t *testing.T, config string) *core {
	return &core{t: t, p: connect(t), config: config, member: sdk.Member{ID: "m1", Phone: "+375291112233"}}
}

func (c *core) send(typ string, at time.Time, attrs sdk.Values) sdk.EvaluateResult {
	c.t.Helper()
	r := evaluate(c.t, c.p, c.config, c.member, sdk.Event{ID: "e", Type: typ, OccurredAt: at, Attributes: attrs})
	for _, e := range r.Effects {
		if e.Kind == sdk.KindReject {
			return r
		}
	}
	for _, e := range r.Effects {
		if e.Kind == sdk.KindPutState {
			c.member.State = e.PutState.State
			c.member.Version++
		}
	}
	return r
}

func (c *core) state() State {
	c.t.Helper()
	s, err := sdk.ReadState[State](c.member.State)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// connection is the attributes of a new postpaid connection of plan.
func connection(plan string) sdk.Values {
	return sdk.Values{"tariffPlan": plan, "payment": "postpaid", "reregistration": false,
		"clientType": "person", "number": "+375291112233", "newNumber": true}
}

// with returns a copy of v with the given key/value pairs set.
func with(v sdk.Values, kv ...any) sdk.Values {
	out := sdk.Values{}
	for k, x := range v {
		out[k] = x
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// discountGrant is the grant_benefit of the Table 1 discount.
func discountGrant(plan string, bp int, title string, from, until time.Time) sdk.Effect {
	return sdk.GrantBenefit{Key: "fee-discount", Kind: "discount", Title: title, Percent: bp, Scope: "monthly_fee",
		ValidFrom: ptr(from), ValidUntil: ptr(until),
		Attributes: sdk.Values{"tariffPlan": plan, "number": "+375291112233"}}.Effect()
}

// addonGrant is the grant_benefit of a Table 2 add-on.
func addonGrant(key, addon, plan, title, content string, from, until time.Time) sdk.Effect {
	return sdk.GrantBenefit{Key: key, Kind: "addon", Title: title, ValidFrom: ptr(from), ValidUntil: ptr(until),
		Attributes: sdk.Values{"addon": addon, "tariffPlan": plan, "content": content, "days": json.Number("90")}}.Effect()
}

func end(key, reason string, at time.Time) sdk.Effect {
	return sdk.EndBenefit{Key: key, Reason: reason, At: ptr(at)}.Effect()
}

func rejected(code, message string) []sdk.Effect {
	return []sdk.Effect{sdk.Reject{Code: code, Message: message}.Effect()}
}
