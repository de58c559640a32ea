package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock key that serialises migrations across replicas.
const migrationLockKey = 0x70726f6d6f67 // "promog"

func migrations() (*migrate.Migrations, error) {
	ms := migrate.NewMigrations()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if err := ms.Discover(sub); err != nil {
		return nil, fmt.Errorf("db: discover migrations: %w", err)
	}
	return ms, nil
}

// Migrate applies every pending migration and returns the names applied. Concurrent callers
// (several replicas starting at once) are serialised by a PostgreSQL advisory lock, so each
// migration runs exactly once.
func Migrate(ctx context.Context, bdb *DB) ([]string, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	conn, err := bdb.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("db: lock migrations: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // closing the session releases the lock too
		}
	}()

	// Record a migration as applied only once it has run: bun's default marks it first, so a
	// migration that failed (a lost connection, a lock timeout) stayed recorded as applied and
	// was never run again, leaving the schema behind for good.
	m := migrate.NewMigrator(bdb.DB, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("db: init migrations: %w", err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name)
	}
	return names, nil
}

// PendingMigrations returns the names of embedded migrations not yet applied to bdb. A database
// that was never migrated reports every migration as pending.
func PendingMigrations(ctx context.Context, bdb *DB) ([]string, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := PG(bdb).QueryRow(ctx, "SELECT to_regclass('bun_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, err
	}
	var names []string
	if !exists {
		for _, mig := range ms.Sorted() {
			names = append(names, mig.Name)
		}
		return names, nil
	}
	status, err := migrate.NewMigrator(bdb.DB, ms).MigrationsWithStatus(ctx)
	if err != nil {
		return nil, err
	}
	for _, mig := range status.Unapplied() {
		names = append(names, mig.Name)
	}
	return names, nil
}
