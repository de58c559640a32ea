// Package db owns Promogate's PostgreSQL schema and connection handling: the embedded SQL
// migrations run by bun's migrator, opening a pool, running a unit of work in a transaction with
// bounded retries, and recognising constraint violations by name so that domain packages can turn
// them into domain errors.
package db
