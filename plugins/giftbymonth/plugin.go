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
	Name    = "giftbymonth"
	Version = "1.0.0"
)

// Event types the plugin evaluates.
const (
	// EventContractSigned records (or updates) an ITS contract of the member.
	EventContractSigned = "contract.signed"
	// EventRegistrationSubmitted registers one more contract of an enrolled
	// member.
	EventRegistrationSubmitted = "registration.submitted"
)

// HookMonthClose is the scheduled hook that releases the gifts of closed
// months; SpecMonthClose is its schedule.
const (
	HookMonthClose = "month-close"
	SpecMonthClose = "daily at=00:00:00"
)

// Reason codes of CheckEligibility and of rejected registration events.
const (
	CodeNoContract           = "NO_ITS_CONTRACT"
	CodeNoEligibleContract   = "NO_ELIGIBLE_CONTRACT"
	CodeRegistrationClosed   = "REGISTRATION_CLOSED"
	CodeProductNotRegistered = "PRODUCT_NOT_REGISTERED"
	CodeAlreadyRegistered    = "ALREADY_REGISTERED"
	CodeNotEnrolled          = "NOT_ENROLLED"
)

// Values of the gift benefit's recipientRole attribute.
const (
	RoleRegisteredBy       = "registered_by"
	RoleResponsible        = "responsible"
	RoleHeadOfOrganisation = "head_of_organisation"
)

// Registration answers, event attributes and contract attributes the plugin
// reads.
const (
	answerContractID        = "contractId"
	answerRegisteredBy      = "registeredBy"
	answerResponsible       = "responsible"
	contractIDAttribute     = "id"
	contractLevelAttribute  = "level"
	contractTermAttribute   = "termMonths"
	contractSchemeAttribute = "scheme"
	contractPaidAttribute   = "paidInFull"
	contractStartAttribute  = "startMonth"
)

const (
	fulfilmentToDeliver = "to_deliver"
	benefitKindGift     = "gift"
	monthLayout         = "2006-01"
	humanMonthLayout    = "January 2006"
	humanDateLayout     = "2 January 2006"
	// maxRegistrationsPerMember keeps a member's state small.
	maxRegistrationsPerMember = 100
)

// Plugin implements the giftbymonth programme; sdk.Base supplies Quote (the programme has no
// points: prices stay as they are).
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Contract is an ITS contract of a member, as the plugin keeps it.
type Contract struct {
	ID         string `json:"id"`
	Level      string `json:"level"`
	TermMonths int    `json:"termMonths"`
	Scheme     string `json:"scheme,omitempty"`
	PaidInFull bool   `json:"paidInFull"`
	// StartMonth is YYYY-MM.
	StartMonth string `json:"startMonth"`
}

// Registration is one registered contract. Its gift is released when the
// contract's start month closes.
type Registration struct {
	ContractID string `json:"contractId"`
	// Month is the contract's start month, YYYY-MM: the month whose table row
	// and close decide the gift.
	Month string `json:"month"`
	// TermMonths is the effective term (an "8+4" contract counts as 12).
	TermMonths   int       `json:"termMonths"`
	Scheme       string    `json:"scheme,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
	RegisteredBy string    `json:"registeredBy,omitempty"`
	Responsible  string    `json:"responsible,omitempty"`
	// GiftKey is the key of the granted gift benefit; empty until the month
	// closes.
	GiftKey string `json:"giftKey,omitempty"`
}

// State is the plugin's state for one member in one campaign.
type State struct {
	// Contracts are those reported by contract.signed events.
	Contracts     []Contract     `json:"contracts,omitempty"`
	Registrations []Registration `json:"registrations,omitempty"`
}

func (s State) registration(contractID string) (Registration, bool) {
	for _, r := range s.Registrations {
		if r.ContractID == contractID {
			return r, true
		}
	}
	return Registration{}, false
}

// Describe reports the plugin, its config schema, its default config and its
// schedule.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    []string{EventContractSigned, EventRegistrationSubmitted},
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
		Schedules:     []sdk.Schedule{{Name: HookMonthClose, Spec: SpecMonthClose}},
		BenefitKinds:  []string{benefitKindGift},
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// rules is a campaign's parsed configuration and time zone.
type rules struct {
	cfg Config
	loc *time.Location
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
	return rules{cfg: cfg, loc: loc}, nil
}

// CheckEligibility registers the member's eligible contracts, or says why it
// cannot.
func (Plugin) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	st, err := sdk.ReadState[State](req.Member.State)
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	regs, reasons := r.register(req.Now, req.Member, st, req.Answers)
	if len(regs) == 0 {
		return sdk.EligibilityResponse{Eligible: false, Reasons: reasons}, nil
	}
	st.Registrations = append(st.Registrations, regs...)
	put, err := sdk.StoreState(st)
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	return sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{put}}, nil
}

// Evaluate records contracts and further registrations.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		res, err := r.evaluate(req.Campaign, item)
		if err != nil {
			return sdk.EvaluateResponse{}, err
		}
		results[i] = res
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

func (r rules) evaluate(c sdk.Campaign, item sdk.EvaluateItem) (sdk.EvaluateResult, error) {
	st, err := sdk.ReadState[State](item.Member.State)
	if err != nil {
		return sdk.NoEffect("%s", err), nil //nolint:nilerr // an unreadable state is this member's outcome, not the batch's failure
	}
	ev := item.Event
	switch ev.Type {
	case EventContractSigned:
		ct, problems := parseContract(ev.Attributes)
		if ct.ID == "" {
			return sdk.NoEffect("the contract has no id attribute"), nil
		}
		if len(problems) > 0 {
			return sdk.NoEffect("contract %s: %s", ct.ID, strings.Join(problems, "; ")), nil
		}
		idx := slices.IndexFunc(st.Contracts, func(x Contract) bool { return x.ID == ct.ID })
		switch {
		case idx < 0:
			st.Contracts = append(st.Contracts, ct)
		case st.Contracts[idx] == ct:
			return sdk.NoEffect("contract %s is already recorded with the same terms", ct.ID), nil
		default:
			st.Contracts[idx] = ct
		}
		put, err := sdk.StoreState(st)
		if err != nil {
			return sdk.EvaluateResult{}, err
		}
		return sdk.EvaluateResult{Effects: []sdk.Effect{put}}, nil

	case EventRegistrationSubmitted:
		if !enrolled(item.Member, c.Code) {
			return sdk.Rejected(CodeNotEnrolled, "the member is not registered in the programme; register through the programme page first"), nil
		}
		answers := sdk.Values{}
		if id := stringOf(ev.Attributes[answerContractID]); id != "" {
			answers[answerContractID] = id
		}
		for _, k := range []string{answerRegisteredBy, answerResponsible} {
			if s := stringOf(ev.Attributes[k]); s != "" {
				answers[k] = s
			}
		}
		regs, reasons := r.register(ev.OccurredAt, item.Member, st, answers)
		if len(regs) == 0 {
			msgs := make([]string, len(reasons))
			for i, rs := range reasons {
				msgs[i] = rs.Message
			}
			return sdk.Rejected(reasons[0].Code, "%s", strings.Join(msgs, "; ")), nil
		}
		st.Registrations = append(st.Registrations, regs...)
		put, err := sdk.StoreState(st)
		if err != nil {
			return sdk.EvaluateResult{}, err
		}
		return sdk.EvaluateResult{Effects: []sdk.Effect{put}}, nil

	default:
		return sdk.NoEffect("event type %q is not part of %s", ev.Type, Name), nil
	}
}

// Tick runs month-close: every registration whose month has closed and that
// has no gift yet gets its gift benefit.
func (Plugin) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	if req.Hook != HookMonthClose {
		return sdk.TickResponse{}, fmt.Errorf("%w: %q", sdk.ErrUnsupportedHook, req.Hook)
	}
	r, err := load(req.Campaign)
	if err != nil {
		return sdk.TickResponse{}, err
	}
	var resp sdk.TickResponse
	for _, m := range req.Members {
		effects, err := r.closeMonths(req.Campaign, req.Now, m)
		if err != nil {
			return sdk.TickResponse{}, err
		}
		if len(effects) > 0 {
			resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: m.ID, Effects: effects})
		}
	}
	return resp, nil
}

// closeMonths grants the gifts of m's registrations whose month has closed by
// now.
func (r rules) closeMonths(c sdk.Campaign, now time.Time, m sdk.Member) ([]sdk.Effect, error) {
	st, err := sdk.ReadState[State](m.State)
	if err != nil {
		// One unreadable state must not stop the month's close for everyone.
		slog.Warn("month-close: member skipped", "member", m.ID, "error", err)
		return nil, nil
	}
	enr, hasEnrollment := enrollment(m, c.Code)
	if len(st.Registrations) == 0 && hasEnrollment {
		// The state put on enrolment is missing: rebuild the registration
		// from the enrolment as it was decided then.
		regs, _ := r.register(enr.EnrolledAt, m, st, enr.Answers)
		st.Registrations = regs
	}
	var effects []sdk.Effect
	for i := range st.Registrations {
		reg := &st.Registrations[i]
		if reg.GiftKey != "" {
			continue
		}
		closesAt, ok := r.monthClose(reg.Month)
		if !ok || now.Before(closesAt) {
			continue
		}
		gift, ok := r.cfg.gift(reg.Month, reg.TermMonths)
		if !ok {
			// The gift for this month is not announced yet; a later close
			// grants it once the table has the row.
			continue
		}
		recipient, role := r.recipient(m, *reg, enr, hasEnrollment)
		key := fmt.Sprintf("gift-%s-%s", reg.Month, reg.ContractID)
		items := make([]any, len(gift.Items))
		for j, it := range gift.Items {
			items[j] = it
		}
		from := closesAt
		effects = append(effects, sdk.GrantBenefit{
			Key:       key,
			Kind:      benefitKindGift,
			Title:     title(gift.Items),
			Recipient: recipient,
			ValidFrom: &from,
			Attributes: sdk.Values{
				"fulfilment":    fulfilmentToDeliver,
				"items":         items,
				"month":         reg.Month,
				"contractId":    reg.ContractID,
				"termMonths":    reg.TermMonths,
				"recipientRole": role,
			},
		}.Effect())
		reg.GiftKey = key
	}
	if len(effects) == 0 {
		return nil, nil
	}
	put, err := sdk.StoreState(st)
	if err != nil {
		return nil, err
	}
	return append(effects, put), nil
}

// recipient chooses who receives a gift: the employee who registered, else
// the person responsible named at registration, else the head of the
// organisation.
func (r rules) recipient(m sdk.Member, reg Registration, enr sdk.Enrollment, hasEnrollment bool) (name, role string) {
	by, resp := reg.RegisteredBy, reg.Responsible
	if hasEnrollment {
		if by == "" {
			by = firstNonEmpty(enr.RegisteredBy, stringOf(enr.Answers[answerRegisteredBy]))
		}
		if resp == "" {
			resp = firstNonEmpty(enr.Responsible, stringOf(enr.Answers[answerResponsible]))
		}
	}
	switch {
	case by != "":
		return by, RoleRegisteredBy
	case resp != "":
		return resp, RoleResponsible
	default:
		return firstNonEmpty(stringOf(m.Attributes[r.cfg.HeadAttribute]), m.Name), RoleHeadOfOrganisation
	}
}

// title joins gift items into a benefit title: "Branded calculator +
// branded travel hair dryer".
func title(items []string) string {
	t := strings.Join(items, " + ")
	if t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// register decides a registration at now with the given answers. It returns
// the registrations to record, or none and every reason why not.
func (r rules) register(now time.Time, m sdk.Member, st State, answers sdk.Values) ([]Registration, []sdk.Reason) {
	cfg := r.cfg
	local := now.In(r.loc)
	var reasons []sdk.Reason
	add := func(code, format string, args ...any) {
		reasons = append(reasons, sdk.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}

	if cfg.RequireProductRegistered && !m.Attributes.Bool(cfg.ProductRegisteredAttribute) {
		add(CodeProductNotRegistered, "the software product is not registered in the account on the ITS portal")
	}
	contracts := r.contracts(m, st)
	candidates := contracts
	wanted := stringOf(answers[answerContractID])
	if wanted != "" {
		candidates = nil
		for _, ct := range contracts {
			if ct.ID == wanted {
				candidates = append(candidates, ct)
			}
		}
	}
	switch {
	case len(contracts) == 0:
		add(CodeNoContract, "the account has no ITS contracts")
	case len(candidates) == 0:
		add(CodeNoContract, "the account has no ITS contract %s", wanted)
	}

	named := len(candidates) > 1
	var ok []parsedContract
	contractClosed, openCandidate := false, false
	for _, ct := range candidates {
		prefix := ""
		if named {
			prefix = "contract " + ct.label() + ": "
		}
		problems := append(slices.Clone(ct.problems), r.contractProblems(ct.Contract)...)
		for _, p := range problems {
			add(CodeNoEligibleContract, "%s%s", prefix, p)
		}
		fails := len(problems) > 0
		if reg, done := st.registration(ct.ID); done && ct.ID != "" {
			add(CodeAlreadyRegistered, "%scontract %s is already registered (its gift is for %s)", prefix, ct.ID, humanMonth(reg.Month))
			fails = true
		}
		if start, valid := parseMonth(ct.StartMonth); valid {
			if closesAt, _ := r.monthClose(ct.StartMonth); !local.Before(closesAt) {
				add(CodeRegistrationClosed, "%sregistration for %s contracts closed on %s", prefix,
					start.Format(humanMonthLayout), closesAt.AddDate(0, 0, -1).Format(humanDateLayout))
				contractClosed = true
				fails = true
			} else {
				openCandidate = true
			}
		}
		if !fails {
			ok = append(ok, ct)
		}
	}
	open, why := r.windowOpen(local)
	if !open && (!contractClosed || openCandidate) {
		add(CodeRegistrationClosed, "%s", why)
	}
	if !open || len(ok) == 0 || (cfg.RequireProductRegistered && !m.Attributes.Bool(cfg.ProductRegisteredAttribute)) {
		return nil, reasons
	}
	if len(st.Registrations)+len(ok) > maxRegistrationsPerMember {
		return nil, []sdk.Reason{{Code: CodeNoEligibleContract, Message: fmt.Sprintf("the account already has %d registrations, the most one account may have", len(st.Registrations))}}
	}
	regs := make([]Registration, len(ok))
	for i, ct := range ok {
		regs[i] = Registration{
			ContractID:   ct.ID,
			Month:        ct.StartMonth,
			TermMonths:   cfg.effectiveTerm(ct.Contract),
			Scheme:       ct.Scheme,
			RegisteredAt: now.UTC(),
			RegisteredBy: stringOf(answers[answerRegisteredBy]),
			Responsible:  stringOf(answers[answerResponsible]),
		}
	}
	return regs, nil
}

// effectiveTerm is the contract's term, or the term its scheme counts as.
func (c Config) effectiveTerm(ct Contract) int {
	if t, ok := c.Schemes[ct.Scheme]; ok && ct.Scheme != "" {
		return t
	}
	return ct.TermMonths
}

// contractProblems lists why a contract does not allow participation.
func (r rules) contractProblems(ct Contract) []string {
	cfg := r.cfg
	var out []string
	if !slices.ContainsFunc(cfg.Levels, func(l string) bool { return strings.EqualFold(l, ct.Level) }) {
		level := ct.Level
		if level == "" {
			level = "unknown"
		}
		out = append(out, fmt.Sprintf("the contract level %s is not eligible; only %s contracts take part", level, orList(cfg.Levels)))
	}
	if term := cfg.effectiveTerm(ct); term > 0 && !slices.Contains(cfg.Terms, term) {
		out = append(out, fmt.Sprintf("a %d-month term is not eligible; terms of %s months are", term, cfg.termsText()))
	}
	if cfg.RequirePaidInFull && !ct.PaidInFull {
		out = append(out, "the contract is not paid in full for the whole term up front")
	}
	if start, ok := parseMonth(ct.StartMonth); ok {
		first, _ := parseMonth(cfg.FirstContractMonth)
		last, _ := parseMonth(cfg.LastContractMonth)
		if start.Before(first) || start.After(last) {
			out = append(out, fmt.Sprintf("the contract starts in %s; only contracts starting from %s to %s take part",
				start.Format(humanMonthLayout), first.Format(humanMonthLayout), last.Format(humanMonthLayout)))
		}
	}
	return out
}

// lastDay is the last registration day of month (the configured day, or the
// month's last day if it is shorter).
func (r rules) lastDay(month time.Time) int {
	days := time.Date(month.Year(), month.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return min(r.cfg.RegistrationLastDay, days)
}

// monthClose is the instant a month's registration closes and its gifts are
// released: the start of the day after its last registration day, in the
// campaign's zone.
func (r rules) monthClose(month string) (time.Time, bool) {
	m, ok := parseMonth(month)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(m.Year(), m.Month(), r.lastDay(m)+1, 0, 0, 0, 0, r.loc), true
}

// windowOpen says whether registration is open at local, and if not, why.
func (r rules) windowOpen(local time.Time) (bool, string) {
	cfg := r.cfg
	start, _ := time.Parse(time.DateOnly, cfg.ProgramStart)
	end, _ := time.Parse(time.DateOnly, cfg.ProgramEnd)
	opens := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, r.loc)
	ends := time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, r.loc)
	period := fmt.Sprintf("the programme runs from %s to %s", start.Format(humanDateLayout), end.Format(humanDateLayout))
	switch {
	case local.Before(opens):
		return false, "registration has not opened yet: " + period
	case !local.Before(ends):
		return false, "registration is over: " + period
	}
	last := r.lastDay(local)
	if local.Day() <= last {
		return true, ""
	}
	why := fmt.Sprintf("registration is open from the 1st to the %s of each month", ordinal(cfg.RegistrationLastDay))
	if next := time.Date(local.Year(), local.Month()+1, 1, 0, 0, 0, 0, r.loc); next.Before(ends) {
		why += "; it reopens on " + next.Format(humanDateLayout)
	}
	return false, why
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

func humanMonth(month string) string {
	if m, ok := parseMonth(month); ok {
		return m.Format(humanMonthLayout)
	}
	return month
}

// parsedContract is a contract read from attributes, with what is wrong with
// its data.
type parsedContract struct {
	Contract
	problems []string
}

func (p parsedContract) label() string {
	if p.ID == "" {
		return "without id"
	}
	return p.ID
}

// contracts merges the member's contracts: those of the contracts attribute
// (the CRM's current view, which wins) and those recorded from events.
func (r rules) contracts(m sdk.Member, st State) []parsedContract {
	var out []parsedContract
	seen := map[string]bool{}
	if list, ok := m.Attributes[r.cfg.ContractsAttribute].([]any); ok {
		for _, x := range list {
			obj, ok := x.(map[string]any)
			if !ok {
				out = append(out, parsedContract{problems: []string{"a contract in the account is not an object"}})
				continue
			}
			ct, problems := parseContract(obj)
			if ct.ID == "" {
				problems = append([]string{"the contract has no id"}, problems...)
			} else if seen[ct.ID] {
				continue
			}
			seen[ct.ID] = true
			out = append(out, parsedContract{Contract: ct, problems: problems})
		}
	}
	for _, ct := range st.Contracts {
		if !seen[ct.ID] {
			seen[ct.ID] = true
			out = append(out, parsedContract{Contract: ct})
		}
	}
	return out
}

// parseContract reads a contract from attributes.
func parseContract(v sdk.Values) (Contract, []string) {
	var problems []string
	ct := Contract{
		ID:     stringOf(v[contractIDAttribute]),
		Level:  stringOf(v[contractLevelAttribute]),
		Scheme: stringOf(v[contractSchemeAttribute]),
	}
	if n, ok := intOf(v[contractTermAttribute]); ok && n > 0 && n <= 1200 {
		ct.TermMonths = int(n)
	} else if ct.Scheme == "" {
		problems = append(problems, "the contract has no term in months")
	}
	ct.PaidInFull = v.Bool(contractPaidAttribute)
	start := stringOf(v[contractStartAttribute])
	if len(start) == len("2006-01-02") {
		if d, err := time.Parse(time.DateOnly, start); err == nil {
			start = d.Format(monthLayout)
		}
	}
	if _, ok := parseMonth(start); ok {
		ct.StartMonth = start
	} else {
		problems = append(problems, fmt.Sprintf("the contract has no start month YYYY-MM (got %q)", start))
	}
	return ct, problems
}

func enrollment(m sdk.Member, campaign string) (sdk.Enrollment, bool) {
	for _, e := range m.Enrollments {
		if e.Campaign == campaign {
			return e, true
		}
	}
	return sdk.Enrollment{}, false
}

func enrolled(m sdk.Member, campaign string) bool {
	_, ok := enrollment(m, campaign)
	return ok
}

// stringOf reads a string or a number as a trimmed string.
func stringOf(x any) string {
	switch v := x.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case int, int64:
		return fmt.Sprint(v)
	default:
		return ""
	}
}

func intOf(x any) (int64, bool) {
	if s, ok := x.(string); ok {
		x = json.Number(strings.TrimSpace(s))
	}
	return sdk.Values{"v": x}.Int("v")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
