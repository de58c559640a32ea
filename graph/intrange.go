package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/promogate/promogate/graph/scalar"
)

// intRange keeps GraphQL's Int within its 32-bit range on output, as the Int scalar does on
// input (scalar.UnmarshalInt64): points and money are int64 in the domain, and a field whose
// value does not fit (a lifetime total past 2,147,483,647) fails with an error on its path,
// logged as internal, instead of writing a number that a client would reject or misread. The
// field is then null like any failed field (and a non-null one nulls its parent).
type intRange struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = intRange{}

func (intRange) ExtensionName() string                   { return "IntRange" }
func (intRange) Validate(graphql.ExecutableSchema) error { return nil }

// errIntOutput is an Int field's value beyond the 32-bit range.
type errIntOutput struct {
	field string
	value int64
}

func (e errIntOutput) Error() string {
	return fmt.Sprintf("%s is %d, which does not fit in GraphQL's 32-bit Int", e.field, e.value)
}

func (intRange) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil {
		return res, err
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Definition == nil || fc.Field.Definition.Type.Name() != "Int" {
		return res, nil
	}
	bad := func(v int64) (any, error) {
		return nil, errIntOutput{field: fc.Object + "." + fc.Field.Name, value: v}
	}
	switch v := res.(type) {
	case int64:
		if !scalar.InRange(v) {
			return bad(v)
		}
	case *int64:
		if v != nil && !scalar.InRange(*v) {
			return bad(*v)
		}
	case int:
		if !scalar.InRange(int64(v)) {
			return bad(int64(v))
		}
	case *int:
		if v != nil && !scalar.InRange(int64(*v)) {
			return bad(int64(*v))
		}
	case []int64:
		for _, x := range v {
			if !scalar.InRange(x) {
				return bad(x)
			}
		}
	case []int:
		for _, x := range v {
			if !scalar.InRange(int64(x)) {
				return bad(int64(x))
			}
		}
	}
	return res, nil
}
