package pluginhost

import (
	"context"
	"encoding/json"
	"time"

	"github.com/promogate/promogate/server/benefits"
)

// The core's side of the plugin contract: the requests the core sends to a programme plugin and
// the decisions it gets back, as the core's own types. The partner SDK (plugins/sdk) has its own
// types for the same contract; this package translates between the two (translate.go), so that
// the SDK can evolve without the engine, benefits, rewards or graph changing, and the core
// without the SDK changing. Only this package imports plugins/sdk.

// Program is a programme plugin as the core calls it: Host.Program returns one per plugin
// version. Methods are safe for concurrent use. Errors wrap ErrUnavailable when the plugin could
// not be reached or asked to be called again later, and ErrInvalidConfig when it refused the
// campaign's configuration.
type Program interface {
	Describe(ctx context.Context) (Description, error)
	ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error)
	CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error)
	Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error)
	Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error)
	Tick(ctx context.Context, req TickRequest) (TickResponse, error)
}

// Description is what a plugin says about itself. It is stored in the catalog as JSON under
// these field names.
type Description struct {
	Name          string
	Version       string
	EventTypes    []string
	ConfigSchema  json.RawMessage
	DefaultConfig json.RawMessage
	Schedules     []Schedule
	BenefitKinds  []string
	RewardKinds   []string
	// ForbiddenRewardKinds are reward categories the programme forbids (e.g. cash): the
	// rewards service refuses to bind such rewards to the plugin's campaigns and quotes them
	// as not allowed.
	ForbiddenRewardKinds []string
}

// Schedule is a hook the plugin wants run, with a spec in the schedule grammar (ParseSchedule).
type Schedule struct {
	Name string
	Spec string
}

// Values is a JSON object: attributes, answers. Numbers from a plugin are json.Number.
type Values = map[string]any

// Campaign is the campaign a call is about.
type Campaign struct {
	ID       string
	Code     string
	Program  string
	TimeZone string
	StartsAt time.Time
	EndsAt   time.Time
	Config   json.RawMessage
}

// Member is the snapshot of a member a plugin decides on.
type Member struct {
	ID          string
	ExternalRef string
	Name        string
	Email       string
	Phone       string
	BirthDate   string
	Region      string
	Status      string
	Attributes  Values
	Balances    []Balance
	Tiers       []Tier
	Benefits    []Benefit
	Enrollments []Enrollment
	// State is the plugin's state for this member and campaign; nil when there is none.
	State json.RawMessage
	// Version is the version of that state the decision is taken on.
	Version int64
}

// Balance is a member's balance in one programme (by code).
type Balance struct {
	Program        string
	Available      int64
	Pending        int64
	LifetimeEarned int64
	StatusBalance  int64
}

// Tier is a member's status in one programme (by code).
type Tier struct {
	Program    string
	Tier       string
	ValidUntil *time.Time
}

// Benefit is a benefit the member holds, as shown to a plugin.
type Benefit struct {
	ID         string
	Key        string
	Campaign   string
	Kind       string
	Title      string
	Code       string
	Percent    int
	Scope      string
	Exclusions []string
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Status     string
	Attributes Values
}

// Enrollment is a member's registration in a campaign (by code).
type Enrollment struct {
	Campaign     string
	EnrolledAt   time.Time
	Answers      Values
	RegisteredBy string
	Responsible  string
}

// Event is an event as shown to a plugin.
type Event struct {
	ID         string
	Type       string
	Source     string
	ExternalID string
	OccurredAt time.Time
	Attributes Values
	// AttributesJSON, when not empty, is sent as the attributes instead of Attributes encoded:
	// a JSON object that encoding Attributes decoded from it would give the plugin unchanged
	// (see sdk.Event.AttributesJSON). It is left out of the event's JSON when empty (the shadow
	// service stores events as JSON to decide them later).
	AttributesJSON json.RawMessage `json:",omitempty"`
}

// FieldError is one problem a plugin found in a campaign configuration. Field is a JSON
// pointer into the configuration ("/tiers/2/name"), empty for the document as a whole.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Reason explains a decision with a stable code and a message. Like Description, it is stored
// as JSON under its Go field names (orders keep their refusal reasons).
type Reason struct {
	Code    string
	Message string
}

// ValidateConfigRequest carries a campaign configuration to check.
type ValidateConfigRequest struct {
	Config json.RawMessage
}

// ValidateConfigResponse lists the problems; none means valid.
type ValidateConfigResponse struct {
	Errors []FieldError
}

// EligibilityRequest asks whether Member may enrol in Campaign with Answers at Now.
type EligibilityRequest struct {
	Campaign Campaign
	Member   Member
	Answers  Values
	Now      time.Time
}

// EligibilityResponse is the decision; Effects are applied on enrolment.
type EligibilityResponse struct {
	Eligible bool
	Reasons  []Reason
	Effects  []Effect
}

// EvaluateRequest is a batch of events of one campaign, each with its member's snapshot.
type EvaluateRequest struct {
	Campaign Campaign
	Items    []EvaluateItem
}

// EvaluateItem is one event and its member.
type EvaluateItem struct {
	Event  Event
	Member Member
}

// EvaluateResponse should hold one result per request item, in order (the engine checks).
type EvaluateResponse struct {
	Results []EvaluateResult
}

// EvaluateResult is the decision for one event: effects, or none and why.
type EvaluateResult struct {
	Effects        []Effect
	NoEffectReason string
}

// QuoteRequest asks for the price of Item for Member at Now.
type QuoteRequest struct {
	Campaign Campaign
	Member   Member
	Item     QuoteItem
	Now      time.Time
}

// QuoteItem is a catalogue reward; Price is in points.
type QuoteItem struct {
	RewardID   string
	Category   string
	Code       string
	Price      int64
	Attributes Values
}

// NoPointsCap is the QuoteResponse.MaxPointsPayable value meaning "no cap".
const NoPointsCap int64 = -1

// QuoteResponse is the plugin's offer: the price after its discounts, the most points that may
// pay for it (or NoPointsCap), and whether the member may redeem it.
type QuoteResponse struct {
	Price            int64
	MaxPointsPayable int64
	Allowed          bool
	Reasons          []Reason
}

// TickRequest runs Hook over one page of the campaign's members.
type TickRequest struct {
	Campaign Campaign
	Hook     string
	Now      time.Time
	Members  []Member
	Cursor   string
}

// TickResponse holds the effects per member and the plugin's cursor for the next page.
type TickResponse struct {
	Results    []MemberEffects
	NextCursor string
}

// MemberEffects are the effects decided for one member of a tick page.
type MemberEffects struct {
	MemberID string
	Effects  []Effect
}

// EffectKind names what an effect asks the core to do. A kind the core does not apply travels
// as it came, for the engine to refuse.
type EffectKind string

// The effect kinds the core applies.
const (
	KindCreditPoints  EffectKind = "credit_points"
	KindDebitPoints   EffectKind = "debit_points"
	KindGrantBenefit  EffectKind = "grant_benefit"
	KindChangeBenefit EffectKind = "change_benefit"
	KindEndBenefit    EffectKind = "end_benefit"
	KindSetTier       EffectKind = "set_tier"
	KindIssueCode     EffectKind = "issue_code"
	KindNotify        EffectKind = "notify"
	KindPutState      EffectKind = "put_state"
	KindReject        EffectKind = "reject"
)

// Effect is one thing a plugin asks the core to do: Kind, and the payload of that kind (the
// others nil). The engine validates effects before applying any. Benefit grants and changes are
// the benefits package's own specs.
type Effect struct {
	Kind          EffectKind
	Credit        *CreditPoints
	Debit         *DebitPoints
	GrantBenefit  *benefits.Spec
	ChangeBenefit *benefits.ChangeSpec
	EndBenefit    *EndBenefit
	SetTier       *SetTier
	IssueCode     *IssueCode
	Notify        *Notify
	PutState      *PutState
	Reject        *Reject
}

// CreditPoints credits the campaign's programme.
type CreditPoints struct {
	Amount       int64
	Reason       string
	AvailableAt  *time.Time
	ExpiresAt    *time.Time
	StatusPoints int64
}

// DebitPoints debits the member's available balance.
type DebitPoints struct {
	Amount int64
	Reason string
}

// EndBenefit ends a benefit the plugin granted (At nil: at once).
type EndBenefit struct {
	Key    string
	Reason string
	At     *time.Time
}

// SetTier sets the member's status in the campaign's programme.
type SetTier struct {
	Tier       string
	ValidUntil *time.Time
}

// IssueCode asks for a unique code for the member.
type IssueCode struct {
	Purpose string
}

// Notify asks for a message to be sent.
type Notify struct {
	Channel  string
	Template string
	To       string
	Params   map[string]string
}

// PutState replaces the plugin's state for the member and campaign ("null" deletes it).
type PutState struct {
	State json.RawMessage
}

// Reject refuses the event or enrolment.
type Reject struct {
	Code    string
	Message string
}
