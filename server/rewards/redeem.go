package rewards

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
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
	// rewards (and Points) returns the first order; with other rewards, ErrIdempotencyConflict.
	IdempotencyKey string
	// Points, when not nil, is how many points the member pays with: 0 up to the sum of the
	// lines' quoted points (each line's price, or its plugin's cap when lower) and up to the
	// member's available points, else ErrPointsOutOfRange. The points go to the lines in line
	// order, each taking up to its quoted points; the rest of each price is money due. Nil takes
	// every line's quoted points.
	Points *int64
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
// members.ErrNotFound, ErrNotFound, ErrPointsOutOfRange, pluginhost.ErrUnavailable (a quoting
// plugin cannot answer).
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
	if in.Points != nil && (*in.Points < 0 || *in.Points > ledger.MaxAmount) {
		return nil, fmt.Errorf("%w: points must be 0 to %d, not %d", ErrPointsOutOfRange, ledger.MaxAmount, *in.Points)
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
	hash := orderHash(in.MemberID, in.RewardIDs, in.Points)
	// A replay is found under the account lock (readLocked), with no statement of its own; it
	// is looked up beforehand only where it saves work or decides the answer: before plugins
	// quote, and when the order cannot be placed as given (its first answer stands).
	early := func(err error) (*RedeemResult, error) {
		if res, rerr := s.replay(ctx, db.PG(s.db), in.MemberID, in.IdempotencyKey, hash); res != nil || rerr != nil {
			return s.finishReplay(ctx, res, nil, rerr)
		}
		return nil, err
	}
	m, err := s.members.Get(ctx, in.MemberID)
	if err != nil {
		return early(err)
	}
	rs, err := s.GetMany(ctx, in.RewardIDs)
	if err != nil {
		return nil, err
	}
	lines := make([]*Reward, len(in.RewardIDs))
	pluginQuoted := false
	for i, id := range in.RewardIDs {
		if lines[i] = rs[id]; lines[i] == nil {
			return early(fmt.Errorf("%w: %s", ErrNotFound, RewardRef(id)))
		}
		if lines[i].ProgramID != lines[0].ProgramID {
			return early(invalid("all rewards of an order must belong to one programme"))
		}
		pluginQuoted = pluginQuoted || lines[i].CampaignID != nil
	}
	if pluginQuoted {
		if res, err := early(nil); res != nil || err != nil {
			return res, err
		}
	}
	programID := lines[0].ProgramID
	uniq := uniqueIDs(in.RewardIDs)
	limited := limitedIDs(lines)
	// Stored timestamps have microseconds; the order returned is the order stored.
	now := s.now().UTC().Truncate(time.Microsecond)

	// Plugins quote before the transaction, so that no plugin call holds the account lock. The
	// member's latest order marks what the quotes saw: if it changes before the transaction
	// takes the lock, the quotes (which a plugin may base on the member's exchanges) are stale.
	// The catalogue's own rules need no plugin and are checked under the lock.
	var quotes []Quote
	var marker int64
	if pluginQuoted {
		var counts map[int64]int
		if marker, counts, err = orderCounts(ctx, db.PG(s.db), m.ID, limited); err != nil {
			return nil, err
		}
		if quotes, err = s.quote(ctx, m, lines, counts, now); err != nil {
			return nil, err
		}
		if rejs := refusals(quotes); len(rejs) > 0 {
			// A twin request with this key (on another replica) may have committed meanwhile and
			// caused the refusal (it took the stock or the limit): answer with its order.
			if res, err := s.replay(ctx, db.PG(s.db), m.ID, in.IdempotencyKey, hash); res != nil || err != nil {
				return s.finishReplay(ctx, res, m, err)
			}
			return &RedeemResult{Rejection: &rejs[0], Rejections: rejs}, nil
		}
	}

	var res *RedeemResult
	err = db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		res = nil
		// Every order of a member, and every ledger write on its account, serialises on this
		// lock; the debit below is written on the account as locked here (DebitLockedTx).
		acct, err := s.ledger.LockAccountTx(ctx, tx, programID, m.ID)
		if err != nil {
			return err
		}
		available := acct.Available
		// Under the account lock every other order of this member has committed or waits.
		st, err := readLocked(ctx, db.PG(tx), m.ID, in.IdempotencyKey, uniq, limited)
		if err != nil {
			return err
		}
		if st.prevID != 0 {
			res, err = replayed(st.prevID, st.prevHash, hash)
			return err
		}
		quotes := quotes
		if quotes == nil || st.lastOrder != marker {
			// No plugin quotes the order, or an order of the member placed through another replica
			// committed after the quotes: a plugin may now decide otherwise (one exchange a month),
			// so quote (again) under the lock. This replica's own orders of the member are queued
			// and never get here.
			if quotes, err = s.quote(ctx, m, lines, st.counts, now); err != nil {
				return err
			}
			if rejs := refusals(quotes); len(rejs) > 0 {
				return &rejected{rejs}
			}
		}
		// The per-member limits, counted under the lock: exact whatever the quotes saw.
		if err := checkLimits(lines, st.counts); err != nil {
			return err
		}
		if quotes, err = payWith(quotes, in.Points); err != nil {
			return err
		}
		taken, err := takeStock(ctx, db.PG(tx), st.rewards, lines)
		if err != nil {
			return err
		}
		o := &Order{ID: st.orderID, ProgramID: programID, MemberID: m.ID, IdempotencyKey: in.IdempotencyKey, InputHash: hash,
			Status: StatusCompleted, CreatedAt: now}
		for _, q := range quotes {
			o.Points += q.Points
			o.ListTotal += q.ListPrice
			o.PriceTotal += q.Price
			o.MoneyDue += q.MoneyDue
		}
		if o.Points > available {
			if in.Points != nil {
				return fmt.Errorf("%w: points %d is more than the member's %d available points", ErrPointsOutOfRange, o.Points, available)
			}
			return &rejected{[]Rejection{insufficient(o.Points, available)}}
		}
		if o.Points > 0 {
			t, err := s.ledger.DebitLockedTx(ctx, tx, acct, ledger.DebitInput{ProgramID: programID, MemberID: m.ID, Amount: o.Points,
				Kind: ledger.KindRedeem, IdempotencyKey: ledgerKey(m.ID, in.IdempotencyKey),
				Reason: fmt.Sprintf("reward order %d", o.ID), Origin: origin(quotes)})
			if errors.Is(err, ledger.ErrInsufficientPoints) {
				return &rejected{[]Rejection{insufficient(o.Points, available)}}
			}
			if err != nil {
				return err
			}
			o.TransactionID = &t.ID
		}
		if err := s.writeOrder(ctx, tx, o, lines, quotes, taken, now); err != nil {
			return err
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
	if res.Replayed {
		return s.finishReplay(ctx, res, m, nil)
	}
	s.recordRedeemed(ctx, res.Redemption, m)
	return res, nil
}

// finishReplay loads the replayed order of a result with its lines and records its
// reward.redeemed event (again; the engine deduplicates it). m is the member, or nil when not
// loaded yet.
func (s *Service) finishReplay(ctx context.Context, res *RedeemResult, m *members.Member, err error) (*RedeemResult, error) {
	if err != nil {
		return nil, err
	}
	o, err := s.Order(ctx, res.Redemption.ID)
	if err != nil {
		return nil, err
	}
	res.Redemption = o
	s.recordRedeemed(ctx, o, m)
	return res, nil
}

// lineRow is an order line as writeOrder sends it to PostgreSQL (one element of a JSON array).
type lineRow struct {
	Line             int                 `json:"line"`
	RewardID         int64               `json:"reward_id"`
	ListPrice        int64               `json:"list_price"`
	Price            int64               `json:"price"`
	MaxPointsPayable *int64              `json:"max_points_payable"`
	Points           int64               `json:"points"`
	MoneyDue         int64               `json:"money_due"`
	Reasons          []pluginhost.Reason `json:"reasons"`
	BenefitID        *int64              `json:"benefit_id"`
	Code             *string             `json:"code"`
	ValidFrom        *time.Time          `json:"valid_from"`
	ValidUntil       *time.Time          `json:"valid_until"`
}

// insertOrder stores an order (its id allocated beforehand) and its lines, given as a JSON
// array of lineRow, in one statement; it returns the lines' ids.
const insertOrder = `WITH o AS (
	INSERT INTO reward_orders (id, program_id, member_id, idempotency_key, input_hash, points, list_total, price_total,
		money_due, transaction_id, status, created_at)
	OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	RETURNING id, member_id)
INSERT INTO reward_order_lines (order_id, line, member_id, reward_id, list_price, price, max_points_payable, points,
	money_due, reasons, benefit_id, code, valid_from, valid_until)
SELECT o.id, x.line, o.member_id, x.reward_id, x.list_price, x.price, x.max_points_payable, x.points, x.money_due,
	x.reasons, x.benefit_id, x.code, x.valid_from, x.valid_until
FROM o, jsonb_to_recordset($13::jsonb) AS x(line int, reward_id bigint, list_price bigint, price bigint,
	max_points_payable bigint, points bigint, money_due bigint, reasons jsonb, benefit_id bigint, code text,
	valid_from timestamptz, valid_until timestamptz)
ORDER BY x.line
RETURNING id, line`

// assignCodes hands promo codes (ids $2) to order lines ($3, pairwise).
const assignCodes = `UPDATE reward_codes c SET order_line_id = x.line_id, assigned_at = $1
	FROM unnest($2::bigint[], $3::bigint[]) AS x(code_id, line_id) WHERE c.id = x.code_id`

// writeOrder stores order o (its id allocated, its debit made) with one line per reward of
// lines: each line's benefit (for a reward bound to a campaign), the order and its lines in one
// statement, then the assignment of the lines' promo codes. It fills o.Lines as Order would
// read them back: with their rewards as the order left them (stock and codes taken) and their
// benefits.
func (s *Service) writeOrder(ctx context.Context, tx db.Tx, o *Order, lines []*Reward, quotes []Quote, taken *stockTaken, now time.Time) error {
	o.Lines = make([]OrderLine, len(lines))
	rows := make([]lineRow, len(lines))
	var codeIDs []int64
	rewards := map[int64]*Reward{}
	for _, r := range lines {
		if rewards[r.ID] == nil {
			rewards[r.ID] = taken.after(r)
		}
	}
	for i, r := range lines {
		q := &quotes[i]
		n := i + 1
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
		line := OrderLine{OrderID: o.ID, Line: n, MemberID: o.MemberID, RewardID: r.ID, ListPrice: q.ListPrice, Price: q.Price,
			MaxPointsPayable: q.MaxPointsPayable, Points: q.Points, MoneyDue: q.MoneyDue, Reasons: q.Reasons,
			ValidFrom: &from, ValidUntil: until, Reward: rewards[r.ID]}
		var code *poolCode
		if r.CodePool {
			code = &taken.codes[r.ID][0]
			taken.codes[r.ID] = taken.codes[r.ID][1:]
			line.Code = &code.Code
			codeIDs = append(codeIDs, code.ID)
		}
		if r.CampaignID != nil {
			g := &benefits.Spec{Key: fmt.Sprintf("order-%d-%d", o.ID, n), Kind: "reward", Title: r.Title, ValidFrom: &from,
				ValidUntil: until, Attributes: pluginhost.Values{"orderId": fmt.Sprintf("order-%d", o.ID), "rewardId": RewardRef(r.ID),
					"rewardCode": r.Code, "category": r.Category, "validity": r.Validity, "points": q.Points, "moneyDue": q.MoneyDue,
					"month": now.In(loc).Format("2006-01")}}
			if code != nil {
				g.Code = code.Code
			}
			b, _, err := benefits.Grant(ctx, tx, benefits.Target{MemberID: o.MemberID, CampaignID: *r.CampaignID, ProgramID: o.ProgramID}, g, now)
			if err != nil {
				return err
			}
			line.BenefitID, line.Benefit = &b.ID, b
		}
		o.Lines[i] = line
		rows[i] = lineRow{Line: n, RewardID: r.ID, ListPrice: line.ListPrice, Price: line.Price, MaxPointsPayable: line.MaxPointsPayable,
			Points: line.Points, MoneyDue: line.MoneyDue, Reasons: line.Reasons, BenefitID: line.BenefitID, Code: line.Code,
			ValidFrom: line.ValidFrom, ValidUntil: line.ValidUntil}
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("rewards: order lines: %w", err)
	}
	res, err := db.PG(tx).Query(ctx, insertOrder, o.ID, o.ProgramID, o.MemberID, o.IdempotencyKey, o.InputHash,
		o.Points, o.ListTotal, o.PriceTotal, o.MoneyDue, o.TransactionID, o.Status, o.CreatedAt, string(js))
	if err != nil {
		if db.Constraint(err) == "reward_orders_idempotency_key" {
			return errStale // a twin committed after our look-up: the next attempt replays it
		}
		return fmt.Errorf("rewards: insert order: %w", err)
	}
	defer res.Close()
	stored := 0
	for res.Next() {
		var id int64
		var n int
		if err := res.Scan(&id, &n); err != nil {
			return fmt.Errorf("rewards: insert order: %w", err)
		}
		o.Lines[n-1].ID = id
		stored++
	}
	if err := res.Err(); err != nil {
		if db.Constraint(err) == "reward_orders_idempotency_key" {
			return errStale
		}
		return fmt.Errorf("rewards: insert order: %w", err)
	}
	if stored != len(rows) {
		return fmt.Errorf("rewards: insert order: %d of %d lines stored", stored, len(rows))
	}
	if len(codeIDs) == 0 {
		return nil
	}
	lineIDs := make([]int64, 0, len(codeIDs))
	for _, l := range o.Lines {
		if l.Code != nil {
			lineIDs = append(lineIDs, l.ID)
		}
	}
	if _, err := db.PG(tx).Exec(ctx, assignCodes, now, codeIDs, lineIDs); err != nil {
		return fmt.Errorf("rewards: assign codes: %w", err)
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

// stockRow is a reward's stock (nil: unlimited), promo-code pool and state as an order reads
// them under the account lock.
type stockRow struct {
	ID       int64
	Stock    *int64
	CodePool bool
	Active   bool
}

// stockTaken is what takeStock took: the stock left of the rewards with a stock, and the promo
// codes of each reward with a pool.
type stockTaken struct {
	left  map[int64]int64
	codes map[int64][]poolCode
}

// after returns a copy of reward r as the order leaves it: its stock and free promo codes less
// what the order took.
func (t *stockTaken) after(r *Reward) *Reward {
	c := *r
	if n, ok := t.left[r.ID]; ok {
		c.Stock = &n
	}
	c.CodesAvailable -= int64(len(t.codes[r.ID]))
	return &c
}

// takeStock decrements the stock of the order's rewards (rows, in id order, so concurrent
// orders lock reward rows in one order) and takes their promo codes. It refuses with
// OUT_OF_STOCK when a reward has fewer units or codes left than the order needs, and
// NOT_AVAILABLE when a reward was deactivated since it was quoted.
func takeStock(ctx context.Context, run db.Querier, rows []stockRow, lines []*Reward) (*stockTaken, error) {
	need := map[int64]int64{}
	byID := map[int64]*Reward{}
	for _, r := range lines {
		need[r.ID]++
		byID[r.ID] = r
	}
	taken := &stockTaken{left: map[int64]int64{}, codes: map[int64][]poolCode{}}
	var rejs []Rejection
	for _, c := range rows {
		r := byID[c.ID]
		if !c.Active {
			rejs = append(rejs, Rejection{Code: CodeNotAvailable, RewardID: c.ID, Message: fmt.Sprintf("%s is not offered any more", r.Code)})
			continue
		}
		if c.Stock != nil {
			var left int64
			err := run.QueryRow(ctx, `UPDATE rewards SET stock = stock - $1 WHERE id = $2 AND stock >= $1 RETURNING stock`,
				need[c.ID], c.ID).Scan(&left)
			if errors.Is(err, sql.ErrNoRows) {
				rejs = append(rejs, Rejection{Code: CodeOutOfStock, RewardID: c.ID, Message: fmt.Sprintf("%s is out of stock", r.Code)})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("rewards: take stock: %w", err)
			}
			taken.left[c.ID] = left
		}
		if c.CodePool != r.CodePool {
			return nil, codesBusy{r.Code} // the reward changed since it was loaded: start again
		}
		if c.CodePool {
			got, err := freeCodes(ctx, run, c.ID, need[c.ID])
			if err != nil {
				return nil, err
			}
			if int64(len(got)) < need[c.ID] {
				var free int64
				if err := run.QueryRow(ctx, `SELECT count(*) FROM reward_codes WHERE reward_id = $1 AND order_line_id IS NULL`,
					c.ID).Scan(&free); err != nil {
					return nil, fmt.Errorf("rewards: count codes: %w", err)
				}
				if free >= need[c.ID] {
					return nil, codesBusy{r.Code}
				}
				rejs = append(rejs, Rejection{Code: CodeOutOfStock, RewardID: c.ID, Message: fmt.Sprintf("no promo codes of %s are left", r.Code)})
				continue
			}
			taken.codes[c.ID] = got
		}
	}
	if len(rejs) > 0 {
		return nil, &rejected{rejs}
	}
	return taken, nil
}

// freeCodes locks up to n free promo codes of a reward, skipping those locked by concurrent
// orders, in import order.
func freeCodes(ctx context.Context, run db.Querier, rewardID, n int64) ([]poolCode, error) {
	rows, err := run.Query(ctx, `SELECT id, code FROM reward_codes WHERE reward_id = $1 AND order_line_id IS NULL
		ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, rewardID, n)
	if err != nil {
		return nil, fmt.Errorf("rewards: take codes: %w", err)
	}
	defer rows.Close()
	var out []poolCode
	for rows.Next() {
		var c poolCode
		if err := rows.Scan(&c.ID, &c.Code); err != nil {
			return nil, fmt.Errorf("rewards: take codes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rewards: take codes: %w", err)
	}
	return out, nil
}

// replay returns the member's order with the key (its id only), or nil when there is none;
// ErrIdempotencyConflict when it was placed with other rewards.
func (s *Service) replay(ctx context.Context, run db.Querier, memberID int64, key string, hash []byte) (*RedeemResult, error) {
	var id int64
	var h []byte
	err := run.QueryRow(ctx, `SELECT id, input_hash FROM reward_orders WHERE member_id = $1 AND idempotency_key = $2`,
		memberID, key).Scan(&id, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rewards: look up idempotency key: %w", err)
	}
	return replayed(id, h, hash)
}

// replayed is the replay of order id, stored with input hash stored, for an order with input
// hash hash.
func replayed(id int64, stored, hash []byte) (*RedeemResult, error) {
	if string(stored) != string(hash) {
		return nil, ErrIdempotencyConflict
	}
	return &RedeemResult{Redemption: &Order{ID: id}, Replayed: true}, nil
}

// countLines counts the member's ($1) units of reward r.id in orders not reversed.
const countLines = `(SELECT count(*) FROM reward_order_lines l JOIN reward_orders o ON o.id = l.order_id
	WHERE l.member_id = $1 AND l.reward_id = r.id AND o.status = 'completed')`

// orderCounts returns the member's latest order id (0: none) and how many units of each of
// rewardIDs the member holds from orders not reversed, in one statement.
func orderCounts(ctx context.Context, run db.Querier, memberID int64, rewardIDs []int64) (int64, map[int64]int, error) {
	rows, err := run.Query(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM reward_orders WHERE member_id = $1), r.id, `+
		countLines+` FROM (VALUES (1)) AS one LEFT JOIN unnest($2::bigint[]) AS r(id) ON true`, memberID, rewardIDs)
	if err != nil {
		return 0, nil, fmt.Errorf("rewards: count redemptions: %w", err)
	}
	defer rows.Close()
	var last int64
	counts := map[int64]int{}
	for rows.Next() {
		var id sql.NullInt64
		var n int
		if err := rows.Scan(&last, &id, &n); err != nil {
			return 0, nil, fmt.Errorf("rewards: count redemptions: %w", err)
		}
		if id.Valid {
			counts[id.Int64] = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("rewards: count redemptions: %w", err)
	}
	return last, counts, nil
}

// lockedState is what an order reads under the member's account lock.
type lockedState struct {
	// orderID is the id allocated to the order (wasted when it is refused or replayed).
	orderID int64
	// prevID is the member's order with the idempotency key (0: none), prevHash its input hash.
	prevID   int64
	prevHash []byte
	// lastOrder is the member's latest order (0: none).
	lastOrder int64
	// counts holds the units the member holds of the rewards with a per-member limit.
	counts map[int64]int
	// rewards are the order's rewards, in id order.
	rewards []stockRow
}

// readLocked reads, in one statement, an id for the order, the member's order with the key,
// the member's latest order, the units the member holds of the rewards in limited, and the
// stock and state of the rewards in ids.
func readLocked(ctx context.Context, run db.Querier, memberID int64, key string, ids, limited []int64) (*lockedState, error) {
	rows, err := run.Query(ctx, `WITH n AS MATERIALIZED (SELECT nextval('reward_orders_id_seq') AS id)
		SELECT n.id, coalesce(p.id, 0), p.input_hash, (SELECT coalesce(max(id), 0) FROM reward_orders WHERE member_id = $1),
			r.id, r.stock, r.code_pool, r.active, CASE WHEN r.id = ANY($4::bigint[]) THEN `+countLines+` ELSE 0 END
		FROM n
		LEFT JOIN reward_orders p ON p.member_id = $1 AND p.idempotency_key = $2
		LEFT JOIN rewards r ON r.id = ANY($3::bigint[])
		ORDER BY r.id`, memberID, key, ids, limited)
	if err != nil {
		return nil, fmt.Errorf("rewards: read order state: %w", err)
	}
	defer rows.Close()
	st := &lockedState{counts: map[int64]int{}}
	for rows.Next() {
		var id sql.NullInt64
		var c stockRow
		var active, pool sql.NullBool
		var n int
		if err := rows.Scan(&st.orderID, &st.prevID, &st.prevHash, &st.lastOrder, &id, &c.Stock, &pool, &active, &n); err != nil {
			return nil, fmt.Errorf("rewards: read order state: %w", err)
		}
		if !id.Valid {
			continue
		}
		c.ID, c.CodePool, c.Active = id.Int64, pool.Bool, active.Bool
		st.rewards = append(st.rewards, c)
		if n > 0 {
			st.counts[c.ID] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rewards: read order state: %w", err)
	}
	return st, nil
}

// recordRedeemed records the order's reward.redeemed event for member m (nil: load it). A
// failure is logged:
// the order stands, and a retry of the order (replay) records it again.
func (s *Service) recordRedeemed(ctx context.Context, o *Order, m *members.Member) {
	if s.engine == nil || len(o.Lines) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if m == nil {
		var err error
		if m, err = s.members.Get(ctx, o.MemberID); err != nil {
			s.log.Error("reward.redeemed: member", "order", o.ID, "error", err)
			return
		}
	}
	loc := time.UTC
	ids := make([]any, len(o.Lines))
	seen := map[int64]bool{} // campaigns looked up
	for i, l := range o.Lines {
		ids[i] = RewardRef(l.RewardID)
		if loc == time.UTC && l.Reward != nil && l.Reward.CampaignID != nil && !seen[*l.Reward.CampaignID] {
			seen[*l.Reward.CampaignID] = true
			if c, err := s.campaigns.Get(ctx, *l.Reward.CampaignID); err == nil {
				if z, err := time.LoadLocation(c.TimeZone); err == nil {
					loc = z
				}
			}
		}
	}
	res, err := s.engine.Record(ctx, []event.Input{{Type: EventType, MemberRef: m.ExternalRef, Source: EventSource,
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

// orderHash identifies an order's input: the member, the rewards and, when the caller chose
// them, the points (so orders placed before points could be chosen keep their hash).
func orderHash(memberID int64, rewardIDs []int64, points *int64) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "redeem\x00%d", memberID)
	for _, id := range rewardIDs {
		fmt.Fprintf(h, "\x00%d", id)
	}
	if points != nil {
		fmt.Fprintf(h, "\x00points=%d", *points)
	}
	return h.Sum(nil)
}

// payWith returns the order's quotes with each line's Points and MoneyDue as the order pays
// them: with points nil, every line's quoted points; else the points spread over the lines in
// line order, each taking up to its quoted points. ErrPointsOutOfRange when points exceeds
// what the quotes allow. quotes is not modified (a retried transaction reuses it).
func payWith(quotes []Quote, points *int64) ([]Quote, error) {
	if points == nil {
		return quotes, nil
	}
	var most int64
	for _, q := range quotes {
		most += q.Points
	}
	if *points > most {
		return nil, fmt.Errorf("%w: points %d is more than the %d points this order may be paid with (each reward's price, or the programme's cap on points when lower)",
			ErrPointsOutOfRange, *points, most)
	}
	out := slices.Clone(quotes)
	left := *points
	for i := range out {
		take := min(left, out[i].Points)
		out[i].Points, out[i].MoneyDue = take, out[i].Price-take
		left -= take
	}
	return out, nil
}

// ledgerKey derives the ledger debit's idempotency key from the member and the order's key.
func ledgerKey(memberID int64, key string) string {
	return fmt.Sprintf("redeem:%d:%x", memberID, sha256.Sum256([]byte(key)))
}

// limitedIDs returns the ids of the lines' rewards that have a per-member limit, once each.
func limitedIDs(lines []*Reward) []int64 {
	var out []int64
	for _, r := range lines {
		if r.PerMemberLimit > 0 {
			out = append(out, r.ID)
		}
	}
	return uniqueIDs(out)
}

func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
