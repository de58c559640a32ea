package rewards

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// Engine is what the service needs from the event engine: member snapshots for quotes, and
// recording the reward.redeemed event after an order. *engine.Engine implements it.
type Engine interface {
	MemberSnapshot(ctx context.Context, memberID int64, c *campaigns.Campaign) (pluginhost.Member, pluginhost.Campaign, int64, error)
	Record(ctx context.Context, ins []event.Input) ([]event.Result, error)
}

// Plugins gives the programme plugin of a campaign and its registered description (for the
// reward kinds it forbids). *pluginhost.Host implements it.
type Plugins interface {
	Program(k pluginhost.Key) pluginhost.Program
	Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error)
}

// Config holds the service's dependencies.
type Config struct {
	DB        *db.DB
	Ledger    *ledger.Ledger
	Members   *members.Store
	Campaigns *campaigns.Store
	// Engine and Plugins quote rewards bound to a campaign and record reward.redeemed events.
	// Without them, rewards bound to a campaign cannot be quoted (PLUGIN_UNAVAILABLE) and no
	// event is recorded.
	Engine  Engine
	Plugins Plugins
	Log     hclog.Logger
	Now     func() time.Time
}

// Service is the rewards catalogue and the redemption of rewards. It is safe for concurrent
// use, and several services (core replicas) may share one database.
type Service struct {
	db        *db.DB
	ledger    *ledger.Ledger
	members   *members.Store
	campaigns *campaigns.Store
	engine    Engine
	plugins   Plugins
	log       hclog.Logger
	now       func() time.Time
	queue     memberQueue
}

// New returns a service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = hclog.NewNullLogger()
	}
	return &Service{db: c.DB, ledger: c.Ledger, members: c.Members, campaigns: c.Campaigns, engine: c.Engine,
		plugins: c.Plugins, log: c.Log, now: c.Now}
}

// Reward is a catalogue entry.
type Reward struct {
	bun.BaseModel `bun:"table:rewards,alias:r"`

	ID        int64  `bun:"id,pk,autoincrement"`
	ProgramID int64  `bun:"program_id"`
	Code      string `bun:"code"`
	Title     string `bun:"title"`
	Category  string `bun:"category"`
	// Price is the listed price in points, before any plugin discount.
	Price int64 `bun:"price"`
	// Regions offering the reward (compared case-insensitively); empty means everywhere.
	Regions []string `bun:"regions,array"`
	// ServicesRequired: the member's attribute "services" must hold at least one of them; empty
	// means no service is needed.
	ServicesRequired []string `bun:"services_required,array"`
	// PerMemberLimit is how many times one member may ever redeem it; 0 means no limit.
	PerMemberLimit int `bun:"per_member_limit"`
	// Validity is the benefit's period once redeemed (see ParseValidity).
	Validity string `bun:"validity"`
	// Stock is the number of units left; nil means unlimited.
	Stock *int64 `bun:"stock"`
	// CodePool means each redemption hands out one imported promo code.
	CodePool bool `bun:"code_pool"`
	// CampaignID is the campaign whose plugin quotes the reward; nil means the listed price.
	CampaignID *int64         `bun:"campaign_id"`
	Active     bool           `bun:"active"`
	Attributes map[string]any `bun:"attributes,type:jsonb"`
	CreatedAt  time.Time      `bun:"created_at"`
	UpdatedAt  time.Time      `bun:"updated_at"`

	// CodesAvailable is the number of imported promo codes not handed out yet.
	CodesAvailable int64 `bun:"codes_available,scanonly"`
}

// RewardRef returns the reward's global id as the GraphQL API shows it (base64url of
// "Reward:<id>"). Plugins see it as QuoteItem.RewardID and in reward.redeemed's rewardIds.
func RewardRef(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("Reward:" + strconv.FormatInt(id, 10)))
}

// CreateInput describes a new reward.
type CreateInput struct {
	ProgramID        int64
	Code             string
	Title            string
	Category         string
	Price            int64
	Regions          []string
	ServicesRequired []string
	PerMemberLimit   int
	// Validity defaults to "none".
	Validity   string
	Stock      *int64
	CodePool   bool
	CampaignID *int64
	// Active defaults to true.
	Active     *bool
	Attributes map[string]any
}

// UpdateInput changes a reward; nil fields stay as they are. The code and programme never
// change (orders refer to them).
type UpdateInput struct {
	Title            *string
	Category         *string
	Price            *int64
	Regions          []string // nil: unchanged; empty: everywhere
	ServicesRequired []string // nil: unchanged; empty: none
	PerMemberLimit   *int     // 0 removes the limit
	Validity         *string
	// Stock sets the units left; AddStock adds (or, negative, removes) units atomically;
	// UnlimitedStock removes the stock. At most one of the three.
	Stock          *int64
	AddStock       *int64
	UnlimitedStock bool
	CodePool       *bool
	// CampaignID binds the reward to a campaign of its programme; RemoveCampaign unbinds it.
	CampaignID     *int64
	RemoveCampaign bool
	Active         *bool
	// Attributes replace the stored ones when not nil.
	Attributes map[string]any
}

var (
	codeRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,99}$`)
	categoryRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)
)

// MaxStock bounds a reward's stock.
const MaxStock = 1_000_000_000_000

// Create validates in and stores the reward. Errors: ErrInvalid, ErrExists,
// ledger.ErrProgramNotFound, campaigns.ErrNotFound.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Reward, error) {
	now := s.now().UTC()
	r := &Reward{ProgramID: in.ProgramID, Code: in.Code, Title: strings.TrimSpace(in.Title), Category: in.Category,
		Price: in.Price, PerMemberLimit: in.PerMemberLimit, Validity: in.Validity, Stock: in.Stock, CodePool: in.CodePool,
		CampaignID: in.CampaignID, Active: in.Active == nil || *in.Active, Attributes: in.Attributes, CreatedAt: now, UpdatedAt: now}
	if r.Validity == "" {
		r.Validity = "none"
	}
	var err error
	if r.Regions, err = cleanList("regions", in.Regions, true); err != nil {
		return nil, err
	}
	if r.ServicesRequired, err = cleanList("servicesRequired", in.ServicesRequired, false); err != nil {
		return nil, err
	}
	if err := s.check(ctx, r); err != nil {
		return nil, err
	}
	if _, err := s.db.NewInsert().Model(r).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		return nil, storeError(err)
	}
	return r, nil
}

// Update applies in to reward id under a row lock, so it is safe against concurrent orders
// taking stock. Errors: ErrNotFound, ErrInvalid, campaigns.ErrNotFound.
func (s *Service) Update(ctx context.Context, id int64, in UpdateInput) (*Reward, error) {
	n := 0
	for _, set := range []bool{in.Stock != nil, in.AddStock != nil, in.UnlimitedStock} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, invalid("give at most one of stock, addStock and unlimitedStock")
	}
	if in.CampaignID != nil && in.RemoveCampaign {
		return nil, invalid("give campaign or removeCampaign, not both")
	}
	var out *Reward
	err := db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		var r Reward
		if err := tx.NewSelect().Model(&r).Where("r.id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return db.Resolve(err, ErrNotFound)
		}
		if in.Title != nil {
			r.Title = strings.TrimSpace(*in.Title)
		}
		if in.Category != nil {
			r.Category = *in.Category
		}
		if in.Price != nil {
			r.Price = *in.Price
		}
		var err error
		if in.Regions != nil {
			if r.Regions, err = cleanList("regions", in.Regions, true); err != nil {
				return err
			}
		}
		if in.ServicesRequired != nil {
			if r.ServicesRequired, err = cleanList("servicesRequired", in.ServicesRequired, false); err != nil {
				return err
			}
		}
		if in.PerMemberLimit != nil {
			r.PerMemberLimit = *in.PerMemberLimit
		}
		if in.Validity != nil {
			r.Validity = *in.Validity
		}
		switch {
		case in.Stock != nil:
			r.Stock = in.Stock
		case in.UnlimitedStock:
			r.Stock = nil
		case in.AddStock != nil:
			if r.Stock == nil {
				return invalid("addStock: the reward's stock is unlimited; set stock instead")
			}
			v := *r.Stock + *in.AddStock
			if v < 0 {
				return invalid("addStock: %d would leave %d units", *in.AddStock, v)
			}
			r.Stock = &v
		}
		if in.CodePool != nil {
			r.CodePool = *in.CodePool
		}
		if in.CampaignID != nil {
			r.CampaignID = in.CampaignID
		}
		if in.RemoveCampaign {
			r.CampaignID = nil
		}
		if in.Active != nil {
			r.Active = *in.Active
		}
		if in.Attributes != nil {
			r.Attributes = in.Attributes
		}
		if err := s.check(ctx, &r); err != nil {
			return err
		}
		r.UpdatedAt = s.now().UTC()
		if _, err := tx.NewUpdate().Model(&r).ExcludeColumn("id", "program_id", "code", "created_at").
			WherePK().Exec(ctx); err != nil {
			return storeError(err)
		}
		out = &r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, out.ID)
}

// check validates a reward before it is stored.
func (s *Service) check(ctx context.Context, r *Reward) error {
	switch {
	case !codeRe.MatchString(r.Code):
		return invalid("code must match %s", codeRe)
	case r.Title == "" || len(r.Title) > 200:
		return invalid("title must be 1 to 200 bytes")
	case !categoryRe.MatchString(r.Category):
		return invalid("category must match %s", categoryRe)
	case r.Price < 0 || r.Price > ledger.MaxAmount:
		return invalid("price must be between 0 and %d points", ledger.MaxAmount)
	case r.PerMemberLimit < 0 || r.PerMemberLimit > 1_000_000:
		return invalid("perMemberLimit must be between 0 (no limit) and 1000000")
	case r.Stock != nil && (*r.Stock < 0 || *r.Stock > MaxStock):
		return invalid("stock must be between 0 and %d", int64(MaxStock))
	}
	if _, err := ParseValidity(r.Validity); err != nil {
		return err
	}
	if r.Attributes == nil {
		r.Attributes = map[string]any{}
	}
	if b, err := json.Marshal(r.Attributes); err != nil || len(b) > 16<<10 {
		return invalid("attributes must be a JSON object of at most 16 KiB")
	}
	if _, err := s.ledger.Program(ctx, r.ProgramID); err != nil {
		return err
	}
	if r.CampaignID != nil {
		c, err := s.campaigns.Get(ctx, *r.CampaignID)
		if err != nil {
			return err
		}
		if c.ProgramID != r.ProgramID {
			return invalid("campaign %s belongs to another programme", c.Code)
		}
		kinds, err := s.forbiddenKinds(ctx, c)
		if err != nil {
			return err
		}
		if why := forbids(c, kinds, r.Category); why != "" {
			return fmt.Errorf("%w: category: %s", ErrKindForbidden, why)
		}
	}
	return nil
}

// forbiddenKinds returns the reward categories campaign c's programme forbids: its plugin's
// Description.ForbiddenRewardKinds, as registered. Without a plugin host nothing is forbidden
// (nor can rewards bound to a campaign be quoted).
func (s *Service) forbiddenKinds(ctx context.Context, c *campaigns.Campaign) ([]string, error) {
	if s.plugins == nil {
		return nil, nil
	}
	e, err := s.plugins.Entry(ctx, pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion})
	if err != nil {
		return nil, err
	}
	return e.Description.ForbiddenRewardKinds, nil
}

// forbids says why campaign c's programme, forbidding kinds, forbids rewards of the category,
// or returns "" when it does not.
func forbids(c *campaigns.Campaign, kinds []string, category string) string {
	for _, k := range kinds {
		if strings.EqualFold(strings.TrimSpace(k), category) {
			return fmt.Sprintf("the programme of campaign %s (%s@%s) forbids rewards of category %s", c.Code, c.PluginName,
				c.PluginVersion, category)
		}
	}
	return ""
}

// cleanList trims the entries of a region or service list, drops duplicates (case-insensitive)
// and, for regions, turns a list holding "*" into the empty list (everywhere).
func cleanList(field string, in []string, star bool) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > 100 {
			return nil, invalid("%s: entries must be 1 to 100 bytes", field)
		}
		if star && v == "*" {
			return []string{}, nil
		}
		if k := strings.ToLower(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	if len(out) > 100 {
		return nil, invalid("%s: at most 100 entries", field)
	}
	return out, nil
}

func storeError(err error) error {
	switch db.Constraint(err) {
	case "rewards_program_code_key":
		return ErrExists
	case "rewards_program_id_fkey":
		return ledger.ErrProgramNotFound
	case "rewards_campaign_id_fkey":
		return campaigns.ErrNotFound
	case "rewards_stock_nonnegative":
		return invalid("stock cannot go below 0")
	}
	return fmt.Errorf("rewards: store: %w", err)
}

// Get returns reward id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (*Reward, error) {
	rs, err := s.GetMany(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if rs[id] == nil {
		return nil, ErrNotFound
	}
	return rs[id], nil
}

// GetMany returns the rewards with the given ids, keyed by id; missing ids are absent.
func (s *Service) GetMany(ctx context.Context, ids []int64) (map[int64]*Reward, error) {
	out := map[int64]*Reward{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.PG(s.db).Query(ctx, `SELECT r.*, (SELECT count(*) FROM reward_codes c
		WHERE c.reward_id = r.id AND c.order_line_id IS NULL) AS codes_available FROM rewards r WHERE r.id = ANY($1::bigint[])`,
		ids)
	if err != nil {
		return nil, fmt.Errorf("rewards: get: %w", err)
	}
	rs, err := db.Collect[Reward](rows)
	if err != nil {
		return nil, fmt.Errorf("rewards: get: %w", err)
	}
	for i := range rs {
		out[rs[i].ID] = &rs[i]
	}
	return out, nil
}

// Filter narrows a catalogue listing; all given fields must match.
type Filter struct {
	ProgramID int64
	// Region keeps rewards offered in the region (or everywhere), case-insensitively.
	Region   string
	Category string
	// Active keeps active (true) or inactive (false) rewards; nil keeps both.
	Active *bool
	// AvailableTo keeps the rewards the member may redeem now as far as the catalogue goes:
	// active, its campaign running, offered in the member's region, one of the required services,
	// the per-member limit not reached, in stock (and promo codes left). Plugin rules (quotes) are
	// not applied: ask Quote for those.
	AvailableTo *members.Member
}

// List returns up to limit rewards with ids above afterID, in id order, and whether more follow.
//
// The statement runs on pgx (db.PG): its text depends only on which filters are given, so
// there are a few dozen texts at most, each prepared once per connection.
func (s *Service) List(ctx context.Context, f Filter, afterID int64, limit int) ([]Reward, bool, error) {
	m := f.AvailableTo
	if m != nil && m.Status != "active" {
		return []Reward{}, false, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT r.*, (SELECT count(*) FROM reward_codes c WHERE c.reward_id = r.id AND c.order_line_id IS NULL) AS codes_available
		FROM rewards r WHERE r.id > $1`)
	args := []any{afterID}
	// where adds a condition whose %d verbs number its parameters, vals.
	where := func(cond string, vals ...any) {
		n := make([]any, len(vals))
		for i, v := range vals {
			args = append(args, v)
			n[i] = len(args)
		}
		q.WriteString(" AND ")
		fmt.Fprintf(&q, cond, n...)
	}
	if f.ProgramID != 0 {
		where("r.program_id = $%d", f.ProgramID)
	}
	if f.Region != "" {
		where(inRegion, f.Region)
	}
	if f.Category != "" {
		where("r.category = $%d", f.Category)
	}
	if f.Active != nil {
		where("r.active = $%d", *f.Active)
	}
	if m != nil {
		now := s.now().UTC()
		where("r.active")
		where(`(r.campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaigns c WHERE c.id = r.campaign_id
				AND c.status IN ('scheduled', 'active') AND c.starts_at <= $%d AND (c.ends_at IS NULL OR c.ends_at > $%d)))`, now, now)
		where(inRegion, memberRegion(m))
		where("(cardinality(r.services_required) = 0 OR EXISTS (SELECT 1 FROM unnest(r.services_required) v WHERE lower(v) = ANY($%d::text[])))",
			lowerAll(memberServices(m)))
		where(`(r.per_member_limit = 0 OR r.per_member_limit > (SELECT count(*) FROM reward_order_lines l
				JOIN reward_orders o ON o.id = l.order_id WHERE l.member_id = $%d AND l.reward_id = r.id AND o.status = 'completed'))`, m.ID)
		where("(r.stock IS NULL OR r.stock > 0)")
		where("(NOT r.code_pool OR EXISTS (SELECT 1 FROM reward_codes c WHERE c.reward_id = r.id AND c.order_line_id IS NULL))")
	}
	args = append(args, limit+1)
	fmt.Fprintf(&q, " ORDER BY r.id ASC LIMIT $%d", len(args))
	rows, err := db.PG(s.db).Query(ctx, q.String(), args...)
	if err != nil {
		return nil, false, fmt.Errorf("rewards: list: %w", err)
	}
	rs, err := db.Collect[Reward](rows)
	if err != nil {
		return nil, false, fmt.Errorf("rewards: list: %w", err)
	}
	more := len(rs) > limit
	if more {
		rs = rs[:limit]
	}
	return rs, more, nil
}

// inRegion keeps the rewards offered everywhere or in the region given as the parameter.
const inRegion = "(cardinality(r.regions) = 0 OR EXISTS (SELECT 1 FROM unnest(r.regions) g WHERE lower(g) = lower($%d::text)))"

// memberRegion is the member's region: the profile's, else the attribute "region".
func memberRegion(m *members.Member) string {
	if m.Region != "" {
		return m.Region
	}
	s, _ := m.Attributes["region"].(string)
	return s
}

// memberServices reads the member's attribute "services" (an array of strings).
func memberServices(m *members.Member) []string {
	var out []string
	switch v := m.Attributes["services"].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	}
	return out
}

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.ToLower(s))
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
