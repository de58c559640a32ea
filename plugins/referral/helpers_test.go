package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
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
	return sdk.Campaign{ID: "c-ref", Code: "PBX-REFERRAL", Program: "t2-pbx", TimeZone: "Europe/Minsk", Config: json.RawMessage(config)}
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

// check compares the effects (other than put_state, which must be the single
// last effect) and the NoEffectReason of r with the wanted ones, and returns
// the new state (nil if none).
func check(t *testing.T, r sdk.EvaluateResult, want []sdk.Effect, wantReason string) *State {
	t.Helper()
	var got []sdk.Effect
	var st *State
	for i, e := range r.Effects {
		if e.Kind != sdk.KindPutState {
			got = append(got, e)
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

func stateJSON(t *testing.T, s State) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// core plays the core for several members: it keeps each member's state from
// one event to the next and never applies the effects of a rejected event.
type core struct {
	t       *testing.T
	p       sdk.Program
	config  string
	members map[string]*sdk.Member
}

func newCore(t *testing.T, config string) *core {
	return &core{t: t, p: connect(t), config: config, members: map[string]*sdk.Member{}}
}

func (c *core) member(id string) *sdk.Member {
	m, ok := c.members[id]
	if !ok {
		m = &sdk.Member{ID: id, ExternalRef: "ext-" + id, Name: "Client " + id}
		c.members[id] = m
	}
	return m
}

func (c *core) send(id, typ string, at time.Time, attrs sdk.Values) sdk.EvaluateResult {
	c.t.Helper()
	m := c.member(id)
	r := evaluate(c.t, c.p, c.config, *m, sdk.Event{ID: "e", Type: typ, OccurredAt: at, Attributes: attrs})
	for _, e := range r.Effects {
		if e.Kind == sdk.KindReject {
			return r
		}
	}
	for _, e := range r.Effects {
		if e.Kind == sdk.KindPutState {
			m.State = e.PutState.State
			m.Version++
		}
	}
	return r
}

func (c *core) state(id string) State {
	c.t.Helper()
	s, err := sdk.ReadState[State](c.member(id).State)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// applied is a referral.code_applied event's attributes for referrer id.
func applied(referrer string, registered time.Time, promoEnds string) sdk.Values {
	v := sdk.Values{"referrerId": referrer, "referrerRef": "ext-" + referrer, "referrerName": "Client " + referrer,
		"code": "K7M2-QX", "registeredAt": registered.Format(time.RFC3339)}
	if promoEnds != "" {
		v["promoPeriodEndsAt"] = promoEnds
	}
	return v
}

// joined is a referral.friend_joined event's attributes for referee id.
func joined(referee string, at time.Time) sdk.Values {
	return sdk.Values{"refereeId": referee, "refereeRef": "ext-" + referee, "refereeName": "Client " + referee,
		"appliedAt": at.Format(time.RFC3339)}
}

func refereeGrant(from, until time.Time, referrer string) sdk.Effect {
	return sdk.GrantBenefit{Key: "referee-discount", Kind: "discount", Title: "20% off all services for 3 months (invite code)",
		Percent: 2000, Scope: "all_services", Exclusions: []string{"sms_package"}, ValidFrom: ptr(from), ValidUntil: ptr(until),
		Attributes: sdk.Values{"referrerId": referrer, "code": "K7M2-QX"}}.Effect()
}

func referrerGrant(key string, bp int, title string, friends int, from, until time.Time) sdk.Effect {
	return sdk.GrantBenefit{Key: key, Kind: "discount", Title: title, Percent: bp, Scope: "all_services",
		Exclusions: []string{"sms_package"}, ValidFrom: ptr(from), ValidUntil: ptr(until),
		Attributes: sdk.Values{"friends": json.Number(itoa(friends))}}.Effect()
}

func referrerChange(key string, bp, friends int, until time.Time) sdk.Effect {
	return sdk.ChangeBenefit{Key: key, Percent: &bp, ValidUntil: ptr(until),
		Attributes: sdk.Values{"friends": json.Number(itoa(friends))}}.Effect()
}

func smsGrant(friends int, quantity int64, title string, at time.Time) sdk.Effect {
	return sdk.GrantBenefit{Key: "sms-package-" + itoa(friends), Kind: "sms_package", Title: title, Quantity: quantity,
		ValidFrom: ptr(at), Attributes: sdk.Values{"friends": json.Number(itoa(friends))}}.Effect()
}

func notice(name string, friends int, pct, until, sms string) sdk.Effect {
	return sdk.Notify{Channel: "sms", Template: "referral_friend_joined", Params: map[string]string{
		"refereeName": name, "friends": itoa(friends), "percent": pct, "validUntil": until, "smsPackage": sms,
	}}.Effect()
}

func rejected(code, message string) []sdk.Effect {
	return []sdk.Effect{sdk.Reject{Code: code, Message: message}.Effect()}
}

func itoa(n int) string { return strconv.Itoa(n) }
