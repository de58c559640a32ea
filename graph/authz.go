package graph

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/auth"
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

// Authorization is the one table of who may run what: every root field of Query and Mutation,
// keyed "Query.<field>" or "Mutation.<field>". A root field missing here is refused to
// everyone (fail closed), and TestAuthorizationTableCoversSchema fails until it is added.
// docs/security.md shows the same table as a matrix.
var Authorization = map[string]access{
	// Anyone, anonymous callers too. Introspection itself is switched on or off by
	// --introspection; when it is on, the explorer may load the schema before a key is entered.
	"Query.viewer":   {Roles: auth.AllRoles, Anonymous: true},
	"Query.__schema": {Roles: auth.AllRoles, Anonymous: true},
	"Query.__type":   {Roles: auth.AllRoles, Anonymous: true},

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
	"Query.apiKeys":     allow(admin),
	"Query.auditLog":    allow(admin),

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
	"Mutation.createCampaign":       allow(marketing, admin),
	"Mutation.updateCampaignConfig": allow(marketing, admin),
	"Mutation.activateCampaign":     allow(marketing, admin),
	"Mutation.pauseCampaign":        allow(marketing, admin),
	"Mutation.endCampaign":          allow(marketing, admin),
	"Mutation.simulateCampaign":     allow(marketing, admin),
	"Mutation.setFulfillmentStatus": allow(marketing, admin),
	"Mutation.createReward":         allow(marketing, admin),
	"Mutation.updateReward":         allow(marketing, admin),
	"Mutation.importRewardCodes":    allow(marketing, admin),

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
	// Who changed a gift's fulfilment (an API key's name) and their note are the operators'.
	"Benefit.fulfillmentChangedBy": true,
	"Benefit.fulfillmentNote":      true,
}

// memberSelfFields are the fields a member token may run only about its own member: at least
// one member argument must be present (and, like every member argument, name the token's
// member).
var memberSelfFields = map[string]bool{
	"Query.node": true, "Query.member": true,
	"Mutation.enroll": true, "Mutation.redeemRewards": true, "Mutation.applyReferralCode": true,
	"Mutation.sendInvite": true, "Mutation.activateBenefit": true,
}

// memberArgs are argument (or input field) names that name a member, anywhere in a field's
// arguments: by global id, or by external reference. For a member token each must name the
// token's member. "id" counts only on member() and node().
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
	graphql.FieldInterceptor
} = authorizer{}

func (authorizer) ExtensionName() string                   { return "Authorization" }
func (authorizer) Validate(graphql.ExecutableSchema) error { return nil }

// denied is a refusal with its extensions.code (UNAUTHENTICATED or FORBIDDEN).
func denied(code model.ErrorCode, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

// InterceptField runs before every field; it acts on root fields only (nested fields are
// reached through a root field that was allowed).
func (a authorizer) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return next(ctx)
	}
	if fc.Object != "Query" && fc.Object != "Mutation" {
		if memberHiddenFields[fc.Object+"."+fc.Field.Name] && memberOnly(auth.FromContext(ctx)) {
			return nil, denied(model.ErrorCodeForbidden, "a member token may not read "+fc.Object+"."+fc.Field.Name)
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
	var ownID int64
	self := func() (int64, error) {
		if ownID != 0 {
			return ownID, nil
		}
		m, err := a.r.MemberStore.GetByExternalRef(ctx, p.MemberRef)
		if err != nil {
			return 0, err
		}
		ownID = m.ID
		return ownID, nil
	}
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
	if (op == "Query.member" || op == "Query.node") && args["id"] != nil {
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
		a.log.Error("audit log write failed", "operation", op, "actor", e.Actor, "outcome", outcome, "error", werr)
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
