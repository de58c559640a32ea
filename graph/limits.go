package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/graph/model"
)

// Limits bound what one GraphQL request may ask for. A zero field takes its default; a
// negative one switches that limit off.
type Limits struct {
	// MaxDepth is the deepest nesting of fields (a root field is depth 1). Default 12.
	MaxDepth int
	// MaxAliases is the number of aliased fields in a document. Default 30.
	MaxAliases int
	// MaxComplexity bounds the estimated cost: each field costs 1 plus its selection's cost,
	// times `first` on a connection field (its default when omitted) and times ListFactor on
	// other list fields. Default 10000.
	MaxComplexity int
	// ListFactor is the assumed length of a list field that is not a connection. Default 10.
	ListFactor int
	// MaxTokens bounds the tokens the parser reads from one document. Default 15000.
	MaxTokens int
	// MaxErrors bounds the errors of one response: past it the response carries the first
	// MaxErrors−1 and a last one, TOO_MANY_ERRORS, that says how many were left out. Default 50.
	MaxErrors int
}

// The default limits.
const (
	DefaultMaxDepth      = 12
	DefaultMaxAliases    = 30
	DefaultMaxComplexity = 10000
	DefaultListFactor    = 10
	DefaultMaxTokens     = 15000
	DefaultMaxErrors     = 50
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxAliases, DefaultMaxAliases)
	def(&l.MaxComplexity, DefaultMaxComplexity)
	def(&l.ListFactor, DefaultListFactor)
	def(&l.MaxTokens, DefaultMaxTokens)
	def(&l.MaxErrors, DefaultMaxErrors)
	return l
}

// limiter refuses operations over the depth, alias or complexity limits before they run.
type limiter struct{ l Limits }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = limiter{}

func (limiter) ExtensionName() string                   { return "Limits" }
func (limiter) Validate(graphql.ExecutableSchema) error { return nil }

func limitError(code model.ErrorCode, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": string(code)}}
}

func (x limiter) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	m := Measure(oc.Doc, oc.Operation, oc.Variables, x.l.ListFactor)
	switch {
	case x.l.MaxDepth > 0 && m.Depth > x.l.MaxDepth:
		return limitError(model.ErrorCodeQueryTooDeep, "the query nests %d levels deep; the limit is %d", m.Depth, x.l.MaxDepth)
	case x.l.MaxAliases > 0 && m.Aliases > x.l.MaxAliases:
		return limitError(model.ErrorCodeTooManyAliases, "the query uses %d aliases; the limit is %d", m.Aliases, x.l.MaxAliases)
	case x.l.MaxComplexity > 0 && m.Complexity > int64(x.l.MaxComplexity):
		return limitError(model.ErrorCodeQueryTooComplex, "the query's estimated cost is %d; the limit is %d (a connection costs first × its selection)", m.Complexity, x.l.MaxComplexity)
	}
	return nil
}

// errorCap bounds the errors of every response, request errors (parsing, validation, limits)
// and field errors alike: a document that repeats one mistake 500 times is answered with max
// errors, not 500.
type errorCap struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = errorCap{}

func (errorCap) ExtensionName() string                   { return "ErrorCap" }
func (errorCap) Validate(graphql.ExecutableSchema) error { return nil }

func (c errorCap) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || c.max <= 0 || len(resp.Errors) <= c.max {
		return resp
	}
	dropped := len(resp.Errors) - (c.max - 1)
	kept := append(gqlerror.List{}, resp.Errors[:c.max-1]...)
	resp.Errors = append(kept, &gqlerror.Error{
		Message: fmt.Sprintf("%d more errors were left out: a response carries at most %d", dropped, c.max),
		Extensions: map[string]any{
			"code":    string(model.ErrorCodeTooManyErrors),
			"dropped": dropped,
		},
	})
	return resp
}

// Measurement is what Measure finds in an operation.
type Measurement struct {
	Depth      int
	Aliases    int
	Complexity int64
}

// complexityCap keeps cost arithmetic far from overflow; any cost above it is over every limit.
const complexityCap = int64(1) << 40

func capped(v int64) int64 { return min(v, complexityCap) }

// Measure walks a validated operation and returns its depth, alias count and estimated cost.
// Fragments are measured once each, so fragment-spreading bombs cost linear time; introspection
// fields (__schema, __type, __typename) are left to the parser's own introspection rule.
func Measure(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, listFactor int) Measurement {
	if listFactor <= 0 {
		listFactor = DefaultListFactor
	}
	w := &measurer{doc: doc, vars: vars, listFactor: int64(listFactor), frags: map[string]*Measurement{}}
	if op == nil {
		return Measurement{}
	}
	return w.set(op.SelectionSet, "")
}

type measurer struct {
	doc        *ast.QueryDocument
	vars       map[string]any
	listFactor int64
	frags      map[string]*Measurement // nil value: being measured (a cycle, refused by validation)
}

func (w *measurer) set(ss ast.SelectionSet, parentType string) Measurement {
	var out Measurement
	add := func(m Measurement) {
		out.Depth = max(out.Depth, m.Depth)
		out.Aliases += m.Aliases
		out.Complexity = capped(out.Complexity + m.Complexity)
	}
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				out.Aliases++
			}
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			child := w.set(s.SelectionSet, typeName(s))
			cost := capped(1 + w.factor(s, parentType)*child.Complexity)
			add(Measurement{Depth: 1 + child.Depth, Aliases: child.Aliases, Complexity: cost})
		case *ast.InlineFragment:
			add(w.set(s.SelectionSet, parentType))
		case *ast.FragmentSpread:
			add(w.fragment(s.Name, parentType))
		}
	}
	return out
}

func (w *measurer) fragment(name, parentType string) Measurement {
	if m, seen := w.frags[name]; seen {
		if m == nil {
			return Measurement{}
		}
		return *m
	}
	w.frags[name] = nil
	var m Measurement
	if def := w.doc.Fragments.ForName(name); def != nil {
		m = w.set(def.SelectionSet, parentType)
	}
	w.frags[name] = &m
	return m
}

func typeName(f *ast.Field) string {
	if f.Definition == nil {
		return ""
	}
	return f.Definition.Type.Name()
}

// factor is how many times a field's selection is counted: `first` on a connection field, 1
// on the edges of a connection, ListFactor on any other list.
func (w *measurer) factor(f *ast.Field, parentType string) int64 {
	if f.Definition == nil {
		return 1
	}
	if f.Definition.Arguments.ForName("first") != nil {
		n := int64(MaxPageSize)
		if v, ok := f.ArgumentMap(w.vars)["first"]; ok {
			if i, ok := asInt(v); ok {
				n = i
			}
		}
		return min(max(n, 1), 1000)
	}
	if f.Definition.Type.Elem == nil {
		return 1
	}
	if strings.HasSuffix(parentType, "Connection") {
		return 1
	}
	return w.listFactor
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
