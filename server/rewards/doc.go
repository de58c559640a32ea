// Package rewards keeps the rewards catalogue of each programme and turns points into rewards.
//
// A reward has a listed price in points, the regions and services it needs, a per-member limit,
// a validity once redeemed, an optional stock and an optional pool of imported partner promo
// codes. A reward bound to a campaign is priced by that campaign's plugin (Quote hook: status
// discounts, "at most half payable with points", "one exchange a month"); without a campaign its
// price is the listed one.
//
// Redeem places one order of several rewards, all or nothing, in one PostgreSQL transaction: it
// locks the member's ledger account row first, so that one member's orders serialise, then checks
// the per-member limits, takes stock (UPDATE … WHERE stock >= n) and promo codes, debits the
// points once (lots oldest-expiry-first, through the ledger), and stores the order, its lines and
// one benefit per reward. An idempotency key per member makes a retried order return the first
// one. A refusal is a Rejection with a stable code, never an error. Orders cannot be cancelled by
// members; Reverse is the audited operator reversal.
//
// Limiter rate-limits attempts at applying codes (invites, promo codes) per member and per client
// address.
//
// See docs/rewards.md.
package rewards
