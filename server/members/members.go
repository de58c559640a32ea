// Package members stores member profiles: the people or companies that hold points, identified
// by Promogate's id and by the caller's external reference.
package members

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Errors returned by the store.
var (
	// ErrNotFound means no member matches.
	ErrNotFound = db.NotFound("member not found")
	// ErrInvalid means a field of the input is not acceptable; the message names it.
	ErrInvalid = errors.New("invalid member")
)

// Member is a member's profile.
type Member struct {
	bun.BaseModel `bun:"table:members"`

	ID          int64          `bun:"id,pk,autoincrement"`
	ExternalRef string         `bun:"external_ref"`
	Name        string         `bun:"name"`
	Email       string         `bun:"email"`
	Phone       string         `bun:"phone"`
	BirthDate   *time.Time     `bun:"birth_date,type:date"`
	Region      string         `bun:"region"`
	Status      string         `bun:"status"`
	Attributes  map[string]any `bun:"attributes,type:jsonb"`
	CreatedAt   time.Time      `bun:"created_at"`
	UpdatedAt   time.Time      `bun:"updated_at"`
}

// UpsertInput creates a member or updates the one with the same external reference. Nil fields
// are left as they are on update (and take their defaults on create).
type UpsertInput struct {
	ExternalRef string
	Name        *string
	Email       *string
	Phone       *string
	BirthDate   *time.Time
	Region      *string
	Status      *string
	// Attributes are merged into the stored ones (top-level keys replace; a null value deletes
	// the key).
	Attributes map[string]any
}

// Statuses a member may have.
var statuses = map[string]bool{"active": true, "blocked": true, "closed": true}

// Store reads and writes members.
type Store struct {
	db  bun.IDB
	now func() time.Time
}

// NewStore returns a store on idb that stamps rows with now.
func NewStore(idb bun.IDB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: idb, now: now}
}

// Upsert creates or updates the member with in.ExternalRef in one statement, so concurrent
// upserts of one reference yield one member. It returns the stored member and whether it was
// created. Errors: ErrInvalid.
func (s *Store) Upsert(ctx context.Context, in UpsertInput) (*Member, bool, error) {
	if err := validate(in); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	attrs := in.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	patch, err := json.Marshal(attrs)
	if err != nil {
		return nil, false, fmt.Errorf("%w: attributes: %v", ErrInvalid, err)
	}
	var m Member
	var inserted bool
	var stored []byte
	err = db.PG(s.db).QueryRow(ctx, `
		INSERT INTO members AS m (external_ref, name, email, phone, birth_date, region, status, attributes, created_at, updated_at)
		VALUES ($1, coalesce($2, ''), coalesce($3, ''), coalesce($4, ''), $5, coalesce($6, ''), coalesce($7, 'active'),
		        jsonb_strip_nulls($8::jsonb), $9, $9)
		ON CONFLICT (external_ref) DO UPDATE SET
			name = coalesce($2, m.name),
			email = coalesce($3, m.email),
			phone = coalesce($4, m.phone),
			birth_date = coalesce($5, m.birth_date),
			region = coalesce($6, m.region),
			status = coalesce($7, m.status),
			attributes = jsonb_strip_nulls(m.attributes || $8::jsonb),
			updated_at = $9
		RETURNING `+memberColumns+`, (xmax = 0) AS inserted`,
		in.ExternalRef, in.Name, in.Email, in.Phone, in.BirthDate, in.Region, in.Status, string(patch), now,
	).Scan(&m.ID, &m.ExternalRef, &m.Name, &m.Email, &m.Phone, nullDate{&m.BirthDate}, &m.Region, &m.Status,
		&stored, &m.CreatedAt, &m.UpdatedAt, &inserted)
	if err != nil {
		return nil, false, fmt.Errorf("members: upsert: %w", err)
	}
	if err := json.Unmarshal(stored, &m.Attributes); err != nil {
		return nil, false, fmt.Errorf("members: upsert: attributes: %w", err)
	}
	return &m, inserted, nil
}

// memberColumns are the columns of a Member, in the order scanMember reads them.
const memberColumns = `id, external_ref, name, email, phone, birth_date, region, status, attributes, created_at, updated_at`

// Statements of the reads by key (on pgx, prepared once per connection).
const (
	memberByID          = `SELECT ` + memberColumns + ` FROM members WHERE id = $1`
	memberByExternalRef = `SELECT ` + memberColumns + ` FROM members WHERE external_ref = $1`
	membersByIDs        = `SELECT ` + memberColumns + ` FROM members WHERE id = ANY($1::bigint[])`
)

// scanMember reads one row of memberColumns.
func scanMember(rows pgx.Rows, m *Member) error {
	var attrs []byte
	if err := rows.Scan(&m.ID, &m.ExternalRef, &m.Name, &m.Email, &m.Phone, nullDate{&m.BirthDate}, &m.Region, &m.Status,
		&attrs, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return err
	}
	m.Attributes = nil
	if attrs != nil {
		return json.Unmarshal(attrs, &m.Attributes)
	}
	return nil
}

// nullDate scans a nullable PostgreSQL date into *to, at midnight UTC of that day. Drivers hand
// a date to database/sql in different forms (bun's pgdriver as the text "YYYY-MM-DD", pgx as a
// time.Time); both are accepted.
type nullDate struct{ to **time.Time }

// dateLayout is PostgreSQL's text form of a date (DateStyle ISO).
const dateLayout = "2006-01-02"

// Scan implements sql.Scanner.
func (d nullDate) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		*d.to = nil
		return nil
	case time.Time:
		t = time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("members: cannot scan %T into a date", src)
	}
	*d.to = &t
	return nil
}

func (d nullDate) parse(s string) error {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return fmt.Errorf("members: date %q: %w", s, err)
	}
	*d.to = &t
	return nil
}

// Get returns the member with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*Member, error) {
	return s.one(ctx, memberByID, id)
}

// GetByExternalRef returns the member with the given external reference, or ErrNotFound.
func (s *Store) GetByExternalRef(ctx context.Context, ref string) (*Member, error) {
	return s.one(ctx, memberByExternalRef, ref)
}

func (s *Store) one(ctx context.Context, query string, arg any) (*Member, error) {
	ms, err := s.query(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("members: get: %w", err)
	}
	if len(ms) == 0 {
		return nil, ErrNotFound
	}
	return &ms[0], nil
}

// GetMany returns the members with the given ids, keyed by id; missing ids are absent.
func (s *Store) GetMany(ctx context.Context, ids []int64) (map[int64]*Member, error) {
	ms, err := s.query(ctx, membersByIDs, ids)
	if err != nil {
		return nil, fmt.Errorf("members: get many: %w", err)
	}
	out := make(map[int64]*Member, len(ms))
	for i := range ms {
		out[ms[i].ID] = &ms[i]
	}
	return out, nil
}

// QueueGetMany queues GetMany's statement on b, so that a caller reads it together with other
// statements in one round trip; once b's results are read (pgx.BatchResults.Close, which
// returns the first error), out holds the members by id.
func (s *Store) QueueGetMany(b *pgx.Batch, ids []int64, out map[int64]*Member) {
	b.Queue(membersByIDs, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			m := &Member{}
			if err := scanMember(rows, m); err != nil {
				return fmt.Errorf("members: get many: %w", err)
			}
			out[m.ID] = m
		}
		return rows.Err()
	})
}

// query runs one of the prepared reads.
func (s *Store) query(ctx context.Context, query string, arg any) ([]Member, error) {
	rows, err := db.PG(s.db).Query(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []Member
	for rows.Next() {
		ms = append(ms, Member{})
		if err := scanMember(rows, &ms[len(ms)-1]); err != nil {
			return nil, err
		}
	}
	return ms, rows.Err()
}

// IDsByExternalRef returns the ids of the members with the given external references, keyed
// by reference; unknown references are absent.
func (s *Store) IDsByExternalRef(ctx context.Context, refs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	rows, err := db.PG(s.db).Query(ctx, `SELECT id, external_ref FROM members WHERE external_ref = ANY($1::text[])`,
		refs)
	if err != nil {
		return nil, fmt.Errorf("members: look up external refs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ref string
		if err := rows.Scan(&id, &ref); err != nil {
			return nil, fmt.Errorf("members: look up external refs: %w", err)
		}
		out[ref] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members: look up external refs: %w", err)
	}
	return out, nil
}

// Filter narrows a member listing.
type Filter struct {
	// Search matches a case-insensitive substring of external ref, name, email or phone.
	Search string
	Region string
	Status string
}

// List returns up to limit members with ids above afterID, in id order, and whether more
// follow.
func (s *Store) List(ctx context.Context, f Filter, afterID int64, limit int) ([]Member, bool, error) {
	var ms []Member
	q := s.db.NewSelect().Model(&ms).Where("id > ?", afterID).OrderExpr("id ASC").Limit(limit + 1)
	if f.Search != "" {
		like := "%" + escapeLike(f.Search) + "%"
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("external_ref ILIKE ?", like).WhereOr("name ILIKE ?", like).
				WhereOr("email ILIKE ?", like).WhereOr("phone ILIKE ?", like)
		})
	}
	if f.Region != "" {
		q = q.Where("region = ?", f.Region)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("members: list: %w", err)
	}
	more := len(ms) > limit
	if more {
		ms = ms[:limit]
	}
	return ms, more, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func validate(in UpsertInput) error {
	if strings.TrimSpace(in.ExternalRef) == "" || len(in.ExternalRef) > 200 {
		return fmt.Errorf("%w: externalRef must be 1 to 200 bytes", ErrInvalid)
	}
	if in.Email != nil && *in.Email != "" {
		if _, err := mail.ParseAddress(*in.Email); err != nil {
			return fmt.Errorf("%w: email %q is not an e-mail address", ErrInvalid, *in.Email)
		}
	}
	if in.Status != nil && !statuses[*in.Status] {
		return fmt.Errorf("%w: status must be one of active, blocked, closed", ErrInvalid)
	}
	for _, f := range []*string{in.Name, in.Phone, in.Region} {
		if f != nil && len(*f) > 500 {
			return fmt.Errorf("%w: text fields are limited to 500 bytes", ErrInvalid)
		}
	}
	return nil
}
