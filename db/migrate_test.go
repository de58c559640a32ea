package db_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var ledgerTables = []string{"programs", "members", "accounts", "transactions", "postings", "lots", "lot_consumptions"}

// freshDatabase creates an empty database for one test and returns a pool on it.
func freshDatabase(t *testing.T, name string) *db.DB {
	t.Helper()
	ctx := context.Background()
	url, drop, err := dbtest.CreateDatabase(ctx, dbtest.AdminURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	bdb, err := db.Open(ctx, url, db.Options{MaxOpenConns: 8, ApplicationName: "promogate-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	return bdb
}

func missingTables(t *testing.T, bdb *db.DB) []string {
	t.Helper()
	var missing []string
	for _, table := range ledgerTables {
		var exists bool
		if err := bdb.NewRaw("SELECT to_regclass(?) IS NOT NULL", table).Scan(context.Background(), &exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			missing = append(missing, table)
		}
	}
	return missing
}

// embeddedMigrations returns what PendingMigrations reports on the empty database bdb: every
// embedded migration, which must be sorted and start with the ledger's.
func embeddedMigrations(t *testing.T, bdb *db.DB) []string {
	t.Helper()
	all, err := db.PendingMigrations(context.Background(), bdb)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || !strings.HasPrefix(all[0], "20261121000001") || !slices.IsSorted(all) {
		t.Fatalf("pending on an empty database: expected every migration in order, the ledger's first, got %v", all)
	}
	return all
}

// TestMigrationsApplied: the package database, migrated by dbtest.Main, has nothing pending,
// and migrating it again applies nothing.
func TestMigrationsApplied(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	pending, err := db.PendingMigrations(ctx, bdb)
	if err != nil || len(pending) != 0 {
		t.Errorf("pending migrations: expected none, got %v (%v)", pending, err)
	}
	applied, err := db.Migrate(ctx, bdb)
	if err != nil || len(applied) != 0 {
		t.Errorf("second migration: expected nothing applied, got %v (%v)", applied, err)
	}
	if missing := missingTables(t, bdb); len(missing) != 0 {
		t.Errorf("tables: expected all of %v, missing %v", ledgerTables, missing)
	}
}

// TestMigrateEmptyDatabase: on an empty database every migration is pending; four replicas
// migrating at once apply each exactly once; afterwards nothing is pending or applied again.
func TestMigrateEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	bdb := freshDatabase(t, "migrate_empty")
	allMigrations := embeddedMigrations(t, bdb)
	var mu sync.Mutex
	var applied []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names, err := db.Migrate(ctx, bdb)
			if err != nil {
				t.Errorf("migrate: %v", err)
			}
			mu.Lock()
			applied = append(applied, names...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !slices.Equal(applied, allMigrations) {
		t.Errorf("applied by four concurrent migrations: expected %v once, got %v", allMigrations, applied)
	}
	if pending, err := db.PendingMigrations(ctx, bdb); err != nil || len(pending) != 0 {
		t.Errorf("pending after migrating: expected none, got %v (%v)", pending, err)
	}
	if again, err := db.Migrate(ctx, bdb); err != nil || len(again) != 0 {
		t.Errorf("migrating again: expected nothing applied, got %v (%v)", again, err)
	}
	if missing := missingTables(t, bdb); len(missing) != 0 {
		t.Errorf("tables: expected all of %v, missing %v", ledgerTables, missing)
	}
}

// TestFailedMigrationStaysPending: a migration that fails (here because a table it creates is
// in the way) must not be recorded as applied, so the next start applies it.
func TestFailedMigrationStaysPending(t *testing.T) {
	ctx := context.Background()
	bdb := freshDatabase(t, "migrate_failed")
	allMigrations := embeddedMigrations(t, bdb)
	if _, err := bdb.ExecContext(ctx, "CREATE TABLE lot_consumptions (blocker int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, bdb); err == nil {
		t.Fatal("migrate with a table in the way: expected an error, got none")
	}
	if pending, err := db.PendingMigrations(ctx, bdb); err != nil || !slices.Equal(pending, allMigrations) {
		t.Errorf("pending after the failure: expected %v, got %v (%v)", allMigrations, pending, err)
	}
	if _, err := bdb.ExecContext(ctx, "DROP TABLE lot_consumptions"); err != nil {
		t.Fatal(err)
	}
	applied, err := db.Migrate(ctx, bdb)
	if err != nil || !slices.Equal(applied, allMigrations) {
		t.Errorf("migrate once the way is clear: expected %v applied, got %v (%v)", allMigrations, applied, err)
	}
	if missing := missingTables(t, bdb); len(missing) != 0 {
		t.Errorf("tables: expected all of %v, missing %v", ledgerTables, missing)
	}
}

// TestConstraints: the constraints that carry the ledger's invariants reject bad rows, and
// db.Constraint names them so the storage layer can map them to domain errors. Each case runs
// in a transaction that is rolled back.
func TestConstraints(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	var f struct{ program, member, account, issuance, earn int64 }
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		steps := []struct {
			query string
			args  []any
			into  *int64
		}{
			{"INSERT INTO programs (code, name) VALUES ('constraints-' || md5(random()::text), 'Constraints') RETURNING id", nil, &f.program},
			{"INSERT INTO members (external_ref) VALUES ('constraints-' || md5(random()::text)) RETURNING id", nil, &f.member},
			{"INSERT INTO accounts (program_id, member_id, kind, available) VALUES (?, ?, 'member', 10) RETURNING id", []any{&f.program, &f.member}, &f.account},
			{"INSERT INTO accounts (program_id, kind) VALUES (?, 'issuance') RETURNING id", []any{&f.program}, &f.issuance},
			{`INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, created_at)
				VALUES (?, ?, ?, 'earn', 10, 'k1', '\x00', now()) RETURNING id`, []any{&f.program, &f.account, &f.member}, &f.earn},
			{`INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, reverses_id, created_at)
				VALUES (?, ?, ?, 'reverse', -10, 'r1', '\x00', ?, now()) RETURNING id`, []any{&f.program, &f.account, &f.member, &f.earn}, new(int64)},
		}
		for _, s := range steps {
			args := make([]any, len(s.args))
			for i, a := range s.args {
				args[i] = *a.(*int64)
			}
			if err := tx.NewRaw(s.query, args...).Scan(ctx, s.into); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}

	insertTx := `INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, reverses_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, '\x00', ?, now())`
	insertLot := `INSERT INTO lots (account_id, transaction_id, amount, remaining, available_at, pending, created_at)
		VALUES (?, ?, ?, ?, now(), false, now())`
	insertPosting := "INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount) VALUES (?, ?, ?, ?)"
	cases := []struct {
		name  string
		query string
		args  []any
		want  string // constraint name; "" means the row is accepted
		state string // SQLSTATE
	}{
		{"valid transaction", insertTx, []any{f.program, f.account, f.member, "earn", 5, "k2", nil}, "", ""},
		{"duplicate idempotency key", insertTx, []any{f.program, f.account, f.member, "earn", 5, "k1", nil}, "transactions_idempotency_key", "23505"},
		{"second reversal", insertTx, []any{f.program, f.account, f.member, "reverse", -10, "r2", f.earn}, "transactions_one_reversal", "23505"},
		{"zero points", insertTx, []any{f.program, f.account, f.member, "earn", 0, "k0", nil}, "transactions_points_nonzero", "23514"},
		{"valid posting", insertPosting, []any{f.earn, f.issuance, f.account, 10}, "", ""},
		{"zero posting", insertPosting, []any{f.earn, f.issuance, f.account, 0}, "postings_amount_positive", "23514"},
		{"negative posting", insertPosting, []any{f.earn, f.issuance, f.account, -5}, "postings_amount_positive", "23514"},
		{"valid lot", insertLot, []any{f.account, f.earn, 10, 10}, "", ""},
		{"zero lot", insertLot, []any{f.account, f.earn, 0, 0}, "lots_amount_positive", "23514"},
		{"negative lot", insertLot, []any{f.account, f.earn, -3, -3}, "lots_amount_positive", "23514"},
		{"remaining above amount", insertLot, []any{f.account, f.earn, 10, 11}, "lots_remaining_range", "23514"},
		{"negative remaining", insertLot, []any{f.account, f.earn, 10, -1}, "lots_remaining_range", "23514"},
		{"available to zero", "UPDATE accounts SET available = available - 10 WHERE id = ?", []any{f.account}, "", ""},
		{"negative available", "UPDATE accounts SET available = available - 11 WHERE id = ?", []any{f.account}, "accounts_available_nonnegative", "23514"},
	}
	errRollback := errors.New("rollback")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stmtErr error
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				_, stmtErr = tx.ExecContext(ctx, tc.query, tc.args...)
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("transaction: %v", err)
			}
			if got := db.Constraint(stmtErr); got != tc.want {
				t.Errorf("constraint: expected %q, got %q (error %v)", tc.want, got, stmtErr)
			}
			if got := db.SQLState(stmtErr); got != tc.state {
				t.Errorf("SQLSTATE: expected %q, got %q", tc.state, got)
			}
		})
	}
}

// TestMigrationVersionsUnique: no two migrations share a version (the digits before the first
// underscore); with a shared one, one of them would silently never run.
func TestMigrationVersionsUnique(t *testing.T) {
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		version, _, _ := strings.Cut(name, "_")
		if other, ok := seen[version]; ok {
			t.Errorf("migrations %s and %s share the version %s; give the newer one a later version", other, name, version)
		}
		seen[version] = name
	}
}

// TestPluginIdentityFixed: a registered plugin version keeps its name, version and checksum
// (migration 20261212170003), so the checksum looked up for an outcome's plugin@version is the
// binary that decided; its other columns still change.
func TestPluginIdentityFixed(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	name := "identity-" + strings.Repeat("a", 8)
	if _, err := db.PG(bdb).Exec(ctx, `INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ($1, '1.0.0', '/p', repeat('0', 64), 1, now(), 'test')`, name); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, query, want string
	}{
		{"checksum", `UPDATE plugins SET sha256 = repeat('1', 64) WHERE name = $1`, "plugins_identity_fixed"},
		{"version", `UPDATE plugins SET version = '1.0.1' WHERE name = $1`, "plugins_identity_fixed"},
		{"name", `UPDATE plugins SET name = name || 'x' WHERE name = $1`, "plugins_identity_fixed"},
		{"same checksum", `UPDATE plugins SET sha256 = sha256 WHERE name = $1`, ""},
		{"status", `UPDATE plugins SET status = 'disabled' WHERE name = $1`, ""},
		{"path", `UPDATE plugins SET path = '/elsewhere' WHERE name = $1`, ""},
	}
	for _, tc := range cases {
		_, err := db.PG(bdb).Exec(ctx, tc.query, name)
		if got := db.Constraint(err); got != tc.want || (tc.want == "" && err != nil) {
			t.Errorf("%s: expected constraint %q, got %q (%v)", tc.name, tc.want, got, err)
		}
	}
	var sum, version string
	if err := db.PG(bdb).QueryRow(ctx, `SELECT sha256, version FROM plugins WHERE name = $1`, name).Scan(&sum, &version); err != nil ||
		sum != strings.Repeat("0", 64) || version != "1.0.0" {
		t.Fatalf("after the refusals: %s %s (%v)", version, sum, err)
	}
}

// TestLotConsumptionReferences: the references of lot_consumptions, checked once per statement
// since migration 20261219130001, refuse what their foreign keys refused (a consumption naming
// a lot or a transaction that does not exist, one row of a batch enough; SQLSTATE 23503 with
// the foreign keys' names), and the rows they name are kept: lots and transactions are never
// deleted, truncated or given another id. Each case runs in a transaction that is rolled back.
func TestLotConsumptionReferences(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	var f struct{ program, member, account, earn, lot int64 }
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		pg := db.PG(tx)
		if err := pg.QueryRow(ctx, "INSERT INTO programs (code, name) VALUES ('refs-' || md5(random()::text), 'Refs') RETURNING id").
			Scan(&f.program); err != nil {
			return err
		}
		if err := pg.QueryRow(ctx, "INSERT INTO members (external_ref) VALUES ('refs-' || md5(random()::text)) RETURNING id").
			Scan(&f.member); err != nil {
			return err
		}
		if err := pg.QueryRow(ctx, "INSERT INTO accounts (program_id, member_id, kind, available) VALUES ($1, $2, 'member', 10) RETURNING id",
			f.program, f.member).Scan(&f.account); err != nil {
			return err
		}
		if err := pg.QueryRow(ctx, `INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, created_at)
			VALUES ($1, $2, $3, 'earn', 10, 'k1', '\x00', now()) RETURNING id`, f.program, f.account, f.member).Scan(&f.earn); err != nil {
			return err
		}
		return pg.QueryRow(ctx, `INSERT INTO lots (account_id, transaction_id, amount, remaining, available_at, pending, created_at)
			VALUES ($1, $2, 10, 10, now(), false, now()) RETURNING id`, f.account, f.earn).Scan(&f.lot)
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	const missing = int64(1) << 62
	insert := "INSERT INTO lot_consumptions (transaction_id, lot_id, kind, amount) SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS c(t, l), LATERAL (VALUES ('consume', 1)) AS v"
	cases := []struct {
		name   string
		before string // run first in the case's transaction: the valid consumption, when set
		query  string
		args   []any
		want   string // constraint name; "" means the statement is accepted
		state  string // SQLSTATE
	}{
		{"valid consumptions", "", insert, []any{[]int64{f.earn, f.earn}, []int64{f.lot, f.lot}}, "", ""},
		{"missing lot", "", insert, []any{[]int64{f.earn}, []int64{missing}}, "lot_consumptions_lot_id_fkey", "23503"},
		{"missing lot among valid ones", "", insert, []any{[]int64{f.earn, f.earn, f.earn}, []int64{f.lot, missing, f.lot}},
			"lot_consumptions_lot_id_fkey", "23503"},
		{"missing transaction", "", insert, []any{[]int64{missing}, []int64{f.lot}}, "lot_consumptions_transaction_id_fkey", "23503"},
		{"missing transaction among valid ones", "", insert, []any{[]int64{f.earn, missing}, []int64{f.lot, f.lot}},
			"lot_consumptions_transaction_id_fkey", "23503"},
		{"update to a missing lot", insert, "UPDATE lot_consumptions SET lot_id = $1", []any{missing}, "lot_consumptions_lot_id_fkey", "23503"},
		{"delete a lot", "", "DELETE FROM lots WHERE id = $1", []any{f.lot}, "lots_kept", "23001"},
		{"renumber a lot", "", "UPDATE lots SET id = DEFAULT WHERE id = $1", []any{f.lot}, "lots_kept", "23001"},
		{"truncate lots", "", "TRUNCATE lots", nil, "lots_kept", "23001"},
		{"delete a transaction", "", "DELETE FROM transactions WHERE id = $1", []any{f.earn}, "transactions_kept", "23001"},
		{"renumber a transaction", "", "UPDATE transactions SET id = DEFAULT WHERE id = $1", []any{f.earn}, "transactions_kept", "23001"},
		{"truncate transactions", "", "TRUNCATE transactions CASCADE", nil, "transactions_kept", "23001"},
		{"spend a lot", "", "UPDATE lots SET remaining = 0 WHERE id = $1", []any{f.lot}, "", ""},
	}
	errRollback := errors.New("rollback")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stmtErr error
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				if tc.before != "" {
					if _, err := db.PG(tx).Exec(ctx, tc.before, []int64{f.earn}, []int64{f.lot}); err != nil {
						return err
					}
				}
				_, stmtErr = db.PG(tx).Exec(ctx, tc.query, tc.args...)
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("transaction: %v", err)
			}
			if got := db.Constraint(stmtErr); got != tc.want {
				t.Errorf("constraint: expected %q, got %q (error %v)", tc.want, got, stmtErr)
			}
			if got := db.SQLState(stmtErr); got != tc.state {
				t.Errorf("SQLSTATE: expected %q, got %q", tc.state, got)
			}
		})
	}
}
