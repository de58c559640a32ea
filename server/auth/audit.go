package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeError  = "error"
	OutcomeDenied = "denied"
)

// AuditEntry is one audited operation: who, what, when, a digest of the input and the outcome.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID          int64     `bun:"id,pk,autoincrement"`
	At          time.Time `bun:"at"`
	Actor       string    `bun:"actor"`
	Role        string    `bun:"role"`
	Operation   string    `bun:"operation"`
	InputDigest string    `bun:"input_digest"`
	Outcome     string    `bun:"outcome"`
	ErrorCode   string    `bun:"error_code"`
}

// Digest returns the hex SHA-256 of v's canonical JSON: object keys sorted, no insignificant
// whitespace, no HTML escaping. Equal inputs give equal digests whatever their key order.
func Digest(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(canonicalize(v)); err != nil {
		buf.Reset()
		buf.WriteString(err.Error())
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// canonicalize turns v into plain maps, slices and scalars (encoding/json sorts map keys).
func canonicalize(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

// Record appends an entry to the audit log, stamping it with the current time when At is zero.
func (s *Store) Record(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.db.NewInsert().Model(&e).Exec(ctx)
	return err
}

// AuditFilter narrows an audit log listing; zero fields match everything.
type AuditFilter struct {
	Actor     string
	Operation string
	Outcome   string
	Since     *time.Time
	Until     *time.Time
}

// Audit returns up to limit entries matching f, newest first, starting below beforeID (0: from
// the newest), and whether more follow.
func (s *Store) Audit(ctx context.Context, f AuditFilter, beforeID int64, limit int) ([]AuditEntry, bool, error) {
	var out []AuditEntry
	q := s.db.NewSelect().Model(&out).Order("id DESC").Limit(limit + 1)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Operation != "" {
		q = q.Where("operation = ?", f.Operation)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if f.Since != nil {
		q = q.Where("at >= ?", *f.Since)
	}
	if f.Until != nil {
		q = q.Where("at < ?", *f.Until)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
