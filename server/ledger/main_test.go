package ledger_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// runTag keeps programme codes, member references and idempotency keys unique across the
// repetitions of -count=N, which share one database.
var runTag = func() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var nameSeq atomic.Int64

// uniq returns a lower-case name unique within the test database.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, runTag, nameSeq.Add(1))
}

// newLedger returns a ledger on the package's test database with the given clock (nil for
// time.Now) and registers the conservation check to run when the test ends.
func newLedger(t *testing.T, now func() time.Time) *ledger.Ledger {
	t.Helper()
	bdb := dbtest.DB(t)
	t.Cleanup(func() {
		checkConservation(t, bdb)
		releaseIdle(bdb)
	})
	return ledger.New(bdb, now)
}

// releaseIdle closes the shared pool's idle connections, keeping its settings, so that a test
// that opened dozens of them for a storm does not hold them against the server's connection
// limit (which other test packages share) after it ends.
func releaseIdle(bdb *db.DB) {
	bdb.SetMaxIdleConns(0)
	bdb.SetMaxIdleConns(bdb.Stats().MaxOpenConnections) // dbtest keeps as many idle as open
}

func newProgram(t testing.TB, l *ledger.Ledger) *ledger.Program {
	t.Helper()
	p, err := l.CreateProgram(context.Background(), uniq("p"), "Programme", "")
	if err != nil {
		t.Fatalf("create programme: %v", err)
	}
	return p
}

func newMember(t testing.TB, idb bun.IDB) int64 {
	t.Helper()
	m, _, err := members.NewStore(idb, nil).Upsert(context.Background(), members.UpsertInput{ExternalRef: uniq("m")})
	if err != nil {
		t.Fatalf("create member: %v", err)
	}
	return m.ID
}

// fixedClock returns a clock that always answers at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

func ptr[T any](v T) *T { return &v }

func balance(t *testing.T, l *ledger.Ledger, programID, memberID int64) ledger.Balance {
	t.Helper()
	b, err := l.Balance(context.Background(), programID, memberID)
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	return b
}

// lotsOf returns the lots of the member's account in the programme, in id order.
func lotsOf(t *testing.T, idb bun.IDB, programID, memberID int64) []ledger.Lot {
	t.Helper()
	var lots []ledger.Lot
	err := idb.NewSelect().Model(&lots).
		Where("account_id = (SELECT id FROM accounts WHERE program_id = ? AND member_id = ?)", programID, memberID).
		OrderExpr("id").Scan(context.Background())
	if err != nil {
		t.Fatalf("lots: %v", err)
	}
	return lots
}

func remainders(lots []ledger.Lot) []int64 {
	out := make([]int64, len(lots))
	for i, l := range lots {
		out[i] = l.Remaining
	}
	return out
}

// conservationChecks are the ledger's invariants, each a query returning one line per row that
// breaks it (so an empty result means the invariant holds). Each line says what was expected
// and what was found.
var conservationChecks = []struct{ name, query string }{
	{"postings sum to zero per programme", `
		SELECT format('programme %s: Σ(credits − debits) over its accounts = %s, want 0', a.program_id,
		              sum(CASE WHEN a.id = p.credit_account_id THEN p.amount ELSE -p.amount END))
		FROM postings p JOIN accounts a ON a.id IN (p.debit_account_id, p.credit_account_id)
		GROUP BY a.program_id
		HAVING sum(CASE WHEN a.id = p.credit_account_id THEN p.amount ELSE -p.amount END) <> 0`},
	{"postings stay within one programme", `
		SELECT format('posting %s: debit account %s in programme %s, credit account %s in programme %s, transaction %s in programme %s',
		              p.id, d.id, d.program_id, c.id, c.program_id, t.id, t.program_id)
		FROM postings p
		JOIN accounts d ON d.id = p.debit_account_id
		JOIN accounts c ON c.id = p.credit_account_id
		JOIN transactions t ON t.id = p.transaction_id
		WHERE d.program_id <> c.program_id OR t.program_id <> d.program_id`},
	{"transaction postings move its points", `
		SELECT format('transaction %s: net postings into account %s = %s, want points %s', t.id, t.account_id, coalesce(n.net, 0), t.points)
		FROM transactions t
		LEFT JOIN LATERAL (
			SELECT sum(CASE WHEN p.credit_account_id = t.account_id THEN p.amount
			                WHEN p.debit_account_id = t.account_id THEN -p.amount ELSE 0 END) AS net
			FROM postings p WHERE p.transaction_id = t.id) n ON true
		WHERE coalesce(n.net, 0) <> t.points`},
	{"member balance = Σ credit postings − Σ debit postings", `
		SELECT format('account %s: available + pending = %s, Σ credit − Σ debit postings = %s', a.id, a.available + a.pending, f.net)
		FROM accounts a
		CROSS JOIN LATERAL (
			SELECT coalesce((SELECT sum(amount) FROM postings WHERE credit_account_id = a.id), 0)
			     - coalesce((SELECT sum(amount) FROM postings WHERE debit_account_id = a.id), 0) AS net) f
		WHERE a.kind = 'member' AND a.available + a.pending <> f.net`},
	{"balances = Σ lot remainders", `
		SELECT format('account %s: available = %s, Σ remaining of available lots = %s; pending = %s, Σ remaining of pending lots = %s',
		              a.id, a.available, l.avail, a.pending, l.pend)
		FROM accounts a
		CROSS JOIN LATERAL (
			SELECT coalesce(sum(remaining) FILTER (WHERE NOT pending), 0) AS avail,
			       coalesce(sum(remaining) FILTER (WHERE pending), 0) AS pend
			FROM lots WHERE account_id = a.id) l
		WHERE a.available <> l.avail OR a.pending <> l.pend`},
	{"Σ transaction points = balance", `
		SELECT format('account %s: Σ transactions.points = %s, available + pending = %s', a.id, s.points, a.available + a.pending)
		FROM accounts a
		CROSS JOIN LATERAL (SELECT coalesce(sum(points), 0) AS points FROM transactions WHERE account_id = a.id) s
		WHERE a.kind = 'member' AND s.points <> a.available + a.pending`},
	{"lot remaining = amount − consumed + restored", `
		SELECT format('lot %s: remaining = %s, amount − Σ consume + Σ restore = %s', l.id, l.remaining, l.amount - c.consumed + c.restored)
		FROM lots l
		CROSS JOIN LATERAL (
			SELECT coalesce(sum(amount) FILTER (WHERE kind = 'consume'), 0) AS consumed,
			       coalesce(sum(amount) FILTER (WHERE kind = 'restore'), 0) AS restored
			FROM lot_consumptions WHERE lot_id = l.id) c
		WHERE l.remaining <> l.amount - c.consumed + c.restored`},
	{"no negative balance", `
		SELECT format('account %s: available %s, pending %s, lifetime %s, status %s; want all ≥ 0', id, available, pending, lifetime_earned, status_balance)
		FROM accounts WHERE available < 0 OR pending < 0 OR lifetime_earned < 0 OR status_balance < 0
		UNION ALL
		SELECT format('lot %s: remaining %s, want between 0 and amount %s', id, remaining, amount)
		FROM lots WHERE remaining < 0 OR remaining > amount`},
}

// conservationViolations runs every conservation check on idb and returns the broken ones,
// keyed by check name.
func conservationViolations(ctx context.Context, idb bun.IDB) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range conservationChecks {
		var lines []string
		if err := idb.NewRaw(c.query).Scan(ctx, &lines); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if len(lines) > 0 {
			out[c.name] = lines
		}
	}
	return out, nil
}

// checkConservation fails t when any conservation invariant is broken anywhere in the test
// database. It reads one repeatable-read snapshot, so it may run while other writes go on.
func checkConservation(t testing.TB, bdb *db.DB) {
	t.Helper()
	ctx := context.Background()
	var broken map[string][]string
	err := db.ReadSnapshot(ctx, bdb, func(ctx context.Context, tx db.Tx) (err error) {
		broken, err = conservationViolations(ctx, tx)
		return err
	})
	if err != nil {
		t.Errorf("conservation check: %v", err)
		return
	}
	for name, lines := range broken {
		if len(lines) > 10 {
			lines = append(lines[:10], fmt.Sprintf("… and %d more", len(lines)-10))
		}
		for _, l := range lines {
			t.Errorf("conservation broken (%s): %s", name, l)
		}
	}
}
