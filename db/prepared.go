package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// maxPreparedPerConn bounds the statements one connection keeps prepared. Promogate's prepared
// statements are constants, a few dozen in all; the bound only protects PostgreSQL's memory from
// a caller that builds statement texts at run time.
const maxPreparedPerConn = 256

// Runner runs SQL whose arguments travel as parameters ($1, $2, …) of a statement that is
// prepared once per connection and then only bound and executed (see Prepared).
type Runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Prepared returns the database/sql handle under idb (a *bun.DB, bun.Tx or bun.Conn from Open).
//
// bun formats every argument into the query text, so PostgreSQL parses and plans each of its
// statements afresh. On the handle Prepared returns, a query with arguments uses PostgreSQL's
// extended protocol instead: the connection prepares the text the first time it sees it and
// afterwards sends only Bind and Execute, with the arguments as text parameters. Hot paths use
// it; the text must use $n placeholders (not bun's ?), and must not vary with the data: pass a
// list as one array parameter (Int64s, Strings) with `= ANY($1::bigint[])` or unnest, not as
// an IN list.
//
// Arguments are what database/sql accepts (int64 and the other integers, string, bool,
// float64, time.Time, nil, driver.Valuer). A []byte goes as bytea; pass JSON as a string.
func Prepared(idb bun.IDB) Runner {
	switch v := idb.(type) {
	case bun.Tx:
		return v.Tx
	case *bun.Tx:
		return v.Tx
	case *bun.DB:
		return v.DB
	case bun.Conn:
		return v.Conn
	case *bun.Conn:
		return v.Conn
	}
	panic(fmt.Sprintf("db: Prepared of %T", idb))
}

// Int64s is a bigint[] parameter for Prepared statements.
type Int64s []int64

// Value implements driver.Valuer: the array's text form, {1,2,3}.
func (a Int64s) Value() (driver.Value, error) {
	return arrayText(len(a), 8, func(b []byte, i int) []byte { return strconv.AppendInt(b, a[i], 10) }), nil
}

// NullInt64s is a bigint[] parameter for Prepared statements whose nil elements are NULL.
type NullInt64s []*int64

// Value implements driver.Valuer: the array's text form, {1,NULL,3}.
func (a NullInt64s) Value() (driver.Value, error) {
	return arrayText(len(a), 8, func(b []byte, i int) []byte {
		if a[i] == nil {
			return append(b, "NULL"...)
		}
		return strconv.AppendInt(b, *a[i], 10)
	}), nil
}

// Bools is a boolean[] parameter for Prepared statements.
type Bools []bool

// Value implements driver.Valuer: the array's text form, {t,f}.
func (a Bools) Value() (driver.Value, error) {
	return arrayText(len(a), 2, func(b []byte, i int) []byte {
		if a[i] {
			return append(b, 't')
		}
		return append(b, 'f')
	}), nil
}

// Times is a timestamptz[] parameter for Prepared statements whose nil elements are NULL.
type Times []*time.Time

// Value implements driver.Valuer: the array's text form, each instant with its offset to the
// microsecond (PostgreSQL's precision).
func (a Times) Value() (driver.Value, error) {
	return arrayText(len(a), 36, func(b []byte, i int) []byte {
		if a[i] == nil {
			return append(b, "NULL"...)
		}
		b = append(b, '"')
		b = a[i].AppendFormat(b, "2006-01-02 15:04:05.999999Z07:00")
		return append(b, '"')
	}), nil
}

// Strings is a text[] parameter for Prepared statements.
type Strings []string

// Value implements driver.Valuer: the array's text form with every element quoted.
func (a Strings) Value() (driver.Value, error) {
	return arrayText(len(a), 16, func(b []byte, i int) []byte {
		b = append(b, '"')
		for j := 0; j < len(a[i]); j++ {
			if c := a[i][j]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, a[i][j])
		}
		return append(b, '"')
	}), nil
}

// arrayText is the text form of an array of n elements, {e0,e1,…}, each appended by elem.
func arrayText(n, sizeHint int, elem func(b []byte, i int) []byte) string {
	b := make([]byte, 0, 2+n*sizeHint)
	b = append(b, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, i)
	}
	return string(append(b, '}'))
}

// cachingConnector hands out connections that keep the statements they were asked to run with
// arguments prepared (see Prepared).
type cachingConnector struct {
	driver.Connector
	observe func(string)
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := cn.(*pgdriver.Conn)
	if !ok {
		cn.Close()
		return nil, fmt.Errorf("db: unexpected driver connection %T", cn)
	}
	return &cachingConn{Conn: pc, stmts: make(map[string]driver.Stmt), observe: c.observe}, nil
}

// cachingConn is a pgdriver connection with a per-connection cache of prepared statements.
// database/sql uses a connection from one goroutine at a time, so the map needs no lock.
type cachingConn struct {
	*pgdriver.Conn
	stmts   map[string]driver.Stmt
	observe func(string)
}

func (c *cachingConn) sent(query string) {
	if c.observe != nil {
		c.observe(query)
	}
}

var (
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

func (c *cachingConn) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxPreparedPerConn {
		for q, st := range c.stmts {
			st.Close()
			delete(c.stmts, q)
		}
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// forget drops a prepared statement PostgreSQL no longer accepts (its plan's result type changed
// after a schema change, or the statement is gone), so that the next call prepares it again.
func (c *cachingConn) forget(query string, err error) {
	switch SQLState(err) {
	case "0A000", "26000": // feature_not_supported (cached plan must not change result type), invalid_sql_statement_name
		delete(c.stmts, query)
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.sent(query)
	if len(args) == 0 {
		return c.Conn.QueryContext(ctx, query, nil)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return rows, err
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.sent(query)
	if len(args) == 0 {
		return c.Conn.ExecContext(ctx, query, nil)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return res, err
}

// BeginTx starts a transaction with one statement. pgdriver sends "BEGIN; SET TRANSACTION
// ISOLATION LEVEL …" for an explicit level, two statements for PostgreSQL to parse on every
// transaction; RunInTx always names its level.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var level string
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		level = " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		level = " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead:
		level = " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		level = " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, fmt.Errorf("db: unsupported transaction isolation %s", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		level += " READ ONLY"
	}
	c.sent("BEGIN" + level)
	if _, err := c.Conn.ExecContext(ctx, "BEGIN"+level, nil); err != nil {
		return nil, err
	}
	return connTx{c}, nil
}

// connTx ends the transaction cachingConn.BeginTx started.
type connTx struct{ c *cachingConn }

func (t connTx) Commit() error {
	t.c.sent("COMMIT")
	_, err := t.c.Conn.ExecContext(context.Background(), "COMMIT", nil)
	return err
}

func (t connTx) Rollback() error {
	t.c.sent("ROLLBACK")
	_, err := t.c.Conn.ExecContext(context.Background(), "ROLLBACK", nil)
	return err
}
