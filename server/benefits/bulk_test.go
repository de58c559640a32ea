package benefits_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/benefits"
)

var refs atomic.Int64

// campaignWithMembers makes a campaign and n members, returning the campaign's target for each
// member; ref is made unique.
func campaignWithMembers(t *testing.T, bdb *db.DB, ref string, n int) []benefits.Target {
	t.Helper()
	ref = fmt.Sprintf("%s%d", ref, refs.Add(1))
	first := target(t, bdb, ref)
	out := []benefits.Target{first}
	for i := 1; i < n; i++ {
		tg := first
		if err := bdb.NewRaw(`INSERT INTO members (external_ref) VALUES (?) RETURNING id`, ref+"-"+string(rune('a'+i))).
			Scan(context.Background(), &tg.MemberID); err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

// stored reads a benefit as comparable values: everything but its id and member.
func stored(t *testing.T, bdb *db.DB, tg benefits.Target, key string) benefits.Benefit {
	t.Helper()
	var b benefits.Benefit
	if err := bdb.NewSelect().Model(&b).Where("member_id = ? AND campaign_id = ? AND key = ?", tg.MemberID, tg.CampaignID, key).
		Scan(context.Background()); err != nil {
		t.Fatalf("benefit %q of member %d: %v", key, tg.MemberID, err)
	}
	b.ID, b.MemberID = 0, 0
	return b
}

// TestGrantManyStoresWhatGrantStores: every kind of grant GrantMany takes is stored with the
// same columns as Grant stores it (status, fulfilment, periods to the microsecond, arrays,
// attributes, tricky strings, event), in the order given; keys the member has, or that come
// twice, are left alone.
func TestGrantManyStoresWhatGrantStores(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	tgs := campaignWithMembers(t, bdb, "bulk", 3)
	one, many, other := tgs[0], tgs[1], tgs[2]
	var eventID int64
	if err := bdb.NewRaw(`INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at, next_attempt_at)
		VALUES ('s', ?, 'purchase', ?, now(), '\x00', now(), now()) RETURNING id`, fmt.Sprint(many.MemberID), many.MemberID).Scan(ctx, &eventID); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2021, 4, 29, 0, 0, 0, 123456789, time.FixedZone("Kyiv", 3*3600))
	until := from.AddDate(0, 1, 0)
	now := time.Date(2021, 4, 29, 0, 0, 5, 987654321, time.UTC)
	grants := []*benefits.Spec{
		{Key: "gift-2021-04-A-1", Kind: "gift", Title: "Branded calculator + branded travel hair dryer", Recipient: "Employee 1",
			ValidFrom: &from, Attributes: map[string]any{"items": []any{"branded calculator", "branded travel hair dryer"}, "month": "2021-04",
				"termMonths": 24, "fulfilment": "to_deliver"}},
		{Key: "gift-courier", Kind: "gift", Title: `He said "hi", {x} \ NULL`, Attributes: map[string]any{"fulfilment": "delivered"}},
		{Key: "addon", Kind: "addon", Title: "Roaming", Attributes: map[string]any{"activation": "on_request"}, ValidUntil: &until},
		{Key: "discount", Kind: "discount", Percent: 2501, Scope: "monthly_fee", Exclusions: []string{"a,b", `"q"`, "NULL", ""},
			ValidFrom: &from, ValidUntil: &until},
		{Key: "sms", Kind: "sms_package", Quantity: 1200},
		{Key: "reward", Kind: "reward"},
	}
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		for _, g := range grants {
			if _, _, err := benefits.Grant(ctx, tx, one, g, now); err != nil {
				return err
			}
		}
		// The member already has "sms" (granted before with another title): left alone.
		if _, _, err := benefits.Grant(ctx, tx, many, &benefits.Spec{Key: "sms", Kind: "sms_package", Title: "earlier"}, now); err != nil {
			return err
		}
		var gs []benefits.Grantee
		withEvent := many
		withEvent.EventID = &eventID
		for i, g := range grants {
			tg := many
			if i == 0 {
				tg = withEvent
			}
			gs = append(gs, benefits.Grantee{Target: tg, Grant: g})
		}
		gs = append(gs, benefits.Grantee{Target: many, Grant: &benefits.Spec{Key: "addon", Kind: "addon", Title: "second"}},
			benefits.Grantee{Target: other, Grant: grants[4]})
		n, err := benefits.GrantMany(ctx, tx, gs, now)
		if err != nil {
			return err
		}
		if n != 6 {
			t.Errorf("GrantMany created %d benefits, want 6 (5 new keys of one member, 1 of another)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		want, got := stored(t, bdb, one, g.Key), stored(t, bdb, many, g.Key)
		switch g.Key {
		case "gift-2021-04-A-1":
			want.EventID = &eventID
		case "sms":
			want.Title, want.Quantity = "earlier", 0 // the member's earlier grant
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: GrantMany stored\n%+v\nGrant stored\n%+v", g.Key, got, want)
		}
	}
	if b := stored(t, bdb, many, "addon"); b.Title != "Roaming" || b.Status != benefits.Available {
		t.Errorf("a key given twice: %+v, want the first grant (Roaming, available)", b)
	}
	if b := stored(t, bdb, many, "gift-courier"); b.Fulfillment != benefits.Delivered || b.Title != `He said "hi", {x} \ NULL` {
		t.Errorf("gift-courier: %+v", b)
	}
	if b := stored(t, bdb, many, "discount"); !reflect.DeepEqual(b.Exclusions, []string{"a,b", `"q"`, "NULL", ""}) ||
		!b.ValidFrom.Equal(from.Truncate(time.Microsecond)) || !b.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("discount: exclusions %q, from %s, created %s", b.Exclusions, b.ValidFrom, b.CreatedAt)
	}
	var keys []string
	if err := bdb.NewRaw(`SELECT key FROM benefits WHERE member_id IN (?, ?) AND title <> 'earlier' ORDER BY id`,
		many.MemberID, other.MemberID).Scan(ctx, &keys); err != nil {
		t.Fatal(err)
	}
	if want := []string{"gift-2021-04-A-1", "gift-courier", "addon", "discount", "reward", "sms"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("ids follow the grants: %q, want %q", keys, want)
	}
}

// TestGrantManyRefuses: a grant Grant would refuse, or one with a code, fails the whole call
// with ErrInvalid and stores nothing; Check and Bulk say so beforehand.
func TestGrantManyRefuses(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	tg := campaignWithMembers(t, bdb, "bulk-refuse", 1)[0]
	from := time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)
	before := from.Add(-time.Second)
	for _, tc := range []struct {
		grant      benefits.Spec
		bulk       bool
		check, err string
	}{
		{benefits.Spec{Key: "p", Kind: "discount", ValidFrom: &from, ValidUntil: &before}, true,
			"invalid benefit: validUntil is before validFrom", "invalid benefit: validUntil is before validFrom"},
		{benefits.Spec{Key: "", Kind: "gift"}, true, "invalid benefit: key must be 1 to 200 bytes", "invalid benefit: key must be 1 to 200 bytes"},
		{benefits.Spec{Key: "k", Kind: "voucher"}, true, `invalid benefit: kind "voucher" is not one of discount, addon, gift, sms_package, promo_code`,
			`invalid benefit: kind "voucher" is not one of discount, addon, gift, sms_package, promo_code`},
		{benefits.Spec{Key: "k", Kind: "gift", Percent: 10001}, true, "invalid benefit: percent 10001 basis points is outside 0..10000",
			"invalid benefit: percent 10001 basis points is outside 0..10000"},
		{benefits.Spec{Key: "k", Kind: "sms_package", Quantity: -1}, true, "invalid benefit: negative quantity", "invalid benefit: negative quantity"},
		{benefits.Spec{Key: "code", Kind: "promo_code"}, false, "", "invalid benefit: a benefit with a code is granted one at a time"},
		{benefits.Spec{Key: "code", Kind: "discount", Code: "ABCDE-FGHJK"}, false, "", "invalid benefit: a benefit with a code is granted one at a time"},
	} {
		g := tc.grant
		check := ""
		if err := benefits.Check(&g); err != nil {
			check = err.Error()
		}
		if benefits.Bulk(&g) != tc.bulk || check != tc.check {
			t.Errorf("%+v: Bulk %v, Check %q; want %v, %q", g, benefits.Bulk(&g), check, tc.bulk, tc.check)
		}
		_, err := benefits.GrantMany(ctx, bdb, []benefits.Grantee{{Target: tg, Grant: &benefits.Spec{Key: "fine", Kind: "gift"}},
			{Target: tg, Grant: &g}}, time.Now())
		if !errors.Is(err, benefits.ErrInvalid) || err.Error() != tc.err {
			t.Errorf("%+v: GrantMany error %v, want %q", g, err, tc.err)
		}
	}
	var n int
	if err := bdb.NewRaw(`SELECT count(*) FROM benefits WHERE member_id = ?`, tg.MemberID).Scan(ctx, &n); err != nil || n != 0 {
		t.Fatalf("%d benefits stored after refused calls (%v), want 0", n, err)
	}
	if n, err := benefits.GrantMany(ctx, bdb, nil, time.Now()); n != 0 || err != nil {
		t.Fatalf("GrantMany of nothing: %d, %v", n, err)
	}
}

// TestMembersRowsAndParticipantPages: Current, Tiers and Enrollments return each member's rows
// in order however the members are listed (twice, unknown, none); ParticipantPage pages
// through a campaign's enrolments in enrolment order.
func TestMembersRowsAndParticipantPages(t *testing.T) {
	bdb := dbtest.DB(t)
	ctx := context.Background()
	store := benefits.NewStore(bdb)
	tgs := campaignWithMembers(t, bdb, "rows", 3)
	a, b, c := tgs[0], tgs[1], tgs[2]
	var enrolments []int64
	for i, tg := range []benefits.Target{b, a, c, b} {
		var id int64
		if err := bdb.NewRaw(`INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, enrolled_at)
			VALUES (?, ?, ?, '\x00', now()) RETURNING id`, tg.CampaignID, tg.MemberID, "k"+string(rune('0'+i))).Scan(ctx, &id); err != nil {
			t.Fatal(err)
		}
		enrolments = append(enrolments, id)
	}
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		for _, k := range []string{"x", "y", "z"} {
			if _, _, err := benefits.Grant(ctx, tx, a, &benefits.Spec{Key: k, Kind: "gift"}, time.Now()); err != nil {
				return err
			}
		}
		if _, err := benefits.End(ctx, tx, a, "y", "cancelled", nil, time.Now()); err != nil {
			return err
		}
		return benefits.SetTier(ctx, tx, b, "gold", nil, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{c.MemberID, a.MemberID, a.MemberID, -1, b.MemberID}
	cur, err := store.Current(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range cur[a.MemberID] {
		keys = append(keys, x.Key)
	}
	if len(cur) != 1 || !reflect.DeepEqual(keys, []string{"x", "z"}) {
		t.Errorf("Current: %d members, keys of a %q; want 1, [x z]", len(cur), keys)
	}
	tiers, err := store.Tiers(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(tiers) != 1 || len(tiers[b.MemberID]) != 1 || tiers[b.MemberID][0].Tier != "gold" {
		t.Errorf("Tiers: %+v", tiers)
	}
	ens, err := store.Enrollments(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(ens) != 3 || len(ens[b.MemberID]) != 2 || ens[b.MemberID][0].ID != enrolments[0] || ens[b.MemberID][1].ID != enrolments[3] ||
		ens[a.MemberID][0].IdempotencyKey != "k1" || ens[c.MemberID][0].ID != enrolments[2] {
		t.Errorf("Enrollments: %+v", ens)
	}
	for _, none := range [][]int64{nil, {}} {
		cur, err1 := store.Current(ctx, none)
		tiers, err2 := store.Tiers(ctx, none)
		ens, err3 := store.Enrollments(ctx, none)
		if len(cur)+len(tiers)+len(ens) != 0 || errors.Join(err1, err2, err3) != nil {
			t.Errorf("no members: %v %v %v %v", cur, tiers, ens, errors.Join(err1, err2, err3))
		}
	}

	var pages [][]benefits.Participant
	var mores []bool
	for after := int64(0); ; {
		page, more, err := store.ParticipantPage(ctx, a.CampaignID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages, mores = append(pages, page), append(mores, more)
		if !more {
			break
		}
		after = page[len(page)-1].EnrollmentID
	}
	want := [][]benefits.Participant{
		{{enrolments[0], b.MemberID}, {enrolments[1], a.MemberID}, {enrolments[2], c.MemberID}},
		{{enrolments[3], b.MemberID}},
	}
	if !reflect.DeepEqual(pages, want) || !reflect.DeepEqual(mores, []bool{true, false}) {
		t.Errorf("pages %+v (more %v), want %+v, [true false]", pages, mores, want)
	}
	if page, more, err := store.ParticipantPage(ctx, a.CampaignID, enrolments[3], 3); len(page) != 0 || more || err != nil {
		t.Errorf("after the last: %+v %v %v", page, more, err)
	}
}
