// Package ledger keeps members' points as a double-entry ledger in PostgreSQL.
//
// Every change is a transaction (earn, redeem, expire, adjust, reverse) with postings between a
// member account and one of the programme's system accounts (issuance, redemption, expiry,
// adjustment). Each credit creates a lot; spending consumes lots oldest-expiry-first and records
// what it took, so a reversal restores exactly those lots. Balances (available, pending,
// lifetime earned, status points) live on the member account row and are updated in the same
// PostgreSQL transaction as the postings.
//
// Concurrency: a write locks the member account row first, then its lots in (expires_at, id)
// order. System accounts are never locked. Every write carries an idempotency key unique per
// programme: the same key with the same input returns the first transaction, the same key with
// other input fails with ErrIdempotencyConflict.
//
// The package imports no transport; methods ending in Tx run inside a caller's transaction so
// the engine can apply several effects of one event atomically.
package ledger
