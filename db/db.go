package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Options tunes the connection pool opened by Open.
type Options struct {
	// MaxOpenConns caps the pool; zero means 32.
	MaxOpenConns int
	// ApplicationName is reported to PostgreSQL (pg_stat_activity).
	ApplicationName string
	// OnStatement, when set, is called with the text of every statement the pool sends
	// (BEGIN and COMMIT included), before it is sent; tests count statements with it. It must
	// be safe for concurrent use.
	OnStatement func(sql string)
}

// DB is Promogate's pool of PostgreSQL connections, reached two ways (see docs/database.md):
//
//   - as a *bun.DB (embedded), over pgx's database/sql driver: migrations and plain CRUD with
//     bun's query builder on the models;
//   - through PG, as pgx itself: every other statement, written as plain SQL with $n
//     parameters, prepared once per connection by pgx's statement cache, with native arrays,
//     pgx.Batch and COPY.
//
// Both share one pgxpool, and inside RunInTx one connection and one transaction.
type DB struct {
	*bun.DB
	pool *pgxpool.Pool
}

// Close closes the pool.
func (d *DB) Close() error {
	err := d.DB.Close()
	d.pool.Close()
	return err
}

// Open connects to the PostgreSQL database at url (postgres://user@host:port/db?sslmode=disable)
// and checks that it answers. The caller closes the returned pool.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if url == "" {
		return nil, fmt.Errorf("db: empty database URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	cfg.MaxConns = int32(opts.MaxOpenConns)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.ConnConfig.ConnectTimeout = 15 * time.Second
	cfg.ConnConfig.RuntimeParams["application_name"] = defaultString(opts.ApplicationName, "promogate")
	// Statements with parameters are prepared once per connection and kept in pgx's cache
	// (512 per connection by default): Promogate's are a few dozen constant texts.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	if opts.OnStatement != nil {
		cfg.ConnConfig.Tracer = statementTracer(opts.OnStatement)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	sqldb := sql.OpenDB(bunConnector{stdlib.GetPoolConnector(pool)})
	// The connections are pgxpool's: database/sql takes one for each use and gives it back.
	sqldb.SetMaxIdleConns(0)
	d := &DB{DB: bun.NewDB(sqldb, dialect), pool: pool}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return d, nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dialect is bun's PostgreSQL dialect, with the schema of every model (see Collect).
var dialect = pgdialect.New()

// bunConnector hands database/sql (and so bun) pgx connections on which a query without
// arguments goes in the simple protocol, in one round trip and not prepared. bun writes every
// argument into the text of its queries, so each text is new to PostgreSQL: preparing and
// caching it (pgx's default for a query) would cost a round trip more and evict the prepared
// statements that repeat.
type bunConnector struct{ driver.Connector }

func (c bunConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return bunConn{cn.(*stdlib.Conn)}, nil
}

type bunConn struct{ *stdlib.Conn }

var simpleProtocol = []driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeSimpleProtocol}}

func (c bunConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		args = simpleProtocol
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// statementTracer calls f with each statement's text (see Options.OnStatement).
type statementTracer func(sql string)

func (f statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	f(data.SQL)
	return ctx
}

func (statementTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (f statementTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (f statementTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	f(data.SQL)
}

func (statementTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (f statementTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	f("COPY " + data.TableName.Sanitize())
	return ctx
}

func (statementTracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// Ready reports why the server is not ready to serve, or nil: the pool must hand out a working
// connection within a second, the server must accept a new connection (it refuses them when
// it is out of slots, while pooled ones still work), and every migration must be applied.
// url is the one the pool was opened with.
func Ready(ctx context.Context, d *DB, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	poolCtx, cancelPool := context.WithTimeout(ctx, time.Second)
	defer cancelPool()
	if err := d.pool.Ping(poolCtx); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "promogate-readyz"
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	pending, err := PendingMigrations(ctx, d)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%d pending migrations: %v", len(pending), pending)
	}
	return nil
}

// PoolStat returns the figures of the pool of connections that bun and pgx share.
func (d *DB) PoolStat() *pgxpool.Stat { return d.pool.Stat() }
