package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	// The zone database is embedded so that Campaign.Location works in a
	// plugin running on a machine (or container) without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Description is what a plugin says about itself (Program.Describe).
type Description struct {
	// Name is the plugin's name, e.g. "weekenddouble"; it must match the name
	// it is registered under.
	Name string
	// Version is a semantic version, e.g. "1.2.0".
	Version string
	// EventTypes lists the event types the plugin evaluates; the core sends a
	// campaign only events of these types.
	EventTypes []string
	// ConfigSchema is a JSON Schema of the campaign configuration, from which
	// the marketing console renders its form: Config.Schema.
	ConfigSchema json.RawMessage
	// DefaultConfig is a valid configuration, used for demos and as a
	// starting point in the marketing UI: Config.Default.
	DefaultConfig json.RawMessage
	// Schedules are the hooks the core must run with Program.Tick.
	Schedules []Schedule
	// BenefitKinds are the benefit kinds the plugin grants (GrantBenefit.Kind).
	BenefitKinds []string
	// RewardKinds are the reward categories the plugin quotes.
	RewardKinds []string
	// ForbiddenRewardKinds are reward categories the programme forbids (e.g.
	// "cash" where points can never be exchanged for money). The core refuses
	// to bind a reward of such a category to a campaign of the plugin, and
	// quotes one bound earlier as not allowed (REWARD_KIND_FORBIDDEN), without
	// calling Quote.
	ForbiddenRewardKinds []string
}

// Schedule asks the core to run a hook. Spec follows the grammar of
// ParseSchedule, in the campaign's time zone, e.g.
// {Name: "month-close", Spec: "monthly day=28 at=23:59:59"}.
type Schedule struct {
	Name string
	Spec string
}

// Campaign is one configured instance of a program.
type Campaign struct {
	ID   string
	Code string
	// Program is the code of the programme the campaign belongs to; balances
	// and tiers are kept per programme.
	Program string
	// TimeZone is an IANA zone name (e.g. "Europe/Riga"); empty means UTC.
	TimeZone string
	StartsAt time.Time
	EndsAt   time.Time
	// Config is the campaign's configuration, as validated by ValidateConfig.
	Config json.RawMessage
}

// zones caches loaded time zones by name: time.LoadLocation reads and parses
// the zone file on every call. Only valid IANA names are stored, so it stays
// small.
var zones sync.Map // string → *time.Location

// Location returns the campaign's time zone. It fails only for a TimeZone that
// is not an IANA zone name. It is safe for concurrent use.
func (c Campaign) Location() (*time.Location, error) {
	if c.TimeZone == "" {
		return time.UTC, nil
	}
	if loc, ok := zones.Load(c.TimeZone); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: time zone: %w", c.Code, err)
	}
	zones.Store(c.TimeZone, loc)
	return loc, nil
}

// Member is a snapshot of a member as the core saw it when it made the call.
type Member struct {
	ID          string
	ExternalRef string
	Name        string
	Email       string
	Phone       string
	// BirthDate is YYYY-MM-DD, empty when unknown.
	BirthDate   string
	Region      string
	Status      string
	Attributes  Values
	Balances    []Balance
	Tiers       []Tier
	Benefits    []Benefit
	Enrollments []Enrollment
	// State is this plugin's state for this member and campaign, as last put
	// with a PutState effect; nil when there is none.
	State json.RawMessage
	// Version is the version of the member's state the plugin decides on; the
	// core applies effects only if it is still current.
	Version int64
}

// Balance is a member's balance in one programme.
type Balance struct {
	Program        string
	Available      int64
	Pending        int64
	LifetimeEarned int64
	StatusBalance  int64
}

// Tier is a member's status in one programme.
type Tier struct {
	Program    string
	Tier       string
	ValidUntil *time.Time
}

// Benefit is a benefit a member holds.
type Benefit struct {
	ID string
	// Key is the stable id the granting plugin chose (GrantBenefit.Key); use it
	// in ChangeBenefit and EndBenefit.
	Key      string
	Campaign string
	Kind     string
	Title    string
	Code     string
	// Percent is in basis points: 2501 is 25.01%.
	Percent    int
	Scope      string
	Exclusions []string
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Status     string
	Attributes Values
}

// Enrollment is a member's registration in a campaign.
type Enrollment struct {
	Campaign     string
	EnrolledAt   time.Time
	Answers      Values
	RegisteredBy string
	Responsible  string
}

// Event is something that happened to a member (a purchase, a payment, a
// referral), as recorded by the core.
type Event struct {
	ID         string
	Type       string
	Source     string
	ExternalID string
	OccurredAt time.Time
	Attributes Values
	// AttributesJSON is for the host only: when not empty, it is sent as the
	// attributes instead of Attributes encoded (a host that holds them as
	// JSON already saves decoding and encoding them). It must be a JSON
	// object. A plugin always gets Attributes, and AttributesJSON empty. It is
	// left out of the event's JSON when empty.
	AttributesJSON json.RawMessage `json:",omitempty"`
}

// Values is a JSON object: event and member attributes, registration answers.
// Numbers decoded from the wire are json.Number, so integers of any size keep
// their exact value.
type Values map[string]any

// Int returns the integer at key. It accepts json.Number and Go integer and
// float values that hold a whole number; ok is false when the key is absent or
// holds anything else.
func (v Values) Int(key string) (n int64, ok bool) {
	switch x := v[key].(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	default:
		return 0, false
	}
}

// String returns the string at key; ok is false when the key is absent or
// holds anything else.
func (v Values) String(key string) (s string, ok bool) {
	s, ok = v[key].(string)
	return s, ok
}

// FieldError is one problem with a campaign configuration.
type FieldError struct {
	// Field is the JSON pointer (RFC 6901) of the offending value in the
	// config ("/unitAmount", "/tiers/2/name"; see Pointer); empty for the
	// document as a whole. The marketing console shows the error on that field.
	Field string
	// Code is stable and machine-readable, e.g. "required", "must_be_positive".
	Code string
	// Message is for people.
	Message string
}

// Reason explains a decision: a stable Code and a human Message.
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

// EligibilityRequest asks whether Member may enrol in Campaign with the given
// registration Answers at Now.
type EligibilityRequest struct {
	Campaign Campaign
	Member   Member
	Answers  Values
	Now      time.Time
}

// EligibilityResponse is the decision. When Eligible is false, Reasons say why.
// Effects are applied on enrolment (for example a PutState with the initial
// state, or a welcome GrantBenefit).
type EligibilityResponse struct {
	Eligible bool
	Reasons  []Reason
	Effects  []Effect
}

// EvaluateRequest is a batch of events of one campaign, each with the snapshot
// of its member.
type EvaluateRequest struct {
	Campaign Campaign
	Items    []EvaluateItem
}

// EvaluateItem is one event and the member it belongs to.
type EvaluateItem struct {
	Event  Event
	Member Member
}

// EvaluateResponse holds exactly one result per request item, in order.
type EvaluateResponse struct {
	Results []EvaluateResult
}

// EvaluateResult is the decision for one event: Effects, or none with a
// NoEffectReason saying why.
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

// QuoteItem is a reward in the catalogue; Price is in points.
type QuoteItem struct {
	RewardID   string
	Category   string
	Code       string
	Price      int64
	Attributes Values
}

// NoPointsCap is the QuoteResponse.MaxPointsPayable value meaning "the whole
// price may be paid with points".
const NoPointsCap int64 = -1

// QuoteResponse is the adjusted offer.
type QuoteResponse struct {
	// Price is the price in points after the plugin's discounts.
	Price int64
	// MaxPointsPayable is the most points that may pay for the item (the rest
	// is paid otherwise), or NoPointsCap. The zero value means points cannot
	// pay for it at all, so a plugin that forgets the field fails closed.
	MaxPointsPayable int64
	// Allowed is false when the member may not redeem the item; Reasons say why.
	Allowed bool
	Reasons []Reason
}

// TickRequest runs the scheduled Hook over one page of the campaign's members.
// The core pages through the cohort itself and ends the run after the last
// page. Cursor is the plugin's own opaque run state: empty on the first page,
// then the NextCursor it returned for the previous page.
type TickRequest struct {
	Campaign Campaign
	Hook     string
	Now      time.Time
	Members  []Member
	Cursor   string
}

// TickResponse holds the effects per member; members without effects may be
// left out. NextCursor is handed back as the next page's Cursor.
type TickResponse struct {
	Results    []MemberEffects
	NextCursor string
}

// MemberEffects are the effects decided for one member.
type MemberEffects struct {
	MemberID string
	Effects  []Effect
}

// Text returns the string at key with surrounding space trimmed; "" when the key is absent or
// holds anything else.
func (v Values) Text(key string) string {
	s, _ := v[key].(string)
	return strings.TrimSpace(s)
}

// Bool reports whether key holds JSON true or the string "true" (in any case, trimmed), as
// billing systems send flags both ways.
func (v Values) Bool(key string) bool {
	switch x := v[key].(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(strings.TrimSpace(x), "true")
	default:
		return false
	}
}

// Whole returns the integer at key given as a JSON number or as a decimal string ("6"); ok is
// false when it is absent, not a whole number, or out of range.
func (v Values) Whole(key string) (n int64, ok bool) {
	x := v[key]
	if s, isText := x.(string); isText {
		x = json.Number(strings.TrimSpace(s))
	}
	return Values{key: x}.Int(key)
}

// Minor returns the non-negative amount of money at key, a JSON number or a decimal string in
// major units ("1999.90" roubles), as minor units (199990 kopecks). Two decimals count, further
// digits are dropped. ok is false when it is absent, negative, not a decimal number, or above
// 2^50 major units.
func (v Values) Minor(key string) (minor int64, ok bool) {
	var s string
	switch x := v[key].(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		n, ok := v.Int(key)
		if !ok || n < 0 || n > 1<<50 {
			return 0, false
		}
		return n * 100, true
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || strings.ContainsAny(whole, "+-eE") || strings.ContainsAny(frac, "+-eE") {
		return 0, false
	}
	major, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || major < 0 || major > 1<<50 {
		return 0, false
	}
	frac = (frac + "00")[:2]
	cents, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return major*100 + cents, true
}
