package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
)

// Translation between the SDK's types and the core's (contract.go). Requests go out as SDK
// values, answers come back as core values; nil stays nil and empty stays empty both ways, so
// the engine sees exactly what the plugin answered. Errors keep their chain (errors.As finds
// the SDK's *RemoteError) and gain the core's own sentinel where the core acts on one.

// Adapt returns the core's view of an SDK program in this process (tests wrap their fakes
// written against the SDK with it): it gets an event's AttributesJSON decoded into Attributes,
// as a plugin process does.
func Adapt(p sdk.Program) Program { return adapter{p: p} }

// adaptRemote returns the core's view of a plugin process (sdk.Dispense), to which an event's
// AttributesJSON goes as it is.
func adaptRemote(p sdk.Program) Program { return adapter{p: p, remote: true} }

type adapter struct {
	p      sdk.Program
	remote bool
}

// hostError gives an SDK error the core's sentinel it matches: ErrUnavailable for a plugin
// that cannot answer now, ErrInvalidConfig for a refused configuration. Other errors pass as
// they are.
func hostError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, sdk.ErrInvalidConfig):
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return err
}

func (a adapter) Describe(ctx context.Context) (Description, error) {
	d, err := a.p.Describe(ctx)
	if err != nil {
		return Description{}, hostError(err)
	}
	return descriptionIn(d), nil
}

func (a adapter) ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error) {
	resp, err := a.p.ValidateConfig(ctx, sdk.ValidateConfigRequest{Config: req.Config})
	if err != nil {
		return ValidateConfigResponse{}, hostError(err)
	}
	var out ValidateConfigResponse
	if resp.Errors != nil {
		out.Errors = make([]FieldError, len(resp.Errors))
		for i, e := range resp.Errors {
			out.Errors[i] = FieldError{Field: e.Field, Code: e.Code, Message: e.Message}
		}
	}
	return out, nil
}

func (a adapter) CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error) {
	resp, err := a.p.CheckEligibility(ctx, sdk.EligibilityRequest{Campaign: campaignOut(req.Campaign),
		Member: memberOut(req.Member), Answers: valuesOut(req.Answers), Now: req.Now})
	if err != nil {
		return EligibilityResponse{}, hostError(err)
	}
	return EligibilityResponse{Eligible: resp.Eligible, Reasons: reasonsIn(resp.Reasons), Effects: effectsIn(resp.Effects)}, nil
}

func (a adapter) Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error) {
	in := sdk.EvaluateRequest{Campaign: campaignOut(req.Campaign)}
	if req.Items != nil {
		in.Items = make([]sdk.EvaluateItem, len(req.Items))
		for i, it := range req.Items {
			ev, err := a.eventOut(it.Event)
			if err != nil {
				return EvaluateResponse{}, fmt.Errorf("%w: event %s: %w", sdk.ErrInvalidRequest, it.Event.ID, err)
			}
			in.Items[i] = sdk.EvaluateItem{Event: ev, Member: memberOut(it.Member)}
		}
	}
	resp, err := a.p.Evaluate(ctx, in)
	if err != nil {
		return EvaluateResponse{}, hostError(err)
	}
	var out EvaluateResponse
	if resp.Results != nil {
		out.Results = make([]EvaluateResult, len(resp.Results))
		for i, r := range resp.Results {
			out.Results[i] = EvaluateResult{Effects: effectsIn(r.Effects), NoEffectReason: r.NoEffectReason}
		}
	}
	return out, nil
}

func (a adapter) Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error) {
	resp, err := a.p.Quote(ctx, sdk.QuoteRequest{Campaign: campaignOut(req.Campaign), Member: memberOut(req.Member),
		Item: sdk.QuoteItem{RewardID: req.Item.RewardID, Category: req.Item.Category, Code: req.Item.Code,
			Price: req.Item.Price, Attributes: valuesOut(req.Item.Attributes)},
		Now: req.Now})
	if err != nil {
		return QuoteResponse{}, hostError(err)
	}
	return QuoteResponse{Price: resp.Price, MaxPointsPayable: resp.MaxPointsPayable, Allowed: resp.Allowed,
		Reasons: reasonsIn(resp.Reasons)}, nil
}

func (a adapter) Tick(ctx context.Context, req TickRequest) (TickResponse, error) {
	in := sdk.TickRequest{Campaign: campaignOut(req.Campaign), Hook: req.Hook, Now: req.Now, Cursor: req.Cursor}
	if req.Members != nil {
		in.Members = make([]sdk.Member, len(req.Members))
		for i, m := range req.Members {
			in.Members[i] = memberOut(m)
		}
	}
	resp, err := a.p.Tick(ctx, in)
	if err != nil {
		return TickResponse{}, hostError(err)
	}
	out := TickResponse{NextCursor: resp.NextCursor}
	if resp.Results != nil {
		out.Results = make([]MemberEffects, len(resp.Results))
		for i, r := range resp.Results {
			out.Results[i] = MemberEffects{MemberID: r.MemberID, Effects: effectsIn(r.Effects)}
		}
	}
	return out, nil
}

// ScheduleSpec is a parsed schedule: when its hook is next due.
type ScheduleSpec interface {
	// Next returns the first time the schedule fires strictly after after, wall-clock times
	// read in loc.
	Next(after time.Time, loc *time.Location) time.Time
}

// ParseSchedule parses a Schedule.Spec in the grammar plugins write (the SDK's, part of the
// protocol): "daily at=HH:MM:SS", "monthly day=N at=HH:MM:SS", "every=DURATION".
func ParseSchedule(spec string) (ScheduleSpec, error) {
	s, err := sdk.ParseSchedule(spec)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func descriptionIn(d sdk.Description) Description {
	out := Description{Name: d.Name, Version: d.Version, EventTypes: d.EventTypes, ConfigSchema: d.ConfigSchema,
		DefaultConfig: d.DefaultConfig, BenefitKinds: d.BenefitKinds, RewardKinds: d.RewardKinds,
		ForbiddenRewardKinds: d.ForbiddenRewardKinds}
	if d.Schedules != nil {
		out.Schedules = make([]Schedule, len(d.Schedules))
		for i, s := range d.Schedules {
			out.Schedules[i] = Schedule{Name: s.Name, Spec: s.Spec}
		}
	}
	return out
}

func valuesOut(v Values) sdk.Values {
	if v == nil {
		return nil
	}
	return sdk.Values(v)
}

func valuesIn(v sdk.Values) Values {
	if v == nil {
		return nil
	}
	return Values(v)
}

func campaignOut(c Campaign) sdk.Campaign {
	return sdk.Campaign{ID: c.ID, Code: c.Code, Program: c.Program, TimeZone: c.TimeZone, StartsAt: c.StartsAt,
		EndsAt: c.EndsAt, Config: c.Config}
}

// eventOut converts an event; its AttributesJSON goes as it is to a plugin process, and decoded
// as Attributes (numbers as json.Number, as the SDK decodes them) to a program in this process.
func (a adapter) eventOut(e Event) (sdk.Event, error) {
	out := sdk.Event{ID: e.ID, Type: e.Type, Source: e.Source, ExternalID: e.ExternalID, OccurredAt: e.OccurredAt,
		Attributes: valuesOut(e.Attributes)}
	switch {
	case len(e.AttributesJSON) == 0:
	case a.remote:
		out.AttributesJSON = e.AttributesJSON
	default:
		dec := json.NewDecoder(bytes.NewReader(e.AttributesJSON))
		dec.UseNumber()
		out.Attributes = nil
		if err := dec.Decode(&out.Attributes); err != nil {
			return sdk.Event{}, fmt.Errorf("attributes: %w", err)
		}
	}
	return out, nil
}

func memberOut(m Member) sdk.Member {
	out := sdk.Member{ID: m.ID, ExternalRef: m.ExternalRef, Name: m.Name, Email: m.Email, Phone: m.Phone,
		BirthDate: m.BirthDate, Region: m.Region, Status: m.Status, Attributes: valuesOut(m.Attributes),
		State: m.State, Version: m.Version}
	if m.Balances != nil {
		out.Balances = make([]sdk.Balance, len(m.Balances))
		for i, b := range m.Balances {
			out.Balances[i] = sdk.Balance{Program: b.Program, Available: b.Available, Pending: b.Pending,
				LifetimeEarned: b.LifetimeEarned, StatusBalance: b.StatusBalance}
		}
	}
	if m.Tiers != nil {
		out.Tiers = make([]sdk.Tier, len(m.Tiers))
		for i, t := range m.Tiers {
			out.Tiers[i] = sdk.Tier{Program: t.Program, Tier: t.Tier, ValidUntil: t.ValidUntil}
		}
	}
	if m.Benefits != nil {
		out.Benefits = make([]sdk.Benefit, len(m.Benefits))
		for i, b := range m.Benefits {
			out.Benefits[i] = sdk.Benefit{ID: b.ID, Key: b.Key, Campaign: b.Campaign, Kind: b.Kind, Title: b.Title,
				Code: b.Code, Percent: b.Percent, Scope: b.Scope, Exclusions: b.Exclusions, ValidFrom: b.ValidFrom,
				ValidUntil: b.ValidUntil, Status: b.Status, Attributes: valuesOut(b.Attributes)}
		}
	}
	if m.Enrollments != nil {
		out.Enrollments = make([]sdk.Enrollment, len(m.Enrollments))
		for i, e := range m.Enrollments {
			out.Enrollments[i] = sdk.Enrollment{Campaign: e.Campaign, EnrolledAt: e.EnrolledAt,
				Answers: valuesOut(e.Answers), RegisteredBy: e.RegisteredBy, Responsible: e.Responsible}
		}
	}
	return out
}

func reasonsIn(rs []sdk.Reason) []Reason {
	if rs == nil {
		return nil
	}
	out := make([]Reason, len(rs))
	for i, r := range rs {
		out[i] = Reason{Code: r.Code, Message: r.Message}
	}
	return out
}

func effectsIn(es []sdk.Effect) []Effect {
	if es == nil {
		return nil
	}
	out := make([]Effect, len(es))
	for i := range es {
		out[i] = effectIn(&es[i])
	}
	return out
}

// effectIn converts one effect payload by payload: every non-nil payload is carried over, so a
// malformed effect (no payload, a payload of another kind) reaches the engine as it came.
func effectIn(e *sdk.Effect) Effect {
	out := Effect{Kind: EffectKind(e.Kind)}
	if c := e.Credit; c != nil {
		out.Credit = &CreditPoints{Amount: c.Amount, Reason: c.Reason, AvailableAt: c.AvailableAt,
			ExpiresAt: c.ExpiresAt, StatusPoints: c.StatusPoints}
	}
	if d := e.Debit; d != nil {
		out.Debit = &DebitPoints{Amount: d.Amount, Reason: d.Reason}
	}
	if g := e.GrantBenefit; g != nil {
		out.GrantBenefit = &benefits.Spec{Key: g.Key, Kind: g.Kind, Title: g.Title, Percent: g.Percent, Scope: g.Scope,
			Exclusions: g.Exclusions, Quantity: g.Quantity, Recipient: g.Recipient, Code: g.Code,
			ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil, Attributes: valuesIn(g.Attributes)}
	}
	if c := e.ChangeBenefit; c != nil {
		out.ChangeBenefit = &benefits.ChangeSpec{Key: c.Key, Percent: c.Percent, ValidUntil: c.ValidUntil,
			Attributes: valuesIn(c.Attributes)}
	}
	if x := e.EndBenefit; x != nil {
		out.EndBenefit = &EndBenefit{Key: x.Key, Reason: x.Reason, At: x.At}
	}
	if t := e.SetTier; t != nil {
		out.SetTier = &SetTier{Tier: t.Tier, ValidUntil: t.ValidUntil}
	}
	if c := e.IssueCode; c != nil {
		out.IssueCode = &IssueCode{Purpose: c.Purpose}
	}
	if n := e.Notify; n != nil {
		out.Notify = &Notify{Channel: n.Channel, Template: n.Template, To: n.To, Params: n.Params}
	}
	if p := e.PutState; p != nil {
		out.PutState = &PutState{State: p.State}
	}
	if r := e.Reject; r != nil {
		out.Reject = &Reject{Code: r.Code, Message: r.Message}
	}
	return out
}
