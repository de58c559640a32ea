// Package dbtest gives each test package its own throwaway PostgreSQL database, migrated to the
// current schema and dropped when the package's tests end. The server to use comes from
// TEST_DATABASE_URL (or DATABASE_URL); `make test` starts a private cluster and sets it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
)

var (
	mu      sync.Mutex
	shared  *db.DB
	sharedU string
)

// AdminURL returns the URL of the PostgreSQL server tests may create databases on, from
// TEST_DATABASE_URL or else DATABASE_URL, or "" when neither is set.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return os.Getenv("DATABASE_URL")
}

// Main runs a test package against a fresh database: it creates the database, migrates it, runs
// m, and drops the database. Use it from TestMain: `func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }`.
// Without a server URL it fails the package with an explanation rather than skipping.
func Main(m *testing.M) int {
	admin := AdminURL()
	if admin == "" {
		fmt.Fprintln(os.Stderr, "dbtest: TEST_DATABASE_URL is not set; run the tests with `make test`, which starts a private PostgreSQL cluster")
		return 1
	}
	ctx := context.Background()
	dbURL, drop, err := CreateDatabase(ctx, admin, packageName())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	bdb, err := db.Open(ctx, dbURL, db.Options{MaxOpenConns: 80, ApplicationName: "promogate-test"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		drop()
		return 1
	}
	if _, err := db.Migrate(ctx, bdb); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		bdb.Close()
		drop()
		return 1
	}
	mu.Lock()
	shared, sharedU = bdb, dbURL
	mu.Unlock()
	code := m.Run()
	bdb.Close()
	drop()
	return code
}

// DB returns the package's migrated test database. It fails the test when Main did not run.
func DB(t testing.TB) *db.DB {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		t.Fatal("dbtest: no database; call dbtest.Main from TestMain")
	}
	return shared
}

// URL returns the connection URL of the package's test database (for starting real binaries).
func URL(t testing.TB) string {
	t.Helper()
	DB(t)
	return sharedU
}

// CreateDatabase creates an empty database named after prefix plus a random suffix on the server
// at adminURL and returns its URL and a function that drops it (terminating its connections).
func CreateDatabase(ctx context.Context, adminURL, prefix string) (string, func(), error) {
	admin, err := db.Open(ctx, adminURL, db.Options{MaxOpenConns: 2, ApplicationName: "promogate-test-admin"})
	if err != nil {
		return "", nil, err
	}
	name := dbName(prefix)
	if _, err := db.PG(admin).Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.PG(admin).Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: drop %s: %v\n", name, err)
		}
		admin.Close()
	}
	return u.String(), drop, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

func dbName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	p := unsafeChars.ReplaceAllString(strings.ToLower(prefix), "_")
	if len(p) > 30 {
		p = p[:30]
	}
	return fmt.Sprintf("t_%s_%s", p, hex.EncodeToString(b[:]))
}

func packageName() string {
	wd, err := os.Getwd()
	if err != nil {
		return "pkg"
	}
	return filepath.Base(wd)
}
