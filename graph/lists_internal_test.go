package graph

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// elementSelection returns the selection under edges of the first list of transactions in the
// query, as the generated code passes it to marshalList.
func elementSelection(t *testing.T, query string) ast.SelectionSet {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema(), query, nil)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	var find func(ast.SelectionSet) ast.SelectionSet
	find = func(sel ast.SelectionSet) ast.SelectionSet {
		for _, s := range sel {
			if f, ok := s.(*ast.Field); ok {
				if f.Name == "edges" {
					return f.SelectionSet
				}
				if got := find(f.SelectionSet); got != nil {
					return got
				}
			}
		}
		return nil
	}
	sel := find(doc.Operations[0].SelectionSet)
	if sel == nil {
		t.Fatalf("no edges in %s", query)
	}
	return sel
}

// TestBatches: a list's elements are marshalled concurrently exactly when their selection asks
// for a batched field, directly, deeper down, or through an inline fragment or a named one.
func TestBatches(t *testing.T) {
	const head = `query { member(externalRef: "x") { transactions(first: 20) { edges { `
	for _, c := range []struct {
		name, sel string
		want      bool
	}{
		{"scalars and a cached programme", `cursor node { id kind points program { code } }`, false},
		{"member", `node { id member { name } }`, true},
		{"balances below member", `node { member { balances { available } } }`, true},
		{"inline fragment", `node { ... on Transaction { member { id } } }`, true},
		{"inline fragment without", `node { ... on Transaction { points } }`, false},
		{"named fragment", `node { ...M } } } } } fragment M on Transaction { member { id }`, true},
		{"named fragment without", `node { ...P } } } } } fragment P on Transaction { points reversedBy { id }`, false},
	} {
		q := head + c.sel + ` } } } }`
		if strings.Contains(c.sel, "fragment") {
			q = head + c.sel + ` }`
		}
		if got := batches(elementSelection(t, q)); got != c.want {
			t.Errorf("%s: batches = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMarshalList: without batched fields the elements are marshalled in order on the calling
// goroutine, each in a list element's field context; with them, all at once (each element here
// waits until every other one has started); a panicking element makes the list null and adds
// the error, as graphql.MarshalSliceConcurrently does.
func TestMarshalList(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter,
		func(_ context.Context, r any) error { return fmt.Errorf("recovered: %v", r) })
	var order []int
	got := marshalList(ctx, nil, 3, func(ctx context.Context, i int) graphql.Marshaler {
		if fc := graphql.GetFieldContext(ctx); fc == nil || fc.Index == nil || *fc.Index != i || !inList(ctx) {
			t.Errorf("element %d: field context %+v", i, fc)
		}
		order = append(order, i)
		return graphql.MarshalInt(i)
	})
	if len(got) != 3 || len(order) != 3 || order[0] != 0 || order[1] != 1 || order[2] != 2 {
		t.Fatalf("sequential: %d results, order %v", len(got), order)
	}
	var b strings.Builder
	got.MarshalGQL(&b)
	if b.String() != "[0,1,2]" {
		t.Errorf("sequential: marshalled %s", b.String())
	}

	batched := ast.SelectionSet{&ast.Field{Name: "member", Alias: "member"}}
	var started sync.WaitGroup
	started.Add(4)
	got = marshalList(ctx, batched, 4, func(ctx context.Context, i int) graphql.Marshaler {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("element %d: the other elements did not start", i)
		}
		return graphql.MarshalInt(i)
	})
	if len(got) != 4 {
		t.Errorf("concurrent: %d results", len(got))
	}

	got = marshalList(ctx, nil, 3, func(ctx context.Context, i int) graphql.Marshaler {
		if i == 1 {
			panic("element 1")
		}
		return graphql.MarshalInt(i)
	})
	if got != nil {
		t.Errorf("after a panic: %v, want a null list", got)
	}
	if errs := graphql.GetErrors(ctx); len(errs) != 1 || errs[0].Message != "recovered: element 1" {
		t.Errorf("after a panic: errors %v", errs)
	}
}
