package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Options tunes the connection pool opened by Open.
type Options struct {
	// MaxOpenConns caps the pool; zero means 4 per CPU, at least 16.
	MaxOpenConns int
	// ApplicationName is reported to PostgreSQL (pg_stat_activity).
	ApplicationName string
	// OnStatement, when set, is called with the text of every statement the pool sends
	// (BEGIN and COMMIT included), before it is sent; tests count statements with it. It must
	// be safe for concurrent use.
	OnStatement func(sql string)
}

// Open connects to the PostgreSQL database at url (postgres://user@host:port/db?sslmode=disable)
// and checks that it answers. The caller closes the returned pool.
func Open(ctx context.Context, url string, opts Options) (*bun.DB, error) {
	if url == "" {
		return nil, fmt.Errorf("db: empty database URL")
	}
	connector := pgdriver.NewConnector(
		pgdriver.WithDSN(url),
		pgdriver.WithApplicationName(defaultString(opts.ApplicationName, "promogate")),
		pgdriver.WithTimeout(15*time.Second),
		pgdriver.WithReadTimeout(60*time.Second),
		pgdriver.WithWriteTimeout(15*time.Second),
	)
	sqldb := sql.OpenDB(cachingConnector{Connector: connector, observe: opts.OnStatement})
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 32
	}
	sqldb.SetMaxOpenConns(maxOpen)
	sqldb.SetMaxIdleConns(maxOpen)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	bdb := bun.NewDB(sqldb, pgdialect.New())
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := bdb.PingContext(pingCtx); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return bdb, nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Ready reports why the server is not ready to serve, or nil: the pool must hand out a working
// connection within a second, the server must accept a new connection (it refuses them when
// it is out of slots, while pooled ones still work), and every migration must be applied.
// url is the one the pool was opened with.
func Ready(ctx context.Context, bdb *bun.DB, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	poolCtx, cancelPool := context.WithTimeout(ctx, time.Second)
	defer cancelPool()
	if err := bdb.PingContext(poolCtx); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	conn, err := pgdriver.NewConnector(pgdriver.WithDSN(url), pgdriver.WithApplicationName("promogate-readyz"),
		pgdriver.WithTimeout(2*time.Second)).Connect(ctx)
	if err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	defer conn.Close()
	if err := conn.(driver.Pinger).Ping(ctx); err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	pending, err := PendingMigrations(ctx, bdb)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%d pending migrations: %v", len(pending), pending)
	}
	return nil
}
