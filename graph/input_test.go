package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/members"
)

// inputAPI is an admin API whose log is kept (debug level and up) and whose development clock
// records every move, for the bad-input tests: they check the answer, that nothing was logged
// at error level, and that nothing was written.
type inputAPI struct {
	*api
	logs  *bytes.Buffer
	moved int
	to    time.Time
}

func newInputAPI(t *testing.T, limits graph.Limits) *inputAPI {
	t.Helper()
	a := &inputAPI{api: newAPI(t), logs: &bytes.Buffer{}}
	r := &graph.Resolver{Ledger: a.led, MemberStore: a.mem, Now: func() time.Time { return testNow },
		Log:         hclog.New(&hclog.LoggerOptions{Output: a.logs, Level: hclog.Debug}),
		ClockSetter: func(to time.Time) { a.moved++; a.to = to }}
	a.h = asAdmin(graph.NewHandler(r, graph.HandlerOptions{Limits: limits}))
	return a
}

// noErrorLogs fails when anything was logged at error level.
func (a *inputAPI) noErrorLogs() {
	a.t.Helper()
	if strings.Contains(a.logs.String(), "[ERROR]") {
		a.t.Errorf("bad input was logged at error level:\n%s", a.logs.String())
	}
}

// badInput is the answer to a refused argument: one error on its path (list indexes as
// numbers), and no data.
func badInput(code, msg string, path ...string) string {
	quoted := make([]string, len(path))
	for i, p := range path {
		quoted[i] = fmt.Sprintf("%q", p)
		if p >= "0" && p <= "9" {
			quoted[i] = p
		}
	}
	return fmt.Sprintf(`{"errors":[{"message":%q,"path":[%s],"extensions":{"code":%q}}],"data":null}`,
		msg, strings.Join(quoted, ","), code)
}

// TestTimeInputRefused: a Time that is not RFC 3339 with an offset (a word, no offset, a bare
// date, another layout, an impossible day, a five-digit year), as a literal or a variable, is
// INVALID_INPUT on the argument's path, logged below error level, and nothing runs.
func TestTimeInputRefused(t *testing.T) {
	a := newInputAPI(t, graph.Limits{})
	m := a.member("time-input")
	bad := func(s string) string {
		return fmt.Sprintf("invalid scalar value: Time %q is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00", s)
	}
	for _, c := range []struct{ query, value, path string }{
		{`mutation { setClock(now: %q) }`, "yesterday", "setClock.now"},
		{`mutation { setClock(now: %q) }`, "2026-01-10T10:00:00", "setClock.now"},
		{`mutation { setClock(now: %q) }`, "2026-01-10 10:00:00", "setClock.now"},
		{`mutation { setClock(now: %q) }`, "", "setClock.now"},
		{`mutation { setClock(now: %q) }`, "99999-01-10T10:00:00Z", "setClock.now"},
		{`mutation { setClock(now: %q) }`, "0000-01-10T10:00:00Z", "setClock.now"},
		{`mutation { createCampaign(input: {code: "c", name: "n", program: "p", plugin: "x", pluginVersion: "1", startsAt: %q}) { id } }`, "soon", "createCampaign.input.startsAt"},
		{`mutation { createCampaign(input: {code: "c", name: "n", program: "p", plugin: "x", pluginVersion: "1", startsAt: %q}) { id } }`, "2026-12-12", "createCampaign.input.startsAt"},
		{`mutation { recordEvent(input: {type: "t", memberRef: "time-input", source: "s", externalId: "e", occurredAt: %q}) { duplicate } }`, "32/13/2026", "recordEvent.input.occurredAt"},
		{`mutation { recordEvents(inputs: [{type: "t", memberRef: "time-input", source: "s", externalId: "e", occurredAt: %q}]) { duplicate } }`, "2026-02-30T00:00:00Z", "recordEvents.inputs.0.occurredAt"},
		{`{ auditLog(filter: {since: %q}) { edges { cursor } } }`, "2026-02-30T00:00:00+03:00", "auditLog.filter.since"},
	} {
		// The resolver stores are not set up: a call that reached one would panic (INTERNAL).
		a.expect(fmt.Sprintf(c.query, c.value), nil, badInput("INVALID_INPUT", bad(c.value), strings.Split(c.path, ".")...))
	}
	// As a variable.
	a.expect(`mutation($t: Time!) { setClock(now: $t) }`, map[string]any{"t": "2026-02-30T00:00:00Z"},
		badInput("INVALID_INPUT", bad("2026-02-30T00:00:00Z"), "setClock", "now"))
	a.expect(`mutation($t: Time!) { setClock(now: $t) }`, map[string]any{"t": 1767225600},
		badInput("INVALID_INPUT", "invalid scalar value: Time must be a string in RFC 3339 form with an offset, e.g. 2021-04-10T09:30:00+03:00", "setClock", "now"))
	if a.moved != 0 {
		t.Errorf("the clock moved %d times on refused input", a.moved)
	}
	// A good one still works.
	a.do(`mutation { setClock(now: "2026-03-02T09:30:00.5+03:00") }`, nil)
	if want := time.Date(2026, 3, 2, 6, 30, 0, 5e8, time.UTC); a.moved != 1 || !a.to.Equal(want) {
		t.Errorf("the clock moved %d times, to %s; want once, to %s", a.moved, a.to, want)
	}
	a.expect(fmt.Sprintf(`{ member(id: %q) { balances { available } } }`, gid("Member", m.ID)), nil, `{"data":{"member":{"balances":[]}}}`)
	if !strings.Contains(a.logs.String(), "[DEBUG] request refused: path=setClock.now code=INVALID_INPUT") {
		t.Errorf("refusals are not logged at debug level:\n%s", a.logs.String())
	}
	a.noErrorLogs()
}

// TestNULCharacterRefused: the NUL character in any String or JSON input (a name, an
// attribute's value or key, an argument) is INVALID_CHARACTER on its path, and nothing is
// written; it is neither stripped nor sent to PostgreSQL (which refuses it: 22P05).
func TestNULCharacterRefused(t *testing.T) {
	a := newInputAPI(t, graph.Limits{})
	const upsert = `mutation($in: UpsertMemberInput!) { upsertMember(input: $in) { created member { name attributes } } }`
	str := "invalid character: a String value may not contain the NUL character (U+0000)"
	js := "invalid character: a JSON value may not contain the NUL character (U+0000)"
	for _, c := range []struct {
		in   map[string]any
		msg  string
		path []string
	}{
		{map[string]any{"externalRef": "nul-1", "name": "Anna\x00Boris"}, str, []string{"upsertMember", "input", "name"}},
		{map[string]any{"externalRef": "nul-1\x00"}, str, []string{"upsertMember", "input", "externalRef"}},
		{map[string]any{"externalRef": "nul-1", "attributes": map[string]any{"plan": "a\x00b"}}, js, []string{"upsertMember", "input", "attributes"}},
		{map[string]any{"externalRef": "nul-1", "attributes": map[string]any{"k\x00": 1}}, js, []string{"upsertMember", "input", "attributes"}},
		{map[string]any{"externalRef": "nul-1", "attributes": map[string]any{"list": []any{map[string]any{"deep": "\x00"}}}}, js, []string{"upsertMember", "input", "attributes"}},
		{map[string]any{"externalRef": "nul-1", "attributes": `{"plan": "a\u0000b"}`}, js, []string{"upsertMember", "input", "attributes"}},
	} {
		a.expect(upsert, map[string]any{"in": c.in}, badInput("INVALID_CHARACTER", c.msg, c.path...))
	}
	// As literals in the document.
	a.expect(`mutation { upsertMember(input: {externalRef: "nul-1", name: "a\u0000b"}) { created } }`, nil,
		badInput("INVALID_CHARACTER", str, "upsertMember", "input", "name"))
	a.expect(`mutation { upsertMember(input: {externalRef: "nul-1", attributes: {plan: "a\u0000b"}}) { created } }`, nil,
		badInput("INVALID_CHARACTER", js, "upsertMember", "input", "attributes"))
	a.expect(`{ member(externalRef: "nul\u0000") { id } }`, nil,
		`{"errors":[{"message":"`+str+`","path":["member","externalRef"],"extensions":{"code":"INVALID_CHARACTER"}}],"data":{"member":null}}`)
	if _, err := a.mem.GetByExternalRef(context.Background(), "nul-1"); !errors.Is(err, members.ErrNotFound) {
		t.Errorf("a refused upsert wrote a member: %v", err)
	}
	// Other control characters are text like any other.
	a.expect(upsert, map[string]any{"in": map[string]any{"externalRef": "nul-1", "name": "Anna\tB", "attributes": map[string]any{"plan": "a\x01b"}}},
		`{"data":{"upsertMember":{"created":true,"member":{"name":"Anna\tB","attributes":{"plan":"a\u0001b"}}}}}`)
	a.noErrorLogs()
}

// TestIntRange: Int input beyond 32 bits (a literal, a variable, an input field, a list
// argument's page size) is INT_OUT_OF_RANGE on its path and writes nothing; an Int output that
// does not fit fails its field instead of leaving GraphQL's range.
func TestIntRange(t *testing.T) {
	a := newInputAPI(t, graph.Limits{})
	m := a.member("int-range")
	id := gid("Member", m.ID)
	over := func(v string) string {
		return fmt.Sprintf("integer out of range: Int %s is outside GraphQL's 32-bit range (-2147483648 to 2147483647)", v)
	}
	adjust := fmt.Sprintf(`mutation($a: Int!) { adjustPoints(memberId: %q, program: %q, amount: $a, reason: "r", idempotencyKey: "k") { transaction { points } } }`, id, a.program.Code)
	a.expect(fmt.Sprintf(`mutation { adjustPoints(memberId: %q, program: %q, amount: 2147483648, reason: "r", idempotencyKey: "k") { replayed } }`, id, a.program.Code), nil,
		badInput("INT_OUT_OF_RANGE", over("2147483648"), "adjustPoints", "amount"))
	a.expect(fmt.Sprintf(`mutation { adjustPoints(memberId: %q, program: %q, amount: -2147483649, reason: "r", idempotencyKey: "k") { replayed } }`, id, a.program.Code), nil,
		badInput("INT_OUT_OF_RANGE", over("-2147483649"), "adjustPoints", "amount"))
	a.expect(adjust, map[string]any{"a": int64(2147483648)}, badInput("INT_OUT_OF_RANGE", over("2147483648"), "adjustPoints", "amount"))
	a.expect(adjust, map[string]any{"a": int64(1) << 40}, badInput("INT_OUT_OF_RANGE", over("1099511627776"), "adjustPoints", "amount"))
	a.expect(adjust, map[string]any{"a": json.Number("99999999999999999999")},
		`{"errors":[{"message":"integer out of range: the value is outside GraphQL's 32-bit range (-2147483648 to 2147483647)","path":["variable","a"],"extensions":{"code":"INT_OUT_OF_RANGE"}}]}`)
	a.expect(fmt.Sprintf(`{ member(id: %q) { transactions(first: 4294967297) { edges { cursor } } } }`, id), nil,
		`{"errors":[{"message":"`+over("4294967297")+`","path":["member","transactions","first"],"extensions":{"code":"INT_OUT_OF_RANGE"}}],"data":{"member":null}}`)
	// Beyond 64 bits the document itself is refused, with the same code.
	huge := fmt.Sprintf(`mutation { adjustPoints(memberId: %q, program: %q, amount: 99999999999999999999, reason: "r", idempotencyKey: "k") { replayed } }`, id, a.program.Code)
	a.expect(huge, nil, fmt.Sprintf(`{"errors":[{"message":"Int cannot represent non 32-bit signed integer value: 99999999999999999999","locations":[{"line":1,"column":%d}],"extensions":{"code":"INT_OUT_OF_RANGE"}}]}`,
		strings.Index(huge, "999")+1))
	// Nothing was written; the largest Int is accepted.
	a.expect(fmt.Sprintf(`{ member(id: %q) { balances { available } } }`, id), nil, `{"data":{"member":{"balances":[]}}}`)
	a.expect(adjust, map[string]any{"a": 2147483647}, `{"data":{"adjustPoints":{"transaction":{"points":2147483647}}}}`)
	// The ledger holds up to 10^12 points a member: past 2^31-1 the balance fails its field
	// (and nulls the non-null parent) rather than leave the Int range.
	if _, err := a.led.Adjust(context.Background(), a.program.ID, m.ID, 1, "one more", "int-range-2"); err != nil {
		t.Fatal(err)
	}
	a.expect(`query($id: ID!) { member(id: $id) { externalRef balances { available } } }`, map[string]any{"id": id},
		`{"errors":[{"message":"internal error","path":["member","balances",0,"available"],"locations":[{"line":1,"column":60}],"extensions":{"code":"INTERNAL"}}],"data":{"member":null}}`)
	if !strings.Contains(a.logs.String(), "[ERROR] request failed: path=member.balances[0].available error=\"input:1:60: member.balances[0].available Balance.available is 2147483648, which does not fit in GraphQL's 32-bit Int\"") {
		t.Errorf("the output overflow is not logged as an internal error:\n%s", a.logs.String())
	}
}

// TestErrorsCapped: a document that repeats a mistake 500 times is answered with
// Limits.MaxErrors errors, the last saying how many were left out.
func TestErrorsCapped(t *testing.T) {
	a := newInputAPI(t, graph.Limits{})
	var b strings.Builder
	for range 500 {
		b.WriteString(" @include(if: true)")
	}
	out := a.do(`{ viewer { kind`+b.String()+` } }`, nil)
	if n := strings.Count(out, `"message"`); n != graph.DefaultMaxErrors {
		t.Errorf("%d errors, want %d (%d bytes)", n, graph.DefaultMaxErrors, len(out))
	}
	last := fmt.Sprintf(`{"message":"450 more errors were left out: a response carries at most %d","extensions":{"code":"TOO_MANY_ERRORS","dropped":450}}]}`, graph.DefaultMaxErrors)
	if !strings.HasSuffix(out, last) {
		t.Errorf("the response does not end with the notice %s:\n%s", last, out[max(0, len(out)-400):])
	}
	if len(out) > 10_000 {
		t.Errorf("the capped response is %d bytes", len(out))
	}
	// Field errors too, with a limit of 3: 5 refused fields are 2 errors and the notice.
	c := newInputAPI(t, graph.Limits{MaxErrors: 3})
	c.expect(`mutation { a: setClock(now: "x") b: setClock(now: "x") c: setClock(now: "x") d: setClock(now: "x") e: setClock(now: "x") }`, nil,
		`{"errors":[{"message":"invalid scalar value: Time \"x\" is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00","path":["a","now"],"extensions":{"code":"INVALID_INPUT"}},`+
			`{"message":"invalid scalar value: Time \"x\" is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00","path":["b","now"],"extensions":{"code":"INVALID_INPUT"}},`+
			`{"message":"3 more errors were left out: a response carries at most 3","extensions":{"code":"TOO_MANY_ERRORS","dropped":3}}],"data":null}`)
	// At the limit nothing is left out.
	c.expect(`mutation { a: setClock(now: "x") b: setClock(now: "x") c: setClock(now: "x") }`, nil,
		`{"errors":[{"message":"invalid scalar value: Time \"x\" is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00","path":["a","now"],"extensions":{"code":"INVALID_INPUT"}},`+
			`{"message":"invalid scalar value: Time \"x\" is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00","path":["b","now"],"extensions":{"code":"INVALID_INPUT"}},`+
			`{"message":"invalid scalar value: Time \"x\" is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00","path":["c","now"],"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)
}
