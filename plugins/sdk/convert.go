package sdk

// Translation between the plain SDK types and the generated protobuf messages.
//
// Nil and empty: JSON documents (json.RawMessage, Values) keep the difference
// (nil travels as no bytes, an empty object as "{}"); repeated fields and
// string maps do not, and an empty one arrives as nil. The zero time.Time and
// a nil *time.Time travel as an absent Timestamp; instants arrive in UTC.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	programv1 "github.com/promogate/promogate/plugins/sdk/proto/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// encoder turns plain values into protobuf messages, remembering the first
// failure so that the conversion code reads as straight-line assignments.
type encoder struct{ err error }

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

func (e *encoder) values(field string, v Values) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.fail("%s: %w", field, err)
		return nil
	}
	return b
}

// decoder turns protobuf messages into plain values, remembering the first
// failure.
type decoder struct{ err error }

func (d *decoder) values(field string, b []byte) Values {
	if len(b) == 0 {
		return nil
	}
	if v, ok := flatValues(b); ok {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v Values
	if err := dec.Decode(&v); err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("%s: %w", field, err)
		}
		return nil
	}
	return v
}

func rawOut(r json.RawMessage) []byte {
	if len(r) == 0 {
		return nil
	}
	return r
}

func rawIn(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func stringsIn(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func tsOut(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsIn(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func tsPtrOut(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func tsPtrIn(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime()
	return &t
}

// Description.

func descriptionOut(d Description) *programv1.Description {
	out := &programv1.Description{
		Name:                 d.Name,
		Version:              d.Version,
		EventTypes:           d.EventTypes,
		ConfigSchemaJson:     rawOut(d.ConfigSchema),
		DefaultConfigJson:    rawOut(d.DefaultConfig),
		BenefitKinds:         d.BenefitKinds,
		RewardKinds:          d.RewardKinds,
		ForbiddenRewardKinds: d.ForbiddenRewardKinds,
	}
	for _, s := range d.Schedules {
		out.Schedules = append(out.Schedules, &programv1.Schedule{Name: s.Name, Spec: s.Spec})
	}
	return out
}

func descriptionIn(d *programv1.Description) Description {
	out := Description{
		Name:                 d.GetName(),
		Version:              d.GetVersion(),
		EventTypes:           stringsIn(d.GetEventTypes()),
		ConfigSchema:         rawIn(d.GetConfigSchemaJson()),
		DefaultConfig:        rawIn(d.GetDefaultConfigJson()),
		BenefitKinds:         stringsIn(d.GetBenefitKinds()),
		RewardKinds:          stringsIn(d.GetRewardKinds()),
		ForbiddenRewardKinds: stringsIn(d.GetForbiddenRewardKinds()),
	}
	for _, s := range d.GetSchedules() {
		out.Schedules = append(out.Schedules, Schedule{Name: s.GetName(), Spec: s.GetSpec()})
	}
	return out
}

// Campaign and member snapshots.

func campaignOut(c Campaign) *programv1.Campaign {
	return &programv1.Campaign{
		Id:         c.ID,
		Code:       c.Code,
		Program:    c.Program,
		TimeZone:   c.TimeZone,
		StartsAt:   tsOut(c.StartsAt),
		EndsAt:     tsOut(c.EndsAt),
		ConfigJson: rawOut(c.Config),
	}
}

func campaignIn(c *programv1.Campaign) Campaign {
	return Campaign{
		ID:       c.GetId(),
		Code:     c.GetCode(),
		Program:  c.GetProgram(),
		TimeZone: c.GetTimeZone(),
		StartsAt: tsIn(c.GetStartsAt()),
		EndsAt:   tsIn(c.GetEndsAt()),
		Config:   rawIn(c.GetConfigJson()),
	}
}

func (e *encoder) member(m Member) *programv1.Member {
	out := &programv1.Member{
		Id:             m.ID,
		ExternalRef:    m.ExternalRef,
		Name:           m.Name,
		Email:          m.Email,
		Phone:          m.Phone,
		BirthDate:      m.BirthDate,
		Region:         m.Region,
		Status:         m.Status,
		AttributesJson: e.values("member.attributes", m.Attributes),
		StateJson:      rawOut(m.State),
		Version:        m.Version,
	}
	for _, b := range m.Balances {
		out.Balances = append(out.Balances, &programv1.Balance{
			Program:        b.Program,
			Available:      b.Available,
			Pending:        b.Pending,
			LifetimeEarned: b.LifetimeEarned,
			StatusBalance:  b.StatusBalance,
		})
	}
	for _, t := range m.Tiers {
		out.Tiers = append(out.Tiers, &programv1.Tier{
			Program:    t.Program,
			Tier:       t.Tier,
			ValidUntil: tsPtrOut(t.ValidUntil),
		})
	}
	for _, b := range m.Benefits {
		out.Benefits = append(out.Benefits, &programv1.Benefit{
			Id:             b.ID,
			Key:            b.Key,
			Campaign:       b.Campaign,
			Kind:           b.Kind,
			Title:          b.Title,
			Code:           b.Code,
			Percent:        int64(b.Percent),
			Scope:          b.Scope,
			Exclusions:     b.Exclusions,
			ValidFrom:      tsPtrOut(b.ValidFrom),
			ValidUntil:     tsPtrOut(b.ValidUntil),
			Status:         b.Status,
			AttributesJson: e.values("member.benefits.attributes", b.Attributes),
		})
	}
	for _, en := range m.Enrollments {
		out.Enrollments = append(out.Enrollments, &programv1.Enrollment{
			Campaign:     en.Campaign,
			EnrolledAt:   tsOut(en.EnrolledAt),
			AnswersJson:  e.values("member.enrollments.answers", en.Answers),
			RegisteredBy: en.RegisteredBy,
			Responsible:  en.Responsible,
		})
	}
	return out
}

func (d *decoder) member(m *programv1.Member) Member {
	out := Member{
		ID:          m.GetId(),
		ExternalRef: m.GetExternalRef(),
		Name:        m.GetName(),
		Email:       m.GetEmail(),
		Phone:       m.GetPhone(),
		BirthDate:   m.GetBirthDate(),
		Region:      m.GetRegion(),
		Status:      m.GetStatus(),
		Attributes:  d.values("member.attributes", m.GetAttributesJson()),
		State:       rawIn(m.GetStateJson()),
		Version:     m.GetVersion(),
	}
	for _, b := range m.GetBalances() {
		out.Balances = append(out.Balances, Balance{
			Program:        b.GetProgram(),
			Available:      b.GetAvailable(),
			Pending:        b.GetPending(),
			LifetimeEarned: b.GetLifetimeEarned(),
			StatusBalance:  b.GetStatusBalance(),
		})
	}
	for _, t := range m.GetTiers() {
		out.Tiers = append(out.Tiers, Tier{
			Program:    t.GetProgram(),
			Tier:       t.GetTier(),
			ValidUntil: tsPtrIn(t.GetValidUntil()),
		})
	}
	for _, b := range m.GetBenefits() {
		out.Benefits = append(out.Benefits, Benefit{
			ID:         b.GetId(),
			Key:        b.GetKey(),
			Campaign:   b.GetCampaign(),
			Kind:       b.GetKind(),
			Title:      b.GetTitle(),
			Code:       b.GetCode(),
			Percent:    int(b.GetPercent()),
			Scope:      b.GetScope(),
			Exclusions: stringsIn(b.GetExclusions()),
			ValidFrom:  tsPtrIn(b.GetValidFrom()),
			ValidUntil: tsPtrIn(b.GetValidUntil()),
			Status:     b.GetStatus(),
			Attributes: d.values("member.benefits.attributes", b.GetAttributesJson()),
		})
	}
	for _, en := range m.GetEnrollments() {
		out.Enrollments = append(out.Enrollments, Enrollment{
			Campaign:     en.GetCampaign(),
			EnrolledAt:   tsIn(en.GetEnrolledAt()),
			Answers:      d.values("member.enrollments.answers", en.GetAnswersJson()),
			RegisteredBy: en.GetRegisteredBy(),
			Responsible:  en.GetResponsible(),
		})
	}
	return out
}

func (e *encoder) members(ms []Member) []*programv1.Member {
	var out []*programv1.Member
	for _, m := range ms {
		out = append(out, e.member(m))
	}
	return out
}

func (d *decoder) members(ms []*programv1.Member) []Member {
	var out []Member
	for _, m := range ms {
		out = append(out, d.member(m))
	}
	return out
}

func (e *encoder) event(ev Event) *programv1.Event {
	return &programv1.Event{
		Id:             ev.ID,
		Type:           ev.Type,
		Source:         ev.Source,
		ExternalId:     ev.ExternalID,
		OccurredAt:     tsOut(ev.OccurredAt),
		AttributesJson: e.eventAttributes(ev),
	}
}

func (e *encoder) eventAttributes(ev Event) []byte {
	if len(ev.AttributesJSON) > 0 {
		return ev.AttributesJSON
	}
	return e.values("event.attributes", ev.Attributes)
}

func (d *decoder) event(ev *programv1.Event) Event {
	return Event{
		ID:         ev.GetId(),
		Type:       ev.GetType(),
		Source:     ev.GetSource(),
		ExternalID: ev.GetExternalId(),
		OccurredAt: tsIn(ev.GetOccurredAt()),
		Attributes: d.values("event.attributes", ev.GetAttributesJson()),
	}
}

// Effects.

func (e *encoder) effect(f Effect) *programv1.Effect {
	out := &programv1.Effect{Kind: string(f.Kind)}
	payloads := 0
	if c := f.Credit; c != nil {
		payloads++
		out.Payload = &programv1.Effect_CreditPoints{CreditPoints: &programv1.CreditPoints{
			Amount:       c.Amount,
			Reason:       c.Reason,
			AvailableAt:  tsPtrOut(c.AvailableAt),
			ExpiresAt:    tsPtrOut(c.ExpiresAt),
			StatusPoints: c.StatusPoints,
		}}
	}
	if d := f.Debit; d != nil {
		payloads++
		out.Payload = &programv1.Effect_DebitPoints{DebitPoints: &programv1.DebitPoints{Amount: d.Amount, Reason: d.Reason}}
	}
	if g := f.GrantBenefit; g != nil {
		payloads++
		out.Payload = &programv1.Effect_GrantBenefit{GrantBenefit: &programv1.GrantBenefit{
			Key:            g.Key,
			Kind:           g.Kind,
			Title:          g.Title,
			Percent:        int64(g.Percent),
			Scope:          g.Scope,
			Exclusions:     g.Exclusions,
			Quantity:       g.Quantity,
			Recipient:      g.Recipient,
			Code:           g.Code,
			ValidFrom:      tsPtrOut(g.ValidFrom),
			ValidUntil:     tsPtrOut(g.ValidUntil),
			AttributesJson: e.values("grant_benefit.attributes", g.Attributes),
		}}
	}
	if c := f.ChangeBenefit; c != nil {
		p := &programv1.ChangeBenefit{
			Key:            c.Key,
			ValidUntil:     tsPtrOut(c.ValidUntil),
			AttributesJson: e.values("change_benefit.attributes", c.Attributes),
		}
		if c.Percent != nil {
			pct := int64(*c.Percent)
			p.Percent = &pct
		}
		payloads++
		out.Payload = &programv1.Effect_ChangeBenefit{ChangeBenefit: p}
	}
	if x := f.EndBenefit; x != nil {
		payloads++
		out.Payload = &programv1.Effect_EndBenefit{EndBenefit: &programv1.EndBenefit{Key: x.Key, Reason: x.Reason, At: tsPtrOut(x.At)}}
	}
	if s := f.SetTier; s != nil {
		payloads++
		out.Payload = &programv1.Effect_SetTier{SetTier: &programv1.SetTier{Tier: s.Tier, ValidUntil: tsPtrOut(s.ValidUntil)}}
	}
	if i := f.IssueCode; i != nil {
		payloads++
		out.Payload = &programv1.Effect_IssueCode{IssueCode: &programv1.IssueCode{Purpose: i.Purpose}}
	}
	if n := f.Notify; n != nil {
		payloads++
		out.Payload = &programv1.Effect_Notify{Notify: &programv1.Notify{Channel: n.Channel, Template: n.Template, To: n.To, Params: n.Params}}
	}
	if p := f.PutState; p != nil {
		payloads++
		out.Payload = &programv1.Effect_PutState{PutState: &programv1.PutState{StateJson: rawOut(p.State)}}
	}
	if r := f.Reject; r != nil {
		payloads++
		out.Payload = &programv1.Effect_Reject{Reject: &programv1.Reject{Code: r.Code, Message: r.Message}}
	}
	if payloads > 1 {
		e.fail("effect of kind %q has %d payloads, at most one may be set", f.Kind, payloads)
	}
	return out
}

func (d *decoder) effect(f *programv1.Effect) Effect {
	out := Effect{Kind: EffectKind(f.GetKind())}
	switch p := f.GetPayload().(type) {
	case *programv1.Effect_CreditPoints:
		c := p.CreditPoints
		out.Credit = &CreditPoints{
			Amount:       c.GetAmount(),
			Reason:       c.GetReason(),
			AvailableAt:  tsPtrIn(c.GetAvailableAt()),
			ExpiresAt:    tsPtrIn(c.GetExpiresAt()),
			StatusPoints: c.GetStatusPoints(),
		}
	case *programv1.Effect_DebitPoints:
		out.Debit = &DebitPoints{Amount: p.DebitPoints.GetAmount(), Reason: p.DebitPoints.GetReason()}
	case *programv1.Effect_GrantBenefit:
		g := p.GrantBenefit
		out.GrantBenefit = &GrantBenefit{
			Key:        g.GetKey(),
			Kind:       g.GetKind(),
			Title:      g.GetTitle(),
			Percent:    int(g.GetPercent()),
			Scope:      g.GetScope(),
			Exclusions: stringsIn(g.GetExclusions()),
			Quantity:   g.GetQuantity(),
			Recipient:  g.GetRecipient(),
			Code:       g.GetCode(),
			ValidFrom:  tsPtrIn(g.GetValidFrom()),
			ValidUntil: tsPtrIn(g.GetValidUntil()),
			Attributes: d.values("grant_benefit.attributes", g.GetAttributesJson()),
		}
	case *programv1.Effect_ChangeBenefit:
		c := p.ChangeBenefit
		out.ChangeBenefit = &ChangeBenefit{
			Key:        c.GetKey(),
			ValidUntil: tsPtrIn(c.GetValidUntil()),
			Attributes: d.values("change_benefit.attributes", c.GetAttributesJson()),
		}
		if c.Percent != nil {
			pct := int(c.GetPercent())
			out.ChangeBenefit.Percent = &pct
		}
	case *programv1.Effect_EndBenefit:
		x := p.EndBenefit
		out.EndBenefit = &EndBenefit{Key: x.GetKey(), Reason: x.GetReason(), At: tsPtrIn(x.GetAt())}
	case *programv1.Effect_SetTier:
		out.SetTier = &SetTier{Tier: p.SetTier.GetTier(), ValidUntil: tsPtrIn(p.SetTier.GetValidUntil())}
	case *programv1.Effect_IssueCode:
		out.IssueCode = &IssueCode{Purpose: p.IssueCode.GetPurpose()}
	case *programv1.Effect_Notify:
		n := p.Notify
		out.Notify = &Notify{Channel: n.GetChannel(), Template: n.GetTemplate(), To: n.GetTo()}
		if len(n.GetParams()) > 0 {
			out.Notify.Params = n.GetParams()
		}
	case *programv1.Effect_PutState:
		out.PutState = &PutState{State: rawIn(p.PutState.GetStateJson())}
	case *programv1.Effect_Reject:
		out.Reject = &Reject{Code: p.Reject.GetCode(), Message: p.Reject.GetMessage()}
	}
	return out
}

func (e *encoder) effects(fs []Effect) []*programv1.Effect {
	var out []*programv1.Effect
	for _, f := range fs {
		out = append(out, e.effect(f))
	}
	return out
}

func (d *decoder) effects(fs []*programv1.Effect) []Effect {
	var out []Effect
	for _, f := range fs {
		out = append(out, d.effect(f))
	}
	return out
}

func reasonsOut(rs []Reason) []*programv1.Reason {
	var out []*programv1.Reason
	for _, r := range rs {
		out = append(out, &programv1.Reason{Code: r.Code, Message: r.Message})
	}
	return out
}

func reasonsIn(rs []*programv1.Reason) []Reason {
	var out []Reason
	for _, r := range rs {
		out = append(out, Reason{Code: r.GetCode(), Message: r.GetMessage()})
	}
	return out
}

// Requests and responses, in the order of the Program methods.

func validateConfigResponseOut(r ValidateConfigResponse) *programv1.ValidateConfigResponse {
	out := &programv1.ValidateConfigResponse{}
	for _, fe := range r.Errors {
		out.Errors = append(out.Errors, &programv1.FieldError{Field: fe.Field, Code: fe.Code, Message: fe.Message})
	}
	return out
}

func validateConfigResponseIn(r *programv1.ValidateConfigResponse) ValidateConfigResponse {
	var out ValidateConfigResponse
	for _, fe := range r.GetErrors() {
		out.Errors = append(out.Errors, FieldError{Field: fe.GetField(), Code: fe.GetCode(), Message: fe.GetMessage()})
	}
	return out
}

func (e *encoder) eligibilityRequest(r EligibilityRequest) *programv1.EligibilityRequest {
	return &programv1.EligibilityRequest{
		Campaign:    campaignOut(r.Campaign),
		Member:      e.member(r.Member),
		AnswersJson: e.values("answers", r.Answers),
		Now:         tsOut(r.Now),
	}
}

func (d *decoder) eligibilityRequest(r *programv1.EligibilityRequest) EligibilityRequest {
	return EligibilityRequest{
		Campaign: campaignIn(r.GetCampaign()),
		Member:   d.member(r.GetMember()),
		Answers:  d.values("answers", r.GetAnswersJson()),
		Now:      tsIn(r.GetNow()),
	}
}

func (e *encoder) eligibilityResponse(r EligibilityResponse) *programv1.EligibilityResponse {
	return &programv1.EligibilityResponse{
		Eligible: r.Eligible,
		Reasons:  reasonsOut(r.Reasons),
		Effects:  e.effects(r.Effects),
	}
}

func (d *decoder) eligibilityResponse(r *programv1.EligibilityResponse) EligibilityResponse {
	return EligibilityResponse{
		Eligible: r.GetEligible(),
		Reasons:  reasonsIn(r.GetReasons()),
		Effects:  d.effects(r.GetEffects()),
	}
}

func (e *encoder) evaluateRequest(r EvaluateRequest) *programv1.EvaluateRequest {
	out := &programv1.EvaluateRequest{Campaign: campaignOut(r.Campaign)}
	if len(r.Items) > 0 {
		out.Items = make([]*programv1.EvaluateItem, len(r.Items))
		for i, it := range r.Items {
			out.Items[i] = &programv1.EvaluateItem{Event: e.event(it.Event), Member: e.member(it.Member)}
		}
	}
	return out
}

func (d *decoder) evaluateRequest(r *programv1.EvaluateRequest) EvaluateRequest {
	out := EvaluateRequest{Campaign: campaignIn(r.GetCampaign())}
	if items := r.GetItems(); len(items) > 0 {
		out.Items = make([]EvaluateItem, len(items))
		for i, it := range items {
			out.Items[i] = EvaluateItem{Event: d.event(it.GetEvent()), Member: d.member(it.GetMember())}
		}
	}
	return out
}

func (e *encoder) evaluateResponse(r EvaluateResponse) *programv1.EvaluateResponse {
	out := &programv1.EvaluateResponse{}
	if len(r.Results) > 0 {
		out.Results = make([]*programv1.EvaluateResult, len(r.Results))
		for i, res := range r.Results {
			out.Results[i] = &programv1.EvaluateResult{Effects: e.effects(res.Effects), NoEffectReason: res.NoEffectReason}
		}
	}
	return out
}

func (d *decoder) evaluateResponse(r *programv1.EvaluateResponse) EvaluateResponse {
	var out EvaluateResponse
	if results := r.GetResults(); len(results) > 0 {
		out.Results = make([]EvaluateResult, len(results))
		for i, res := range results {
			out.Results[i] = EvaluateResult{Effects: d.effects(res.GetEffects()), NoEffectReason: res.GetNoEffectReason()}
		}
	}
	return out
}

func (e *encoder) quoteRequest(r QuoteRequest) *programv1.QuoteRequest {
	return &programv1.QuoteRequest{
		Campaign: campaignOut(r.Campaign),
		Member:   e.member(r.Member),
		Item: &programv1.QuoteItem{
			RewardId:       r.Item.RewardID,
			Category:       r.Item.Category,
			Code:           r.Item.Code,
			Price:          r.Item.Price,
			AttributesJson: e.values("item.attributes", r.Item.Attributes),
		},
		Now: tsOut(r.Now),
	}
}

func (d *decoder) quoteRequest(r *programv1.QuoteRequest) QuoteRequest {
	item := r.GetItem()
	return QuoteRequest{
		Campaign: campaignIn(r.GetCampaign()),
		Member:   d.member(r.GetMember()),
		Item: QuoteItem{
			RewardID:   item.GetRewardId(),
			Category:   item.GetCategory(),
			Code:       item.GetCode(),
			Price:      item.GetPrice(),
			Attributes: d.values("item.attributes", item.GetAttributesJson()),
		},
		Now: tsIn(r.GetNow()),
	}
}

func quoteResponseOut(r QuoteResponse) *programv1.QuoteResponse {
	return &programv1.QuoteResponse{
		Price:            r.Price,
		MaxPointsPayable: r.MaxPointsPayable,
		Allowed:          r.Allowed,
		Reasons:          reasonsOut(r.Reasons),
	}
}

func quoteResponseIn(r *programv1.QuoteResponse) QuoteResponse {
	return QuoteResponse{
		Price:            r.GetPrice(),
		MaxPointsPayable: r.GetMaxPointsPayable(),
		Allowed:          r.GetAllowed(),
		Reasons:          reasonsIn(r.GetReasons()),
	}
}

func (e *encoder) tickRequest(r TickRequest) *programv1.TickRequest {
	return &programv1.TickRequest{
		Campaign: campaignOut(r.Campaign),
		Hook:     r.Hook,
		Now:      tsOut(r.Now),
		Members:  e.members(r.Members),
		Cursor:   r.Cursor,
	}
}

func (d *decoder) tickRequest(r *programv1.TickRequest) TickRequest {
	return TickRequest{
		Campaign: campaignIn(r.GetCampaign()),
		Hook:     r.GetHook(),
		Now:      tsIn(r.GetNow()),
		Members:  d.members(r.GetMembers()),
		Cursor:   r.GetCursor(),
	}
}

func (e *encoder) tickResponse(r TickResponse) *programv1.TickResponse {
	out := &programv1.TickResponse{NextCursor: r.NextCursor}
	for _, me := range r.Results {
		out.Results = append(out.Results, &programv1.MemberEffects{MemberId: me.MemberID, Effects: e.effects(me.Effects)})
	}
	return out
}

func (d *decoder) tickResponse(r *programv1.TickResponse) TickResponse {
	out := TickResponse{NextCursor: r.GetNextCursor()}
	for _, me := range r.GetResults() {
		out.Results = append(out.Results, MemberEffects{MemberID: me.GetMemberId(), Effects: d.effects(me.GetEffects())})
	}
	return out
}
