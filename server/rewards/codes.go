package rewards

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/promogate/promogate/db"
)

// MaxImportCodes is the most promo codes one ImportCodes call takes.
const MaxImportCodes = 10_000

// ImportResult is what ImportCodes did.
type ImportResult struct {
	Reward *Reward
	// Imported is how many codes were added to the pool.
	Imported int
	// Duplicates are the given codes left out because they are already known (in any reward's
	// pool, among benefit codes, or twice in the call), compared case-insensitively.
	Duplicates []string
}

// ImportCodes adds partner promo codes to the pool of a reward with CodePool set; each
// redemption hands out one. Codes are kept as given (trimmed), 1 to 100 characters without
// spaces, and are unique across all pools and benefit codes, case-insensitively. Errors:
// ErrNotFound, ErrInvalid.
func (s *Service) ImportCodes(ctx context.Context, rewardID int64, codes []string) (*ImportResult, error) {
	if len(codes) == 0 || len(codes) > MaxImportCodes {
		return nil, invalid("import 1 to %d codes at a time", MaxImportCodes)
	}
	r, err := s.Get(ctx, rewardID)
	if err != nil {
		return nil, err
	}
	if !r.CodePool {
		return nil, invalid("%s does not hand out promo codes (set codePool first)", r.Code)
	}
	var repeated []string
	seen := map[string]bool{}
	var clean []string
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if c == "" || len(c) > 100 || strings.ContainsAny(c, " \t\r\n") {
			return nil, invalid("code %q: codes are 1 to 100 characters without spaces", c)
		}
		if k := strings.ToUpper(c); seen[k] {
			repeated = append(repeated, c)
		} else {
			seen[k] = true
			clean = append(clean, c)
		}
	}
	now := s.now().UTC()
	out := &ImportResult{}
	err = db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		rows, err := db.PG(tx).Query(ctx, `INSERT INTO reward_codes (reward_id, code, imported_at)
			SELECT $1, c, $2 FROM unnest($3::text[]) AS c
			WHERE NOT EXISTS (SELECT 1 FROM benefits b WHERE b.code <> '' AND upper(b.code) = upper(c))
			ON CONFLICT (upper(code)) DO NOTHING
			RETURNING code`, rewardID, now, clean)
		var inserted []string
		if err == nil {
			inserted, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return fmt.Errorf("rewards: import codes: %w", err)
		}
		out.Duplicates = append([]string{}, repeated...)
		got := map[string]bool{}
		for _, c := range inserted {
			got[c] = true
		}
		for _, c := range clean {
			if !got[c] {
				out.Duplicates = append(out.Duplicates, c)
			}
		}
		out.Imported = len(inserted)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Reward, err = s.Get(ctx, rewardID); err != nil {
		return nil, err
	}
	return out, nil
}
