package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/promogate/promogate/server/auth"
)

// TestMemberHiddenFields: under its own member a member token still cannot reach a campaign's
// participants, gift recipients or plugin; other callers can; and every hidden field exists in
// the schema (a rename must not silently drop the protection).
func TestMemberHiddenFields(t *testing.T) {
	s := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	a := authorizer{r: &Resolver{}, log: hclog.NewNullLogger()}
	tokens := &auth.Principal{Kind: auth.KindToken, Roles: []auth.Role{auth.RoleMember}, MemberRef: "m"}
	frontendKey := &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{auth.RoleFrontend}}
	for name := range memberHiddenFields {
		obj, field, _ := strings.Cut(name, ".")
		if def := s.Types[obj]; def == nil || def.Fields.ForName(field) == nil {
			t.Errorf("memberHiddenFields lists %s, which the schema does not have", name)
		}
		for _, c := range []struct {
			p       *auth.Principal
			allowed bool
		}{{tokens, false}, {frontendKey, true}} {
			ctx := auth.WithPrincipal(context.Background(), c.p)
			ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: obj,
				Field: graphql.CollectedField{Field: &ast.Field{Name: field}}})
			ran := false
			_, err := a.InterceptField(ctx, func(context.Context) (any, error) { ran = true; return nil, nil })
			if ran != c.allowed || (err == nil) != c.allowed {
				t.Errorf("%s as %s: expected allowed=%v, got ran=%v err=%v", name, c.p.Actor(), c.allowed, ran, err)
			}
			if err != nil && errorCode(err) != "FORBIDDEN" {
				t.Errorf("%s: expected FORBIDDEN, got %v", name, err)
			}
		}
	}
}
