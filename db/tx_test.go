package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

type retryableError struct{ retry bool }

func (e retryableError) Error() string   { return fmt.Sprintf("retryable=%v", e.retry) }
func (e retryableError) Retryable() bool { return e.retry }

// raise returns a statement that fails with the given SQLSTATE.
func raise(code string) string {
	return fmt.Sprintf("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '%s'; END $$", code)
}

// TestRunInTx: retryable failures (serialization failure, deadlock, a connection terminated
// mid-transaction, an error saying so itself) rerun the unit of work, at most MaxAttempts times,
// and only the attempt that commits leaves anything behind; other errors return at once.
func TestRunInTx(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	if _, err := bdb.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS run_in_tx_marks (label text NOT NULL, attempt int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// fail makes attempt n fail inside the transaction, or returns nil to let it commit.
		fail     func(ctx context.Context, tx db.Tx, n int) error
		attempts int
		state    string // SQLSTATE of the error returned; "" with err == nil
		ok       bool
	}{
		{"serialization failure twice", func(ctx context.Context, tx db.Tx, n int) error {
			if n <= 2 {
				_, err := tx.ExecContext(ctx, raise("40001"))
				return err
			}
			return nil
		}, 3, "", true},
		{"deadlock every time", func(ctx context.Context, tx db.Tx, n int) error {
			_, err := tx.ExecContext(ctx, raise("40P01"))
			return err
		}, db.MaxAttempts, "40P01", false},
		{"connection terminated mid-transaction", func(ctx context.Context, tx db.Tx, n int) error {
			if n == 1 {
				_, err := tx.ExecContext(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
				return err
			}
			return nil
		}, 2, "", true},
		{"error that asks for a retry", func(ctx context.Context, tx db.Tx, n int) error {
			if n == 1 {
				return fmt.Errorf("wrapped: %w", retryableError{true})
			}
			return nil
		}, 2, "", true},
		{"error that refuses a retry", func(ctx context.Context, tx db.Tx, n int) error {
			return retryableError{false}
		}, 1, "", false},
		{"unique violation", func(ctx context.Context, tx db.Tx, n int) error {
			_, err := tx.ExecContext(ctx, raise("23505"))
			return err
		}, 1, "23505", false},
		{"plain error", func(ctx context.Context, tx db.Tx, n int) error {
			return errors.New("domain")
		}, 1, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attempts := 0
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				attempts++
				if _, err := tx.ExecContext(ctx, "INSERT INTO run_in_tx_marks VALUES (?, ?)", tc.name, attempts); err != nil {
					return err
				}
				return tc.fail(ctx, tx, attempts)
			})
			if (err == nil) != tc.ok || db.SQLState(err) != tc.state {
				t.Errorf("result: expected ok=%v SQLSTATE %q, got %v", tc.ok, tc.state, err)
			}
			if attempts != tc.attempts {
				t.Errorf("attempts: expected %d, got %d", tc.attempts, attempts)
			}
			var marks []int
			if err := bdb.NewRaw("SELECT attempt FROM run_in_tx_marks WHERE label = ?", tc.name).Scan(ctx, &marks); err != nil {
				t.Fatal(err)
			}
			want := []int{}
			if tc.ok {
				want = []int{tc.attempts}
			}
			if fmt.Sprint(marks) != fmt.Sprint(want) {
				t.Errorf("rows left by the attempts: expected %v, got %v", want, marks)
			}
			if _, err := bdb.ExecContext(ctx, "DELETE FROM run_in_tx_marks WHERE label = ?", tc.name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRetryable classifies errors that do not come from a live server.
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EOF", io.EOF, true},
		{"wrapped unexpected EOF", fmt.Errorf("ledger: lock: %w", io.ErrUnexpectedEOF), true},
		{"closed network connection", net.ErrClosed, true},
		{"connection done", sql.ErrConnDone, true},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"no rows", sql.ErrNoRows, false},
		{"context canceled", context.Canceled, false},
		{"deadline exceeded", context.DeadlineExceeded, false},
		{"plain", errors.New("insufficient points"), false},
		{"asks for a retry", fmt.Errorf("x: %w", retryableError{true}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v): expected %v, got %v", tc.err, tc.want, got)
			}
		})
	}
}
