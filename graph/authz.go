package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/explanation"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/rewards"
)

// Global id type names of the security types.
const (
	typeAPIKey     = "ApiKey"
	typeAuditEntry = "AuditEntry"
)

// access says who may run one root field.
type access struct {
	// Roles allowed. RoleMember means "a member token, for its own member only": every
	// member argument (see memberArgs) must name the token's member.
	Roles []auth.Role
	// Anonymous allows callers without credentials.
	Anonymous bool
}

var (
	member    = auth.RoleMember
	frontend  = auth.RoleFrontend
	ingest    = auth.RoleIngest
	marketing = auth.RoleMarketing
	admin     = auth.RoleAdmin
)

func allow(roles ...auth.Role) access { return access{Roles: roles} }

// Authorization is the one table of who may run what: every root field of Query, Mutation
// and Subscription, keyed "Query.<field>", "Mutation.<field>" or "Subscription.<field>". A
// root field missing here is refused to everyone (fail closed), and
// TestAuthorizationTableCoversSchema fails until it is added. docs/security.md shows the same
// table as a matrix.
var Authorization = map[string]access{
	// Anyone, anonymous callers too. Introspection itself is switched on or off by
	// --introspection; when it is on, the explorer may load the schema before a key is entered.
	"Query.viewer": {Roles: auth.AllRoles, Anonymous: true},
	// A campaign's participant names, when the campaign publishes them (and only the names).
	"Query.publicParticipants": {Roles: auth.AllRoles, Anonymous: true},
	"Query.__schema":           {Roles: auth.AllRoles, Anonymous: true},
	"Query.__type":             {Roles: auth.AllRoles, Anonymous: true},

	// Reads. A member reads itself (member(id|externalRef), node(its own id)) and the
	// programme and reward catalogues; campaigns are not open to members because a campaign
	// lists its participants. Marketing reads members to support them (the console's member
	// lookup) but changes nothing about them.
	"Query.node":        allow(member, frontend, admin),
	"Query.member":      allow(member, frontend, marketing, admin),
	"Query.members":     allow(frontend, marketing, admin),
	"Query.transaction": allow(frontend, admin),
	"Query.programs":    allow(member, frontend, ingest, marketing, admin),
	"Query.program":     allow(member, frontend, ingest, marketing, admin),
	"Query.plugins":     allow(frontend, marketing, admin),
	"Query.campaigns":   allow(frontend, marketing, admin),
	"Query.campaign":    allow(frontend, marketing, admin),
	"Query.rewards":     allow(member, frontend, marketing, admin),
	"Query.reward":      allow(member, frontend, marketing, admin),
	"Query.event":       allow(frontend, ingest, admin),
	// The check before enrolling: a member for itself, or a frontend for any member.
	"Query.checkEligibility": allow(member, frontend, admin),
	"Query.apiKeys":          allow(admin),
	"Query.auditLog":         allow(admin),

	// Members and events from other systems.
	"Mutation.upsertMember": allow(frontend, ingest, admin),
	"Mutation.recordEvent":  allow(ingest, admin),
	"Mutation.recordEvents": allow(ingest, admin),

	// A member acting for itself, or a frontend acting for any member.
	"Mutation.enroll":            allow(member, frontend, admin),
	"Mutation.redeemRewards":     allow(member, frontend, admin),
	"Mutation.applyReferralCode": allow(member, frontend, admin),
	"Mutation.sendInvite":        allow(member, frontend, admin),
	"Mutation.activateBenefit":   allow(member, frontend, admin),

	// Marketing: campaigns and rewards.
	"Mutation.createCampaign":        allow(marketing, admin),
	"Mutation.updateCampaignConfig":  allow(marketing, admin),
	"Mutation.activateCampaign":      allow(marketing, admin),
	"Mutation.pauseCampaign":         allow(marketing, admin),
	"Mutation.endCampaign":           allow(marketing, admin),
	"Mutation.simulateCampaign":      allow(marketing, admin),
	"Mutation.setFulfillmentStatus":  allow(marketing, admin),
	"Mutation.setParticipantsPublic": allow(marketing, admin),
	"Mutation.createReward":          allow(marketing, admin),
	"Mutation.updateReward":          allow(marketing, admin),
	"Mutation.importRewardCodes":     allow(marketing, admin),
	// Shadow runs of a campaign (docs/shadow.md).
	"Mutation.attachShadow":   allow(marketing, admin),
	"Mutation.promoteShadow":  allow(marketing, admin),
	"Mutation.dropShadow":     allow(marketing, admin),
	"Mutation.startBacktest":  allow(marketing, admin),
	"Mutation.cancelBacktest": allow(marketing, admin),
	"Query.backtest":          allow(marketing, admin),
	"Query.backtests":         allow(marketing, admin),

	// Admin: programmes, plugins, points corrections, keys, the development clock.
	"Mutation.createProgram":      allow(admin),
	"Mutation.adjustPoints":       allow(admin),
	"Mutation.reverseTransaction": allow(admin),
	"Mutation.reverseRedemption":  allow(admin),
	"Mutation.registerPlugin":     allow(admin),
	"Mutation.reloadPlugin":       allow(admin),
	"Mutation.createApiKey":       allow(admin),
	"Mutation.revokeApiKey":       allow(admin),
	"Mutation.setClock":           allow(admin),

	// Live updates (subscriptions over WebSocket), open like the query of the same name.
	"Subscription.member":   allow(member, frontend, marketing, admin),
	"Subscription.event":    allow(frontend, ingest, admin),
	"Subscription.campaign": allow(frontend, marketing, admin),
}

// memberHiddenFields are nested fields a member token may not read even under its own member:
// they lead to other members (a campaign's participants and gift recipients) or to the
// server's internals (the plugin binary behind a campaign). Reached from a member's
// enrolments, benefits or rewards, they are refused with FORBIDDEN.
var memberHiddenFields = map[string]bool{
	"Campaign.participants": true,
	"Campaign.fulfillment":  true,
	"Campaign.figures":      true,
	"Campaign.plugin":       true,
	"Campaign.shadow":       true,
	// Who changed a gift's fulfilment (an API key's name) and their note are the operators'.
	"Benefit.fulfillmentChangedBy": true,
	"Benefit.fulfillmentNote":      true,
}

// dataClass says what the objects of one GraphQL type are to a member token.
type dataClass int

// The classes of memberData.
const (
	// ownedData objects belong to one member (memberOwner finds which): a member token reads
	// their fields only when that member is its own.
	ownedData dataClass = iota + 1
	// partData objects are part of the object they are reached from (a connection and its
	// edges, a payload, a balance's expiry, a referral summary) and hold no member of their
	// own; the owned objects inside them are checked in turn.
	partData
	// publicData objects are the same for every member: programmes, rewards, campaigns.
	publicData
	// staffData objects are never shown to a member token (API keys, the audit log, plugins,
	// simulations, fulfilment changes).
	staffData
)

// memberData classifies every object type of the schema for member tokens (callers whose only
// role is member). It is the general guarantee behind memberSelfFields and
// memberHiddenFields: wherever an object is reached — a referee's member, a transaction's
// member, a gift in a benefit, any path a future field opens — a member token reads its
// fields only if it is the token's member's own (ownedData), shared (publicData) or part of
// an object that passed the same check (partData). A type missing here is refused to member
// tokens (fail closed), and TestMemberDataCoversSchema fails until it is added.
var memberData = map[string]dataClass{
	"Member":       ownedData,
	"Transaction":  ownedData,
	"Balance":      ownedData,
	"Tier":         ownedData,
	"Benefit":      ownedData,
	"Enrollment":   ownedData,
	"Event":        ownedData,
	"Notification": ownedData,
	"Redemption":   ownedData,
	// A redemption's line carries its member too; checked like the order.
	"RedemptionLine": ownedData,
	// The chain behind a member's posting is that member's (docs/explain.md).
	"Explanation": ownedData,

	"Query": partData, "Mutation": partData, "Subscription": partData,
	"MemberConnection": partData, "MemberEdge": partData,
	"TransactionConnection": partData, "TransactionEdge": partData,
	"BenefitConnection": partData, "BenefitEdge": partData,
	"EnrollmentConnection": partData, "EnrollmentEdge": partData,
	"NotificationConnection": partData, "NotificationEdge": partData,
	"RedemptionConnection": partData, "RedemptionEdge": partData,
	"RewardConnection": partData, "RewardEdge": partData,
	"EventConnection": partData, "EventEdge": partData,
	"CampaignConnection": partData, "CampaignEdge": partData,
	"PageInfo": partData, "Expiration": partData, "Reason": partData,
	"UpsertMemberPayload": partData, "AdjustPointsPayload": partData, "ReverseTransactionPayload": partData,
	"RecordEventPayload": partData, "EventError": partData, "EnrollPayload": partData,
	"ApplyReferralCodePayload": partData, "RedeemResult": partData, "RedeemRejection": partData,
	"EventOutcome": partData, "CampaignOutcome": partData, "AppliedEffect": partData, "WaitingCampaign": partData,
	"NotificationDelivery": partData, "RewardQuote": partData, "RedemptionReversal": partData,
	// A member's referral summary: its code, its discounts, and of each client it brought the
	// client id, name and activation date (seed 004's "referred clients" table); the client's
	// own record (Referee.member) is that member's, and checked as such.
	"Referral": partData, "Referee": partData, "ReferralDiscount": partData,
	"Viewer": partData,

	"EligibilityCheck": partData,
	// An explanation's parts: the plugin version that decided (name, version and checksum, as an
	// event's outcome shows them; not the catalogue's Plugin), the decision's effects, and the
	// lists of what an event wrote (whose rows are checked in turn).
	"DecidingPlugin": partData, "DecidedEffect": partData, "EventConsequences": partData,

	"Program": publicData, "Reward": publicData, "Campaign": publicData,
	// A campaign's participant names, when it publishes them (publicParticipants): names only.
	"PublicParticipant": publicData, "PublicParticipantConnection": publicData, "PublicParticipantEdge": publicData,

	"Plugin": staffData, "PluginSchedule": staffData, "PluginHealth": staffData,
	"ApiKey": staffData, "ApiKeyConnection": staffData, "ApiKeyEdge": staffData, "CreateApiKeyPayload": staffData,
	"AuditEntry": staffData, "AuditEntryConnection": staffData, "AuditEntryEdge": staffData,
	"SimulatedDecision": staffData, "SimulatedEffect": staffData, "ImportRewardCodesPayload": staffData,
	"SetFulfillmentStatusPayload": staffData,
	// A campaign's figures count every participant's events (Campaign.figures is hidden too).
	// A shadow run compares decisions on every participant's events.
	"Shadow": staffData, "ShadowDiff": staffData, "ShadowExampleConnection": staffData, "ShadowExampleEdge": staffData,
	"ShadowExample": staffData, "ShadowDecision": staffData,
	"CampaignFigures": staffData, "CampaignDayFigures": staffData, "CampaignTotals": staffData, "ReasonCount": staffData,
	// A backtest lists members and what a draft campaign would have given them.
	"Backtest": staffData, "BacktestTotals": staffData, "BacktestDay": staffData, "BacktestMemberConnection": staffData,
	"BacktestMemberEdge": staffData, "BacktestMember": staffData, "BacktestBenefit": staffData,
}

// MemberDataClass returns how member tokens see the objects of a GraphQL type: "owned",
// "part", "public", "staff", or "" when the type is not classified (and refused to them).
func MemberDataClass(typeName string) string {
	switch memberData[typeName] {
	case ownedData:
		return "owned"
	case partData:
		return "part"
	case publicData:
		return "public"
	case staffData:
		return "staff"
	}
	return ""
}

// memberOwner returns the id of the member an ownedData object belongs to; false for a value
// it does not know (refused, fail closed).
func memberOwner(obj any) (int64, bool) {
	switch o := obj.(type) {
	case *members.Member:
		if o != nil {
			return o.ID, true
		}
	case members.Member:
		return o.ID, true
	case *ledger.Transaction:
		if o != nil {
			return o.MemberID, true
		}
	case ledger.Transaction:
		return o.MemberID, true
	case *ledger.Balance:
		if o != nil {
			return o.MemberID, true
		}
	case ledger.Balance:
		return o.MemberID, true
	case *benefits.Tier:
		if o != nil {
			return o.MemberID, true
		}
	case benefits.Tier:
		return o.MemberID, true
	case *benefits.Benefit:
		if o != nil {
			return o.MemberID, true
		}
	case benefits.Benefit:
		return o.MemberID, true
	case *benefits.Enrollment:
		if o != nil {
			return o.MemberID, true
		}
	case benefits.Enrollment:
		return o.MemberID, true
	case *event.Event:
		if o != nil {
			return o.MemberID, true
		}
	case event.Event:
		return o.MemberID, true
	case *notify.Notification:
		if o != nil {
			return o.MemberID, true
		}
	case notify.Notification:
		return o.MemberID, true
	case *rewards.Order:
		if o != nil {
			return o.MemberID, true
		}
	case rewards.Order:
		return o.MemberID, true
	case *rewards.OrderLine:
		if o != nil {
			return o.MemberID, true
		}
	case rewards.OrderLine:
		return o.MemberID, true
	case *explanation.Explanation:
		if o != nil {
			return o.MemberID, true
		}
	case explanation.Explanation:
		return o.MemberID, true
	}
	return 0, false
}

// memberScope is what one operation of a member token knows about the token's member: its id,
// looked up once (by checkSelf or the first owned object) and shared by every field.
type memberScope struct {
	once sync.Once
	id   int64
	err  error
}

type memberScopeKey struct{}

// ownID returns the id of the token's member, from the operation's scope.
func (a authorizer) ownID(ctx context.Context, p *auth.Principal) (int64, error) {
	lookup := func() (int64, error) {
		m, err := a.r.MemberStore.GetByExternalRef(ctx, p.MemberRef)
		if err != nil {
			return 0, err
		}
		return m.ID, nil
	}
	sc, ok := ctx.Value(memberScopeKey{}).(*memberScope)
	if !ok {
		return lookup()
	}
	sc.once.Do(func() { sc.id, sc.err = lookup() })
	return sc.id, sc.err
}

// InterceptOperation gives every operation of a member token its memberScope.
func (a authorizer) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if memberOnly(auth.FromContext(ctx)) {
		ctx = context.WithValue(ctx, memberScopeKey{}, &memberScope{})
	}
	return next(ctx)
}

// checkData enforces memberData on a nested field for a member token: the object the field
// belongs to must be the token's member's own, shared, or part of one that is.
func (a authorizer) checkData(ctx context.Context, p *auth.Principal, fc *graphql.FieldContext) error {
	if strings.HasPrefix(fc.Object, "__") {
		return nil // introspection, open to members when it is on
	}
	class := memberData[fc.Object]
	switch class {
	case partData, publicData:
		return nil
	case ownedData:
		var obj any
		if fc.Parent != nil {
			obj = fc.Parent.Result
		}
		owner, ok := memberOwner(obj)
		if !ok {
			a.log.Error("an owned object of unknown kind; refused to the member token", "type", fc.Object, "go", fmt.Sprintf("%T", obj))
			return denied(model.ErrorCodeForbidden, "a member token may not read "+fc.Object+"."+fc.Field.Name)
		}
		own, err := a.ownID(ctx, p)
		if err == nil && owner == own {
			return nil
		}
		return denied(model.ErrorCodeForbidden, "a member token may read only its own member's data; this "+fc.Object+" is another member's")
	case staffData:
		return denied(model.ErrorCodeForbidden, "a member token may not read "+fc.Object+"."+fc.Field.Name)
	}
	a.log.Error("object type missing from the member data table; refused to member tokens", "type", fc.Object)
	return denied(model.ErrorCodeForbidden, "a member token may not read "+fc.Object+"."+fc.Field.Name)
}

// memberSelfFields are the fields a member token may run only about its own member: at least
// one member argument must be present (and, like every member argument, name the token's
// member).
var memberSelfFields = map[string]bool{
	"Query.node": true, "Query.member": true, "Query.checkEligibility": true, "Subscription.member": true,
	"Mutation.enroll": true, "Mutation.redeemRewards": true, "Mutation.applyReferralCode": true,
	"Mutation.sendInvite": true, "Mutation.activateBenefit": true,
}

// memberArgs are argument (or input field) names that name a member, anywhere in a field's
// arguments: by global id, or by external reference. For a member token each must name the
// token's member. "id" counts only on member() (the query and the subscription) and node().
var (
	memberIDArgs  = map[string]bool{"memberId": true, "memberIds": true, "availableTo": true}
	memberRefArgs = map[string]bool{"memberRef": true, "externalRef": true}
)

// rolePreference is the order in which a caller's roles are tried: the one recorded in the
// audit log is the most privileged role that allows the operation.
var rolePreference = []auth.Role{admin, marketing, frontend, ingest, member}

// authorizer enforces Authorization on every root field and writes the audit log.
type authorizer struct {
	r   *Resolver
	log hclog.Logger
	// introspection is on; when off, __schema and __type are refused with FORBIDDEN.
	introspection bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.FieldInterceptor
} = authorizer{}

func (authorizer) ExtensionName() string                   { return "Authorization" }
func (authorizer) Validate(graphql.ExecutableSchema) error { return nil }

// denied is a refusal with its extensions.code (UNAUTHENTICATED or FORBIDDEN).
func denied(code model.ErrorCode, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

// InterceptField runs before every field. A root field is checked against Authorization (and
// audited); a nested one is reached through a root field that was allowed, and for a member
// token it must also pass memberHiddenFields and memberData.
func (a authorizer) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return next(ctx)
	}
	if fc.Object != "Query" && fc.Object != "Mutation" && fc.Object != "Subscription" {
		if p := auth.FromContext(ctx); memberOnly(p) {
			if memberHiddenFields[fc.Object+"."+fc.Field.Name] {
				return nil, denied(model.ErrorCodeForbidden, "a member token may not read "+fc.Object+"."+fc.Field.Name)
			}
			if err := a.checkData(ctx, p, fc); err != nil {
				return nil, err
			}
		}
		return next(ctx)
	}
	op := fc.Object + "." + fc.Field.Name
	p := auth.FromContext(ctx)
	var args map[string]any
	if oc := graphql.GetOperationContext(ctx); oc != nil {
		args = fc.Field.ArgumentMap(oc.Variables)
	}
	role, err := a.decide(ctx, p, op, args)
	rule, known := Authorization[op]
	audited := fc.Object == "Mutation" && (role == admin || role == marketing ||
		(err != nil && (!known || privileged(rule))))
	if err != nil {
		if audited {
			a.audit(ctx, p, rolesOf(p), fc.Field.Name, args, auth.OutcomeDenied, err)
		}
		return nil, err
	}
	res, err := next(ctx)
	if audited {
		outcome := auth.OutcomeOK
		if err != nil {
			outcome = auth.OutcomeError
		}
		a.audit(ctx, p, string(role), fc.Field.Name, args, outcome, err)
	}
	return res, err
}

// memberOnly reports whether p acts as a member and nothing else.
func memberOnly(p *auth.Principal) bool {
	return p.Has(member) && !p.Has(frontend) && !p.Has(admin) && !p.Has(marketing) && !p.Has(ingest)
}

// privileged reports whether only admin or marketing may run an operation.
func privileged(rule access) bool {
	for _, r := range rule.Roles {
		if r != admin && r != marketing {
			return false
		}
	}
	return true
}

// decide returns the role under which p may run op with args, or the denial.
func (a authorizer) decide(ctx context.Context, p *auth.Principal, op string, args map[string]any) (auth.Role, error) {
	rule, ok := Authorization[op]
	if !ok {
		a.log.Error("root field missing from the authorisation table; refused to everyone", "field", op)
		return "", denied(model.ErrorCodeForbidden, op+" is not open to any role")
	}
	if (op == "Query.__schema" || op == "Query.__type") && !a.introspection {
		return "", denied(model.ErrorCodeForbidden, "introspection is disabled on this server")
	}
	if !p.Authenticated() && rule.Anonymous {
		return "", nil
	}
	var role auth.Role
	for _, r := range rolePreference {
		if p.Has(r) && slices.Contains(rule.Roles, r) {
			role = r
			break
		}
	}
	switch {
	case role == "" && !p.Authenticated():
		return "", denied(model.ErrorCodeUnauthenticated, "this operation needs credentials: send Authorization: Bearer <API key or member token>")
	case role == "":
		return "", denied(model.ErrorCodeForbidden, "your roles ("+rolesOf(p)+") may not run "+op)
	case role == member:
		if err := a.checkSelf(ctx, p, op, args); err != nil {
			return "", err
		}
	}
	return role, nil
}

// checkSelf enforces that a member token only names its own member.
func (a authorizer) checkSelf(ctx context.Context, p *auth.Principal, op string, args map[string]any) error {
	forbidden := denied(model.ErrorCodeForbidden, "a member token may only act for its own member")
	self := func() (int64, error) { return a.ownID(ctx, p) }
	isSelf := func(gid any) bool {
		s, ok := gid.(string)
		if !ok {
			return false
		}
		id, err := idOf(typeMember, s)
		if err != nil {
			return false
		}
		own, err := self()
		return err == nil && id == own
	}
	named := false
	var walk func(key string, v any) bool
	walk = func(key string, v any) bool {
		switch v := v.(type) {
		case nil:
			return true
		case map[string]any:
			for k, x := range v {
				if !walk(k, x) {
					return false
				}
			}
			return true
		case []any:
			for _, x := range v {
				if !walk(key, x) {
					return false
				}
			}
			return true
		}
		switch {
		case memberIDArgs[key]:
			named = true
			return isSelf(v)
		case memberRefArgs[key]:
			named = true
			s, _ := v.(string)
			return s == p.MemberRef
		}
		return true
	}
	if (op == "Query.member" || op == "Query.node" || op == "Subscription.member") && args["id"] != nil {
		named = true
		if !isSelf(args["id"]) {
			return forbidden
		}
	}
	for k, v := range args {
		if k == "id" {
			continue
		}
		if !walk(k, v) {
			return forbidden
		}
	}
	if memberSelfFields[op] && !named {
		return forbidden
	}
	return nil
}

func rolesOf(p *auth.Principal) string {
	if p == nil || len(p.Roles) == 0 {
		return "anonymous"
	}
	s := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		s[i] = string(r)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// audit appends an audit entry; a failure to write it is logged, never shown to the caller
// (the operation has happened).
func (a authorizer) audit(ctx context.Context, p *auth.Principal, role, op string, args map[string]any, outcome string, err error) {
	if a.r.Auth == nil {
		return
	}
	e := auth.AuditEntry{Actor: p.Actor(), Role: role, Operation: op, InputDigest: auth.Digest(args), Outcome: outcome}
	if err != nil {
		e.ErrorCode = errorCode(err)
	}
	if werr := a.r.Auth.Record(context.WithoutCancel(ctx), e); werr != nil {
		// The entry is not dropped: the log line carries all of it (docs/security.md, "Audit log").
		level := hclog.Error
		if db.Unavailable(werr) {
			level = hclog.Warn
		}
		a.log.Log(level, "audit entry not stored; recorded in this log line instead", "operation", op, "actor", e.Actor,
			"role", e.Role, "input_digest", e.InputDigest, "outcome", outcome, "error_code", e.ErrorCode, "error", werr)
	}
}

// errorCode is the extensions.code a client sees for err.
func errorCode(err error) string {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err == nil {
		if c, ok := gqlErr.Extensions["code"].(string); ok {
			return c
		}
	}
	code, _ := codeOf(err)
	return string(code)
}

// modelRoles converts roles to the schema's enum.
func modelRoles(roles []auth.Role) []model.Role {
	out := make([]model.Role, len(roles))
	for i, r := range roles {
		out[i] = model.Role(strings.ToUpper(string(r)))
	}
	return out
}
