package rewards

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
)

// MaxOrderLines is the most rewards (units) one order may hold.
const MaxOrderLines = 50

// EventType is the type of the event recorded for the member after each order, so the
// programme's plugin can count exchanges (attributes orderId, rewardIds, total, month).
const EventType = "reward.redeemed"

// EventSource is the source of the reward.redeemed events; their external id is "order-<id>".
const EventSource = "rewards"

// RedeemInput is an order of rewards by a member.
type RedeemInput struct {
	MemberID int64
	// RewardIDs holds one id per unit wanted (the same reward twice is two units), in the order
	// of the lines; 1 to MaxOrderLines, all of one programme.
	RewardIDs []int64
	// IdempotencyKey is chosen by the client, unique per member: the same key with the same
	// rewards returns the first order; with other rewards, ErrIdempotencyConflict.
	IdempotencyKey string
}

// Rejection is why an order was refused. Code is one of INSUFFICIENT_POINTS, ALREADY_REDEEMED,
// FREQUENCY_LIMIT, OUTSTANDING_DEBT, NOT_AVAILABLE, OUT_OF_STOCK.
type Rejection struct {
	Code    string
	Message string
	// RewardID is the refused reward; 0 when the refusal concerns the whole order
	// (INSUFFICIENT_POINTS).
	RewardID int64
}

// RedeemResult is the order placed (or replayed), or why it was refused.
type RedeemResult struct {
	Redemption *Order
	// Rejection is the first refusal; Rejections lists every one (each refused line's reasons,
	// in line order). Nothing was written.
	Rejection  *Rejection
	Rejections []Rejection
	// Replayed is true when the idempotency key matched an earlier order of the member.
	Replayed bool
}

// rejected carries refusals out of the order's transaction, which rolls back.
type rejected struct{ list []Rejection }

func (e *rejected) Error() string { return "rewards: order refused: " + e.list[0].Code }

// codesBusy means the free promo codes of a reward are locked by concurrent orders; retrying the
// transaction finds out whether those orders took them.
type codesBusy struct{ reward string }

func (e codesBusy) Error() string {
	return "rewards: promo codes of " + e.reward + " are being handed out"
}
func (e codesBusy) Retryable() bool { return true }

// Redeem places an order of rewards for a member: all or nothing, in one database transaction
// (see the package documentation). Refusals are returned as a result with Rejection set, not as
// errors. Errors: ErrInvalid, ledger.ErrInvalidIdempotencyKey, ErrIdempotencyConflict,
// members.ErrNotFound, ErrNotFound, pluginhost.ErrUnavailable (a quoting plugin cannot answer).
//
// Orders of one member are queued in this process (so a burst of them does not hold database
// connections waiting for the account lock) and serialised across replicas by the account lock;
// an order whose quotes another replica's order made stale is quoted again under that lock.
//
// After the order commits, an event of type EventType is recorded for the member through the
// engine (source EventSource, external id "order-<id>"); a replay records it again, which the
// engine deduplicates, so a crash between the two heals on retry.
func (s *Service) Redeem(ctx context.Context, in RedeemInput) (*RedeemResult, error) {
	if err := ledger.CheckIdempotencyKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if len(in.RewardIDs) == 0 || len(in.RewardIDs) > MaxOrderLines {
		return nil, invalid("an order holds 1 to %d rewards", MaxOrderLines)
	}
	unlock, err := s.queue.lock(ctx, in.MemberID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		res, err := s.redeem(ctx, in)
		if !errors.Is(err, errStale) {
			return res, err
		}
		if attempt >= maxStaleAttempts {
			return nil, fmt.Errorf("rewards: member %d's order kept racing; try again", in.MemberID)
		}
	}
}

// maxStaleAttempts bounds how often Redeem starts again after losing a race it cannot settle in
// its transaction.
const maxStaleAttempts = 5

// errStale means the order must start again: a twin with the same key committed between the
// look-up and the insert.
var errStale = errors.New("rewards: order raced a twin")

func (s *Service) redeem(ctx context.Context, in RedeemInput) (*RedeemResult, error) {
	hash := orderHash(in.MemberID, in.RewardIDs)
	if res, err := s.replay(ctx, s.db, in.MemberID, in.IdempotencyKey, hash); res != nil || err != nil {
		return s.finish(ctx, res, err)
	}
	m, err := s.members.Get(ctx, in.MemberID)
	if err != nil {
		return nil, err
	}
	rs, err := s.GetMany(ctx, in.RewardIDs)
	if err != nil {
		return nil, err
	}
	lines := make([]*Reward, len(in.RewardIDs))
	for i, id := range in.RewardIDs {
		if lines[i] = rs[id]; lines[i] == nil {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, RewardRef(id))
		}
		if lines[i].ProgramID != lines[0].ProgramID {
			return nil, invalid("all rewards of an order must belong to one programme")
		}
	}
	programID := lines[0].ProgramID
	uniq := uniqueIDs(in.RewardIDs)
	// The member's latest order: if it changes before the order's transaction takes the account
	// lock, the quotes (which a plugin may base on the member's exchanges) are stale.
	marker, err := lastOrderID(ctx, s.db, m.ID)
	if err != nil {
		return nil, err
	}
	counts, err := redeemedCounts(ctx, s.db, m.ID, uniq)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	quotes, err := s.quote(ctx, m, lines, counts, now)
	if err != nil {
		return nil, err
	}
	if rejs := refusals(quotes); len(rejs) > 0 {
		// A twin request with this key (on another replica) may have committed meanwhile and
		// caused the refusal (it took the stock or the limit): answer with its order.
		if res, err := s.replay(ctx, s.db, m.ID, in.IdempotencyKey, hash); res != nil || err != nil {
			return s.finish(ctx, res, err)
		}
		return &RedeemResult{Rejection: &rejs[0], Rejections: rejs}, nil
	}

	var res *RedeemResult
	err = db.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res = nil
		// Every order of a member, and every ledger write on its account, serialises on this
		// lock; the ledger's DebitTx later finds it held.
		acct, err := s.ledger.LockAccountTx(ctx, tx, programID, m.ID)
		if err != nil {
			return err
		}
		available := acct.Available
		// Under the account lock every other order of this member has committed or waits.
		if prev, err := s.replay(ctx, tx, m.ID, in.IdempotencyKey, hash); prev != nil || err != nil {
			res = prev
			return err
		}
		// The per-member limits, counted under the lock: exact whatever the quotes saw.
		counts, err := redeemedCounts(ctx, tx, m.ID, uniq)
		if err != nil {
			return err
		}
		quotes := quotes
		last, err := lastOrderID(ctx, tx, m.ID)
		if err != nil {
			return err
		}
		if last != marker {
			// An order of the member placed through another replica committed after the quotes: a
			// plugin may now decide otherwise (one exchange a month), so quote again, under the
			// lock. This replica's own orders of the member are queued and never get here.
			if quotes, err = s.quote(ctx, m, lines, counts, now); err != nil {
				return err
			}
			if rejs := refusals(quotes); len(rejs) > 0 {
				return &rejected{rejs}
			}
		}
		if err := checkLimits(lines, counts); err != nil {
			return err
		}
		codes, err := takeStock(ctx, tx, lines, now)
		if err != nil {
			return err
		}
		o := &Order{ProgramID: programID, MemberID: m.ID, IdempotencyKey: in.IdempotencyKey, InputHash: hash,
			Status: StatusCompleted, CreatedAt: now}
		for _, q := range quotes {
			o.Points += q.Points
			o.ListTotal += q.ListPrice
			o.PriceTotal += q.Price
			o.MoneyDue += q.MoneyDue
		}
		if o.Points > available {
			return &rejected{[]Rejection{insufficient(o.Points, available)}}
		}
		if _, err := tx.NewInsert().Model(o).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
			if db.Constraint(err) == "reward_orders_idempotency_key" {
				return errStale // a twin committed after our look-up: the next attempt replays it
			}
			return fmt.Errorf("rewards: insert order: %w", err)
		}
		if o.Points > 0 {
			t, err := s.ledger.DebitTx(ctx, tx, ledger.DebitInput{ProgramID: programID, MemberID: m.ID, Amount: o.Points,
				Kind: ledger.KindRedeem, IdempotencyKey: ledgerKey(m.ID, in.IdempotencyKey),
				Reason: fmt.Sprintf("reward order %d", o.ID), Origin: origin(quotes)})
			if errors.Is(err, ledger.ErrInsufficientPoints) {
				return &rejected{[]Rejection{insufficient(o.Points, available)}}
			}
			if err != nil {
				return err
			}
			o.TransactionID = &t.ID
			if _, err := tx.NewUpdate().Model(o).Column("transaction_id").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("rewards: update order: %w", err)
			}
		}
		for i, r := range lines {
			if err := s.writeLine(ctx, tx, o, i+1, r, &quotes[i], codes, now); err != nil {
				return err
			}
		}
		res = &RedeemResult{Redemption: o}
		return nil
	})
	var rej *rejected
	if errors.As(err, &rej) {
		return &RedeemResult{Rejection: &rej.list[0], Rejections: rej.list}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.finish(ctx, res, nil)
}

// finish loads the order of a result with its lines and records its reward.redeemed event.
func (s *Service) finish(ctx context.Context, res *RedeemResult, err error) (*RedeemResult, error) {
	if err != nil {
		return nil, err
	}
	o, err := s.Order(ctx, res.Redemption.ID)
	if err != nil {
		return nil, err
	}
	res.Redemption = o
	s.recordRedeemed(ctx, o)
	return res, nil
}

// writeLine stores line n of order o: its benefit (for a reward bound to a campaign), the line
// and its promo code.
func (s *Service) writeLine(ctx context.Context, tx bun.Tx, o *Order, n int, r *Reward, q *Quote, codes map[int64][]poolCode, now time.Time) error {
	loc := time.UTC
	if q.campaign != nil {
		if l, err := time.LoadLocation(q.campaign.TimeZone); err == nil {
			loc = l
		}
	}
	v, err := ParseValidity(r.Validity)
	if err != nil {
		return err
	}
	from, until := v.Period(now, loc)
	line := &OrderLine{OrderID: o.ID, Line: n, MemberID: o.MemberID, RewardID: r.ID, ListPrice: q.ListPrice, Price: q.Price,
		MaxPointsPayable: q.MaxPointsPayable, Points: q.Points, MoneyDue: q.MoneyDue, Reasons: q.Reasons,
		ValidFrom: &from, ValidUntil: until}
	var code *poolCode
	if r.CodePool {
		code = &codes[r.ID][0]
		codes[r.ID] = codes[r.ID][1:]
		line.Code = &code.Code
	}
	if r.CampaignID != nil {
		g := &sdk.GrantBenefit{Key: fmt.Sprintf("order-%d-%d", o.ID, n), Kind: "reward", Title: r.Title, ValidFrom: &from,
			ValidUntil: until, Attributes: sdk.Values{"orderId": fmt.Sprintf("order-%d", o.ID), "rewardId": RewardRef(r.ID),
				"rewardCode": r.Code, "category": r.Category, "validity": r.Validity, "points": q.Points, "moneyDue": q.MoneyDue,
				"month": now.In(loc).Format("2006-01")}}
		if code != nil {
			g.Code = code.Code
		}
		b, _, err := benefits.Grant(ctx, tx, benefits.Target{MemberID: o.MemberID, CampaignID: *r.CampaignID, ProgramID: o.ProgramID}, g, now)
		if err != nil {
			return err
		}
		line.BenefitID = &b.ID
	}
	if _, err := tx.NewInsert().Model(line).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("rewards: insert order line: %w", err)
	}
	if code != nil {
		if _, err := tx.NewRaw(`UPDATE reward_codes SET order_line_id = ?, assigned_at = ? WHERE id = ?`, line.ID, now, code.ID).Exec(ctx); err != nil {
			return fmt.Errorf("rewards: assign code: %w", err)
		}
	}
	return nil
}

// checkLimits refuses lines beyond a reward's per-member limit, counting the member's orders
// as committed now (under the account lock).
func checkLimits(lines []*Reward, counts map[int64]int) error {
	var rejs []Rejection
	seen := map[int64]int{}
	for _, r := range lines {
		seen[r.ID]++
		if r.PerMemberLimit > 0 && counts[r.ID]+seen[r.ID] > r.PerMemberLimit {
			rejs = append(rejs, Rejection{Code: CodeAlreadyRedeemed, RewardID: r.ID,
				Message: limitMessage(r, counts[r.ID]+seen[r.ID])})
		}
	}
	if len(rejs) > 0 {
		return &rejected{rejs}
	}
	return nil
}

func limitMessage(r *Reward, n int) string {
	if r.PerMemberLimit == 1 {
		return fmt.Sprintf("%s can be redeemed once per member and was already redeemed", r.Code)
	}
	return fmt.Sprintf("%s can be redeemed %d times per member and this would be redemption number %d", r.Code, r.PerMemberLimit, n)
}

type poolCode struct {
	ID   int64
	Code string
}

// takeStock decrements the stock of the order's rewards (in id order, so concurrent orders
// lock reward rows in one order) and takes their promo codes. It refuses with OUT_OF_STOCK when
// a reward has fewer units or codes left than the order needs, and NOT_AVAILABLE when a reward
// was deactivated since it was quoted.
func takeStock(ctx context.Context, tx bun.Tx, lines []*Reward, now time.Time) (map[int64][]poolCode, error) {
	need := map[int64]int64{}
	byID := map[int64]*Reward{}
	for _, r := range lines {
		need[r.ID]++
		byID[r.ID] = r
	}
	ids := make([]int64, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var current []struct {
		ID       int64
		Stock    *int64
		CodePool bool
		Active   bool
	}
	if err := tx.NewRaw(`SELECT id, stock, code_pool, active FROM rewards WHERE id IN (?) ORDER BY id`, bun.In(ids)).Scan(ctx, &current); err != nil {
		return nil, fmt.Errorf("rewards: read stock: %w", err)
	}
	codes := map[int64][]poolCode{}
	var rejs []Rejection
	for _, c := range current {
		r := byID[c.ID]
		if !c.Active {
			rejs = append(rejs, Rejection{Code: CodeNotAvailable, RewardID: c.ID, Message: fmt.Sprintf("%s is not offered any more", r.Code)})
			continue
		}
		if c.Stock != nil {
			res, err := tx.NewRaw(`UPDATE rewards SET stock = stock - ? WHERE id = ? AND stock >= ?`, need[c.ID], c.ID, need[c.ID]).Exec(ctx)
			if err != nil {
				return nil, fmt.Errorf("rewards: take stock: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				rejs = append(rejs, Rejection{Code: CodeOutOfStock, RewardID: c.ID, Message: fmt.Sprintf("%s is out of stock", r.Code)})
				continue
			}
		}
		if c.CodePool != r.CodePool {
			return nil, codesBusy{r.Code} // the reward changed since it was loaded: start again
		}
		if c.CodePool {
			var got []poolCode
			if err := tx.NewRaw(`SELECT id, code FROM reward_codes WHERE reward_id = ? AND order_line_id IS NULL
				ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, c.ID, need[c.ID]).Scan(ctx, &got); err != nil {
				return nil, fmt.Errorf("rewards: take codes: %w", err)
			}
			if int64(len(got)) < need[c.ID] {
				var free int64
				if err := tx.NewRaw(`SELECT count(*) FROM reward_codes WHERE reward_id = ? AND order_line_id IS NULL`, c.ID).Scan(ctx, &free); err != nil {
					return nil, err
				}
				if free >= need[c.ID] {
					return nil, codesBusy{r.Code}
				}
				rejs = append(rejs, Rejection{Code: CodeOutOfStock, RewardID: c.ID, Message: fmt.Sprintf("no promo codes of %s are left", r.Code)})
				continue
			}
			codes[c.ID] = got
		}
	}
	if len(rejs) > 0 {
		return nil, &rejected{rejs}
	}
	return codes, nil
}

// replay returns the member's order with the key, or nil when there is none; ErrIdempotencyConflict
// when it was placed with other rewards.
func (s *Service) replay(ctx context.Context, idb bun.IDB, memberID int64, key string, hash []byte) (*RedeemResult, error) {
	var o Order
	err := idb.NewSelect().Model(&o).Where("o.member_id = ? AND o.idempotency_key = ?", memberID, key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rewards: look up idempotency key: %w", err)
	}
	if string(o.InputHash) != string(hash) {
		return nil, ErrIdempotencyConflict
	}
	return &RedeemResult{Redemption: &o, Replayed: true}, nil
}

// recordRedeemed records the order's reward.redeemed event for the member. A failure is logged:
// the order stands, and a retry of the order (replay) records it again.
func (s *Service) recordRedeemed(ctx context.Context, o *Order) {
	if s.engine == nil || len(o.Lines) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	m, err := s.members.Get(ctx, o.MemberID)
	if err != nil {
		s.log.Error("reward.redeemed: member", "order", o.ID, "error", err)
		return
	}
	loc := time.UTC
	ids := make([]any, len(o.Lines))
	for i, l := range o.Lines {
		ids[i] = RewardRef(l.RewardID)
		if loc == time.UTC && l.Reward != nil && l.Reward.CampaignID != nil {
			if c, err := s.campaigns.Get(ctx, *l.Reward.CampaignID); err == nil {
				if z, err := time.LoadLocation(c.TimeZone); err == nil {
					loc = z
				}
			}
		}
	}
	res, err := s.engine.Record(ctx, []engine.Input{{Type: EventType, MemberRef: m.ExternalRef, Source: EventSource,
		ExternalID: fmt.Sprintf("order-%d", o.ID), OccurredAt: o.CreatedAt,
		Attributes: map[string]any{"orderId": fmt.Sprintf("order-%d", o.ID), "rewardIds": ids, "total": o.Points,
			"month": o.CreatedAt.In(loc).Format("2006-01")}}})
	if err == nil && len(res) == 1 && res[0].Err != nil {
		err = res[0].Err
	}
	if err != nil {
		s.log.Error("reward.redeemed: record", "order", o.ID, "error", err)
	}
}

func refusals(qs []Quote) []Rejection {
	var out []Rejection
	for _, q := range qs {
		if q.Allowed {
			continue
		}
		for _, r := range q.Reasons[:len(q.Reasons)-q.notes] {
			code := r.Code
			if !rejectionCodes[code] {
				code = CodeNotAvailable
			}
			out = append(out, Rejection{Code: code, Message: r.Message, RewardID: q.Reward.ID})
		}
	}
	return out
}

func insufficient(points, available int64) Rejection {
	return Rejection{Code: CodeInsufficientPoints,
		Message: fmt.Sprintf("the order takes %d points and the member has %d available", points, available)}
}

// origin names the campaign and plugin version that priced the order when exactly one did.
func origin(qs []Quote) ledger.Origin {
	var c *campaigns.Campaign
	version := ""
	for _, q := range qs {
		if q.campaign == nil {
			continue
		}
		if c != nil && c.ID != q.campaign.ID {
			return ledger.Origin{}
		}
		c, version = q.campaign, q.PluginVersion
	}
	if c == nil {
		return ledger.Origin{}
	}
	return ledger.Origin{CampaignID: &c.ID, PluginVersion: version}
}

func lastOrderID(ctx context.Context, idb bun.IDB, memberID int64) (int64, error) {
	var id int64
	if err := idb.NewRaw(`SELECT coalesce(max(id), 0) FROM reward_orders WHERE member_id = ?`, memberID).Scan(ctx, &id); err != nil {
		return 0, fmt.Errorf("rewards: last order: %w", err)
	}
	return id, nil
}

func orderHash(memberID int64, rewardIDs []int64) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "redeem\x00%d", memberID)
	for _, id := range rewardIDs {
		fmt.Fprintf(h, "\x00%d", id)
	}
	return h.Sum(nil)
}

// ledgerKey derives the ledger debit's idempotency key from the member and the order's key.
func ledgerKey(memberID int64, key string) string {
	return fmt.Sprintf("redeem:%d:%x", memberID, sha256.Sum256([]byte(key)))
}

func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
