package benefits_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/benefits"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// target makes a member in a campaign to grant benefits to.
func target(t *testing.T, bdb *db.DB, ref string) benefits.Target {
	t.Helper()
	ctx := context.Background()
	var tg benefits.Target
	err := bdb.NewRaw(`WITH p AS (INSERT INTO programs (code, name) VALUES (?, 'P') RETURNING id),
		pl AS (INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		       VALUES ('fake', '1.0.0', '/x', repeat('0', 64), 1, now(), 'test') ON CONFLICT DO NOTHING RETURNING id),
		c AS (INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, starts_at, created_at, updated_at)
		      SELECT ?, 'C', p.id, 'fake', '1.0.0', now(), now(), now() FROM p RETURNING id, program_id),
		m AS (INSERT INTO members (external_ref) VALUES (?) RETURNING id)
		SELECT m.id, c.id, c.program_id FROM m, c`, ref, ref, ref).Scan(ctx, &tg.MemberID, &tg.CampaignID, &tg.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestBenefitEndsAfterItsLastSecond: a benefit valid until 23:59:59 local applies for that
// whole second and ends at 00:00:00, on the days Kyiv enters and leaves summer time.
func TestBenefitEndsAfterItsLastSecond(t *testing.T) {
	bdb := dbtest.DB(t)
	store := benefits.NewStore(bdb)
	kyiv, _ := time.LoadLocation("Europe/Kyiv")
	for _, day := range []time.Time{
		time.Date(2023, 3, 26, 0, 0, 0, 0, kyiv),  // 23 hours: clocks 03:00 → 04:00
		time.Date(2023, 10, 29, 0, 0, 0, 0, kyiv), // 25 hours: clocks 04:00 → 03:00
	} {
		t.Run(day.Format("2006-01-02"), func(t *testing.T) {
			ctx := context.Background()
			tg := target(t, bdb, "dst-"+day.Format("0102"))
			last := time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, kyiv)
			from := day
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				_, _, err := benefits.Grant(ctx, tx, tg, &benefits.Spec{Key: "discount", Kind: "discount", Percent: 2501,
					ValidFrom: &from, ValidUntil: &last}, day)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				at    time.Time
				ended int64
			}{
				{last, 0},
				{last.Add(999 * time.Millisecond), 0},
				{time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, kyiv), 1},
			} {
				n, err := store.EndDue(ctx, tc.at)
				if err != nil {
					t.Fatal(err)
				}
				bs, _, err := store.List(ctx, benefits.Page{MemberID: tg.MemberID, ActiveOnly: true, At: tc.at, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.ended || (tc.ended == 0) != (len(bs) == 1) {
					t.Fatalf("at %s: ended %d (want %d), in force %d", tc.at.In(kyiv).Format("2006-01-02 15:04:05.000 MST"), n, tc.ended, len(bs))
				}
			}
			all, _, _ := store.List(ctx, benefits.Page{MemberID: tg.MemberID, Limit: 10})
			if len(all) != 1 || all[0].Status != benefits.Ended || all[0].EndReason != "expired" || !all[0].EndedAt.Equal(last) {
				t.Fatalf("ended benefit: %+v", all)
			}
		})
	}
}

// TestEndShowsTheRealEnd: ending a benefit moves its ValidUntil to the end; an end later than
// now keeps it in force until then (the reason planned), and EndDue ends it with that reason;
// an end at once ends it; an end before ValidFrom leaves ValidUntil alone; ending twice is a
// no-op.
func TestEndShowsTheRealEnd(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	store := benefits.NewStore(bdb)
	minsk, _ := time.LoadLocation("Europe/Minsk")
	granted := time.Date(2023, 8, 14, 11, 0, 0, 0, minsk)
	sixMonths := time.Date(2024, 2, 14, 23, 59, 59, 0, minsk)
	changed := time.Date(2023, 10, 26, 10, 0, 0, 0, minsk)
	lastSecond := time.Date(2023, 10, 26, 23, 59, 59, 0, minsk)
	grant := func(tg benefits.Target, from time.Time) {
		t.Helper()
		if err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			_, _, err := benefits.Grant(ctx, tx, tg, &benefits.Spec{Key: "fee-discount", Kind: "discount", Percent: 2501,
				ValidFrom: &from, ValidUntil: &sixMonths}, granted)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	end := func(tg benefits.Target, reason string, at *time.Time, now time.Time) *benefits.Benefit {
		t.Helper()
		var b *benefits.Benefit
		if err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			var err error
			b, err = benefits.End(ctx, tx, tg, "fee-discount", reason, at, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	stored := func(tg benefits.Target) benefits.Benefit {
		t.Helper()
		all, _, err := store.List(ctx, benefits.Page{MemberID: tg.MemberID, Limit: 10})
		if err != nil || len(all) != 1 {
			t.Fatalf("benefits: %+v, %v", all, err)
		}
		return all[0]
	}
	show := func(b benefits.Benefit) string {
		f := func(t *time.Time) string {
			if t == nil {
				return "nil"
			}
			return t.In(minsk).Format("2006-01-02 15:04:05")
		}
		return fmt.Sprintf("status %s, validUntil %s, endReason %q, endedAt %s", b.Status, f(b.ValidUntil), b.EndReason, f(b.EndedAt))
	}

	t.Run("planned end", func(t *testing.T) {
		tg := target(t, bdb, "end-planned")
		grant(tg, granted)
		end(tg, "plan_changed", &lastSecond, changed)
		b := stored(tg)
		if got, want := show(b), `status active, validUntil 2023-10-26 23:59:59, endReason "plan_changed", endedAt nil`; got != want {
			t.Fatalf("after the change: %s, want %s", got, want)
		}
		if !b.InForce(changed.Add(time.Hour)) || !b.InForce(lastSecond) || b.InForce(lastSecond.Add(time.Second)) {
			t.Fatalf("in force: at 11:00 %v, at 23:59:59 %v, at 00:00:00 %v; want true, true, false",
				b.InForce(changed.Add(time.Hour)), b.InForce(lastSecond), b.InForce(lastSecond.Add(time.Second)))
		}
		if n, err := store.EndDue(ctx, lastSecond); err != nil || n != 0 {
			t.Fatalf("EndDue at the last second ended %d (%v)", n, err)
		}
		if n, err := store.EndDue(ctx, lastSecond.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("EndDue at midnight ended %d (%v)", n, err)
		}
		if got, want := show(stored(tg)), `status ended, validUntil 2023-10-26 23:59:59, endReason "plan_changed", endedAt 2023-10-26 23:59:59`; got != want {
			t.Fatalf("after midnight: %s, want %s", got, want)
		}
	})
	t.Run("end at once", func(t *testing.T) {
		tg := target(t, bdb, "end-now")
		grant(tg, granted)
		end(tg, "", nil, changed)
		if got, want := show(stored(tg)), `status ended, validUntil 2023-10-26 10:00:00, endReason "cancelled", endedAt 2023-10-26 10:00:00`; got != want {
			t.Fatalf("ended now: %s, want %s", got, want)
		}
		// Ending again changes nothing.
		end(tg, "plan_changed", &lastSecond, lastSecond)
		if got, want := show(stored(tg)), `status ended, validUntil 2023-10-26 10:00:00, endReason "cancelled", endedAt 2023-10-26 10:00:00`; got != want {
			t.Fatalf("ended twice: %s, want %s", got, want)
		}
	})
	t.Run("end in the past", func(t *testing.T) {
		tg := target(t, bdb, "end-past")
		grant(tg, granted)
		end(tg, "plan_changed", &lastSecond, lastSecond.Add(48*time.Hour))
		if got, want := show(stored(tg)), `status ended, validUntil 2023-10-26 23:59:59, endReason "plan_changed", endedAt 2023-10-26 23:59:59`; got != want {
			t.Fatalf("ended late: %s, want %s", got, want)
		}
	})
	t.Run("end before it starts", func(t *testing.T) {
		tg := target(t, bdb, "end-early")
		grant(tg, lastSecond.Add(time.Hour))
		end(tg, "other_promotion", &changed, changed)
		if got, want := show(stored(tg)), `status ended, validUntil 2024-02-14 23:59:59, endReason "other_promotion", endedAt 2023-10-26 10:00:00`; got != want {
			t.Fatalf("ended before its start: %s, want %s", got, want)
		}
	})
	t.Run("a change replaces the planned end", func(t *testing.T) {
		tg := target(t, bdb, "end-changed")
		grant(tg, granted)
		end(tg, "plan_changed", &lastSecond, changed)
		if err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			_, err := benefits.Change(ctx, tx, tg, &benefits.ChangeSpec{Key: "fee-discount", ValidUntil: &sixMonths}, changed)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got, want := show(stored(tg)), `status active, validUntil 2024-02-14 23:59:59, endReason "", endedAt nil`; got != want {
			t.Fatalf("changed: %s, want %s", got, want)
		}
	})
}

// TestGrantIsIdempotentAndCodesAreDictatable: granting a key twice stores one benefit; an empty
// promo code is replaced by a code of the unambiguous alphabet.
func TestGrantIsIdempotentAndCodesAreDictatable(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	tg := target(t, bdb, "grant-twice")
	var first, second *benefits.Benefit
	var granted [2]bool
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) (err error) {
		g := &benefits.Spec{Key: "voka", Kind: "promo_code"}
		if first, granted[0], err = benefits.Grant(ctx, tx, tg, g, time.Now()); err != nil {
			return err
		}
		second, granted[1], err = benefits.Grant(ctx, tx, tg, g, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !granted[0] || granted[1] || first.ID != second.ID || first.Code != second.Code {
		t.Fatalf("grant twice: %+v %+v %v", first, second, granted)
	}
	if !regexp.MustCompile(`^[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}$`).MatchString(first.Code) {
		t.Fatalf("code %q is not two groups of 5 unambiguous characters", first.Code)
	}
	if got := benefits.NormalizeCode(" ab3d " + "-x9"); got != "AB3DX9" {
		t.Fatalf("NormalizeCode: %q", got)
	}
}

// TestNormalizeCode: a code typed in lower case, with spaces, without its dash or with another
// separator is the code NewCode made.
func TestNormalizeCode(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"VDJSS-DMGV9", "VDJSS-DMGV9"},
		{"VDJSSDMGV9", "VDJSS-DMGV9"},
		{"vdjssdmgv9", "VDJSS-DMGV9"},
		{" vdjss - dmgv9 ", "VDJSS-DMGV9"},
		{"VDJSS–DMGV9", "VDJSS-DMGV9"}, // en dash
		{"VDJSS—DMGV9", "VDJSS-DMGV9"}, // em dash
		{"VDJSS−DMGV9", "VDJSS-DMGV9"}, // minus sign
		{"VDJSS_DMGV9", "VDJSS-DMGV9"},
		{"VDJSS.DMGV9", "VDJSS-DMGV9"},
		{"VD-JS-SD-MG-V9", "VDJSS-DMGV9"},
		{"VDJSS DMGV9", "VDJSS-DMGV9"},
		{"NOPE-NOPE", "NOPENOPE"},
		{"", ""},
	} {
		if got := benefits.NormalizeCode(tc.typed); got != tc.want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
	for range 20 {
		code := benefits.NewCode()
		if got := benefits.NormalizeCode(code); got != code {
			t.Errorf("NormalizeCode(%q) = %q, want the code unchanged", code, got)
		}
	}
}
