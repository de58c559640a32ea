package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// TestPreparedStatementsArePreparedOncePerConnection: a query with arguments is prepared the
// first time a connection runs it and only executed afterwards, in and out of transactions,
// while bun's own queries (no arguments) are not prepared.
func TestPreparedStatementsArePreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 1, ApplicationName: "promogate-test-prepared"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	const q = `SELECT $1::bigint + $2::bigint, $3::text`
	for i := int64(0); i < 3; i++ {
		var sum int64
		var s string
		if err := db.Prepared(pool).QueryRowContext(ctx, q, i, 40, "x'y").Scan(&sum, &s); err != nil {
			t.Fatal(err)
		}
		if sum != i+40 || s != "x'y" {
			t.Fatalf("got %d %q, want %d %q", sum, s, i+40, "x'y")
		}
	}
	err = pool.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var sum int64
		if err := db.Prepared(tx).QueryRowContext(ctx, q, 1, 2, "in tx").Scan(&sum, new(string)); err != nil {
			return err
		}
		if sum != 3 {
			t.Errorf("in a transaction: got %d, want 3", sum)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	// One connection: this is the session that ran the statements above.
	if err := pool.NewRaw(`SELECT count(*) FROM pg_prepared_statements WHERE statement = ?`, q).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d prepared statements with the query's text on the connection, want 1", n)
	}
	if err := pool.NewRaw(`SELECT count(*) FROM pg_prepared_statements`).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d prepared statements on the connection, want 1 (bun's own queries are not prepared)", n)
	}
}

// TestPreparedArrayParameters: Int64s and Strings arrive as the same arrays, including
// elements that need quoting in an array literal.
func TestPreparedArrayParameters(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	ids := db.Int64s{3, -1, 0, 9223372036854775807}
	strs := db.Strings{"", "a,b", `quote " and \ backslash`, "{braces}", "NULL", "пароль", " spaced "}
	var gotIDs []int64
	var gotStrs []string
	rows, err := db.Prepared(bdb).QueryContext(ctx, `SELECT i, s FROM unnest($1::bigint[]) WITH ORDINALITY AS a(i, o)
		FULL JOIN unnest($2::text[]) WITH ORDINALITY AS b(s, o) USING (o) ORDER BY o`, ids, strs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var i sql.NullInt64
		var s string
		if err := rows.Scan(&i, &s); err != nil {
			t.Fatal(err)
		}
		if i.Valid {
			gotIDs = append(gotIDs, i.Int64)
		}
		gotStrs = append(gotStrs, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotIDs, []int64(ids)) {
		t.Errorf("bigint[]: got %v, want %v", gotIDs, ids)
	}
	if !reflect.DeepEqual(gotStrs, []string(strs)) {
		t.Errorf("text[]: got %q, want %q", gotStrs, strs)
	}
	var empty int
	if err := db.Prepared(bdb).QueryRowContext(ctx, `SELECT cardinality($1::bigint[])`, db.Int64s{}).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if empty != 0 {
		t.Errorf("empty bigint[] has %d elements", empty)
	}
}

// TestPreparedNullsTimesAndErrors: NULL and time parameters round-trip, no rows is
// sql.ErrNoRows, and a statement error comes back as PostgreSQL's error.
func TestPreparedNullsTimesAndErrors(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	at := time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.FixedZone("Kyiv", 2*3600))
	var got time.Time
	var null sql.NullString
	if err := db.Prepared(bdb).QueryRowContext(ctx, `SELECT $1::timestamptz, $2::text`, at, nil).Scan(&got, &null); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(at) || null.Valid {
		t.Fatalf("got %v %v, want %v and NULL", got, null, at)
	}
	err := db.Prepared(bdb).QueryRowContext(ctx, `SELECT 1 WHERE $1::int = 2`, 1).Scan(new(int))
	if !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no rows: got %v, want sql.ErrNoRows", err)
	}
	_, err = db.Prepared(bdb).ExecContext(ctx, `SELECT 1 / $1::int`, 0)
	if db.SQLState(err) != "22012" {
		t.Fatalf("division by zero: got %v (SQLSTATE %q), want 22012", err, db.SQLState(err))
	}
}

// TestPreparedAfterSchemaChange: when a table a prepared statement reads changes shape, the
// statement fails once with PostgreSQL's "cached plan must not change result type" and is then
// prepared again, so the connection keeps working.
func TestPreparedAfterSchemaChange(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 1, ApplicationName: "promogate-test-prepared"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.ExecContext(ctx, `CREATE TABLE prepared_shape (id bigint PRIMARY KEY, a text)`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = pool.ExecContext(ctx, `DROP TABLE prepared_shape`) }()
	if _, err := db.Prepared(pool).ExecContext(ctx, `INSERT INTO prepared_shape VALUES ($1, $2)`, 1, "one"); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM prepared_shape WHERE id = $1`
	count := func() (int, error) {
		rows, err := db.Prepared(pool).QueryContext(ctx, q, 1)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		return len(cols), err
	}
	if n, err := count(); err != nil || n != 2 {
		t.Fatalf("before: %d columns, %v", n, err)
	}
	if _, err := pool.ExecContext(ctx, `ALTER TABLE prepared_shape ADD COLUMN b int`); err != nil {
		t.Fatal(err)
	}
	n, err := count()
	if err == nil {
		if n != 3 {
			t.Fatalf("after the change: %d columns with the old statement", n)
		}
		t.Log("re-planned without an error")
		return // this server re-plans without complaint
	}
	if db.SQLState(err) != "0A000" {
		t.Fatalf("after the change: %v", err)
	}
	if n, err := count(); err != nil || n != 3 {
		t.Fatalf("after re-preparing: %d columns, %v", n, err)
	}
}

// TestBeginIsolationLevels: the one-statement BEGIN sets the level and access mode asked for.
func TestBeginIsolationLevels(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	cases := []struct {
		opts     *sql.TxOptions
		level    string
		readOnly string
	}{
		{nil, "read committed", "off"},
		{&sql.TxOptions{Isolation: sql.LevelReadCommitted}, "read committed", "off"},
		{&sql.TxOptions{Isolation: sql.LevelRepeatableRead}, "repeatable read", "off"},
		{&sql.TxOptions{Isolation: sql.LevelSerializable, ReadOnly: true}, "serializable", "on"},
		{&sql.TxOptions{ReadOnly: true}, "read committed", "on"},
	}
	for _, c := range cases {
		err := bdb.RunInTx(ctx, c.opts, func(ctx context.Context, tx bun.Tx) error {
			var level, ro string
			if err := tx.NewRaw("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')").Scan(ctx, &level, &ro); err != nil {
				return err
			}
			if level != c.level || ro != c.readOnly {
				t.Errorf("%+v: got %s, read only %s; want %s, %s", c.opts, level, ro, c.level, c.readOnly)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bdb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Fatal("linearizable: want an error")
	}
}

// TestPreparedNullableArrays: NullInt64s, Bools and Times keep their NULLs, values and instants
// (to the microsecond, whatever the zone).
func TestPreparedNullableArrays(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	seven := int64(-7)
	kyiv := time.FixedZone("Kyiv", 3*3600)
	t1 := time.Date(2021, 4, 30, 23, 59, 59, 999999000, kyiv)
	t2 := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	rows, err := db.Prepared(bdb).QueryContext(ctx, `SELECT i, b, t FROM unnest($1::bigint[], $2::boolean[], $3::timestamptz[]) AS u(i, b, t)`,
		db.NullInt64s{&seven, nil, &seven}, db.Bools{true, false, true}, db.Times{&t1, nil, &t2})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var i sql.NullInt64
		var b bool
		var at sql.NullTime
		if err := rows.Scan(&i, &b, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v/%d %v %v/%s", i.Valid, i.Int64, b, at.Valid, at.Time.UTC().Format(time.RFC3339Nano)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"true/-7 true true/" + t1.UTC().Format(time.RFC3339Nano),
		"false/0 false false/0001-01-01T00:00:00Z",
		"true/-7 true true/1999-12-31T00:00:00Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
