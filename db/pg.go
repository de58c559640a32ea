package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// Querier runs plain SQL with $n parameters on pgx: the pool's (*DB) or a transaction's
// connection (Tx). Statements with parameters are prepared once per connection (pgx's
// statement cache), so their text must be constant: pass a list as one array parameter
// (`= ANY($1::bigint[])`, `unnest($1::bigint[], $2::text[])`), never as an IN list whose length
// varies.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
}

// PG returns the pgx side of idb: a *DB's pool, or a Tx's connection. Stores take a bun.IDB so
// that one method runs on the pool or inside a transaction (RunInTx); PG panics on anything
// else (a transaction that RunInTx did not start).
func PG(idb bun.IDB) Querier {
	switch v := idb.(type) {
	case *DB:
		return v.pool
	case Tx:
		return v.conn
	case *Tx:
		return v.conn
	}
	panic(fmt.Sprintf("db: PG of %T (use a *db.DB or a db.Tx from db.RunInTx)", idb))
}

// Tx is a transaction begun by RunInTx: bun's (embedded, for the query builder) and pgx's (PG)
// on the same connection.
type Tx struct {
	bun.Tx
	// conn is the pgx connection under the database/sql connection the transaction runs on.
	// database/sql lets only the transaction's goroutine use that connection until RunInTx
	// gives it back, so using conn meanwhile is safe (and only then).
	conn *pgx.Conn
	// end gives the connection back after Commit or Rollback of a transaction from Begin.
	end func()
}

// Begin starts a read-committed transaction that the caller ends with Commit or Rollback, which
// also give its connection back to the pool. Prefer RunInTx, which retries and always ends it.
func (d *DB) Begin(ctx context.Context) (Tx, error) {
	conn, pc, err := d.conn(ctx)
	if err != nil {
		return Tx{}, err
	}
	btx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		conn.Close()
		return Tx{}, err
	}
	return Tx{Tx: btx, conn: pc, end: func() { conn.Close() }}, nil
}

// Commit commits the transaction (see Begin).
func (t Tx) Commit() error {
	err := t.Tx.Commit()
	if t.end != nil {
		t.end()
	}
	return err
}

// Rollback rolls the transaction back (see Begin); after Commit it does nothing.
func (t Tx) Rollback() error {
	err := t.Tx.Rollback()
	if t.end != nil {
		t.end()
	}
	return err
}

// conn takes a connection from the pool for database/sql and returns it with the pgx connection
// under it.
func (d *DB) conn(ctx context.Context) (bun.Conn, *pgx.Conn, error) {
	conn, err := d.Conn(ctx)
	if err != nil {
		return bun.Conn{}, nil, err
	}
	var pc *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		pc = dc.(bunConn).Conn.Conn()
		return nil
	}); err != nil {
		conn.Close()
		return bun.Conn{}, nil, err
	}
	return conn, pc, nil
}
