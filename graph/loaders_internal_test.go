package graph

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"github.com/promogate/promogate/server/ledger"
)

// TestInList: a field under a list element is in a list, however deep; a root field or a field
// of a single object is not.
func TestInList(t *testing.T) {
	root := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Object: "Query"})
	member := graphql.WithFieldContext(root, &graphql.FieldContext{Object: "Member"})
	i := 3
	element := graphql.WithFieldContext(member, &graphql.FieldContext{Index: &i})
	deep := graphql.WithFieldContext(graphql.WithFieldContext(element, &graphql.FieldContext{Object: "Member"}),
		&graphql.FieldContext{Object: "Balance"})
	for name, c := range map[string]struct {
		ctx  context.Context
		want bool
	}{
		"no field": {context.Background(), false}, "root": {root, false}, "single object": {member, false},
		"element": {element, true}, "under an element": {deep, true},
	} {
		if got := inList(c.ctx); got != c.want {
			t.Errorf("%s: inList = %v, want %v", name, got, c.want)
		}
	}
}

// TestProgramCache: a cached programme is returned as stored, an unknown id is absent, and the
// cache stops growing at its size.
func TestProgramCache(t *testing.T) {
	var c programCache
	if c.get(1) != nil {
		t.Fatal("an empty cache returned a programme")
	}
	p := &ledger.Program{ID: 1, Code: "one"}
	c.put(p)
	if c.get(1) != p || c.get(2) != nil {
		t.Errorf("get: %v %v", c.get(1), c.get(2))
	}
	for id := int64(2); id <= programCacheSize+10; id++ {
		c.put(&ledger.Program{ID: id})
	}
	if len(c.m) != programCacheSize || c.get(1) != p {
		t.Errorf("after overfilling: %d entries (size %d), first kept: %v", len(c.m), programCacheSize, c.get(1) == p)
	}
}
