package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "tierstatus"
	Version = "1.0.0"
)

// HookDaily is the daily hook (birthdays, status lapses); SpecDaily is its
// schedule.
const (
	HookDaily = "daily"
	SpecDaily = "daily at=00:00:00"
)

// Reason codes of CheckEligibility and Quote.
const (
	CodeTermsNotAccepted        = "TERMS_NOT_ACCEPTED"
	CodeQuestionnaireIncomplete = "QUESTIONNAIRE_INCOMPLETE"
	CodeFrequencyLimit          = "FREQUENCY_LIMIT"
	CodeOutstandingDebt         = "OUTSTANDING_DEBT"
	CodeNotAvailable            = "NOT_AVAILABLE"
)

// Answers, member attributes, event attributes and reward attributes the
// plugin reads.
const (
	answerAcceptTerms = "acceptTerms"
	answerBirthDate   = "birthDate"

	memberServices = "services"
	memberDebts    = "debts"
	memberRegion   = "region"

	attrPoints    = "points"
	attrSurveyID  = "surveyId"
	attrAmountRub = "amountRub"
	attrService   = "service"
	attrOrderID   = "orderId"
	attrRewardIDs = "rewardIds"
	attrMonth     = "month"

	rewardService          = "service"
	rewardServicesRequired = "servicesRequired"
	rewardRegions          = "regions"
	rewardPerMemberLimit   = "perMemberLimit"
)

const (
	monthLayout = "2006-01"
	// maxExchangesKept bounds the exchanges kept in a member's state; only
	// the current month's matter.
	maxExchangesKept = 24
	// maxSurveysKept bounds the survey ids kept in a member's state.
	maxSurveysKept = 500
)

// Plugin implements the tierstatus programme.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// State is the plugin's state for one member in one campaign.
type State struct {
	// JoinedAt is when the member joined (accepted the terms).
	JoinedAt *time.Time `json:"joinedAt,omitempty"`
	// Welcomed is set once the joining points were credited.
	Welcomed bool `json:"welcomed,omitempty"`
	// StatusBase is the status balance at the last status review: status is
	// decided by the status points accumulated since (StatusBalance -
	// StatusBase).
	StatusBase int64 `json:"statusBase,omitempty"`
	// BirthDate is YYYY-MM-DD from the questionnaire, used when the profile
	// has none.
	BirthDate string `json:"birthDate,omitempty"`
	// BirthdayYear is the last year the birthday points were credited.
	BirthdayYear int `json:"birthdayYear,omitempty"`
	// Done lists the one-off actions already credited.
	Done []string `json:"done,omitempty"`
	// Surveys lists the surveys already credited.
	Surveys []string `json:"surveys,omitempty"`
	// Exchanges are the latest exchanges (orders), oldest first.
	Exchanges []Exchange `json:"exchanges,omitempty"`
	// Ordered counts the orders of each reward id, for once-only rewards.
	Ordered map[string]int `json:"ordered,omitempty"`
}

// Exchange is one redemption order.
type Exchange struct {
	// Month is YYYY-MM in the campaign's zone.
	Month   string `json:"month"`
	OrderID string `json:"orderId,omitempty"`
}

// Describe reports the plugin, its config schema, its default config and its
// schedule.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    EventTypes,
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
		Schedules:     []sdk.Schedule{{Name: HookDaily, Spec: SpecDaily}},
		RewardKinds:   []string{"tv", "internet", "phone", "partner"},
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// rules is a campaign with its parsed configuration and time zone.
type rules struct {
	cfg      Config
	loc      *time.Location
	campaign sdk.Campaign
}

func load(c sdk.Campaign) (rules, error) {
	cfg, err := config.Load(c)
	if err != nil {
		return rules{}, err
	}
	loc, err := c.Location()
	if err != nil {
		return rules{}, fmt.Errorf("%w: %w", sdk.ErrInvalidConfig, err)
	}
	return rules{cfg: cfg, loc: loc, campaign: c}, nil
}

// decision gathers the effects of one call for one member: credits, at most
// one status change and the new state.
type decision struct {
	r       rules
	m       sdk.Member
	st      State
	changed bool
	// rank is the member's current status (an index of Tiers), -1 for none.
	rank int
	// until is when the current status ends (inclusive); nil for never.
	until *time.Time
	// balance is the member's status balance in the programme.
	balance int64
	// credited are the status points credited by this call so far.
	credited int64
	credits  []sdk.Effect
	tier     *sdk.SetTier
}

func (r rules) decide(m sdk.Member, st State) *decision {
	d := &decision{r: r, m: m, st: st, rank: -1}
	for _, t := range m.Tiers {
		if r.campaign.Program == "" || t.Program == r.campaign.Program {
			d.rank = r.cfg.tierRank(t.Tier)
			d.until = t.ValidUntil
			break
		}
	}
	for _, b := range m.Balances {
		if r.campaign.Program == "" || b.Program == r.campaign.Program {
			d.balance = b.StatusBalance
			break
		}
	}
	return d
}

// qualifying is the status points that count for status now.
func (d *decision) qualifying() int64 {
	return max(d.balance-d.st.StatusBase, 0) + d.credited
}

// lapse ends a status that is over at at: the member drops to the first
// status for its validity, and a higher status's qualification restarts
// from the current status balance.
func (d *decision) lapse(at time.Time) {
	if d.rank < 0 || d.until == nil || !at.After(*d.until) {
		return
	}
	if d.rank > 0 {
		d.st.StatusBase = d.balance
		d.changed = true
	}
	d.setTier(0, at)
}

func (d *decision) setTier(rank int, at time.Time) {
	t := d.r.cfg.Tiers[rank]
	until := at.In(d.r.loc).AddDate(0, t.ValidMonths, 0)
	d.tier = &sdk.SetTier{Tier: t.Name, ValidUntil: &until}
	d.rank = rank
	d.until = &until
}

// upgrade raises the status to the highest one the qualifying points reach
// at at, if that is above the current one (the first status for a member
// with none).
func (d *decision) upgrade(at time.Time) {
	q := d.qualifying()
	target := 0
	for i, t := range d.r.cfg.Tiers {
		if q >= t.Threshold {
			target = i
		}
	}
	if target > d.rank {
		d.setTier(target, at)
	}
}

// credit credits points, counted as status points too, that become available
// at availableAt (at once when it is not after at) and expire ExpiryMonths
// after that; the status rises if they reach a threshold.
func (d *decision) credit(points int64, reason string, at, availableAt time.Time) {
	var opts []sdk.CreditOption
	from := at
	if availableAt.After(at) {
		opts = append(opts, sdk.AvailableAt(availableAt))
		from = availableAt
	}
	opts = append(opts, sdk.ExpiresAt(from.In(d.r.loc).AddDate(0, d.r.cfg.ExpiryMonths, 0)), sdk.WithStatusPoints(points))
	d.credits = append(d.credits, sdk.Credit(points, reason, opts...))
	d.credited += points
	d.upgrade(at)
}

func (d *decision) effects() ([]sdk.Effect, error) {
	out := slices.Clone(d.credits)
	if d.tier != nil {
		out = append(out, d.tier.Effect())
	}
	if d.changed {
		put, err := sdk.StoreState(d.st)
		if err != nil {
			return nil, err
		}
		out = append(out, put)
	}
	return out, nil
}

// CheckEligibility lets a member join once the terms are accepted and the
// questionnaire's required fields are answered; joining credits the joining
// points and gives the first status.
func (Plugin) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	var reasons []sdk.Reason
	if !req.Answers.Bool(answerAcceptTerms) {
		reasons = append(reasons, sdk.Reason{Code: CodeTermsNotAccepted,
			Message: "the programme's terms must be accepted (answer acceptTerms: true)"})
	}
	for _, field := range r.cfg.RequiredAnswers {
		if isBlank(req.Answers[field]) {
			reasons = append(reasons, sdk.Reason{Code: CodeQuestionnaireIncomplete,
				Message: fmt.Sprintf("the questionnaire field %s must be filled in", field)})
		}
	}
	if len(reasons) > 0 {
		return sdk.EligibilityResponse{Eligible: false, Reasons: reasons}, nil
	}
	st, err := sdk.ReadState[State](req.Member.State)
	if err != nil {
		return sdk.EligibilityResponse{}, fmt.Errorf("%w: %w", sdk.ErrInvalidRequest, err)
	}
	d := r.decide(req.Member, st)
	now := req.Now
	d.lapse(now)
	if d.st.JoinedAt == nil {
		joined := now.UTC()
		d.st.JoinedAt = &joined
		d.changed = true
	}
	if bd, ok := stringValue(req.Answers[answerBirthDate]); ok && req.Member.BirthDate == "" && validDate(bd) && d.st.BirthDate != bd {
		d.st.BirthDate = bd
		d.changed = true
	}
	if !d.st.Welcomed {
		d.st.Welcomed = true
		d.changed = true
		if r.cfg.JoinPoints > 0 {
			avail := now.Add(time.Duration(r.cfg.JoinAvailableAfterHours) * time.Hour)
			d.credit(r.cfg.JoinPoints, "joining the programme", now, avail)
		}
	}
	d.upgrade(now)
	effects, err := d.effects()
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	return sdk.EligibilityResponse{Eligible: true, Effects: effects}, nil
}

// Evaluate credits the members' actions and payments and records their
// exchanges.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		res, err := r.evaluate(item)
		if err != nil {
			return sdk.EvaluateResponse{}, err
		}
		results[i] = res
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

func (r rules) evaluate(item sdk.EvaluateItem) (sdk.EvaluateResult, error) {
	ev, m := item.Event, item.Member
	none := func(format string, args ...any) (sdk.EvaluateResult, error) {
		return sdk.NoEffect(format, args...), nil
	}
	st, err := sdk.ReadState[State](m.State)
	if err != nil {
		return none("%v", err)
	}
	if ev.Type == EventRewardRedeemed {
		return r.recordExchange(ev, st)
	}
	if !slices.Contains(EventTypes, ev.Type) {
		return none("event type %q is not part of %s", ev.Type, Name)
	}
	if !r.joined(m, st) {
		return none("the member has not joined the programme (accepted its terms and filled in the questionnaire); points are credited only to members who joined")
	}
	d := r.decide(m, st)
	at := ev.OccurredAt
	d.lapse(at)

	switch ev.Type {
	case EventBillEmail, EventProfileCompleted:
		a, ok := r.cfg.action(ev.Type)
		if !ok {
			return none("%s earns nothing in this campaign", ev.Type)
		}
		if slices.Contains(d.st.Done, ev.Type) {
			return none("%s was already credited to this member; it counts once", a.Title)
		}
		d.st.Done = append(d.st.Done, ev.Type)
		d.changed = true
		d.credit(a.Points, a.Title, at, at)

	case EventSurveyAnswered:
		pts, ok := ev.Attributes.Whole(attrPoints)
		if !ok {
			return none("a survey needs its points in the %q attribute", attrPoints)
		}
		if pts < r.cfg.SurveyMinPoints || pts > r.cfg.SurveyMaxPoints {
			return none("a survey is worth %d to %d points, not %d", r.cfg.SurveyMinPoints, r.cfg.SurveyMaxPoints, pts)
		}
		reason := "company survey answered"
		if id, ok := stringValue(ev.Attributes[attrSurveyID]); ok && id != "" {
			if slices.Contains(d.st.Surveys, id) {
				return none("survey %s was already credited to this member", id)
			}
			d.st.Surveys = append(d.st.Surveys, id)
			if len(d.st.Surveys) > maxSurveysKept {
				d.st.Surveys = d.st.Surveys[len(d.st.Surveys)-maxSurveysKept:]
			}
			d.changed = true
			reason += " (" + id + ")"
		}
		d.credit(pts, reason, at, at)

	case EventTopup:
		kop, ok := ev.Attributes.Minor(attrAmountRub)
		if !ok {
			return none("a top-up needs its amount in roubles in the %q attribute", attrAmountRub)
		}
		if kop < r.cfg.TopupMinRub*100 {
			return none("a top-up of %s RUB earns nothing: a single top-up must be at least %d RUB", rub(kop), r.cfg.TopupMinRub)
		}
		pts := kop / (r.cfg.TopupRubPerPoint * 100)
		if pts < 1 {
			return none("a top-up of %s RUB is below %d RUB and earns no points", rub(kop), r.cfg.TopupRubPerPoint)
		}
		if pts > maxPoints {
			return none("a top-up of %s RUB would earn more than %d points in one credit", rub(kop), maxPoints)
		}
		avail := at
		if r.cfg.TopupPending {
			avail = r.afterMonth(at)
		}
		d.credit(pts, fmt.Sprintf("top-up of %s RUB", rub(kop)), at, avail)

	case EventPayment:
		service, _ := stringValue(ev.Attributes[attrService])
		if !slices.Contains(r.cfg.PaymentServices, service) {
			return none("a payment for %q earns nothing: only payments for %s do", service, strings.Join(r.cfg.PaymentServices, ", "))
		}
		kop, ok := ev.Attributes.Minor(attrAmountRub)
		if !ok {
			return none("a payment needs its amount in roubles in the %q attribute", attrAmountRub)
		}
		pts := kop / (r.cfg.PaymentRubPerPoint * 100)
		if pts < 1 {
			return none("a payment of %s RUB is below %d RUB and earns no points", rub(kop), r.cfg.PaymentRubPerPoint)
		}
		if pts > maxPoints {
			return none("a payment of %s RUB would earn more than %d points in one credit", rub(kop), maxPoints)
		}
		d.credit(pts, fmt.Sprintf("payment for %s, %s", service, at.In(r.loc).Format(monthLayout)), at, r.afterMonth(at))
	}
	effects, err := d.effects()
	if err != nil {
		return sdk.EvaluateResult{}, err
	}
	return sdk.EvaluateResult{Effects: effects}, nil
}

// afterMonth is when the points of a payment made at at become available:
// PendingDaysAfterMonth days after the end of its month, at 00:00 in the
// campaign's zone.
func (r rules) afterMonth(at time.Time) time.Time {
	l := at.In(r.loc)
	return time.Date(l.Year(), l.Month()+1, 1+r.cfg.PendingDaysAfterMonth, 0, 0, 0, 0, r.loc)
}

// recordExchange records a redemption order: its month (for the
// once-a-month rule) and its rewards (for once-only rewards).
func (r rules) recordExchange(ev sdk.Event, st State) (sdk.EvaluateResult, error) {
	month, _ := stringValue(ev.Attributes[attrMonth])
	if _, err := time.Parse(monthLayout, month); err != nil {
		month = ev.OccurredAt.In(r.loc).Format(monthLayout)
	}
	order, _ := stringValue(ev.Attributes[attrOrderID])
	if order != "" && slices.ContainsFunc(st.Exchanges, func(x Exchange) bool { return x.OrderID == order }) {
		return sdk.EvaluateResult{NoEffectReason: fmt.Sprintf("order %s is already recorded", order)}, nil
	}
	st.Exchanges = append(st.Exchanges, Exchange{Month: month, OrderID: order})
	if len(st.Exchanges) > maxExchangesKept {
		st.Exchanges = st.Exchanges[len(st.Exchanges)-maxExchangesKept:]
	}
	if ids, ok := ev.Attributes[attrRewardIDs].([]any); ok {
		for _, x := range ids {
			if id, ok := stringValue(x); ok && id != "" {
				if st.Ordered == nil {
					st.Ordered = map[string]int{}
				}
				st.Ordered[id]++
			}
		}
	}
	put, err := sdk.StoreState(st)
	if err != nil {
		return sdk.EvaluateResult{}, err
	}
	return sdk.EvaluateResult{Effects: []sdk.Effect{put}}, nil
}

// joined is true when the member enrolled in the campaign.
func (r rules) joined(m sdk.Member, st State) bool {
	if st.JoinedAt != nil {
		return true
	}
	return slices.ContainsFunc(m.Enrollments, func(e sdk.Enrollment) bool { return e.Campaign == r.campaign.Code })
}

// Tick runs the daily hook: a status past its end drops to the first one,
// and a member whose birthday it is gets the birthday points once a year.
func (Plugin) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	if req.Hook != HookDaily {
		return sdk.TickResponse{}, fmt.Errorf("%w: %q", sdk.ErrUnsupportedHook, req.Hook)
	}
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.TickResponse{}, err
	}
	var resp sdk.TickResponse
	for _, m := range req.Members {
		st, err := sdk.ReadState[State](m.State)
		if err != nil {
			slog.Warn("daily: member skipped", "member", m.ID, "error", err)
			continue
		}
		d := r.decide(m, st)
		d.lapse(req.Now)
		if r.cfg.BirthdayPoints > 0 {
			if year, ok := r.birthdayToday(m, st, req.Now); ok && st.BirthdayYear != year {
				d.st.BirthdayYear = year
				d.changed = true
				d.credit(r.cfg.BirthdayPoints, fmt.Sprintf("birthday %d", year), req.Now, req.Now)
			}
		}
		effects, err := d.effects()
		if err != nil {
			return sdk.TickResponse{}, err
		}
		if len(effects) > 0 {
			resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: m.ID, Effects: effects})
		}
	}
	return resp, nil
}

// birthdayToday reports whether now is the member's birthday in the
// campaign's zone, and the year. A 29 February birthday is kept on 28
// February in other years.
func (r rules) birthdayToday(m sdk.Member, st State, now time.Time) (int, bool) {
	bd := m.BirthDate
	if bd == "" {
		bd = st.BirthDate
	}
	b, err := time.Parse(time.DateOnly, bd)
	if err != nil {
		return 0, false
	}
	l := now.In(r.loc)
	month, day := b.Month(), b.Day()
	if month == time.February && day == 29 && !isLeap(l.Year()) {
		day = 28
	}
	return l.Year(), l.Month() == month && l.Day() == day
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// Quote prices a catalogue reward for the member: the listed price less the
// discount of the member's status, rounded half up to whole points, and
// refuses it when the member made this month's exchange already, ordered a
// once-only reward before, owes money on the reward's service, or the reward
// is not offered in the member's region or for the member's services.
func (Plugin) Quote(_ context.Context, req sdk.QuoteRequest) (sdk.QuoteResponse, error) {
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.QuoteResponse{}, err
	}
	st, err := sdk.ReadState[State](req.Member.State)
	if err != nil {
		return sdk.QuoteResponse{}, fmt.Errorf("%w: %w", sdk.ErrInvalidRequest, err)
	}
	item, m := req.Item, req.Member
	d := r.decide(m, st)
	discount := int64(0)
	if d.rank >= 0 && (d.until == nil || !req.Now.After(*d.until)) {
		discount = r.cfg.Tiers[d.rank].DiscountPercent
	}
	price := discounted(max(item.Price, 0), discount)
	var reasons []sdk.Reason
	add := func(code, format string, args ...any) {
		reasons = append(reasons, sdk.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	name := item.Code
	if name == "" {
		name = item.RewardID
	}

	if regions := stringList(item.Attributes[rewardRegions]); len(regions) > 0 && !slices.Contains(regions, "*") {
		region := m.Region
		if region == "" {
			region, _ = stringValue(m.Attributes[memberRegion])
		}
		if !slices.ContainsFunc(regions, func(x string) bool { return strings.EqualFold(x, region) }) {
			where := "the member's region"
			if region != "" {
				where = "region " + region
			}
			add(CodeNotAvailable, "%s is not offered in %s (only in %s)", name, where, strings.Join(regions, ", "))
		}
	}
	has := stringList(m.Attributes[memberServices])
	required := stringList(item.Attributes[rewardServicesRequired])
	if len(required) > 0 && !slices.ContainsFunc(required, func(s string) bool { return slices.Contains(has, s) }) {
		add(CodeNotAvailable, "%s needs the %s service, which the member does not have", name, strings.Join(required, " or "))
	}
	service, _ := stringValue(item.Attributes[rewardService])
	if service == "" && len(required) == 1 {
		service = required[0]
	}
	if service != "" {
		if debts, ok := m.Attributes[memberDebts].(map[string]any); ok {
			if kop, ok := sdk.Values(debts).Minor(service); ok && kop > 0 {
				add(CodeOutstandingDebt, "there is an outstanding debt of %s RUB on the %s service", rub(kop), service)
			}
		}
	}
	month := req.Now.In(r.loc).Format(monthLayout)
	var thisMonth []string
	for _, x := range st.Exchanges {
		if x.Month == month {
			thisMonth = append(thisMonth, x.OrderID)
		}
	}
	if len(thisMonth) >= r.cfg.ExchangesPerMonth {
		msg := fmt.Sprintf("points can be exchanged %s a month and this month's exchange was already made", times(r.cfg.ExchangesPerMonth))
		if id := thisMonth[len(thisMonth)-1]; id != "" {
			msg += " (order " + id + ")"
		}
		add(CodeFrequencyLimit, "%s", msg)
	}
	if limit, ok := item.Attributes.Whole(rewardPerMemberLimit); ok && limit > 0 {
		n := max(st.Ordered[item.RewardID], st.Ordered[item.Code])
		if item.RewardID == "" {
			n = st.Ordered[item.Code]
		}
		if int64(n) >= limit {
			add(CodeFrequencyLimit, "%s can be ordered %s per member and was already ordered", name, times(int(limit)))
		}
	}
	return sdk.QuoteResponse{Price: price, MaxPointsPayable: sdk.NoPointsCap, Allowed: len(reasons) == 0, Reasons: reasons}, nil
}

// discounted is price less percent, rounded half up to a whole point.
func discounted(price, percent int64) int64 {
	// price × (100 − percent) / 100, rounded half up, without overflow for
	// any price that fits in int64 / 100.
	keep := 100 - percent
	return price/100*keep + (price%100*keep+50)/100
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	default:
		return fmt.Sprintf("%d times", n)
	}
}

// rub formats kopecks as roubles: "1000.00".
func rub(kop int64) string { return fmt.Sprintf("%d.%02d", kop/100, kop%100) }

// stringValue reads a string, or a number as its decimal text.
func stringValue(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return strings.TrimSpace(v), true
	case json.Number:
		return v.String(), true
	default:
		return "", false
	}
}

func stringList(x any) []string {
	list, ok := x.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range list {
		if s, ok := stringValue(e); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isBlank(x any) bool {
	switch v := x.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	default:
		return false
	}
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
