package db_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// onePool opens a pool of one connection on the package database that records the statements
// it sends.
func onePool(t *testing.T) (*db.DB, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var sent []string
	pool, err := db.Open(context.Background(), dbtest.URL(t), db.Options{MaxOpenConns: 1, OnStatement: func(sql string) {
		mu.Lock()
		sent = append(sent, sql)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := sent
		sent = nil
		return out
	}
}

// prepared returns the statements the pool's one connection has prepared.
func prepared(t *testing.T, pool *db.DB) []string {
	t.Helper()
	rows, err := db.PG(pool).Query(context.Background(), `SELECT statement FROM pg_prepared_statements ORDER BY statement`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStatementsPreparedOncePerConnection: a statement with parameters on pgx is prepared the
// first time the connection runs it and only executed afterwards, on the pool and inside a
// transaction; bun's statements (values written into the text) are never prepared.
func TestStatementsPreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	pool, _ := onePool(t)
	const q = `SELECT $1::bigint + $2::bigint, $3::text`
	for i := int64(0); i < 3; i++ {
		var sum int64
		var s string
		if err := db.PG(pool).QueryRow(ctx, q, i, 40, "x'y").Scan(&sum, &s); err != nil {
			t.Fatal(err)
		}
		if sum != i+40 || s != "x'y" {
			t.Fatalf("got %d %q, want %d %q", sum, s, i+40, "x'y")
		}
	}
	err := db.RunInTx(ctx, pool, func(ctx context.Context, tx db.Tx) error {
		var sum int64
		if err := db.PG(tx).QueryRow(ctx, q, 1, 2, "in tx").Scan(&sum, new(string)); err != nil {
			return err
		}
		var n int
		return tx.NewRaw("SELECT ?::int", 7).Scan(ctx, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := pool.NewSelect().ColumnExpr("'bun'").Where("? = ?", 1, 1).Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	got := prepared(t, pool)
	if !slices.Contains(got, q) || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "bun") || strings.Contains(s, "7::int") }) {
		t.Errorf("prepared statements: expected %q once and none of bun's, got %q", q, got)
	}
	if n := len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s != q })); n != 1 {
		t.Errorf("%q prepared %d times, expected once", q, n)
	}
}

// TestArrayParameters: Go slices travel as PostgreSQL arrays, with NULL for nil elements, and
// texts keep quotes, backslashes and commas.
func TestArrayParameters(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.FixedZone("+03", 3*3600))
	one := int64(1)
	ids := []int64{1, math.MaxInt64, -5}
	texts := []string{`a"b`, `c\d`, "e,f", "", "{g}"}
	times := []*time.Time{&at, nil}
	nullable := []*int64{&one, nil}
	bools := []bool{true, false}
	var gotIDs []int64
	var gotTexts []string
	var gotTimes []*time.Time
	var gotNullable []*int64
	var gotBools []bool
	if err := db.PG(bdb).QueryRow(ctx, `SELECT $1::bigint[], $2::text[], $3::timestamptz[], $4::bigint[], $5::boolean[]`,
		ids, texts, times, nullable, bools).Scan(&gotIDs, &gotTexts, &gotTimes, &gotNullable, &gotBools); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotIDs, ids) || !slices.Equal(gotTexts, texts) || !slices.Equal(gotBools, bools) {
		t.Errorf("arrays: got %v %q %v", gotIDs, gotTexts, gotBools)
	}
	if len(gotTimes) != 2 || gotTimes[0] == nil || !gotTimes[0].Equal(at) || gotTimes[1] != nil {
		t.Errorf("times: got %v, want [%v <nil>]", gotTimes, at)
	}
	if len(gotNullable) != 2 || gotNullable[0] == nil || *gotNullable[0] != 1 || gotNullable[1] != nil {
		t.Errorf("nullable: got %v", gotNullable)
	}
	var n int
	if err := db.PG(bdb).QueryRow(ctx, `SELECT count(*) FROM unnest($1::bigint[], $2::text[]) AS u(id, t) WHERE t <> ''`,
		[]int64{1, 2, 3}, []string{"x", "", "z"}).Scan(&n); err != nil || n != 2 {
		t.Errorf("unnest: got %d, %v; want 2", n, err)
	}
}

// TestPreparedAfterSchemaChange: when a table a prepared statement reads changes shape, the next
// call fails with PostgreSQL's error and the one after prepares the statement again.
func TestPreparedAfterSchemaChange(t *testing.T) {
	ctx := context.Background()
	pool, _ := onePool(t)
	pg := db.PG(pool)
	if _, err := pg.Exec(ctx, `CREATE TABLE prepared_shape (id bigint, a text)`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = pg.Exec(ctx, `DROP TABLE prepared_shape`) }()
	if _, err := pg.Exec(ctx, `INSERT INTO prepared_shape VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM prepared_shape WHERE id = $1`
	read := func() ([]any, error) {
		rows, err := pg.Query(ctx, q, 1)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var vals []any
		for rows.Next() {
			if vals, err = rows.Values(); err != nil {
				return nil, err
			}
		}
		return vals, rows.Err()
	}
	if v, err := read(); err != nil || fmt.Sprint(v) != "[1 x]" {
		t.Fatalf("before: %v %v", v, err)
	}
	if _, err := pg.Exec(ctx, `ALTER TABLE prepared_shape ADD COLUMN b int DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := read(); err == nil || db.SQLState(err) != "0A000" {
		t.Errorf("first read after the change: expected SQLSTATE 0A000 (cached plan must not change result type), got %v", err)
	}
	if v, err := read(); err != nil || fmt.Sprint(v) != "[1 x 7]" {
		t.Errorf("second read after the change: expected [1 x 7], got %v %v", v, err)
	}
}

// TestTransactionStatements: RunInTx begins with one statement naming its isolation level, and
// its bun and pgx statements run in the one transaction; ReadSnapshot is read-only.
func TestTransactionStatements(t *testing.T) {
	ctx := context.Background()
	pool, sent := onePool(t)
	sent()
	err := db.RunInTx(ctx, pool, func(ctx context.Context, tx db.Tx) error {
		var viaPG, viaBun int64
		if err := db.PG(tx).QueryRow(ctx, `SELECT txid_current()`).Scan(&viaPG); err != nil {
			return err
		}
		if err := tx.NewRaw(`SELECT txid_current()`).Scan(ctx, &viaBun); err != nil {
			return err
		}
		if viaPG != viaBun {
			return fmt.Errorf("pgx saw transaction %d, bun %d", viaPG, viaBun)
		}
		var level string
		if err := db.PG(tx).QueryRow(ctx, `SHOW transaction_isolation`).Scan(&level); err != nil || level != "read committed" {
			return fmt.Errorf("isolation %q, %v", level, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := sent()
	if len(got) != 5 || !strings.EqualFold(got[0], "begin isolation level read committed") || !strings.EqualFold(got[len(got)-1], "commit") {
		t.Errorf("statements of the transaction: got %q", got)
	}
	err = db.ReadSnapshot(ctx, pool, func(ctx context.Context, tx db.Tx) error {
		var level, readOnly string
		if err := db.PG(tx).QueryRow(ctx, `SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')`).
			Scan(&level, &readOnly); err != nil {
			return err
		}
		if level != "repeatable read" || readOnly != "on" {
			return fmt.Errorf("snapshot: isolation %q, read only %q", level, readOnly)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBegin: a transaction from Begin ends with Commit or Rollback and gives its connection
// back (the pool has one).
func TestBegin(t *testing.T) {
	ctx := context.Background()
	pool, _ := onePool(t)
	for _, commit := range []bool{true, false} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PG(tx).Exec(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var n int
	if err := db.PG(pool).QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
		t.Fatalf("the pool's one connection after two transactions: %v", err)
	}
}

// TestPGRefusesOtherTransactions: db.PG of a transaction RunInTx did not start panics rather
// than run on another connection.
func TestPGRefusesOtherTransactions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("db.PG of a bun.Tx: expected a panic")
		}
	}()
	db.PG(bun.Tx{})
}
