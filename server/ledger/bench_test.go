package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// benchMembers is how many members the benchmarks spread their writes over.
const benchMembers = 300

// BenchmarkCredit measures Credit, each in its own database transaction, for a random one of
// benchMembers members of one programme: one call at a time (the latency of its round trips)
// and from 4×GOMAXPROCS goroutines at once (throughput, with waits for shared account locks).
func BenchmarkCredit(b *testing.B) {
	ctx := context.Background()
	bdb := dbtest.DB(b)
	l := ledger.New(bdb, nil)
	p := newProgram(b, l)
	ms := make([]int64, benchMembers)
	for i := range ms {
		ms[i] = newMember(b, bdb)
	}
	var seq atomic.Int64
	credit := func(rng *rand.Rand) error {
		_, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: ms[rng.IntN(len(ms))], Amount: 10,
			IdempotencyKey: fmt.Sprintf("bench-%d", seq.Add(1))})
		return err
	}
	b.Run("serial", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if err := credit(rng); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(uint64(seq.Add(1)), 3))
			for pb.Next() {
				if err := credit(rng); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkDebit measures Debit of one point, each in its own database transaction, for a random
// one of benchMembers members holding one large lot each, one call at a time.
func BenchmarkDebit(b *testing.B) {
	ctx := context.Background()
	bdb := dbtest.DB(b)
	l := ledger.New(bdb, nil)
	p := newProgram(b, l)
	ms := make([]int64, benchMembers)
	for i := range ms {
		ms[i] = newMember(b, bdb)
		mustCredit(b, l, p.ID, ms[i], 1_000_000_000, fmt.Sprintf("seed-%d", i))
	}
	var seq atomic.Int64
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: ms[rng.IntN(len(ms))], Amount: 1,
			IdempotencyKey: fmt.Sprintf("bench-%d", seq.Add(1))}); err != nil {
			b.Fatal(err)
		}
	}
}
