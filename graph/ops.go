package graph

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
)

// transition moves the campaign with global id gid to state to.
func (r *Resolver) transition(ctx context.Context, gid string, to campaigns.Status) (*campaigns.Campaign, error) {
	cid, err := idOf(typeCampaign, gid)
	if err != nil {
		return nil, err
	}
	return r.CampaignStore.Transition(ctx, cid, to)
}

// recordEvents hands inputs to the engine and shapes one payload per input.
func (r *Resolver) recordEvents(ctx context.Context, inputs []model.EventInput) ([]model.RecordEventPayload, error) {
	if len(inputs) > engine.MaxBatch {
		return nil, invalidInput("recordEvents takes at most %d events", engine.MaxBatch)
	}
	ins := make([]event.Input, len(inputs))
	for i, in := range inputs {
		ins[i] = event.Input{Type: in.Type, MemberRef: in.MemberRef, Source: in.Source, ExternalID: in.ExternalID,
			OccurredAt: in.OccurredAt, Attributes: in.Attributes}
	}
	results, err := r.Engine.Record(ctx, ins)
	if err != nil {
		return nil, err
	}
	out := make([]model.RecordEventPayload, len(results))
	for i, res := range results {
		out[i] = model.RecordEventPayload{Event: res.Event, Duplicate: res.Duplicate}
		if res.Err != nil {
			code := model.EventErrorCodeInvalidEvent
			switch {
			case errors.Is(res.Err, engine.ErrUnknownMember):
				code = model.EventErrorCodeUnknownMember
			case errors.Is(res.Err, engine.ErrEventConflict):
				code = model.EventErrorCodeEventConflict
			case errors.Is(res.Err, engine.ErrFutureEvent):
				code = model.EventErrorCodeFutureEvent
			}
			out[i].Error = &model.EventError{Code: code, Message: res.Err.Error()}
		}
	}
	return out, nil
}

// jsonObject decodes a stored JSON document for the JSON scalar; null or empty gives null.
func jsonObject(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return map[string]any{"value": raw}, nil //nolint:nilerr // a value that is not an object is wrapped, not refused
	}
	return m, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func enrollmentConnection(es []benefits.Enrollment, more, hasPrevious bool) *model.EnrollmentConnection {
	conn := &model.EnrollmentConnection{Edges: make([]model.EnrollmentEdge, len(es))}
	cursors := make([]string, len(es))
	for i := range es {
		cursors[i] = cursor(es[i].ID)
		conn.Edges[i] = model.EnrollmentEdge{Cursor: cursors[i], Node: &es[i]}
	}
	conn.PageInfo = pageInfo(cursors, more, hasPrevious)
	return conn
}

// referralProgram returns the named programme, or, when code is nil, the one programme that
// runs a referral campaign now.
func (r *Resolver) referralProgram(ctx context.Context, code *string) (*ledger.Program, error) {
	if code != nil {
		return r.Ledger.ProgramByCode(ctx, *code)
	}
	ps, err := r.Ledger.Programs(ctx)
	if err != nil {
		return nil, err
	}
	var found []ledger.Program
	for _, p := range ps {
		cs, err := r.Engine.CampaignsFor(ctx, p.ID, referral.EventCodeApplied, r.Now().UTC())
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, invalidInput("name the programme: %d programmes run a referral campaign", len(found))
	}
	return &found[0], nil
}

// effectPayload shows an effect's payload (whichever one it carries) as a JSON object.
func effectPayload(e pluginhost.Effect) map[string]any {
	for _, p := range []any{e.Credit, e.Debit, e.GrantBenefit, e.ChangeBenefit, e.EndBenefit, e.SetTier, e.IssueCode, e.Notify, e.PutState, e.Reject} {
		v := reflect.ValueOf(p)
		if v.IsNil() {
			continue
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return map[string]any{"value": string(b)}
		}
		return m
	}
	return nil
}
