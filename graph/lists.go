package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// batchedFields are the fields whose resolvers, in an element of a list, wait for the request's
// dataloaders (Loaders) to batch them with the other elements' (member, and a member's
// balances).
var batchedFields = map[string]bool{"member": true, "balances": true}

// marshalList marshals the n elements of a list of objects. gqlgen's generated code marshals
// every list with graphql.MarshalSliceConcurrently, a goroutine per element; generate.go
// rewrites those calls to this function. It does the same when an element's selection (sel,
// through nested fields and fragments) asks for a batched field, so that the elements' loads
// still meet in one batch. Otherwise the elements are marshalled one after another on the
// calling goroutine: their resolvers compute from the element or read a cache, and a goroutine
// per element (a cabinet's 20 transactions and 10 rewards) costs more than the element.
//
// A panic in an element is recovered and reported as MarshalSliceConcurrently does, and the
// list is then null.
func marshalList(ctx context.Context, sel ast.SelectionSet, n int, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if n > 1 && batches(sel) {
		return graphql.MarshalSliceConcurrently(ctx, n, 0, false, marshal)
	}
	ret := make(graphql.Array, n)
	failed := false
	for i := range n {
		ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(ctx, graphql.Recover(ctx, r))
					failed = true
				}
			}()
			ret[i] = marshal(ctx, i)
		}()
	}
	if failed {
		return nil
	}
	return ret
}

// batches reports whether the selection asks for a batched field anywhere below it.
func batches(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if batchedFields[s.Name] || batches(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if batches(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || batches(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}
