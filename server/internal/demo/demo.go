// Package demo loads a small demonstration data set (a programme, members with balances and
// history) so a newcomer sees Promogate working in the explorer. Loading is idempotent: every
// write carries a fixed idempotency key, so running it again changes nothing.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

// ProgramCode is the code of the demo programme.
const ProgramCode = "demo"

// Load creates the demo programme and members if they are missing and gives them a history.
func Load(ctx context.Context, l *ledger.Ledger, ms *members.Store, log hclog.Logger) error {
	p, err := l.ProgramByCode(ctx, ProgramCode)
	if errors.Is(err, ledger.ErrProgramNotFound) {
		p, err = l.CreateProgram(ctx, ProgramCode, "Demo points programme",
			"Points for purchases; they expire after a year. Loaded by `promogate demo`.")
	}
	if err != nil {
		return fmt.Errorf("demo: programme: %w", err)
	}
	people := []members.UpsertInput{
		{ExternalRef: "demo-anna", Name: ptr("Anna Kovalenko"), Email: ptr("anna@example.com"), Phone: ptr("+380501112233"), Region: ptr("Kyiv")},
		{ExternalRef: "demo-boris", Name: ptr("Boris Ivanov"), Email: ptr("boris@example.com"), Phone: ptr("+79161234567"), Region: ptr("Moscow")},
		{ExternalRef: "demo-chen", Name: ptr("Chen Wei"), Email: ptr("chen@example.com"), Phone: ptr("+375291234567"), Region: ptr("Minsk")},
	}
	ids := map[string]int64{}
	for _, in := range people {
		m, err := ms.GetByExternalRef(ctx, in.ExternalRef)
		if errors.Is(err, members.ErrNotFound) {
			m, _, err = ms.Upsert(ctx, in)
		}
		if err != nil {
			return fmt.Errorf("demo: member %s: %w", in.ExternalRef, err)
		}
		ids[in.ExternalRef] = m.ID
	}
	// Dates are anchored to the programme's creation, so loading again writes the same input
	// under the same idempotency keys (and so changes nothing).
	anchor := p.CreatedAt.UTC().Truncate(time.Second)
	inYear := anchor.AddDate(1, 0, 0)
	inMonth := anchor.AddDate(0, 1, 0)
	nextWeek := anchor.AddDate(0, 0, 7)
	credits := []ledger.CreditInput{
		{MemberID: ids["demo-anna"], Amount: 1200, Reason: "welcome bonus", IdempotencyKey: "demo:anna:welcome", ExpiresAt: &inYear},
		{MemberID: ids["demo-anna"], Amount: 300, Reason: "purchase #1001", IdempotencyKey: "demo:anna:purchase-1001", ExpiresAt: &inMonth},
		{MemberID: ids["demo-anna"], Amount: 150, Reason: "purchase #1002 (pending a week)", IdempotencyKey: "demo:anna:purchase-1002", AvailableAt: &nextWeek, ExpiresAt: &inYear},
		{MemberID: ids["demo-boris"], Amount: 500, Reason: "welcome bonus", IdempotencyKey: "demo:boris:welcome", ExpiresAt: &inYear},
		{MemberID: ids["demo-boris"], Amount: 80, Reason: "review", IdempotencyKey: "demo:boris:review", ExpiresAt: &inYear},
		{MemberID: ids["demo-chen"], Amount: 50, Reason: "welcome bonus", IdempotencyKey: "demo:chen:welcome", ExpiresAt: &inYear},
	}
	for _, c := range credits {
		c.ProgramID = p.ID
		if _, err := l.Credit(ctx, c); err != nil {
			return fmt.Errorf("demo: credit %s: %w", c.IdempotencyKey, err)
		}
	}
	spend, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: ids["demo-anna"], Amount: 400,
		Reason: "reward: cinema ticket", IdempotencyKey: "demo:anna:cinema"})
	if err != nil {
		return fmt.Errorf("demo: debit: %w", err)
	}
	wrong, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: ids["demo-boris"], Amount: 100,
		Reason: "reward ordered by mistake", IdempotencyKey: "demo:boris:mistake"})
	if err != nil {
		return fmt.Errorf("demo: debit: %w", err)
	}
	if _, err := l.Reverse(ctx, wrong.ID, "operator: order placed by mistake"); err != nil && !errors.Is(err, ledger.ErrAlreadyReversed) {
		return fmt.Errorf("demo: reverse: %w", err)
	}
	log.Info("demo data loaded", "program", p.Code, "members", len(ids), "spend", spend.ID)
	return nil
}

func ptr[T any](v T) *T { return &v }
