package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// cabinetBase is the member cabinet every schema version has: the member, its balances and its
// last 20 transactions.
const cabinetBase = `id externalRef name email status attributes
    balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }
    transactions(first: 20) { edges { cursor node { id kind points reason pluginVersion createdAt program { code } } }
      pageInfo { hasNextPage endCursor } }`

// extraField picks the Member fields that belong in a cabinet as the schema grows: tiers,
// benefits and rewards.
var extraField = regexp.MustCompile(`(?i)tier|benefit|reward`)

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   *string  `json:"name"`
	OfType *typeRef `json:"ofType"`
}

func (t *typeRef) named() (kind, name string) {
	for t.OfType != nil {
		t = t.OfType
	}
	if t.Name != nil {
		name = *t.Name
	}
	return t.Kind, name
}

type field struct {
	Name string `json:"name"`
	Args []struct {
		Name         string  `json:"name"`
		DefaultValue *string `json:"defaultValue"`
		Type         typeRef `json:"type"`
	} `json:"args"`
	Type typeRef `json:"type"`
}

type schemaType struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	Fields      []field `json:"fields"`
	InputFields []struct {
		Name string `json:"name"`
	} `json:"inputFields"`
}

const introspection = `{ __schema { types { name kind inputFields { name } fields {
	name args { name defaultValue type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
	type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`

// cabinetQuery returns the Q1 query for this server: the base cabinet plus, found by
// introspection, every Member field about tiers, benefits or rewards with its scalar fields
// (and those of one nested level), and the 10 catalogue rewards the member may redeem when the
// catalogue can be filtered by member (then the query takes the member's global id as $id).
// Lists with a `first` argument ask for 10; an `activeOnly` argument is set. It also returns
// the names of the extra fields and whether $id is needed.
func cabinetQuery(ctx context.Context, c *client) (string, []string, bool, error) {
	var schema struct {
		Schema struct {
			Types []schemaType `json:"types"`
		} `json:"__schema"`
	}
	types := map[string]*schemaType{}
	if err := c.do(ctx, introspection, nil, &schema); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen q1: introspection failed (%v); querying the base cabinet only\n", err)
	}
	for i := range schema.Schema.Types {
		types[schema.Schema.Types[i].Name] = &schema.Schema.Types[i]
	}
	var extras, parts []string
	if m := types["Member"]; m != nil {
		fields := append([]field(nil), m.Fields...)
		sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
		for _, f := range fields {
			if !extraField.MatchString(f.Name) {
				continue
			}
			sel, ok := selectField(types, f, 0)
			if !ok {
				continue
			}
			extras = append(extras, f.Name)
			parts = append(parts, sel)
		}
	}
	q := "query($r: String!) { member(externalRef: $r) { " + cabinetBase
	if len(parts) > 0 {
		q += "\n    " + strings.Join(parts, "\n    ")
	}
	q += " }"
	needID := false
	if query := types["Query"]; query != nil {
		if f := fieldNamed(query, "rewards"); f != nil {
			for _, a := range f.Args {
				_, in := a.Type.named()
				if a.Name == "filter" && types[in] != nil && inputHas(types[in], "availableTo") {
					f.Args = nil // the filter is written out below
					if sel, ok := selectField(types, *f, 0); ok {
						sel = strings.Replace(sel, "rewards {", "rewards(filter: {availableTo: $id}, first: 10) {", 1)
						q = strings.Replace(q, "query($r: String!)", "query($r: String!, $id: ID!)", 1) + "\n  " + sel
						extras, needID = append(extras, "rewards available to the member"), true
					}
				}
			}
		}
	}
	return q + " }", extras, needID, nil
}

func inputHas(t *schemaType, name string) bool {
	for _, f := range t.InputFields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// selectField returns f with its arguments and sub-selection, or false when it cannot be
// asked for generically (a required argument, an abstract type, nothing to select).
func selectField(types map[string]*schemaType, f field, depth int) (string, bool) {
	args := ""
	for _, a := range f.Args {
		switch {
		case a.Name == "first":
			args = addArg(args, "first: 10")
		case a.Name == "activeOnly":
			args = addArg(args, "activeOnly: true")
		case a.Type.Kind == "NON_NULL" && a.DefaultValue == nil:
			return "", false
		}
	}
	kind, name := f.Type.named()
	switch kind {
	case "SCALAR", "ENUM":
		return f.Name + args, true
	case "OBJECT":
	default:
		return "", false
	}
	t := types[name]
	if t == nil || depth > 1 {
		return "", false
	}
	var sub []string
	if edges := fieldNamed(t, "edges"); edges != nil {
		// A connection: its nodes' fields and the page info.
		_, en := edges.Type.named()
		if et := types[en]; et != nil {
			if node := fieldNamed(et, "node"); node != nil {
				if s, ok := selectField(types, *node, depth); ok {
					sub = append(sub, "edges { "+s+" }")
				}
			}
		}
		if fieldNamed(t, "pageInfo") != nil {
			sub = append(sub, "pageInfo { hasNextPage endCursor }")
		}
	} else {
		for _, sf := range t.Fields {
			if sf.Name == "member" {
				continue // back to where we came from
			}
			if s, ok := selectField(types, sf, depth+1); ok {
				sub = append(sub, s)
			}
		}
	}
	if len(sub) == 0 {
		return "", false
	}
	return f.Name + args + " { " + strings.Join(sub, " ") + " }", true
}

func fieldNamed(t *schemaType, name string) *field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

func addArg(args, a string) string {
	if args == "" {
		return "(" + a + ")"
	}
	return strings.TrimSuffix(args, ")") + ", " + a + ")"
}
