package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// TestResolve: no row becomes the store's sentinel, which is ErrNotFound and no other
// sentinel; a broken connection stays what it is, never "not found".
func TestResolve(t *testing.T) {
	errMember, errOther := db.NotFound("member not found"), db.NotFound("member not found")
	if !errors.Is(errMember, db.ErrNotFound) || errors.Is(errMember, errOther) || errMember.Error() != "member not found" {
		t.Fatalf("NotFound: expected a distinct ErrNotFound named %q, got %v (is other: %v)", "member not found", errMember, errors.Is(errMember, errOther))
	}
	ctx := context.Background()
	bdb := dbtest.DB(t)
	var n int
	err := db.Resolve(bdb.QueryRowContext(ctx, "SELECT 1 WHERE false").Scan(&n), errMember)
	if err != errMember { //nolint:errorlint // the sentinel itself, not a wrapping
		t.Errorf("no row: expected %v, got %v", errMember, err)
	}
	if err := db.Resolve(bdb.QueryRowContext(ctx, "SELECT 1").Scan(&n), errMember); err != nil || n != 1 {
		t.Errorf("a row: expected 1 and no error, got %d, %v", n, err)
	}
	if err := db.Resolve(fmt.Errorf("wrapped: %w", sql.ErrNoRows), errMember); err != errMember { //nolint:errorlint // the sentinel itself
		t.Errorf("wrapped no row: expected %v, got %v", errMember, err)
	}

	// An outage: the pool's connections are gone.
	conn, err := bdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.ExecContext(ctx, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid)); err != nil {
		t.Fatal(err)
	}
	err = db.Resolve(conn.QueryRowContext(ctx, "SELECT 1 WHERE false").Scan(&n), errMember)
	if err == nil || errors.Is(err, db.ErrNotFound) || !db.Retryable(err) {
		t.Errorf("lost connection: expected a retryable error that is not ErrNotFound, got %v", err)
	}
}
