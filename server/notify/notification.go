package notify

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Channels a notification may be sent on.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Notification statuses.
const (
	StatusPending   = "pending"   // waiting for its next attempt (or being attempted)
	StatusDelivered = "delivered" // the webhook answered 2xx
	StatusFailed    = "failed"    // refused by the webhook, or attempts exhausted
)

// Delivery outcomes, one per attempt.
const (
	OutcomeDelivered = "delivered" // 2xx
	OutcomeRetry     = "retry"     // 408, 429, 5xx, network error or timeout: tried again later
	OutcomeFailed    = "failed"    // any other answer, or the last attempt failed
)

// Limits on what Enqueue accepts.
const (
	MaxKeyLength       = 200
	MaxTemplateLength  = 200
	MaxRecipientLength = 320
	MaxParams          = 100
	MaxParamKeyLength  = 200
	MaxParamValueBytes = 10_000
)

// Notification is one message in the outbox. Params are the template's parameters.
// NextAttemptAt is when a pending notification is due, or until when a dispatcher's claim on it
// holds. Attempts counts the attempts started.
type Notification struct {
	bun.BaseModel `bun:"table:notifications"`

	ID            int64             `bun:"id,pk,autoincrement"`
	Key           string            `bun:"key"`
	MemberID      int64             `bun:"member_id"`
	CampaignID    *int64            `bun:"campaign_id"`
	EventID       *int64            `bun:"event_id"`
	Channel       string            `bun:"channel"`
	Template      string            `bun:"template"`
	Recipient     string            `bun:"recipient"`
	Params        map[string]string `bun:"params,type:jsonb"`
	Status        string            `bun:"status"`
	Attempts      int               `bun:"attempts"`
	NextAttemptAt time.Time         `bun:"next_attempt_at"`
	LastError     string            `bun:"last_error"`
	CreatedAt     time.Time         `bun:"created_at"`
	DeliveredAt   *time.Time        `bun:"delivered_at"`
}

// Delivery is one attempt to deliver a notification. StatusCode is nil when no HTTP response
// arrived (connection error, timeout); Error then says what happened.
type Delivery struct {
	bun.BaseModel `bun:"table:notification_deliveries"`

	ID             int64     `bun:"id,pk,autoincrement"`
	NotificationID int64     `bun:"notification_id"`
	Attempt        int       `bun:"attempt"`
	StartedAt      time.Time `bun:"started_at"`
	DurationMS     int       `bun:"duration_ms"`
	StatusCode     *int      `bun:"status_code"`
	Error          string    `bun:"error"`
	Outcome        string    `bun:"outcome"`
}

// Enqueue stores n as a pending notification, due at now, inside the caller's transaction idb,
// and returns the stored row. Only Key, MemberID, CampaignID, EventID, Channel, Template,
// Recipient and Params are read from n. Enqueueing a Key that is already stored writes nothing
// and returns the stored notification (whatever its content and status), so an event's effects
// may be applied again safely.
//
// Errors: ErrNoRecipient, ErrInvalidNotification (checked before anything is written), and
// ErrMemberNotFound, ErrCampaignNotFound, ErrEventNotFound (from the database, which then
// aborts the caller's transaction).
func Enqueue(ctx context.Context, idb bun.IDB, n Notification, now time.Time) (*Notification, error) {
	if err := validate(n); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	params := n.Params
	if params == nil {
		params = map[string]string{}
	}
	row := &Notification{
		Key: n.Key, MemberID: n.MemberID, CampaignID: n.CampaignID, EventID: n.EventID,
		Channel: n.Channel, Template: n.Template, Recipient: n.Recipient, Params: params,
		Status: StatusPending, NextAttemptAt: now, CreatedAt: now,
	}
	// ON CONFLICT DO NOTHING leaves the caller's transaction usable when the key exists; when a
	// concurrent transaction holds the same key uncommitted, the insert waits for it.
	res, err := idb.NewInsert().Model(row).On("CONFLICT (key) DO NOTHING").Returning("id").Exec(ctx)
	if err != nil {
		return nil, dbError("enqueue", err)
	}
	if affected, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("notify: enqueue: %w", err)
	} else if affected == 1 {
		return row, nil
	}
	existing := new(Notification)
	if err := idb.NewSelect().Model(existing).Where("key = ?", n.Key).Scan(ctx); err != nil {
		return nil, fmt.Errorf("notify: enqueue: read notification %q: %w", n.Key, err)
	}
	return existing, nil
}

func validate(n Notification) error {
	if n.Key == "" || len(n.Key) > MaxKeyLength || strings.IndexFunc(n.Key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return fmt.Errorf("%w: key must be 1 to %d printable ASCII characters without spaces, got %q", ErrInvalidNotification, MaxKeyLength, n.Key)
	}
	if n.MemberID <= 0 {
		return fmt.Errorf("%w: key %q: member id must be positive", ErrInvalidNotification, n.Key)
	}
	if n.Channel != ChannelSMS && n.Channel != ChannelEmail {
		return fmt.Errorf("%w: key %q: channel must be %q or %q, got %q", ErrInvalidNotification, n.Key, ChannelSMS, ChannelEmail, n.Channel)
	}
	if strings.TrimSpace(n.Template) == "" || len(n.Template) > MaxTemplateLength || !cleanText(n.Template) {
		return fmt.Errorf("%w: key %q: template must be 1 to %d bytes of text", ErrInvalidNotification, n.Key, MaxTemplateLength)
	}
	if strings.TrimSpace(n.Recipient) == "" {
		return fmt.Errorf("%w: key %q, channel %s: the effect named no recipient and the member has no %s",
			ErrNoRecipient, n.Key, n.Channel, map[string]string{ChannelSMS: "phone number", ChannelEmail: "e-mail address"}[n.Channel])
	}
	if len(n.Recipient) > MaxRecipientLength || !cleanText(n.Recipient) {
		return fmt.Errorf("%w: key %q: recipient must be at most %d bytes of text", ErrInvalidNotification, n.Key, MaxRecipientLength)
	}
	if len(n.Params) > MaxParams {
		return fmt.Errorf("%w: key %q: at most %d params, got %d", ErrInvalidNotification, n.Key, MaxParams, len(n.Params))
	}
	for k, v := range n.Params {
		if k == "" || len(k) > MaxParamKeyLength || !cleanText(k) {
			return fmt.Errorf("%w: key %q: param name %q must be 1 to %d bytes of text", ErrInvalidNotification, n.Key, k, MaxParamKeyLength)
		}
		if len(v) > MaxParamValueBytes || !cleanText(v) {
			return fmt.Errorf("%w: key %q: param %q must be at most %d bytes of text", ErrInvalidNotification, n.Key, k, MaxParamValueBytes)
		}
	}
	return nil
}

// cleanText reports whether s can be stored in PostgreSQL text and jsonb: valid UTF-8, no NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func dbError(op string, err error) error {
	switch db.Constraint(err) {
	case "notifications_member_fkey":
		return fmt.Errorf("notify: %s: %w", op, ErrMemberNotFound)
	case "notifications_campaign_fkey":
		return fmt.Errorf("notify: %s: %w", op, ErrCampaignNotFound)
	case "notifications_event_fkey":
		return fmt.Errorf("notify: %s: %w", op, ErrEventNotFound)
	}
	return fmt.Errorf("notify: %s: %w", op, err)
}

// Store reads notifications and their delivery log. It is safe for concurrent use.
type Store struct {
	db bun.IDB
}

// NewStore returns a store on bdb.
func NewStore(bdb *db.DB) *Store {
	return &Store{db: bdb}
}

// Default and largest page sizes of List.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// Get returns the notification with id. Errors: ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*Notification, error) {
	n := new(Notification)
	if err := s.db.NewSelect().Model(n).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrNotFound)
	}
	return n, nil
}

// List returns up to limit notifications of the member, newest first, with ids below beforeID
// (0 starts from the newest), and whether more follow. A limit of zero or less means
// DefaultListLimit; limits above MaxListLimit are lowered to it.
func (s *Store) List(ctx context.Context, memberID int64, beforeID int64, limit int) ([]Notification, bool, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	var ns []Notification
	q := s.db.NewSelect().Model(&ns).Where("member_id = ?", memberID)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.OrderExpr("id DESC").Limit(limit + 1).Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("notify: list: %w", err)
	}
	more := len(ns) > limit
	if more {
		ns = ns[:limit]
	}
	return ns, more, nil
}

// DeliveriesOf returns the delivery attempts of the given notifications in attempt order, keyed
// by notification id; a notification without attempts is absent.
func (s *Store) DeliveriesOf(ctx context.Context, ids []int64) (map[int64][]Delivery, error) {
	var ds []Delivery
	if err := s.db.NewSelect().Model(&ds).Where("notification_id IN (?)", bun.List(ids)).
		OrderExpr("notification_id, attempt, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("notify: deliveries: %w", err)
	}
	out := make(map[int64][]Delivery, len(ids))
	for _, d := range ds {
		out[d.NotificationID] = append(out[d.NotificationID], d)
	}
	return out, nil
}

// Deliveries returns the delivery log of a notification: one row per attempt, in attempt
// order. A notification never attempted (or unknown) has none.
func (s *Store) Deliveries(ctx context.Context, notificationID int64) ([]Delivery, error) {
	var ds []Delivery
	if err := s.db.NewSelect().Model(&ds).Where("notification_id = ?", notificationID).OrderExpr("attempt, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("notify: deliveries of %d: %w", notificationID, err)
	}
	return ds, nil
}
