// Command ledgerjob seeds ledger data for the benchmarks (scripts/bench.sh) and times the
// ledger's scheduled jobs against it.
//
// Usage:
//
//	ledgerjob seed   -db URL -program CODE [-create-program] -prefix j1- -members 100000 -lots 10 -expires-in -24h
//	ledgerjob expire -db URL [-program CODE] [-limit 1000]
//	ledgerjob check  -db URL -program CODE [-expired]
//
// seed creates members PREFIX1 … PREFIXn (existing ones are reused) and, for each, LOTS earn
// transactions written with set-based SQL exactly as the ledger writes a credit: one
// transaction, one posting from the programme's issuance account, one lot, and the account's
// available balance and lifetime earned raised by the amount. Lots expire at now + expires-in
// (spread over the day before it); a negative value makes them due for expiry at once.
//
// expire calls ledger.ExpireDue(now, limit) until it finds nothing due, and prints a RESULT line
// of JSON (lots, accounts, seconds, lots/s, the process's peak RSS). check verifies the
// ledger's invariants for one programme and exits 1 when one is broken.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/promogate/promogate/bench/cpustat"
	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/ledger"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ledgerjob seed|expire|check [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = runSeed(os.Args[2:])
	case "expire":
		err = runExpire(os.Args[2:])
	case "check":
		err = runCheck(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerjob:", err)
		os.Exit(1)
	}
}

func open(ctx context.Context, url string, conns int) (*db.DB, error) {
	if url == "" {
		url = os.Getenv("DATABASE_URL")
	}
	return db.Open(ctx, url, db.Options{MaxOpenConns: conns, ApplicationName: "ledgerjob"})
}

func runSeed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	url := fs.String("db", "", "database URL (default $DATABASE_URL)")
	program := fs.String("program", "bench", "programme code (must exist)")
	prefix := fs.String("prefix", "j1-", "member externalRef prefix")
	members := fs.Int("members", 100_000, "members PREFIX1 … PREFIXn")
	lots := fs.Int("lots", 10, "earn transactions (lots) per member; 0 creates members only")
	expiresIn := fs.Duration("expires-in", -24*time.Hour, "lots expire at now + this (negative: already due)")
	amount := fs.Int("amount", 0, "points per lot; 0: varied, 1 to 100")
	chunk := fs.Int("chunk", 5000, "members per database transaction")
	create := fs.Bool("create-program", false, "create the programme (with its system accounts) when it does not exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	bdb, err := open(ctx, *url, 2)
	if err != nil {
		return err
	}
	defer bdb.Close()
	if *create {
		_, err := ledger.New(bdb, time.Now).CreateProgram(ctx, *program, "Benchmark", "")
		if err != nil && !errors.Is(err, ledger.ErrProgramExists) {
			return err
		}
	}

	var p struct {
		ID       int64
		Issuance int64
	}
	if err := bdb.NewRaw(`SELECT p.id, a.id AS issuance FROM programs p
		JOIN accounts a ON a.program_id = p.id AND a.kind = 'issuance' AND a.member_id IS NULL
		WHERE p.code = ?`, *program).Scan(ctx, &p); err != nil {
		return fmt.Errorf("programme %q: %w", *program, err)
	}
	now := time.Now().UTC()
	created := now.Add(-400 * 24 * time.Hour)
	expires := now.Add(*expiresIn)
	tag := strconv.FormatInt(now.UnixNano(), 36)
	start := time.Now()
	for lo := 1; lo <= *members; lo += *chunk {
		hi := min(lo+*chunk-1, *members)
		err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			if _, err := tx.NewRaw(`INSERT INTO members (external_ref, created_at, updated_at)
				SELECT ? || g, ?, ? FROM generate_series(?::int, ?::int) g
				ON CONFLICT (external_ref) DO NOTHING`, *prefix, created, created, lo, hi).Exec(ctx); err != nil {
				return fmt.Errorf("members: %w", err)
			}
			if *lots == 0 {
				return nil
			}
			if _, err := tx.NewRaw(`INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
				SELECT ?, m.id, 'member', ?, ? FROM generate_series(?::int, ?::int) g
				JOIN members m ON m.external_ref = ? || g
				ON CONFLICT (program_id, member_id) WHERE member_id IS NOT NULL DO NOTHING`,
				p.ID, created, created, lo, hi, *prefix).Exec(ctx); err != nil {
				return fmt.Errorf("accounts: %w", err)
			}
			// One earn transaction, one posting and one lot per credit, and the balances raised
			// by the credits: what ledger.CreditTx writes, for a whole chunk at once.
			_, err := tx.NewRaw(`WITH acc AS (
					SELECT a.id, a.member_id, g FROM generate_series(?::int, ?::int) g
					JOIN members m ON m.external_ref = ? || g
					JOIN accounts a ON a.program_id = ? AND a.member_id = m.id),
				t AS (
					INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, reason, created_at)
					SELECT ?, acc.id, acc.member_id, 'earn', CASE WHEN ?::int > 0 THEN ?::int ELSE 1 + (acc.g * 7 + k * 13) % 100 END,
						'bench-seed:' || ? || ':' || acc.id || ':' || k, '\x00'::bytea, 'bench seed', ?
					FROM acc, generate_series(1, ?::int) k
					RETURNING id, account_id, points),
				p AS (
					INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount)
					SELECT id, ?, account_id, points FROM t),
				b AS (
					UPDATE accounts SET available = available + s.total, lifetime_earned = lifetime_earned + s.total, updated_at = ?
					FROM (SELECT account_id, sum(points) AS total FROM t GROUP BY account_id) s
					WHERE accounts.id = s.account_id)
				INSERT INTO lots (account_id, transaction_id, amount, remaining, available_at, expires_at, pending, created_at)
				SELECT account_id, id, points, points, ?, ?::timestamptz - (id % 1440) * interval '1 minute', false, ? FROM t`,
				lo, hi, *prefix, p.ID,
				p.ID, *amount, *amount, tag, created, *lots,
				p.Issuance,
				created,
				created, expires, created).Exec(ctx)
			if err != nil {
				return fmt.Errorf("credits: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if hi == *members || (hi/(*chunk))%5 == 0 {
			fmt.Fprintf(os.Stderr, "ledgerjob seed: %s1…%s%d: %d members, %d lots (%.0fs)\n",
				*prefix, *prefix, hi, hi, hi*(*lots), time.Since(start).Seconds())
		}
	}
	if *lots > 0 {
		if _, err := bdb.ExecContext(ctx, "ANALYZE members, accounts, transactions, postings, lots"); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "ledgerjob seed: done in %.1fs\n", time.Since(start).Seconds())
	return nil
}

type expireResult struct {
	Accounts    int     `json:"accounts"`
	Lots        int     `json:"lots"`
	Points      int64   `json:"points"`
	Calls       int     `json:"calls"`
	Seconds     float64 `json:"seconds"`
	LotsPerSec  float64 `json:"lots_per_s"`
	AcctsPerSec float64 `json:"accounts_per_s"`
	FindMs      float64 `json:"find_query_ms"`
	PeakRSSKB   int64   `json:"peak_rss_kb"`
	// IdleCPU is the share of the machine's CPU time that was idle while expiring (-1: unknown).
	IdleCPU float64 `json:"idle_cpu"`
}

func runExpire(args []string) error {
	fs := flag.NewFlagSet("expire", flag.ContinueOnError)
	url := fs.String("db", "", "database URL (default $DATABASE_URL)")
	limit := fs.Int("limit", 1000, "accounts per ExpireDue call")
	conns := fs.Int("conns", 16, "database pool size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	bdb, err := open(ctx, *url, *conns)
	if err != nil {
		return err
	}
	defer bdb.Close()
	led := ledger.New(bdb, time.Now)
	now := time.Now().UTC()

	// The cost of finding due accounts once, on its own (ExpireDue runs this query per call).
	t0 := time.Now()
	var ids []int64
	if err := bdb.NewRaw(`SELECT DISTINCT account_id FROM lots
		WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ? LIMIT ?`, now, *limit).Scan(ctx, &ids); err != nil {
		return err
	}
	var res expireResult
	res.FindMs = float64(time.Since(t0).Microseconds()) / 1000

	cpu0, cpuErr := cpustat.Read()
	start := time.Now()
	last := start
	for {
		r, err := led.ExpireDue(ctx, now, *limit)
		if err != nil {
			return err
		}
		res.Calls++
		res.Accounts += r.Accounts
		res.Lots += r.Lots
		res.Points += r.Points
		if r.Accounts == 0 {
			break
		}
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "ledgerjob expire: %d lots of %d accounts so far (%.0fs)\n", res.Lots, res.Accounts, time.Since(start).Seconds())
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.IdleCPU = -1
	if cpu1, err := cpustat.Read(); err == nil && cpuErr == nil {
		res.IdleCPU = cpustat.IdleShare(cpu0, cpu1)
	}
	if res.Seconds > 0 {
		res.LotsPerSec = float64(res.Lots) / res.Seconds
		res.AcctsPerSec = float64(res.Accounts) / res.Seconds
	}
	res.PeakRSSKB = vmHWM()
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return nil
}

// vmHWM returns this process's peak resident set size in KiB, or 0.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// invariants are the ledger's conservation rules (docs/ledger.md) restricted to one
// programme's member accounts; each query counts the rows that break its rule.
var invariants = []struct{ name, query string }{
	{"no due lot keeps a remainder (with -expired)", `SELECT count(*) FROM lots l JOIN accounts a ON a.id = l.account_id
		WHERE ?2 AND a.program_id = ?0 AND l.remaining > 0 AND l.expires_at <= ?1`},
	{"lot remaining = amount − consumed + restored", `SELECT count(*) FROM lots l JOIN accounts a ON a.id = l.account_id
		LEFT JOIN (SELECT lot_id, sum(CASE kind WHEN 'consume' THEN -amount ELSE amount END) AS d FROM lot_consumptions GROUP BY lot_id) c
		  ON c.lot_id = l.id
		WHERE a.program_id = ?0 AND l.remaining <> l.amount + coalesce(c.d, 0)`},
	{"balances = Σ lot remainders", `SELECT count(*) FROM accounts a
		LEFT JOIN (SELECT account_id, sum(remaining) FILTER (WHERE NOT pending) AS av, sum(remaining) FILTER (WHERE pending) AS pe
		           FROM lots GROUP BY account_id) s ON s.account_id = a.id
		WHERE a.program_id = ?0 AND a.member_id IS NOT NULL
		  AND (a.available <> coalesce(s.av, 0) OR a.pending <> coalesce(s.pe, 0))`},
	{"Σ transaction points = balance", `SELECT count(*) FROM accounts a
		LEFT JOIN (SELECT account_id, sum(points) AS pts FROM transactions GROUP BY account_id) t ON t.account_id = a.id
		WHERE a.program_id = ?0 AND a.member_id IS NOT NULL AND a.available + a.pending <> coalesce(t.pts, 0)`},
	{"member balance = Σ credit postings − Σ debit postings", `SELECT count(*) FROM accounts a
		LEFT JOIN (SELECT credit_account_id AS id, sum(amount) AS s FROM postings GROUP BY 1) c ON c.id = a.id
		LEFT JOIN (SELECT debit_account_id AS id, sum(amount) AS s FROM postings GROUP BY 1) d ON d.id = a.id
		WHERE a.program_id = ?0 AND a.member_id IS NOT NULL
		  AND a.available + a.pending <> coalesce(c.s, 0) - coalesce(d.s, 0)`},
	{"transaction postings move its points", `SELECT count(*) FROM transactions t
		LEFT JOIN (SELECT transaction_id, sum(CASE WHEN credit_account_id = tt.account_id THEN amount ELSE -amount END) AS s
		           FROM postings JOIN transactions tt ON tt.id = postings.transaction_id GROUP BY transaction_id) p
		  ON p.transaction_id = t.id
		WHERE t.program_id = ?0 AND t.points <> coalesce(p.s, 0)`},
	{"postings stay within one programme", `SELECT count(*) FROM postings p
		JOIN accounts d ON d.id = p.debit_account_id JOIN accounts c ON c.id = p.credit_account_id
		WHERE (d.program_id = ?0 OR c.program_id = ?0) AND d.program_id <> c.program_id`},
}

func runCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	url := fs.String("db", "", "database URL (default $DATABASE_URL)")
	program := fs.String("program", "bench", "programme code")
	expired := fs.Bool("expired", false, "also require that no due lot keeps a remainder (after expire)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	bdb, err := open(ctx, *url, 2)
	if err != nil {
		return err
	}
	defer bdb.Close()
	var pid int64
	if err := bdb.NewRaw("SELECT id FROM programs WHERE code = ?", *program).Scan(ctx, &pid); err != nil {
		return fmt.Errorf("programme %q: %w", *program, err)
	}
	now := time.Now().UTC()
	var broken []string
	for _, inv := range invariants {
		var n int64
		if err := bdb.NewRaw(inv.query, pid, now, *expired).Scan(ctx, &n); err != nil {
			return fmt.Errorf("%s: %w", inv.name, err)
		}
		status := "ok"
		if n > 0 {
			status = fmt.Sprintf("BROKEN in %d rows", n)
			broken = append(broken, inv.name)
		}
		fmt.Fprintf(os.Stderr, "ledgerjob check: %-55s %s\n", inv.name, status)
	}
	if len(broken) > 0 {
		return errors.New("ledger invariants broken: " + strings.Join(broken, "; "))
	}
	fmt.Println("CHECK ok")
	return nil
}
