// Package referral runs the core's side of invite programmes: every member gets a personal
// invite code per programme (unique, unguessable, easy to dictate, case-insensitive); applying a
// code is checked by the core (unknown code, own code) and then decided by the programme's
// plugin in two steps, each an event: `referral.code_applied` on the new client, and — only when
// that is accepted — `referral.friend_joined` on the inviting member. Both events have stable
// external ids, so a retried call finishes what a failed one started and never counts a friend
// twice; the plugin decides the referrer's ladder on fresh state (the engine's version check).
package referral

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
)

// Event types the core sends to referral plugins.
const (
	EventCodeApplied  = "referral.code_applied"
	EventFriendJoined = "referral.friend_joined"
)

// Refusal codes decided by the core before the plugin is asked.
const (
	CodeUnknown    = "UNKNOWN_CODE"
	CodeOwn        = "OWN_CODE"
	CodeNoCampaign = "NOT_AVAILABLE"
	CodeNotDecided = "PLUGIN_UNAVAILABLE"
)

const (
	maxCodeAttempts = 5
	eventSource     = "referral"
	codeLengthLimit = 64
)

// ErrInvalid means the input is malformed.
var ErrInvalid = errors.New("invalid referral input")

// Engine is what the service needs from the event engine: the campaigns that evaluate an event
// type, recording events (evaluated before Record returns, unless their plugin is unavailable),
// and a campaign's plugin state for a member. *engine.Engine implements it.
type Engine interface {
	CampaignsFor(ctx context.Context, programID int64, typ string, t time.Time) ([]campaigns.Campaign, error)
	Record(ctx context.Context, ins []event.Input) ([]event.Result, error)
	State(ctx context.Context, campaignID, memberID int64) (json.RawMessage, error)
}

// Service issues and applies invite codes.
type Service struct {
	db      *db.DB
	engine  Engine
	members *members.Store
	now     func() time.Time
}

// New returns a referral service.
func New(bdb *db.DB, eng Engine, mem *members.Store, now func() time.Time) *Service {
	return &Service{db: bdb, engine: eng, members: mem, now: now}
}

// Code returns the member's invite code in the programme, creating it on first use.
func (s *Service) Code(ctx context.Context, memberID, programID int64) (string, error) {
	var code string
	err := db.PG(s.db).QueryRow(ctx, `SELECT code FROM referral_codes WHERE member_id = $1 AND program_id = $2`, memberID, programID).Scan(&code)
	if err == nil {
		return code, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("referral: code: %w", err)
	}
	for attempt := 0; attempt < maxCodeAttempts; attempt++ {
		candidate := benefits.NewCode()
		err = db.PG(s.db).QueryRow(ctx, `INSERT INTO referral_codes (member_id, program_id, code, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (member_id, program_id) DO UPDATE SET code = referral_codes.code RETURNING code`,
			memberID, programID, candidate, s.now().UTC()).Scan(&code)
		if err == nil {
			return code, nil
		}
		if db.Constraint(err) != "referral_codes_code_key" {
			return "", fmt.Errorf("referral: create code: %w", err)
		}
	}
	return "", fmt.Errorf("referral: no free code after %d attempts", maxCodeAttempts)
}

// Result is the outcome of applying a code: accepted, or refused with a code and message.
type Result struct {
	Accepted bool
	Code     string
	Message  string
	// Event is the new client's `referral.code_applied` event (nil when the core refused the
	// code before asking the plugin).
	Event *event.Event
}

// Apply applies an invite code for member refereeID. Refusals are results, not errors:
// UNKNOWN_CODE, OWN_CODE, NOT_AVAILABLE (no referral campaign is running in the code's
// programme), PLUGIN_UNAVAILABLE (the plugin has not decided yet; calling again is safe), or
// the plugin's own codes (e.g. CODE_WINDOW_EXPIRED, CODE_ALREADY_APPLIED).
func (s *Service) Apply(ctx context.Context, refereeID int64, rawCode string) (*Result, error) {
	code := benefits.NormalizeCode(rawCode)
	if code == "" || len(code) > codeLengthLimit {
		return nil, fmt.Errorf("%w: code must be 1 to %d characters", ErrInvalid, codeLengthLimit)
	}
	var owner struct {
		MemberID  int64
		ProgramID int64
	}
	err := db.PG(s.db).QueryRow(ctx, `SELECT member_id, program_id FROM referral_codes WHERE code = $1`, code).Scan(&owner.MemberID, &owner.ProgramID)
	if errors.Is(err, sql.ErrNoRows) {
		return &Result{Code: CodeUnknown, Message: fmt.Sprintf("no invite code %q exists", rawCode)}, nil
	}
	if err != nil {
		return nil, err
	}
	if owner.MemberID == refereeID {
		return &Result{Code: CodeOwn, Message: "a client cannot apply its own invite code"}, nil
	}
	now := s.now().UTC()
	camps, err := s.engine.CampaignsFor(ctx, owner.ProgramID, EventCodeApplied, now)
	if err != nil {
		return nil, err
	}
	if len(camps) == 0 {
		return &Result{Code: CodeNoCampaign, Message: "no referral campaign is running in this code's programme"}, nil
	}
	referee, err := s.members.Get(ctx, refereeID)
	if err != nil {
		return nil, err
	}
	referrer, err := s.members.Get(ctx, owner.MemberID)
	if err != nil {
		return nil, err
	}
	attrs := map[string]any{"referrerId": strconv.FormatInt(referrer.ID, 10), "referrerRef": referrer.ExternalRef,
		"referrerName": referrer.Name, "code": code}
	// The plugin reads the new client's registration and promo period from its member
	// attributes (serviceRegisteredAt, promoPeriodEndsAt).
	res, err := s.engine.Record(ctx, []event.Input{{Type: EventCodeApplied, MemberRef: referee.ExternalRef, Source: eventSource,
		ExternalID: fmt.Sprintf("apply:%d:%s", referee.ID, code), OccurredAt: now, Attributes: attrs}})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		// The same (member, code) applied before with other attributes: answer from the first one.
		var ev event.Event
		if err := s.db.NewSelect().Model(&ev).Where("source = ? AND external_id = ?", eventSource,
			fmt.Sprintf("apply:%d:%s", referee.ID, code)).Scan(ctx); err != nil {
			return nil, res[0].Err
		}
		res[0].Event = &ev
	}
	ev := res[0].Event
	out := decide(ev, camps[0].ID)
	out.Event = ev
	if !out.Accepted {
		return out, nil
	}
	joined, err := s.engine.Record(ctx, []event.Input{{Type: EventFriendJoined, MemberRef: referrer.ExternalRef, Source: eventSource,
		ExternalID: fmt.Sprintf("joined:%d:%d", referee.ID, referrer.ID), OccurredAt: ev.OccurredAt,
		Attributes: map[string]any{"refereeId": strconv.FormatInt(referee.ID, 10), "refereeRef": referee.ExternalRef,
			"refereeName": referee.Name, "appliedAt": ev.OccurredAt.Format(time.RFC3339)}}})
	if err != nil {
		return nil, err
	}
	if joined[0].Err != nil {
		return nil, joined[0].Err
	}
	return out, nil
}

// decide reads the referral campaign's decision from the referee event's outcome.
func decide(ev *event.Event, campaignID int64) *Result {
	if ev == nil || ev.Outcome == nil {
		return &Result{Code: CodeNotDecided, Message: "the referral programme has not decided yet; try again"}
	}
	for _, co := range ev.Outcome.Campaigns {
		if co.CampaignID != campaignID {
			continue
		}
		if co.Status == event.OutcomeApplied {
			return &Result{Accepted: true}
		}
		return &Result{Code: co.Code, Message: co.Reason}
	}
	return &Result{Code: CodeNotDecided, Message: "the referral programme has not decided yet; try again"}
}

// Summary is what the member's cabinet shows about its invites in one programme.
type Summary struct {
	Code            string
	Referees        []Referee
	DiscountHistory []Discount
}

// Referee is a client who applied the member's code.
type Referee struct {
	ID          string    `json:"id"`
	Ref         string    `json:"ref"`
	Name        string    `json:"name"`
	ActivatedAt time.Time `json:"activatedAt"`
}

// Discount is one discount granted or raised by the programme.
type Discount struct {
	Key     string     `json:"key"`
	Role    string     `json:"role"`
	Change  string     `json:"change"`
	Percent int        `json:"percent"`
	From    *time.Time `json:"from"`
	Until   *time.Time `json:"until"`
	Friends int        `json:"friends"`
}

// Summary returns the member's code, referees and discount history in the programme, the
// latter two from the state of the programme's referral campaign.
func (s *Service) Summary(ctx context.Context, memberID, programID int64) (*Summary, error) {
	code, err := s.Code(ctx, memberID, programID)
	if err != nil {
		return nil, err
	}
	out := &Summary{Code: code, Referees: []Referee{}, DiscountHistory: []Discount{}}
	camps, err := s.engine.CampaignsFor(ctx, programID, EventFriendJoined, s.now().UTC())
	if err != nil || len(camps) == 0 {
		return out, err
	}
	raw, err := s.engine.State(ctx, camps[0].ID, memberID)
	if err != nil || raw == nil {
		return out, err
	}
	var st struct {
		Referees        []Referee  `json:"referees"`
		DiscountHistory []Discount `json:"discountHistory"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return out, nil //nolint:nilerr // a state this core cannot read shows as empty history
	}
	if st.Referees != nil {
		out.Referees = st.Referees
	}
	if st.DiscountHistory != nil {
		out.DiscountHistory = st.DiscountHistory
	}
	return out, nil
}

// Invite channels.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Invite sends the member's invite code to a friend by SMS or e-mail through the notifications
// outbox (template "referral_invite", parameters code, inviterName, program). The same invite to
// the same address is sent once.
func (s *Service) Invite(ctx context.Context, memberID, programID int64, programCode, channel, to string) (*notify.Notification, error) {
	if channel != ChannelSMS && channel != ChannelEmail {
		return nil, fmt.Errorf("%w: channel must be sms or email", ErrInvalid)
	}
	to = strings.TrimSpace(to)
	if to == "" || len(to) > 320 {
		return nil, fmt.Errorf("%w: to must be a phone number or an e-mail address", ErrInvalid)
	}
	if channel == ChannelEmail {
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("%w: %q is not an e-mail address", ErrInvalid, to)
		}
	} else if !phoneRe.MatchString(to) {
		return nil, fmt.Errorf("%w: %q is not a phone number (digits, optionally starting with +)", ErrInvalid, to)
	}
	m, err := s.members.Get(ctx, memberID)
	if err != nil {
		return nil, err
	}
	code, err := s.Code(ctx, memberID, programID)
	if err != nil {
		return nil, err
	}
	return notify.Enqueue(ctx, s.db, notify.Notification{
		Key:      fmt.Sprintf("invite:%d:%d:%s:%s", memberID, programID, channel, strings.ToLower(to)),
		MemberID: memberID, Channel: channel, Template: "referral_invite", Recipient: to,
		Params: map[string]string{"code": code, "inviterName": m.Name, "program": programCode},
	}, s.now().UTC())
}

var phoneRe = regexp.MustCompile(`^\+?[0-9]{6,15}$`)
