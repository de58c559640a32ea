package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/engine/enginetest"
	"github.com/promogate/promogate/server/hook"
	"github.com/promogate/promogate/server/ledger"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// counter is a programme plugin whose hook counts, in each member's state, how many times the
// member was ticked, and grants a benefit per tick ("tick-1", "tick-2", …). A member ticked on
// a stale snapshot would count the same tick twice and get one benefit fewer.
type counter struct {
	sdk.Base
	before func() // runs at the start of every Tick
}

func (counter) Describe(context.Context) (sdk.Description, error) { return sdk.Description{}, nil }
func (counter) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, nil
}

func (c counter) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	if c.before != nil {
		c.before()
	}
	var resp sdk.TickResponse
	for _, m := range req.Members {
		var st struct{ N int }
		if len(m.State) > 0 {
			if err := json.Unmarshal(m.State, &st); err != nil {
				return resp, err
			}
		}
		st.N++
		state, _ := json.Marshal(st)
		resp.Results = append(resp.Results, sdk.MemberEffects{MemberID: m.ID, Effects: []sdk.Effect{
			sdk.GrantBenefit{Key: fmt.Sprintf("tick-%d", st.N), Kind: "gift"}.Effect(), sdk.PutState{State: state}.Effect()}})
	}
	return resp, nil
}

// fixture is a campaign of the counter plugin and a due run of its hook over enrolments of
// members in the given order (a member may be enrolled several times), each member with its
// state row (as engine.Enroll leaves it).
type fixture struct {
	bdb      *db.DB
	eng      *engine.Engine
	led      *ledger.Ledger
	run      hook.Run
	members  []int64 // by enrolment
	enrolled []int64 // enrolment ids
}

func newFixture(t *testing.T, order []int, prog sdk.Program) *fixture {
	t.Helper()
	bdb := dbtest.DB(t)
	ctx := context.Background()
	tk := enginetest.NewTick(t, bdb, "sched", prog)
	f := &fixture{bdb: bdb, led: tk.Ledger, run: tk.Run, eng: tk.Engine}
	c, now := tk.Run.Campaign, tk.Now
	ids := map[int]int64{}
	for i, m := range order {
		id, ok := ids[m]
		if !ok {
			if err := bdb.NewRaw(`INSERT INTO members (external_ref) VALUES (?) RETURNING id`, fmt.Sprintf("%s-%d", tk.Code, m)).
				Scan(ctx, &id); err != nil {
				t.Fatal(err)
			}
			ids[m] = id
			if _, err := bdb.ExecContext(ctx, `INSERT INTO plugin_state (campaign_id, member_id, updated_at) VALUES (?, ?, ?)`,
				c.ID, id, now); err != nil {
				t.Fatal(err)
			}
		}
		var en int64
		if err := bdb.NewRaw(`INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, enrolled_at)
			VALUES (?, ?, ?, '\x00', ?) RETURNING id`, c.ID, id, strconv.Itoa(i), now).Scan(ctx, &en); err != nil {
			t.Fatal(err)
		}
		f.members, f.enrolled = append(f.members, id), append(f.enrolled, en)
	}
	if _, err := bdb.ExecContext(ctx, `INSERT INTO tick_runs (campaign_id, hook, due_at, lease_until, owner, started_at)
		VALUES (?, ?, ?, ?, 'test', ?)`, c.ID, f.run.Hook, f.run.Due, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) scheduler(pageSize, prefetch int) *Scheduler {
	return New(f.bdb, f.led, benefits.NewStore(f.bdb), f.eng, nil, hclog.NewNullLogger(), time.Now,
		Options{PageSize: pageSize, Prefetch: prefetch})
}

// check verifies that the run is done with every enrolment processed once and that each
// member was ticked once per page holding it, every time on what the pages before had done.
func (f *fixture) check(t *testing.T, pageSize int) {
	t.Helper()
	ctx := context.Background()
	want := map[int64]int{}
	for lo := 0; lo < len(f.members); lo += pageSize {
		seen := map[int64]bool{}
		for _, m := range f.members[lo:min(lo+pageSize, len(f.members))] {
			if !seen[m] {
				seen[m] = true
				want[m]++
			}
		}
	}
	var run struct {
		Cursor, Processed int64
		Status, LastError string
	}
	if err := f.bdb.NewRaw(`SELECT cursor, processed, status, last_error FROM tick_runs WHERE campaign_id = ?`, f.run.Campaign.ID).
		Scan(ctx, &run); err != nil {
		t.Fatal(err)
	}
	if last := f.enrolled[len(f.enrolled)-1]; run.Cursor != last || run.Processed != int64(len(f.enrolled)) || run.Status != "done" || run.LastError != "" {
		t.Errorf("run %+v, want cursor %d, %d processed, done, no error", run, last, len(f.enrolled))
	}
	var rows []struct {
		MemberID int64
		N        int
		Version  int64
		Ticks    int
		Last     string
	}
	if err := f.bdb.NewRaw(`SELECT s.member_id, (s.state->>'N')::int AS n, s.version,
			(SELECT count(*) FROM benefits b WHERE b.member_id = s.member_id AND b.campaign_id = s.campaign_id) AS ticks,
			(SELECT max(key) FROM benefits b WHERE b.member_id = s.member_id AND b.campaign_id = s.campaign_id) AS last
		FROM plugin_state s WHERE s.campaign_id = ?`, f.run.Campaign.ID).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("%d members ticked, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		w := want[r.MemberID]
		if r.N != w || r.Version != int64(w) || r.Ticks != w || r.Last != fmt.Sprintf("tick-%d", w) {
			t.Errorf("member %d: %+v, want ticked %d times", r.MemberID, r, w)
		}
	}
}

// order enrols 6 members 10 times, some of them in several pages and twice in one.
var order = []int{0, 1, 2, 0, 3, 4, 1, 5, 0, 2}

// TestPagesApplyEveryPageOnceOnFreshState: with or without pages evaluated ahead, every page is
// applied once, in order, and a member in several pages is evaluated on what the earlier ones
// did.
func TestPagesApplyEveryPageOnceOnFreshState(t *testing.T) {
	for _, pageSize := range []int{1, 3, 4, 100} {
		for _, prefetch := range []int{-1, 1, 3} {
			t.Run(fmt.Sprintf("page %d prefetch %d", pageSize, prefetch), func(t *testing.T) {
				f := newFixture(t, order, counter{})
				if err := f.scheduler(pageSize, prefetch).pages(context.Background(), f.run, 0); err != nil {
					t.Fatal(err)
				}
				f.check(t, pageSize)
			})
		}
	}
}

// TestPagesAfterAnotherReplica: while this replica evaluates its first page, another applies
// one page, two pages, or all of them; this one goes on from there and nothing is applied
// twice or on stale state.
func TestPagesAfterAnotherReplica(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pageSize      int
		otherAppplies int
	}{
		{"exactly the page being evaluated", 3, 1},
		{"that page and the next", 3, 2},
		{"every page", 3, 4},
		{"the only page", 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *fixture
			var first atomic.Bool
			var otherErr error
			f = newFixture(t, order, counter{before: func() {
				if !first.CompareAndSwap(false, true) {
					return
				}
				var cursor int64
				for i := 0; i < tc.otherAppplies && otherErr == nil; i++ {
					cursor, _, otherErr = f.eng.TickPage(context.Background(), f.run, cursor, tc.pageSize)
				}
			}})
			if err := f.scheduler(tc.pageSize, 2).pages(context.Background(), f.run, 0); err != nil {
				t.Fatal(err)
			}
			if otherErr != nil {
				t.Fatal(otherErr)
			}
			f.check(t, tc.pageSize)
		})
	}
}

// TestPagesOfTwoReplicasAtOnce: two replicas page through the same run at the same time, each
// evaluating pages ahead; each page is applied once, on fresh state.
func TestPagesOfTwoReplicasAtOnce(t *testing.T) {
	long := make([]int, 0, 200)
	for i := 0; i < 200; i++ {
		long = append(long, (i*7)%45)
	}
	for round := 0; round < 3; round++ {
		f := newFixture(t, long, counter{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for r := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[r] = f.scheduler(8, 2).pages(context.Background(), f.run, 0)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		f.check(t, 8)
	}
}
