package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes the "db.transaction" span of each RunInTx attempt (a no-op unless tracing is on).
var tracer = otel.Tracer("github.com/promogate/promogate/db")

// MaxAttempts bounds how many times RunInTx runs a unit of work that keeps failing with a
// retryable error (serialization failure, deadlock, lost connection).
const MaxAttempts = 8

// RunInTx runs fn in a read-committed transaction and commits it. When fn or the commit fails
// with a retryable error (see Retryable), the transaction is rolled back and fn runs again, at
// most MaxAttempts times with a short jittered back-off. fn must therefore be safe to repeat: every
// write Promogate makes carries an idempotency key, so a retry after a commit whose
// acknowledgement was lost finds the first result instead of writing twice.
//
// Functions given to AfterCommit during an attempt run after that attempt commits, and not at
// all for attempts that roll back.
func RunInTx(ctx context.Context, d *DB, fn func(ctx context.Context, tx Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		hooks := &commitHooks{}
		tctx, span := tracer.Start(context.WithValue(ctx, commitHooksKey{}, hooks), "db.transaction",
			trace.WithAttributes(attribute.Int("db.attempt", attempt)))
		err = d.runInTx(tctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, fn)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		if err == nil {
			hooks.run()
		}
		if err == nil || !Retryable(err) || attempt >= MaxAttempts || ctx.Err() != nil {
			return err
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		backoff += time.Duration(rand.Int64N(int64(backoff) + 1))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

// ReadSnapshot runs fn once in a read-only transaction that sees one snapshot of the database
// (repeatable read), for checks and reports that must read several tables consistently.
func ReadSnapshot(ctx context.Context, d *DB, fn func(ctx context.Context, tx Tx) error) error {
	return d.runInTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
}

// runInTx runs fn in one transaction: BEGIN with opts (one statement), fn, COMMIT, or ROLLBACK
// when fn fails or panics.
func (d *DB) runInTx(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context, tx Tx) error) (err error) {
	conn, pc, err := d.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	btx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = btx.Rollback()
		}
	}()
	if err := fn(ctx, Tx{Tx: btx, conn: pc}); err != nil {
		return err
	}
	done = true
	return btx.Commit()
}

// AfterCommit runs fn once the transaction that ctx belongs to (see RunInTx) has committed, or
// at once when ctx belongs to none (the write it follows was its own transaction). Use it for
// what must reflect committed writes only, such as metrics.
func AfterCommit(ctx context.Context, fn func()) {
	if h, ok := ctx.Value(commitHooksKey{}).(*commitHooks); ok {
		h.mu.Lock()
		h.fns = append(h.fns, fn)
		h.mu.Unlock()
		return
	}
	fn()
}

type commitHooksKey struct{}

// commitHooks are the functions registered with AfterCommit during one attempt of RunInTx.
type commitHooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *commitHooks) run() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, fn := range h.fns {
		fn()
	}
}

// Retryable reports whether err is worth retrying the whole transaction for: a serialization
// failure, a deadlock, a connection that broke (including one terminated by the server
// mid-transaction), or an error that says so itself through a `Retryable() bool` method (a
// domain package uses that for an idempotency-key race lost to a concurrent writer).
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		code := pgErr.Code
		switch {
		case code == "40001", code == "40P01": // serialization_failure, deadlock_detected
			return true
		case code == "57P01", code == "57P02", code == "57P03": // admin shutdown, crash shutdown, cannot connect now
			return true
		case len(code) == 2+3 && code[:2] == "08": // connection exceptions
			return true
		case code == "25P02": // in failed transaction (after a lost statement)
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) { // nothing was sent: the connection was closed or broken before
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && !netErr.Timeout() {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}

// Constraint returns the name of the constraint a PostgreSQL integrity violation names, or "".
func Constraint(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && strings.HasPrefix(pgErr.Code, "23") { // integrity_constraint_violation
		return pgErr.ConstraintName
	}
	return ""
}

// SQLState returns the SQLSTATE code of a PostgreSQL error, or "".
func SQLState(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code
	}
	return ""
}

// OutageRetryAfter is the Retry-After header, in seconds, of an HTTP answer refused because the
// database is unavailable (see Unavailable).
const OutageRetryAfter = "5"

// Unavailable reports whether err means the database cannot be reached or takes no more
// connections right now (refused or broken connections, too many clients, a server shutting
// down or starting up), as opposed to a fault in the statement or the data. The GraphQL layer
// answers such errors with the retryable code UNAVAILABLE and HTTP 503.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		code := pgErr.Code
		switch {
		case code == "53300", code == "53400": // too_many_connections, configuration_limit_exceeded
			return true
		case code == "57P01", code == "57P02", code == "57P03": // admin shutdown, crash shutdown, cannot connect now
			return true
		case len(code) == 5 && code[:2] == "08": // connection exceptions
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}
