// Package benefits stores what members receive from campaigns besides points — discounts,
// add-on services, physical gifts, SMS packages, promo codes — each valid over a period, and
// members' status tiers. Grants are idempotent per (member, campaign, key); nothing is deleted:
// a benefit ends with a reason.
package benefits

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Errors returned by the store.
var (
	// ErrNotFound means the member has no such benefit in that campaign.
	ErrNotFound = errors.New("benefit not found")
	// ErrInvalid means a grant is malformed; the message says how.
	ErrInvalid = errors.New("invalid benefit")
)

// Statuses of a benefit.
const (
	Active    = "active"    // in force (within its period)
	Available = "available" // granted but waiting for the member to switch it on
	Ended     = "ended"
)

// Kinds lists the benefit kinds the core stores.
var Kinds = map[string]bool{"discount": true, "addon": true, "gift": true, "sms_package": true, "promo_code": true, "reward": true}

// Benefit is a stored benefit.
type Benefit struct {
	bun.BaseModel `bun:"table:benefits"`

	ID          int64      `bun:"id,pk,autoincrement"`
	MemberID    int64      `bun:"member_id"`
	CampaignID  int64      `bun:"campaign_id"`
	Key         string     `bun:"key"`
	Kind        string     `bun:"kind"`
	Title       string     `bun:"title"`
	Percent     int        `bun:"percent"`
	Scope       string     `bun:"scope"`
	Exclusions  []string   `bun:"exclusions,array"`
	Quantity    int64      `bun:"quantity"`
	Recipient   string     `bun:"recipient"`
	Code        string     `bun:"code"`
	ValidFrom   *time.Time `bun:"valid_from"`
	ValidUntil  *time.Time `bun:"valid_until"`
	Status      string     `bun:"status"`
	Fulfillment string     `bun:"fulfillment"`
	// FulfillmentChangedAt, FulfillmentChangedBy and FulfillmentNote record the last change of
	// a gift's fulfilment status (SetFulfillment): when, by whom (an audit actor) and why.
	FulfillmentChangedAt *time.Time     `bun:"fulfillment_changed_at"`
	FulfillmentChangedBy string         `bun:"fulfillment_changed_by"`
	FulfillmentNote      string         `bun:"fulfillment_note"`
	EndReason            string         `bun:"end_reason"`
	EndedAt              *time.Time     `bun:"ended_at"`
	Attributes           map[string]any `bun:"attributes,type:jsonb"`
	EventID              *int64         `bun:"event_id"`
	CreatedAt            time.Time      `bun:"created_at"`
	UpdatedAt            time.Time      `bun:"updated_at"`
}

// InForce reports whether the benefit applies at t. ValidUntil is inclusive to the second: a
// benefit valid until 23:59:59 applies until 00:00:00.
func (b *Benefit) InForce(t time.Time) bool {
	if b.Status != Active {
		return false
	}
	if b.ValidFrom != nil && t.Before(*b.ValidFrom) {
		return false
	}
	return b.ValidUntil == nil || t.Before(b.ValidUntil.Add(time.Second))
}

// Tier is a member's status in a programme.
type Tier struct {
	bun.BaseModel `bun:"table:tiers"`

	MemberID   int64      `bun:"member_id,pk"`
	ProgramID  int64      `bun:"program_id,pk"`
	Tier       string     `bun:"tier"`
	ValidUntil *time.Time `bun:"valid_until"`
	CampaignID *int64     `bun:"campaign_id"`
	// EventID is the event whose decision set the tier; nil when a scheduled hook or an
	// enrolment did.
	EventID   *int64    `bun:"event_id"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// Spec is what a grant asks for: a plugin's grant_benefit effect, or a reward's benefit.
type Spec struct {
	// Key is the granting campaign's stable id of the benefit, unique per member and campaign.
	Key   string
	Kind  string
	Title string
	// Percent is in basis points (2501 is 25.01%).
	Percent    int
	Scope      string
	Exclusions []string
	Quantity   int64
	Recipient  string
	// Code is the benefit's code; empty for a promo code means "generate one".
	Code       string
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Attributes map[string]any
}

// ChangeSpec is what Change changes: nil fields stay as they are; Attributes are merged.
type ChangeSpec struct {
	Key        string
	Percent    *int
	ValidUntil *time.Time
	Attributes map[string]any
}

// Target names whose benefit it is.
type Target struct {
	MemberID   int64
	CampaignID int64
	ProgramID  int64
	EventID    *int64
}

// Grant stores g for the target inside idb. A key the member already has in that campaign is
// left as it is and returned (Granted false). A promo code with an empty Code gets a fresh
// code (see NewCode). Add-ons are granted "available" until the member switches them on when
// g.Attributes["activation"] is "on_request"; everything else is active.
func Grant(ctx context.Context, idb bun.IDB, t Target, g *Spec, now time.Time) (*Benefit, bool, error) {
	b, err := newBenefit(t, g, now)
	if err != nil {
		return nil, false, err
	}
	var existing Benefit
	err = idb.NewSelect().Model(&existing).Where("member_id = ? AND campaign_id = ? AND key = ?", t.MemberID, t.CampaignID, g.Key).Scan(ctx)
	if err == nil {
		return &existing, false, nil
	}
	if b.Kind == "promo_code" && b.Code == "" {
		for attempt := 0; ; attempt++ {
			b.Code = NewCode()
			// A savepoint keeps a (vanishingly rare) code collision from aborting the caller's transaction.
			if _, err := db.PG(idb).Exec(ctx, "SAVEPOINT grant_code"); err != nil {
				return nil, false, err
			}
			_, err := idb.NewInsert().Model(b).ExcludeColumn("id").Returning("id").Exec(ctx)
			if err == nil {
				if _, err := db.PG(idb).Exec(ctx, "RELEASE SAVEPOINT grant_code"); err != nil {
					return nil, false, err
				}
				return b, true, nil
			}
			if _, rbErr := db.PG(idb).Exec(ctx, "ROLLBACK TO SAVEPOINT grant_code"); rbErr != nil {
				return nil, false, rbErr
			}
			if db.Constraint(err) != "benefits_code_key" || attempt >= 5 {
				return nil, false, fmt.Errorf("benefits: grant: %w", err)
			}
		}
	}
	if _, err := idb.NewInsert().Model(b).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		if db.Constraint(err) == "benefits_code_key" {
			return nil, false, fmt.Errorf("%w: code %q is already in use", ErrInvalid, g.Code)
		}
		return nil, false, fmt.Errorf("benefits: grant: %w", err)
	}
	return b, true, nil
}

// Check reports why Grant would refuse g (ErrInvalid, with the same message), or nil.
func Check(g *Spec) error {
	if g.Key == "" || len(g.Key) > 200 {
		return fmt.Errorf("%w: key must be 1 to 200 bytes", ErrInvalid)
	}
	if !Kinds[g.Kind] {
		return fmt.Errorf("%w: kind %q is not one of discount, addon, gift, sms_package, promo_code", ErrInvalid, g.Kind)
	}
	if g.Percent < 0 || g.Percent > 10000 {
		return fmt.Errorf("%w: percent %d basis points is outside 0..10000", ErrInvalid, g.Percent)
	}
	if g.Quantity < 0 {
		return fmt.Errorf("%w: negative quantity", ErrInvalid)
	}
	if g.ValidFrom != nil && g.ValidUntil != nil && g.ValidUntil.Before(*g.ValidFrom) {
		return fmt.Errorf("%w: validUntil is before validFrom", ErrInvalid)
	}
	return nil
}

// newBenefit checks g and returns the benefit Grant stores for it (without a generated code).
func newBenefit(t Target, g *Spec, now time.Time) (*Benefit, error) {
	if err := Check(g); err != nil {
		return nil, err
	}
	attrs := g.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	status := Active
	if g.Kind == "addon" && attrs["activation"] == "on_request" {
		status = Available
	}
	fulfillment := ""
	if g.Kind == "gift" {
		fulfillment = ToDeliver
		if f, ok := attrs["fulfilment"].(string); ok && fulfillmentStates[f] {
			fulfillment = f
		}
	}
	return &Benefit{MemberID: t.MemberID, CampaignID: t.CampaignID, Key: g.Key, Kind: g.Kind, Title: g.Title,
		Percent: g.Percent, Scope: g.Scope, Exclusions: nonNil(g.Exclusions), Quantity: g.Quantity, Recipient: g.Recipient,
		Code: g.Code, ValidFrom: utc(g.ValidFrom), ValidUntil: utc(g.ValidUntil), Status: status, Fulfillment: fulfillment,
		Attributes: attrs, EventID: t.EventID, CreatedAt: now, UpdatedAt: now}, nil
}

// Bulk reports whether GrantMany takes g: a grant that carries no code and is not a promo
// code, so that storing it cannot collide with another benefit's code.
func Bulk(g *Spec) bool {
	return g.Code == "" && g.Kind != "promo_code"
}

// Grantee is one grant of GrantMany.
type Grantee struct {
	Target Target
	Grant  *Spec
}

// grantManySQL inserts GrantMany's benefits from one array per column, in order.
const grantManySQL = `INSERT INTO benefits (member_id, campaign_id, key, kind, title, percent, scope, exclusions, quantity,
		recipient, code, valid_from, valid_until, status, fulfillment, attributes, event_id, created_at, updated_at)
	SELECT u.member_id, u.campaign_id, u.key, u.kind, u.title, u.percent, u.scope,
		ARRAY(SELECT jsonb_array_elements_text(u.exclusions::jsonb)), u.quantity, u.recipient, u.code, u.valid_from,
		u.valid_until, u.status, u.fulfillment, u.attributes::jsonb, u.event_id, $1, $1
	FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::bigint[],
		$11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::text[], $17::text[], $18::bigint[]) WITH ORDINALITY
		AS u(member_id, campaign_id, key, kind, title, percent, scope, exclusions, quantity, recipient, code, valid_from,
			valid_until, status, fulfillment, attributes, event_id, n)
	ORDER BY u.n
	ON CONFLICT (member_id, campaign_id, key) DO NOTHING`

// GrantMany stores many grants with one statement, each exactly as Grant stores it; a key the
// member already has in that campaign, or was granted earlier in the same call, is left as it
// is. Benefit ids follow the order of gs. Every grant must pass Check and Bulk (ErrInvalid
// otherwise, and nothing is stored). It returns how many benefits it created.
func GrantMany(ctx context.Context, idb bun.IDB, gs []Grantee, now time.Time) (int64, error) {
	type key struct {
		member, campaign int64
		key              string
	}
	seen := make(map[key]bool, len(gs))
	bs := make([]*Benefit, 0, len(gs))
	for _, g := range gs {
		if !Bulk(g.Grant) {
			return 0, fmt.Errorf("%w: a benefit with a code is granted one at a time", ErrInvalid)
		}
		b, err := newBenefit(g.Target, g.Grant, now)
		if err != nil {
			return 0, err
		}
		k := key{b.MemberID, b.CampaignID, b.Key}
		if !seen[k] {
			seen[k] = true
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		return 0, nil
	}
	// One array per column, unnested into rows: far less to format and to parse than a VALUES
	// list of every row. The exclusions go as JSON arrays (an array of arrays must be
	// rectangular).
	n := len(bs)
	memberIDs, campaignIDs, quantities := make([]int64, n), make([]int64, n), make([]int64, n)
	eventIDs := make([]*int64, n)
	percents := make([]int64, n)
	keys, kinds, titles, scopes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	recipients, codes, statuses, fulfillments := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	exclusions, attributes := make([]string, n), make([]string, n)
	from, until := make([]*time.Time, n), make([]*time.Time, n)
	for i, b := range bs {
		memberIDs[i], campaignIDs[i], quantities[i], eventIDs[i], percents[i] = b.MemberID, b.CampaignID, b.Quantity, b.EventID, int64(b.Percent)
		keys[i], kinds[i], titles[i], scopes[i] = b.Key, b.Kind, b.Title, b.Scope
		recipients[i], codes[i], statuses[i], fulfillments[i] = b.Recipient, b.Code, b.Status, b.Fulfillment
		from[i], until[i] = b.ValidFrom, b.ValidUntil
		ex, err := json.Marshal(b.Exclusions)
		if err != nil {
			return 0, fmt.Errorf("benefits: grant many: exclusions: %w", err)
		}
		at, err := json.Marshal(b.Attributes)
		if err != nil {
			return 0, fmt.Errorf("benefits: grant many: attributes: %w", err)
		}
		exclusions[i], attributes[i] = string(ex), string(at)
	}
	res, err := db.PG(idb).Exec(ctx, grantManySQL, now,
		memberIDs, campaignIDs, keys, kinds,
		titles, percents, scopes, exclusions,
		quantities, recipients, codes, from,
		until, statuses, fulfillments, attributes,
		eventIDs)
	if err != nil {
		return 0, fmt.Errorf("benefits: grant many: %w", err)
	}
	return res.RowsAffected(), nil
}

// Change updates a benefit's percent, end and attributes (merged).
func Change(ctx context.Context, idb bun.IDB, t Target, c *ChangeSpec, now time.Time) (*Benefit, error) {
	b, err := lockOne(ctx, idb, t, c.Key)
	if err != nil {
		return nil, err
	}
	if c.Percent != nil {
		if *c.Percent < 0 || *c.Percent > 10000 {
			return nil, fmt.Errorf("%w: percent %d basis points is outside 0..10000", ErrInvalid, *c.Percent)
		}
		b.Percent = *c.Percent
	}
	if c.ValidUntil != nil {
		u := c.ValidUntil.UTC()
		b.ValidUntil = &u
		if b.Status != Ended {
			b.EndReason = "" // a new end replaces an end planned by End
		}
	}
	for k, v := range c.Attributes {
		b.Attributes[k] = v
	}
	if b.Status == Ended && (b.ValidUntil == nil || b.ValidUntil.After(now)) {
		// Extending an ended benefit revives it (e.g. a referral discount raised again).
		b.Status, b.EndReason, b.EndedAt = Active, "", nil
	}
	b.UpdatedAt = now
	_, err = idb.NewUpdate().Model(b).Column("percent", "valid_until", "attributes", "status", "end_reason", "ended_at", "updated_at").WherePK().Exec(ctx)
	return b, err
}

// End ends a benefit with a reason at a moment (default now). Ending an ended benefit is a no-op.
//
// The benefit's ValidUntil becomes the end when that is earlier, so it always shows the last
// moment the benefit applies (a discount that would have run six months but ends on a change of
// plan shows the day of the change). An end still ahead of now is planned: the benefit stays in
// force until then, with EndReason set already, and EndDue ends it at ValidUntil with that
// reason. An end before ValidFrom ends the benefit without moving ValidUntil (it never applied).
func End(ctx context.Context, idb bun.IDB, t Target, key, reason string, at *time.Time, now time.Time) (*Benefit, error) {
	b, err := lockOne(ctx, idb, t, key)
	if err != nil {
		return nil, err
	}
	if b.Status == Ended {
		return b, nil
	}
	end := now
	if at != nil {
		end = at.UTC()
	}
	if reason == "" {
		reason = "cancelled"
	}
	if (b.ValidUntil == nil || end.Before(*b.ValidUntil)) && (b.ValidFrom == nil || !end.Before(*b.ValidFrom)) {
		b.ValidUntil = &end
	}
	b.EndReason, b.UpdatedAt = reason, now
	if !end.After(now) {
		b.Status, b.EndedAt = Ended, &end
	}
	_, err = idb.NewUpdate().Model(b).Column("status", "valid_until", "end_reason", "ended_at", "updated_at").WherePK().Exec(ctx)
	return b, err
}

// Activate switches on an available benefit (an add-on the member asked for) from now.
func Activate(ctx context.Context, idb bun.IDB, t Target, key string, now time.Time) (*Benefit, error) {
	b, err := lockOne(ctx, idb, t, key)
	if err != nil {
		return nil, err
	}
	if b.Status != Available {
		return b, nil
	}
	b.Status, b.UpdatedAt = Active, now
	if b.ValidFrom == nil || b.ValidFrom.Before(now) {
		b.ValidFrom = &now
	}
	_, err = idb.NewUpdate().Model(b).Column("status", "valid_from", "updated_at").WherePK().Exec(ctx)
	return b, err
}

func lockOne(ctx context.Context, idb bun.IDB, t Target, key string) (*Benefit, error) {
	var b Benefit
	if err := idb.NewSelect().Model(&b).Where("member_id = ? AND campaign_id = ? AND key = ?", t.MemberID, t.CampaignID, key).
		For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("%w: key %q", db.Resolve(err, ErrNotFound), key)
	}
	if b.Attributes == nil {
		b.Attributes = map[string]any{}
	}
	return &b, nil
}

// SetTier records the member's tier in the programme until validUntil (nil: no end), with the
// campaign and the event (nil for a scheduled hook or an enrolment) that set it.
func SetTier(ctx context.Context, idb bun.IDB, t Target, tier string, validUntil *time.Time, now time.Time) error {
	if tier == "" || len(tier) > 100 {
		return fmt.Errorf("%w: tier must be 1 to 100 bytes", ErrInvalid)
	}
	_, err := db.PG(idb).Exec(ctx, `INSERT INTO tiers (member_id, program_id, tier, valid_until, campaign_id, event_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (member_id, program_id) DO UPDATE SET tier = EXCLUDED.tier, valid_until = EXCLUDED.valid_until,
			campaign_id = EXCLUDED.campaign_id, event_id = EXCLUDED.event_id, updated_at = EXCLUDED.updated_at`,
		t.MemberID, t.ProgramID, tier, utc(validUntil), t.CampaignID, t.EventID, now)
	return err
}

// codeLength is the number of characters of a code NewCode makes, without its dash.
const codeLength = 10

// codeAlphabet has no characters that are easy to confuse when dictated or read (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewCode returns a random code of 10 characters from an unambiguous alphabet, grouped as
// XXXXX-XXXXX (about 49 bits of entropy: unguessable at any rate-limited guessing speed).
func NewCode() string {
	var sb strings.Builder
	for i := 0; i < codeLength; i++ {
		if i == codeLength/2 {
			sb.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		sb.WriteByte(codeAlphabet[n.Int64()])
	}
	return sb.String()
}

// NormalizeCode reads a code as typed by a person: it upper-cases it and drops spaces and
// separators (hyphens and other dashes, underscores, dots, slashes), then groups a code of
// NewCode's length as NewCode does (XXXXX-XXXXX). So "vdjss-dmgv9", "VDJSSDMGV9" and
// "VDJSS – DMGV9" are one code.
func NormalizeCode(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || strings.ContainsRune("_./\\\u2212", r) {
			continue
		}
		sb.WriteRune(unicode.ToUpper(r))
	}
	out := sb.String()
	if len(out) == codeLength && utf8.RuneCountInString(out) == codeLength {
		out = out[:codeLength/2] + "-" + out[codeLength/2:]
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
