package members_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/members"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// runTag keeps external references unique across the repetitions of -count=N, which share one
// database.
var runTag = func() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var seq atomic.Int64

// uniq returns a reference unique within the test database.
func uniq(prefix string) string { return fmt.Sprintf("%s-%s-%d", prefix, runTag, seq.Add(1)) }

func ptr[T any](v T) *T { return &v }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestUpsertCreatesThenUpdates: the first upsert of a reference creates the member with
// defaults for what is not given; the next one changes only the fields it names, merges the
// attributes (a null deletes a key) and stamps updatedAt, keeping id and createdAt.
func TestUpsertCreatesThenUpdates(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := members.NewStore(dbtest.DB(t), clk.now)
	ref := uniq("upsert")
	born := time.Date(1990, 3, 15, 0, 0, 0, 0, time.UTC)

	m, created, err := s.Upsert(ctx, members.UpsertInput{ExternalRef: ref, Name: ptr("Anna"), Email: ptr("anna@example.com"),
		Phone: ptr("+79000000001"), BirthDate: &born, Region: ptr("Moscow"), Attributes: map[string]any{"plan": "Drive 5", "old": 1, "gone": nil}})
	if err != nil || !created {
		t.Fatalf("create: created %v, %v; want created", created, err)
	}
	want := members.Member{ID: m.ID, ExternalRef: ref, Name: "Anna", Email: "anna@example.com", Phone: "+79000000001", BirthDate: &born,
		Region: "Moscow", Status: "active", Attributes: map[string]any{"plan": "Drive 5", "old": float64(1)},
		CreatedAt: clk.now(), UpdatedAt: clk.now()}
	assertMember(t, "created", m, &want)
	got, err := s.Get(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertMember(t, "read back", got, &want)

	clk.set(clk.now().Add(time.Hour))
	m2, created, err := s.Upsert(ctx, members.UpsertInput{ExternalRef: ref, Status: ptr("blocked"),
		Attributes: map[string]any{"old": nil, "tier": "gold"}})
	if err != nil || created {
		t.Fatalf("update: created %v, %v; want an update", created, err)
	}
	want.Status, want.UpdatedAt = "blocked", clk.now()
	want.Attributes = map[string]any{"plan": "Drive 5", "tier": "gold"}
	assertMember(t, "updated", m2, &want)
	got, err = s.GetByExternalRef(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	assertMember(t, "read back by reference", got, &want)

	// An empty string is a value (it clears the field), nil leaves the field alone.
	m3, _, err := s.Upsert(ctx, members.UpsertInput{ExternalRef: ref, Email: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	want.Email = ""
	assertMember(t, "email cleared", m3, &want)
}

func assertMember(t *testing.T, what string, got, want *members.Member) {
	t.Helper()
	g, w := *got, *want
	if (g.BirthDate == nil) != (w.BirthDate == nil) || g.BirthDate != nil && !g.BirthDate.Equal(*w.BirthDate) {
		t.Errorf("%s: birth date %v, want %v", what, g.BirthDate, w.BirthDate)
	}
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Errorf("%s: created %s updated %s, want %s and %s", what, g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	g.BirthDate, w.BirthDate = nil, nil
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// TestUpsertRefusesInvalidInput: each malformed field is refused with ErrInvalid naming it,
// and nothing is written.
func TestUpsertRefusesInvalidInput(t *testing.T) {
	ctx := context.Background()
	s := members.NewStore(dbtest.DB(t), nil)
	long := strings.Repeat("x", 501)
	cases := []struct {
		name  string
		in    members.UpsertInput
		field string
	}{
		{"empty reference", members.UpsertInput{ExternalRef: "  "}, "externalRef"},
		{"long reference", members.UpsertInput{ExternalRef: strings.Repeat("r", 201)}, "externalRef"},
		{"bad email", members.UpsertInput{Email: ptr("anna.example.com")}, "email"},
		{"unknown status", members.UpsertInput{Status: ptr("sleeping")}, "status"},
		{"long name", members.UpsertInput{Name: &long}, "text fields"},
		{"long phone", members.UpsertInput{Phone: &long}, "text fields"},
		{"long region", members.UpsertInput{Region: &long}, "text fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.in.ExternalRef == "" {
				c.in.ExternalRef = uniq("invalid")
			}
			m, _, err := s.Upsert(ctx, c.in)
			if !errors.Is(err, members.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("upsert: %+v, %v; want ErrInvalid naming %s", m, err, c.field)
			}
			if _, err := s.GetByExternalRef(ctx, c.in.ExternalRef); !errors.Is(err, members.ErrNotFound) {
				t.Fatalf("after the refusal: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestConcurrentUpsertsYieldOneMember: upserts of one new reference at the same time create
// exactly one member, and every caller gets it.
func TestConcurrentUpsertsYieldOneMember(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	s := members.NewStore(bdb, nil)
	ref := uniq("race")
	const n = 16
	ids := make([]int64, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var m *members.Member
			m, created[i], errs[i] = s.Upsert(ctx, members.UpsertInput{ExternalRef: ref, Name: ptr(fmt.Sprintf("caller %d", i))})
			if m != nil {
				ids[i] = m.ID
			}
		}()
	}
	close(start)
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upsert %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("upsert %d got member %d, upsert 0 got %d", i, ids[i], ids[0])
		}
		if created[i] {
			creators++
		}
	}
	var rows int
	if err := db.PG(bdb).QueryRow(ctx, `SELECT count(*) FROM members WHERE external_ref = $1`, ref).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if creators != 1 || rows != 1 {
		t.Fatalf("%d upserts reported creating, %d rows; want 1 and 1", creators, rows)
	}
}

// TestReads: by id, by reference, many ids and references at once; unknown ones are not found
// (or absent), and an unreachable database is an error, never "not found".
func TestReads(t *testing.T) {
	ctx := context.Background()
	s := members.NewStore(dbtest.DB(t), nil)
	var ids []int64
	var refs []string
	for range 3 {
		m, _, err := s.Upsert(ctx, members.UpsertInput{ExternalRef: uniq("read")})
		if err != nil {
			t.Fatal(err)
		}
		ids, refs = append(ids, m.ID), append(refs, m.ExternalRef)
	}
	if m, err := s.Get(ctx, -1); !errors.Is(err, members.ErrNotFound) {
		t.Fatalf("get unknown id: %+v, %v; want ErrNotFound", m, err)
	}
	if m, err := s.GetByExternalRef(ctx, uniq("nobody")); !errors.Is(err, members.ErrNotFound) {
		t.Fatalf("get unknown reference: %+v, %v; want ErrNotFound", m, err)
	}
	many, err := s.GetMany(ctx, []int64{ids[2], -1, ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 2 || many[ids[0]].ExternalRef != refs[0] || many[ids[2]].ExternalRef != refs[2] {
		t.Fatalf("get many: %v, want members %d and %d", many, ids[0], ids[2])
	}
	byRef, err := s.IDsByExternalRef(ctx, []string{refs[1], "nobody-" + runTag, refs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{refs[0]: ids[0], refs[1]: ids[1]}; !reflect.DeepEqual(byRef, want) {
		t.Fatalf("ids by reference: %v, want %v", byRef, want)
	}
	if none, err := s.IDsByExternalRef(ctx, nil); err != nil || len(none) != 0 {
		t.Fatalf("ids of no references: %v, %v; want an empty map", none, err)
	}

	closed, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if m, err := members.NewStore(closed, nil).Get(ctx, ids[0]); err == nil || errors.Is(err, members.ErrNotFound) {
		t.Fatalf("get on a closed pool: %+v, %v; want an error that is not ErrNotFound", m, err)
	}
}

// TestList filters by a case-insensitive substring of reference, name, e-mail or phone (LIKE's
// wildcards taken literally), by region and by status, and pages in id order.
func TestList(t *testing.T) {
	ctx := context.Background()
	s := members.NewStore(dbtest.DB(t), nil)
	tag := uniq("list")
	add := func(suffix string, in members.UpsertInput) int64 {
		t.Helper()
		in.ExternalRef = tag + "-" + suffix
		m, _, err := s.Upsert(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	anna := add("a", members.UpsertInput{Name: ptr("Anna Petrova " + tag), Region: ptr("north"), Email: ptr("anna@" + tag + ".test")})
	boris := add("b", members.UpsertInput{Name: ptr("Boris"), Region: ptr("south"), Status: ptr("blocked")})
	vera := add("c", members.UpsertInput{Name: ptr("Vera 50%_off"), Region: ptr("north"), Phone: ptr("+7999" + tag)})
	gleb := add("d", members.UpsertInput{Name: ptr("Gleb 50xyoff"), Region: ptr("north")})

	list := func(f members.Filter, after int64, limit int) ([]int64, bool) {
		t.Helper()
		ms, more, err := s.List(ctx, f, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids, more
	}
	cases := []struct {
		name string
		f    members.Filter
		want []int64
	}{
		{"reference prefix", members.Filter{Search: strings.ToUpper(tag)}, []int64{anna, boris, vera, gleb}},
		{"name", members.Filter{Search: "petrova " + strings.ToUpper(tag)}, []int64{anna}},
		{"e-mail", members.Filter{Search: "ANNA@" + tag}, []int64{anna}},
		{"phone", members.Filter{Search: "+7999" + tag}, []int64{vera}},
		{"region", members.Filter{Search: tag, Region: "north"}, []int64{anna, vera, gleb}},
		{"status", members.Filter{Search: tag, Status: "blocked"}, []int64{boris}},
		{"region and status", members.Filter{Search: tag, Region: "north", Status: "blocked"}, []int64{}},
	}
	for _, c := range cases {
		if got, more := list(c.f, 0, 10); !reflect.DeepEqual(got, c.want) || more {
			t.Errorf("%s: %v (more %v), want %v", c.name, got, more, c.want)
		}
	}
	// The name "Vera 50%_off" matches "50%_" literally; "Gleb 50xyoff" would match it as a pattern.
	if got, _ := list(members.Filter{Search: "50%_off", Region: "north"}, 0, 100); !containsOnly(got, vera, gleb) {
		t.Errorf("search 50%%_off: %v, want %d and not %d", got, vera, gleb)
	}

	page, more := list(members.Filter{Search: tag}, 0, 3)
	if !reflect.DeepEqual(page, []int64{anna, boris, vera}) || !more {
		t.Fatalf("first page: %v (more %v), want [%d %d %d] and more", page, more, anna, boris, vera)
	}
	page, more = list(members.Filter{Search: tag}, page[len(page)-1], 3)
	if !reflect.DeepEqual(page, []int64{gleb}) || more {
		t.Fatalf("second page: %v (more %v), want [%d] and no more", page, more, gleb)
	}
}

// containsOnly reports whether ids holds want and not other.
func containsOnly(ids []int64, want, other int64) bool {
	found := false
	for _, id := range ids {
		if id == other {
			return false
		}
		found = found || id == want
	}
	return found
}
