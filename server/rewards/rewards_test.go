package rewards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var testNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

var seq atomic.Int64

type fixture struct {
	t       *testing.T
	svc     *Service
	led     *ledger.Ledger
	mem     *members.Store
	program *ledger.Program
}

// newFixture returns a service without plugins (rewards at their listed prices) and a fresh
// programme.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	bdb := dbtest.DB(t)
	clk := clock.NewManual(testNow)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	svc := New(Config{DB: bdb, Ledger: led, Members: mem, Campaigns: campaigns.NewStore(bdb, clk.Now, nil), Now: clk.Now})
	p, err := led.CreateProgram(context.Background(), fmt.Sprintf("tierstatus-%d", seq.Add(1)), "Test", "")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, svc: svc, led: led, mem: mem, program: p}
}

func (f *fixture) member(points int64, region string, attrs map[string]any) *members.Member {
	f.t.Helper()
	ctx := context.Background()
	m, _, err := f.mem.Upsert(ctx, members.UpsertInput{ExternalRef: fmt.Sprintf("m-%d", seq.Add(1)), Region: &region, Attributes: attrs})
	if err != nil {
		f.t.Fatal(err)
	}
	if points > 0 {
		if _, err := f.led.Credit(ctx, ledger.CreditInput{ProgramID: f.program.ID, MemberID: m.ID, Amount: points,
			IdempotencyKey: fmt.Sprintf("c-%d", m.ID)}); err != nil {
			f.t.Fatal(err)
		}
	}
	return m
}

func (f *fixture) reward(in CreateInput) *Reward {
	f.t.Helper()
	in.ProgramID = f.program.ID
	r, err := f.svc.Create(context.Background(), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) open(name string) *os.File {
	f.t.Helper()
	file, err := os.Open(name)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { file.Close() })
	return file
}

// TestLoadCatalog loads the tierstatus demo catalogue twice: 35 rewards, then none new.
func TestLoadCatalog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := LoadCatalog(ctx, f.svc, f.open("../../plugins/tierstatus/catalog.json"), CatalogOptions{ProgramID: f.program.ID, DemoCodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if *res != (CatalogResult{Created: 35}) {
		t.Fatalf("first load: %+v, want 35 created", res)
	}
	res, err = LoadCatalog(ctx, f.svc, f.open("../../plugins/tierstatus/catalog.json"), CatalogOptions{ProgramID: f.program.ID, DemoCodes: 3})
	if err != nil || *res != (CatalogResult{Existing: 35}) {
		t.Fatalf("second load: %+v, %v; want 35 existing", res, err)
	}
	rs, _, err := f.svc.List(ctx, Filter{ProgramID: f.program.ID}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]*Reward{}
	for i := range rs {
		byCode[rs[i].Code] = &rs[i]
	}
	for _, tc := range []struct {
		code                        string
		want                        string
		regions, services, validity string
		limit                       int
		pool                        bool
		codes                       int64
	}{
		{code: "antivirus-kaspersky-is-2pc", regions: "[]", services: "[internet]", validity: "months:2", limit: 1},
		{code: "tv-pack-match-futbol", regions: "[Moscow]", services: "[tv]", validity: "months:1"},
		{code: "phone-local-60", regions: "[]", services: "[phone]", validity: "calendar_month"},
		{code: "tv-film-rental", regions: "[]", services: "[tv]", validity: "hours:48"},
		{code: "partner-litres-ebook", regions: "[]", services: "[internet phone]", validity: "none", pool: true, codes: 3},
	} {
		r := byCode[tc.code]
		if r == nil {
			t.Errorf("%s: not loaded", tc.code)
			continue
		}
		got := fmt.Sprintf("%v %v %s %d %v %d", r.Regions, r.ServicesRequired, r.Validity, r.PerMemberLimit, r.CodePool, r.CodesAvailable)
		want := fmt.Sprintf("%s %s %s %d %v %d", tc.regions, tc.services, tc.validity, tc.limit, tc.pool, tc.codes)
		if got != want {
			t.Errorf("%s: got %s, want %s", tc.code, got, want)
		}
	}
	kas := byCode["antivirus-kaspersky-is-2pc"]
	if kas.Price != 600 || kas.Category != "internet" || kas.Attributes["service"] != "internet" ||
		kas.Attributes["delivery"] != "activation" || kas.Attributes["priceSource"] != "seed" {
		t.Errorf("kaspersky: %+v", kas)
	}
	it := item(kas)
	if it.Code != "antivirus-kaspersky-is-2pc" || it.Price != 600 || fmt.Sprint(it.Attributes["regions"]) != "[*]" ||
		fmt.Sprint(it.Attributes["servicesRequired"]) != "[internet]" || it.Attributes["perMemberLimit"] != 1 ||
		it.Attributes["service"] != "internet" || it.RewardID != RewardRef(kas.ID) {
		t.Errorf("quote item of kaspersky: %+v", it)
	}
}

// TestRedeemWithoutPlugins covers the catalogue rules and the order's bookkeeping at listed
// prices.
func TestRedeemWithoutPlugins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	once := f.reward(CreateInput{Code: "antivirus", Title: "Antivirus", Category: "internet", Price: 500, PerMemberLimit: 1,
		Validity: "months:2", ServicesRequired: []string{"internet", "phone"}})
	minutes := f.reward(CreateInput{Code: "minutes", Title: "Minutes", Category: "phone", Price: 370, Validity: "calendar_month",
		Stock: ptr[int64](2)})
	free := f.reward(CreateInput{Code: "free", Title: "Free sticker", Category: "shop", Price: 0})
	m := f.member(2000, "Kyiv", map[string]any{"services": []any{"Phone"}})

	// Twice the once-only reward in one order: refused, nothing written.
	res, err := f.svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{once.ID, once.ID}, IdempotencyKey: "a"})
	if err != nil || res.Rejection == nil || res.Rejection.Code != CodeAlreadyRedeemed || len(res.Rejections) != 1 {
		t.Fatalf("twice once-only: %+v, %v", res, err)
	}
	// Two units of minutes and the antivirus (services match case-insensitively, any one of them).
	res, err = f.svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{minutes.ID, once.ID, minutes.ID}, IdempotencyKey: "b"})
	if err != nil || res.Redemption == nil {
		t.Fatalf("order: %+v, %v", res, err)
	}
	o := res.Redemption
	if o.Points != 1240 || o.ListTotal != 1240 || o.MoneyDue != 0 || len(o.Lines) != 3 || o.TransactionID == nil {
		t.Fatalf("order: %+v", o)
	}
	if r, _ := f.svc.Get(ctx, minutes.ID); *r.Stock != 0 {
		t.Fatalf("minutes stock %d, want 0", *r.Stock)
	}
	// Out of stock now, and the antivirus was redeemed: every reason is listed.
	res, err = f.svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{once.ID, minutes.ID}, IdempotencyKey: "c"})
	if err != nil || len(res.Rejections) != 2 || res.Rejections[0].Code != CodeAlreadyRedeemed || res.Rejections[1].Code != CodeOutOfStock {
		t.Fatalf("refusals: %+v, %v", res, err)
	}
	// A free reward takes no points and writes no ledger transaction.
	res, err = f.svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{free.ID}, IdempotencyKey: "d"})
	if err != nil || res.Redemption == nil || res.Redemption.Points != 0 || res.Redemption.TransactionID != nil {
		t.Fatalf("free order: %+v, %v", res, err)
	}
	if b, _ := f.led.Balance(ctx, f.program.ID, m.ID); b.Available != 760 {
		t.Fatalf("balance %d, want 760", b.Available)
	}
	// Reversal: points, stock and the limit come back; the free order reverses without a ledger
	// transaction.
	back, err := f.svc.Reverse(ctx, ReverseInput{OrderID: o.ID, Reason: "test", By: "ops"})
	if err != nil || back.Status != StatusReversed || back.Reversal().By != "ops" || back.Reversal().TransactionID == nil {
		t.Fatalf("reverse: %+v, %v", back, err)
	}
	if r, _ := f.svc.Get(ctx, minutes.ID); *r.Stock != 2 {
		t.Fatalf("minutes stock after reversal %d, want 2", *r.Stock)
	}
	if b, _ := f.led.Balance(ctx, f.program.ID, m.ID); b.Available != 2000 {
		t.Fatalf("balance after reversal %d, want 2000", b.Available)
	}
	if q, err := f.svc.Quote(ctx, m.ID, once.ID); err != nil || !q.Allowed {
		t.Fatalf("antivirus after the reversal: %+v, %v; want allowed again", q, err)
	}
	if _, err := f.svc.Reverse(ctx, ReverseInput{OrderID: res.Redemption.ID, Reason: "free", By: "ops"}); err != nil {
		t.Fatalf("reverse the free order: %v", err)
	}
	if _, err := f.svc.Reverse(ctx, ReverseInput{OrderID: o.ID, Reason: "again", By: "ops"}); !errors.Is(err, ErrAlreadyReversed) {
		t.Fatalf("reverse twice: %v, want ErrAlreadyReversed", err)
	}
	if _, err := f.svc.Reverse(ctx, ReverseInput{OrderID: o.ID, Reason: " "}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reverse without a reason: %v, want ErrInvalid", err)
	}
}

// TestRedeemReturnsTheStoredOrder: the order Redeem returns is the order stored, as Order reads
// it back (times to the microsecond, lines in order with their rewards after the order), its
// debit names it, and a replay returns the same; the per-member limit counts the order's units.
func TestRedeemReturnsTheStoredOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := testNow.Add(123456789 * time.Nanosecond)
	svc := New(Config{DB: dbtest.DB(t), Ledger: f.led, Members: f.mem, Campaigns: campaigns.NewStore(dbtest.DB(t), clock.NewManual(at).Now, nil),
		Now: clock.NewManual(at).Now})
	twice := f.reward(CreateInput{Code: "twice", Title: "Twice", Category: "shop", Price: 100, PerMemberLimit: 2, Stock: ptr[int64](5),
		Validity: "hours:48"})
	book := f.reward(CreateInput{Code: "book", Title: "Book", Category: "partner", Price: 30, CodePool: true})
	p := f.program.Code
	if _, err := svc.ImportCodes(ctx, book.ID, []string{p + "-a", p + "-b", p + "-c"}); err != nil {
		t.Fatal(err)
	}
	plain := f.reward(CreateInput{Code: "plain", Title: "Plain", Category: "shop", Price: 7, Validity: "calendar_month"})
	m := f.member(1000, "", nil)

	res, err := svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{twice.ID, book.ID, plain.ID, twice.ID, book.ID}, IdempotencyKey: "k"})
	if err != nil || res.Redemption == nil || res.Replayed {
		t.Fatalf("order: %+v, %v", res, err)
	}
	o := res.Redemption
	stored, err := svc.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(o)
	want, _ := json.Marshal(stored)
	if string(got) != string(want) {
		t.Fatalf("order returned:\n%s\nstored:\n%s", got, want)
	}
	if !o.CreatedAt.Equal(testNow.Add(123456*time.Microsecond)) || o.Points != 267 || len(o.Lines) != 5 {
		t.Fatalf("order: created %v, %d points, %d lines", o.CreatedAt, o.Points, len(o.Lines))
	}
	var shape []string
	for i, l := range o.Lines {
		if i > 0 && l.ID <= o.Lines[i-1].ID {
			t.Errorf("line %d has id %d after %d", l.Line, l.ID, o.Lines[i-1].ID)
		}
		code := "-"
		if l.Code != nil {
			code = strings.TrimPrefix(*l.Code, p)
		}
		stock := "-"
		if l.Reward.Stock != nil {
			stock = fmt.Sprint(*l.Reward.Stock)
		}
		shape = append(shape, fmt.Sprintf("%d:%s:%s:%s:%d", l.Line, l.Reward.Code, code, stock, l.Reward.CodesAvailable))
	}
	if got, want := strings.Join(shape, " "), "1:twice:-:3:0 2:book:-a:-:1 3:plain:-:-:0 4:twice:-:3:0 5:book:-b:-:1"; got != want {
		t.Errorf("lines (line:reward:code:stock:codes left): %s, want %s", got, want)
	}
	var reason string
	if err := dbtest.DB(t).NewRaw(`SELECT reason FROM transactions WHERE id = ?`, *o.TransactionID).Scan(ctx, &reason); err != nil ||
		reason != fmt.Sprintf("reward order %d", o.ID) {
		t.Errorf("debit reason %q (%v), want %q", reason, err, fmt.Sprintf("reward order %d", o.ID))
	}

	again, err := svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{twice.ID, book.ID, plain.ID, twice.ID, book.ID}, IdempotencyKey: "k"})
	if err != nil || !again.Replayed {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	if got, _ := json.Marshal(again.Redemption); string(got) != string(want) {
		t.Fatalf("replayed order:\n%s\nstored:\n%s", got, want)
	}
	// Two units of "twice" are held: a third is refused, nothing is taken.
	res, err = svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{plain.ID, twice.ID}, IdempotencyKey: "k2"})
	if err != nil || res.Redemption != nil || len(res.Rejections) != 1 || *res.Rejection != (Rejection{Code: CodeAlreadyRedeemed, RewardID: twice.ID,
		Message: "twice can be redeemed 2 times per member and this would be redemption number 3"}) {
		t.Fatalf("third unit: %+v, %v", res, err)
	}
	if q, err := svc.Quote(ctx, m.ID, twice.ID); err != nil || q.Allowed || fmt.Sprint(q.Reasons) !=
		"[{ALREADY_REDEEMED twice can be redeemed 2 times per member and this would be redemption number 3}]" {
		t.Fatalf("quote of a third unit: %+v, %v", q, err)
	}
	if q, err := svc.Quote(ctx, m.ID, plain.ID); err != nil || !q.Allowed || q.Points != 7 {
		t.Fatalf("quote of plain: %+v, %v", q, err)
	}
	if r, _ := svc.Get(ctx, twice.ID); *r.Stock != 3 {
		t.Fatalf("stock after the refusal %d, want 3", *r.Stock)
	}
	if b, _ := f.led.Balance(ctx, f.program.ID, m.ID); b.Available != 733 {
		t.Fatalf("balance %d, want 733", b.Available)
	}
}

func TestRedeemInputErrors(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	ctx := context.Background()
	m := f.member(100, "", nil)
	r := f.reward(CreateInput{Code: "r", Title: "R", Category: "shop", Price: 1})
	elsewhere := other.reward(CreateInput{Code: "r", Title: "R", Category: "shop", Price: 1})
	many := make([]int64, MaxOrderLines+1)
	for i := range many {
		many[i] = r.ID
	}
	for _, tc := range []struct {
		name string
		in   RedeemInput
		want error
	}{
		{"no key", RedeemInput{MemberID: m.ID, RewardIDs: []int64{r.ID}}, ledger.ErrInvalidIdempotencyKey},
		{"reserved key", RedeemInput{MemberID: m.ID, RewardIDs: []int64{r.ID}, IdempotencyKey: "@x"}, ledger.ErrInvalidIdempotencyKey},
		{"no rewards", RedeemInput{MemberID: m.ID, IdempotencyKey: "k"}, ErrInvalid},
		{"too many rewards", RedeemInput{MemberID: m.ID, RewardIDs: many, IdempotencyKey: "k"}, ErrInvalid},
		{"two programmes", RedeemInput{MemberID: m.ID, RewardIDs: []int64{r.ID, elsewhere.ID}, IdempotencyKey: "k"}, ErrInvalid},
		{"unknown reward", RedeemInput{MemberID: m.ID, RewardIDs: []int64{1 << 40}, IdempotencyKey: "k"}, ErrNotFound},
		{"unknown member", RedeemInput{MemberID: 1 << 40, RewardIDs: []int64{r.ID}, IdempotencyKey: "k"}, members.ErrNotFound},
	} {
		if _, err := f.svc.Redeem(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCreateAndUpdateErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.reward(CreateInput{Code: "r", Title: "R", Category: "shop", Price: 1})
	for _, tc := range []struct {
		name string
		in   CreateInput
		want error
	}{
		{"bad code", CreateInput{ProgramID: f.program.ID, Code: "Bad Code", Title: "T", Category: "shop"}, ErrInvalid},
		{"no title", CreateInput{ProgramID: f.program.ID, Code: "x", Category: "shop"}, ErrInvalid},
		{"negative price", CreateInput{ProgramID: f.program.ID, Code: "x", Title: "T", Category: "shop", Price: -1}, ErrInvalid},
		{"negative stock", CreateInput{ProgramID: f.program.ID, Code: "x", Title: "T", Category: "shop", Stock: ptr[int64](-1)}, ErrInvalid},
		{"duplicate code", CreateInput{ProgramID: f.program.ID, Code: "r", Title: "T", Category: "shop"}, ErrExists},
		{"unknown programme", CreateInput{ProgramID: 1 << 40, Code: "x", Title: "T", Category: "shop"}, ledger.ErrProgramNotFound},
		{"unknown campaign", CreateInput{ProgramID: f.program.ID, Code: "x", Title: "T", Category: "shop", CampaignID: ptr[int64](1 << 40)}, campaigns.ErrNotFound},
	} {
		if _, err := f.svc.Create(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := f.svc.Update(ctx, r.ID, UpdateInput{Stock: ptr[int64](1), UnlimitedStock: true}); !errors.Is(err, ErrInvalid) {
		t.Errorf("two stock changes: %v", err)
	}
	if _, err := f.svc.Update(ctx, r.ID, UpdateInput{AddStock: ptr[int64](1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("addStock on unlimited stock: %v", err)
	}
	if _, err := f.svc.Update(ctx, 1<<40, UpdateInput{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown reward: %v", err)
	}
	got, err := f.svc.Update(ctx, r.ID, UpdateInput{Stock: ptr[int64](5), Regions: []string{"*"}, PerMemberLimit: ptr(0), Active: ptr(false)})
	if err != nil || *got.Stock != 5 || len(got.Regions) != 0 || got.Active {
		t.Fatalf("update: %+v, %v", got, err)
	}
	if got, err = f.svc.Update(ctx, r.ID, UpdateInput{UnlimitedStock: true}); err != nil || got.Stock != nil {
		t.Fatalf("unlimited: %+v, %v", got, err)
	}
}

// TestImportCodes: codes are unique across pools and benefit codes, case-insensitively, and are
// handed out one per redemption until the pool is empty.
func TestImportCodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	noPool := f.reward(CreateInput{Code: "plain", Title: "Plain", Category: "shop", Price: 1})
	if _, err := f.svc.ImportCodes(ctx, noPool.ID, []string{"X"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("import into a reward without a pool: %v", err)
	}
	pool := f.reward(CreateInput{Code: "book", Title: "Book", Category: "partner", Price: 10, CodePool: true})
	p := f.program.Code
	res, err := f.svc.ImportCodes(ctx, pool.ID, []string{p + "-one", p + "-TWO", p + "-One"})
	if err != nil || res.Imported != 2 || fmt.Sprint(res.Duplicates) != fmt.Sprintf("[%s-One]", p) || res.Reward.CodesAvailable != 2 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	other := f.reward(CreateInput{Code: "book2", Title: "Book 2", Category: "partner", Price: 10, CodePool: true})
	res, err = f.svc.ImportCodes(ctx, other.ID, []string{p + "-two", p + "-three"})
	if err != nil || res.Imported != 1 || fmt.Sprint(res.Duplicates) != fmt.Sprintf("[%s-two]", p) {
		t.Fatalf("import into another pool: %+v, %v", res, err)
	}
	if _, err := f.svc.ImportCodes(ctx, pool.ID, []string{"has space"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("code with a space: %v", err)
	}
	m := f.member(100, "", nil)
	var got []string
	for i := range 3 {
		res, err := f.svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{pool.ID}, IdempotencyKey: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rejection != nil {
			got = append(got, res.Rejection.Code)
			continue
		}
		got = append(got, *res.Redemption.Lines[0].Code)
	}
	if want := fmt.Sprintf("[%[1]s-one %[1]s-TWO OUT_OF_STOCK]", p); fmt.Sprint(got) != want {
		t.Fatalf("handed out %v, want %s", got, want)
	}
}

// TestConstraints: the migration's checks hold even against writes that skip the service.
func TestConstraints(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bdb := dbtest.DB(t)
	r := f.reward(CreateInput{Code: "c", Title: "C", Category: "shop", Price: 1, Stock: ptr[int64](0)})
	for _, tc := range []struct {
		name, sql, constraint string
		args                  []any
	}{
		{"stock below zero", `UPDATE rewards SET stock = stock - 1 WHERE id = ?`, "rewards_stock_nonnegative", []any{r.ID}},
		{"duplicate code", `INSERT INTO rewards (program_id, code, title, category, price, created_at, updated_at) VALUES (?, 'c', 'x', 'x', 1, now(), now())`,
			"rewards_program_code_key", []any{f.program.ID}},
		{"negative price", `UPDATE rewards SET price = -1 WHERE id = ?`, "rewards_price_range", []any{r.ID}},
		{"order amounts", `INSERT INTO reward_orders (program_id, member_id, idempotency_key, input_hash, points, list_total, price_total, money_due, created_at)
			VALUES (?, ?, 'k', '\x00', 10, 10, 10, 5, now())`, "reward_orders_amounts", []any{f.program.ID, f.member(0, "", nil).ID}},
	} {
		_, err := bdb.ExecContext(ctx, tc.sql, tc.args...)
		if got := db.Constraint(err); got != tc.constraint {
			t.Errorf("%s: constraint %q (%v), want %q", tc.name, got, err, tc.constraint)
		}
	}
}

func ptr[T any](v T) *T { return &v }
