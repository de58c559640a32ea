package rewards

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// Rejection and reason codes. Plugins use the same codes in their quote reasons
// (FREQUENCY_LIMIT, OUTSTANDING_DEBT, NOT_AVAILABLE).
const (
	CodeInsufficientPoints = "INSUFFICIENT_POINTS"
	CodeAlreadyRedeemed    = "ALREADY_REDEEMED"
	CodeFrequencyLimit     = "FREQUENCY_LIMIT"
	CodeOutstandingDebt    = "OUTSTANDING_DEBT"
	CodeNotAvailable       = "NOT_AVAILABLE"
	CodeOutOfStock         = "OUT_OF_STOCK"
	// CodeKindForbidden: the programme of the reward's campaign forbids its category.
	CodeKindForbidden = "REWARD_KIND_FORBIDDEN"
)

// rejectionCodes are the codes a Rejection may carry; a plugin's other reason codes are
// reported as NOT_AVAILABLE (the quote keeps the plugin's own code).
var rejectionCodes = map[string]bool{CodeInsufficientPoints: true, CodeAlreadyRedeemed: true, CodeFrequencyLimit: true,
	CodeOutstandingDebt: true, CodeNotAvailable: true, CodeOutOfStock: true, CodeKindForbidden: true}

// Quote is the price of a reward for a member now.
type Quote struct {
	Reward *Reward
	// ListPrice is the catalogue price.
	ListPrice int64
	// Price is the price in points after the plugin's discounts (ListPrice without a campaign).
	Price int64
	// MaxPointsPayable is the most points that may pay for it; nil means no cap.
	MaxPointsPayable *int64
	// Points is what an order takes in points: Price, or MaxPointsPayable when lower.
	Points int64
	// MoneyDue is Price − Points, in points: the part payable otherwise (in money).
	MoneyDue int64
	Allowed  bool
	// Reasons say why it is not allowed; an allowed quote may carry a plugin's notes.
	Reasons []pluginhost.Reason
	// PluginVersion is the version of the plugin that quoted, if any.
	PluginVersion string

	campaign *campaigns.Campaign // the campaign that quoted, if any
	notes    int                 // trailing Reasons that are an allowing plugin's notes, not refusals
}

// Quote prices reward rewardID for member memberID now: the catalogue's rules (active, running
// campaign, region, services, per-member limit, stock) and the campaign plugin's Quote hook.
// Errors: members.ErrNotFound, ErrNotFound, pluginhost.ErrUnavailable (the plugin cannot answer).
func (s *Service) Quote(ctx context.Context, memberID, rewardID int64) (*Quote, error) {
	m, err := s.members.Get(ctx, memberID)
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, rewardID)
	if err != nil {
		return nil, err
	}
	var counts map[int64]int // only a per-member limit needs the member's orders
	if r.PerMemberLimit > 0 {
		if _, counts, err = orderCounts(ctx, db.PG(s.db), memberID, []int64{r.ID}); err != nil {
			return nil, err
		}
	}
	qs, err := s.quote(ctx, m, []*Reward{r}, counts, s.now().UTC())
	if err != nil {
		return nil, err
	}
	return &qs[0], nil
}

// quote prices the lines of an order (one reward per line, in order) for member m at now. A
// reward appearing on several lines needs that many units of stock and of its per-member limit.
// Plugin calls are made once per line, on one member snapshot per campaign.
func (s *Service) quote(ctx context.Context, m *members.Member, lines []*Reward, counts map[int64]int, now time.Time) ([]Quote, error) {
	camps := map[int64]*campaigns.Campaign{}
	type snap struct {
		member   pluginhost.Member
		campaign pluginhost.Campaign
	}
	snaps := map[int64]*snap{}
	kinds := map[int64][]string{} // forbidden reward kinds by campaign
	seen := map[int64]int{}
	out := make([]Quote, len(lines))
	for i, r := range lines {
		seen[r.ID]++
		q := Quote{Reward: r, ListPrice: r.Price, Price: r.Price, Allowed: true}
		reasons := s.catalogueReasons(m, r, counts[r.ID]+seen[r.ID], seen[r.ID])
		var c *campaigns.Campaign
		if r.CampaignID != nil {
			c = camps[*r.CampaignID]
			if c == nil {
				var err error
				if c, err = s.campaigns.Get(ctx, *r.CampaignID); err != nil {
					return nil, err
				}
				camps[c.ID] = c
			}
			if !c.Live(now) {
				reasons = append(reasons, pluginhost.Reason{Code: CodeNotAvailable,
					Message: fmt.Sprintf("%s is not offered now: its campaign %s is not running", r.Code, c.Code)})
				c = nil
			}
		}
		if c != nil {
			// A reward bound before its plugin forbade the category: refused without asking
			// the plugin.
			ks, ok := kinds[c.ID]
			if !ok {
				var err error
				if ks, err = s.forbiddenKinds(ctx, c); err != nil {
					return nil, fmt.Errorf("%w: %v", pluginhost.ErrUnavailable, err)
				}
				kinds[c.ID] = ks
			}
			if why := forbids(c, ks, r.Category); why != "" {
				reasons = append(reasons, pluginhost.Reason{Code: CodeKindForbidden, Message: why})
				c = nil
			}
		}
		// The catalogue's reasons refuse; an allowed plugin quote may add notes that do not.
		refused := len(reasons) > 0
		if c != nil {
			if s.engine == nil || s.plugins == nil {
				return nil, fmt.Errorf("%w: rewards are not connected to the plugin host", pluginhost.ErrUnavailable)
			}
			sn := snaps[c.ID]
			if sn == nil {
				mem, camp, _, err := s.engine.MemberSnapshot(ctx, m.ID, c)
				if err != nil {
					return nil, err
				}
				sn = &snap{member: mem, campaign: camp}
				snaps[c.ID] = sn
			}
			resp, err := s.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}).Quote(ctx,
				pluginhost.QuoteRequest{Campaign: sn.campaign, Member: sn.member, Item: item(r), Now: now})
			if err != nil {
				if !errors.Is(err, pluginhost.ErrUnavailable) {
					err = fmt.Errorf("%w: %s quote: %v", pluginhost.ErrUnavailable, c.PluginName, err)
				}
				return nil, err
			}
			if resp.Price < 0 || resp.Price > ledger.MaxAmount || resp.MaxPointsPayable < pluginhost.NoPointsCap {
				return nil, fmt.Errorf("%w: %s@%s quoted price %d, max points %d for %s", pluginhost.ErrUnavailable,
					c.PluginName, c.PluginVersion, resp.Price, resp.MaxPointsPayable, r.Code)
			}
			q.Price, q.PluginVersion, q.campaign = resp.Price, c.PluginVersion, c
			if resp.MaxPointsPayable != pluginhost.NoPointsCap {
				mp := resp.MaxPointsPayable
				q.MaxPointsPayable = &mp
			}
			if !resp.Allowed {
				q.Allowed = false
				if len(resp.Reasons) == 0 {
					reasons = append(reasons, pluginhost.Reason{Code: CodeNotAvailable, Message: fmt.Sprintf("the programme's rules do not allow %s now", r.Code)})
				}
			}
			if resp.Allowed {
				q.notes = len(resp.Reasons)
			}
			reasons = append(reasons, resp.Reasons...)
		}
		q.Points = q.Price
		if q.MaxPointsPayable != nil && *q.MaxPointsPayable < q.Price {
			q.Points = *q.MaxPointsPayable
		}
		q.MoneyDue = q.Price - q.Points
		if refused {
			q.Allowed = false
		}
		if reasons == nil {
			reasons = []pluginhost.Reason{}
		}
		q.Reasons = reasons
		out[i] = q
	}
	return out, nil
}

// catalogueReasons checks the catalogue's own rules for one line: the member may redeem
// `upTo` units in total (earlier orders plus this order so far), and this order needs `units`.
func (s *Service) catalogueReasons(m *members.Member, r *Reward, upTo, units int) []pluginhost.Reason {
	var out []pluginhost.Reason
	add := func(code, format string, args ...any) {
		out = append(out, pluginhost.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if m.Status != "active" {
		add(CodeNotAvailable, "the member's account is %s", m.Status)
	}
	if !r.Active {
		add(CodeNotAvailable, "%s is not offered any more", r.Code)
	}
	if len(r.Regions) > 0 && !containsFold(r.Regions, memberRegion(m)) {
		region := memberRegion(m)
		if region == "" {
			add(CodeNotAvailable, "%s is offered only in %s and the member has no region", r.Code, strings.Join(r.Regions, ", "))
		} else {
			add(CodeNotAvailable, "%s is not offered in region %s (only in %s)", r.Code, region, strings.Join(r.Regions, ", "))
		}
	}
	if len(r.ServicesRequired) > 0 {
		has := false
		for _, sv := range memberServices(m) {
			if containsFold(r.ServicesRequired, sv) {
				has = true
			}
		}
		if !has {
			if len(r.ServicesRequired) == 1 {
				add(CodeNotAvailable, "%s needs the %s service, which the member does not have", r.Code, r.ServicesRequired[0])
			} else {
				add(CodeNotAvailable, "%s needs one of the services %s, which the member does not have", r.Code, strings.Join(r.ServicesRequired, ", "))
			}
		}
	}
	if r.PerMemberLimit > 0 && upTo > r.PerMemberLimit {
		if r.PerMemberLimit == 1 {
			add(CodeAlreadyRedeemed, "%s can be redeemed once per member and was already redeemed", r.Code)
		} else {
			add(CodeAlreadyRedeemed, "%s can be redeemed %d times per member and this would be redemption number %d", r.Code, r.PerMemberLimit, upTo)
		}
	}
	if r.Stock != nil && *r.Stock < int64(units) {
		add(CodeOutOfStock, "%s is out of stock", r.Code)
	} else if r.CodePool && r.CodesAvailable < int64(units) {
		add(CodeOutOfStock, "no promo codes of %s are left", r.Code)
	}
	return out
}

// item is the reward as its campaign's plugin sees it. Attributes carry the reward's own
// attributes plus the catalogue fields (regions — ["*"] for everywhere — servicesRequired,
// perMemberLimit, validity, title).
func item(r *Reward) pluginhost.QuoteItem {
	attrs := pluginhost.Values{}
	for k, v := range r.Attributes {
		attrs[k] = v
	}
	regions := r.Regions
	if len(regions) == 0 {
		regions = []string{"*"}
	}
	attrs["regions"] = toAny(regions)
	attrs["servicesRequired"] = toAny(r.ServicesRequired)
	attrs["perMemberLimit"] = r.PerMemberLimit
	attrs["validity"] = r.Validity
	attrs["title"] = r.Title
	return pluginhost.QuoteItem{RewardID: RewardRef(r.ID), Category: r.Category, Code: r.Code, Price: r.Price, Attributes: attrs}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
