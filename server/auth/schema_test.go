package auth_test

import (
	"context"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// TestAuthTablesConstraints: the migration's checks refuse what the stores never write — a
// prefix that is not 16 hex digits, a hash that is not a SHA-256, an unknown role or none, a
// duplicate prefix, an audit outcome or digest of another form.
func TestAuthTablesConstraints(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	const insertKey = `INSERT INTO api_keys (name, prefix, hash, roles, created_at, created_by)
		VALUES (?, ?, decode(?, 'hex'), ?::text[], now(), 'test')`
	const insertAudit = `INSERT INTO audit_log (at, actor, role, operation, input_digest, outcome)
		VALUES (now(), 'a', 'admin', 'op', ?, ?)`
	sha := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if _, err := bdb.ExecContext(ctx, insertKey, "ok", "00000000000000aa", sha, "{admin}"); err != nil {
		t.Fatalf("a valid key: %v", err)
	}
	for _, c := range []struct {
		name       string
		query      string
		args       []any
		constraint string
	}{
		{"short prefix", insertKey, []any{"x", "abc", sha, "{admin}"}, "api_keys_prefix_format"},
		{"upper-case prefix", insertKey, []any{"x", "00000000000000AB", sha, "{admin}"}, "api_keys_prefix_format"},
		{"hash not SHA-256", insertKey, []any{"x", "00000000000000ab", "abcd", "{admin}"}, "api_keys_hash_length"},
		{"no role", insertKey, []any{"x", "00000000000000ab", sha, "{}"}, "api_keys_roles_valid"},
		{"member role", insertKey, []any{"x", "00000000000000ab", sha, "{member}"}, "api_keys_roles_valid"},
		{"empty name", insertKey, []any{"", "00000000000000ab", sha, "{admin}"}, "api_keys_name_length"},
		{"duplicate prefix", insertKey, []any{"x", "00000000000000aa", sha, "{admin}"}, "api_keys_prefix_key"},
		{"unknown outcome", insertAudit, []any{sha, "maybe"}, "audit_log_outcome"},
		{"digest not hex SHA-256", insertAudit, []any{"abc", "ok"}, "audit_log_digest_format"},
	} {
		_, err := bdb.ExecContext(ctx, c.query, c.args...)
		if got := db.Constraint(err); got != c.constraint {
			t.Errorf("%s: expected constraint %s, got %q (%v)", c.name, c.constraint, got, err)
		}
	}
}
