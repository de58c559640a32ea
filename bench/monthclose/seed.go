package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/promogate/promogate/db"
)

// The programme's shape. Member i (external ref mc-i) is a company with an April 2021 PROF
// contract A-i paid in full: 24 months for even i, 12 months for odd i (as "8+4", term 8,
// when i % 6 = 1). Members with i % 10 = 7 also hold a May contract M-i (12 months) and
// register both at once (no contractId answer); the others register A-i. The registration is
// submitted by "Employee i" when i % 5 ≠ 0 (with "Manager i" named responsible when also
// i % 3 = 0), only "Manager i" is named when i % 10 = 5, and nobody when i % 10 = 0 (the gift
// then goes to the head of the organisation, attribute headOfOrganisation "Head i"). Member i
// registers on 1 April 2021 09:00 Kyiv plus (i−1) mod 28 days and (i−1) mod 3600 seconds.
//
// Closing April therefore releases one gift per member (the April contract's) and none for
// May. The Go functions below are what the engine is given for its own enrolments; the SQL
// after them writes the same rows for everyone else, and seed compares the two.

var (
	kyiv, _ = time.LoadLocation("Europe/Kyiv")
	// firstRegistration is member 1's registration time.
	firstRegistration = time.Date(2021, 4, 1, 9, 0, 0, 0, kyiv)
	// aprilClose is when April's registration closes and its gifts are released.
	aprilClose = time.Date(2021, 4, 29, 0, 0, 0, 0, kyiv)
	// runAt is the programme time of the timed scheduler pass.
	runAt = aprilClose.Add(5 * time.Second)
)

func registeredAt(i int) time.Time {
	return firstRegistration.AddDate(0, 0, (i-1)%28).Add(time.Duration((i-1)%3600) * time.Second).UTC()
}

func answersFor(i int) map[string]any {
	a := map[string]any{}
	if i%10 != 7 {
		a["contractId"] = "A-" + strconv.Itoa(i)
	}
	if i%5 != 0 {
		a["registeredBy"] = "Employee " + strconv.Itoa(i)
	}
	if i%10 == 5 || (i%5 != 0 && i%3 == 0) {
		a["responsible"] = "Manager " + strconv.Itoa(i)
	}
	return a
}

// membersSQL creates members mc-lo … mc-hi with their contracts.
const membersSQL = `INSERT INTO members (external_ref, name, attributes, created_at, updated_at)
	SELECT 'mc-' || i, 'Company ' || i,
		jsonb_build_object('productRegistered', true, 'headOfOrganisation', 'Head ' || i, 'itsContracts',
			jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('id', 'A-' || i, 'level', 'PROF',
				'termMonths', CASE WHEN i % 2 = 0 THEN 24 WHEN i % 6 = 1 THEN 8 ELSE 12 END,
				'scheme', CASE WHEN i % 6 = 1 THEN '8+4' END, 'paidInFull', true, 'startMonth', '2021-04')))
			|| CASE WHEN i % 10 = 7 THEN jsonb_build_array(jsonb_build_object('id', 'M-' || i, 'level', 'PROF',
				'termMonths', 12, 'paidInFull', true, 'startMonth', '2021-05')) ELSE '[]'::jsonb END),
		?2, ?2
	FROM generate_series(?0::int, ?1::int) AS i`

// registrationsSQL selects, for members mc-lo … mc-hi of campaign ?2, the enrolment row and
// the plugin_state row that engine.Enroll writes (with the plugin's put_state), plus what
// April's close must then write: the gift benefit and the state with the gift's key.
const registrationsSQL = `WITH x AS (
		SELECT i, m.id AS member_id,
			CASE WHEN i % 10 <> 7 THEN 'A-' || i END AS contract_id,
			CASE WHEN i % 5 <> 0 THEN 'Employee ' || i END AS by,
			CASE WHEN i % 10 = 5 OR (i % 5 <> 0 AND i % 3 = 0) THEN 'Manager ' || i END AS resp,
			timestamptz '2021-04-01 09:00:00+03' + ((i - 1) % 28) * interval '1 day' + ((i - 1) % 3600) * interval '1 second' AS at
		FROM generate_series(?0::int, ?1::int) AS i JOIN members m ON m.external_ref = 'mc-' || i),
	y AS (
		SELECT x.*,
			-- json.Marshal of the answers map: keys sorted, no spaces
			'{' || concat_ws(',', '"contractId":"' || contract_id || '"', '"registeredBy":"' || by || '"',
				'"responsible":"' || resp || '"') || '}' AS answers_text,
			jsonb_strip_nulls(jsonb_build_object('contractId', 'A-' || i, 'month', '2021-04',
				'termMonths', CASE WHEN i % 2 = 0 THEN 24 ELSE 12 END, 'scheme', CASE WHEN i % 6 = 1 THEN '8+4' END,
				'registeredAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'registeredBy', by, 'responsible', resp)) AS april,
			CASE WHEN i % 10 = 7 THEN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('contractId', 'M-' || i,
				'month', '2021-05', 'termMonths', 12,
				'registeredAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'registeredBy', by, 'responsible', resp))) ELSE '[]'::jsonb END AS may
		FROM x)
	SELECT ?2::bigint AS campaign_id, member_id, 'mc-' || i AS idempotency_key,
		sha256(convert_to(member_id::text, 'UTF8') || '\x00'::bytea || convert_to(answers_text, 'UTF8')) AS input_hash,
		answers_text::jsonb AS answers, coalesce(by, '') AS registered_by, coalesce(resp, '') AS responsible,
		at AS enrolled_at,
		jsonb_build_object('registrations', jsonb_build_array(april) || may) AS state,
		1::bigint AS version,
		'gift-2021-04-A-' || i AS gift_key,
		CASE WHEN i % 2 = 0 THEN 'Branded calculator + branded travel hair dryer' ELSE 'Branded calculator' END AS gift_title,
		coalesce(by, resp, 'Head ' || i) AS gift_recipient,
		jsonb_build_object('fulfilment', 'to_deliver', 'month', '2021-04', 'contractId', 'A-' || i,
			'termMonths', CASE WHEN i % 2 = 0 THEN 24 ELSE 12 END,
			'items', CASE WHEN i % 2 = 0 THEN '["branded calculator", "branded travel hair dryer"]'::jsonb
			              ELSE '["branded calculator"]'::jsonb END,
			'recipientRole', CASE WHEN by IS NOT NULL THEN 'registered_by' WHEN resp IS NOT NULL THEN 'responsible'
			                      ELSE 'head_of_organisation' END) AS gift_attributes,
		jsonb_build_object('registrations', jsonb_build_array(april || jsonb_build_object('giftKey', 'gift-2021-04-A-' || i)) || may)
			AS closed_state
	FROM y`

// seedMembers creates members 1 … n in chunks.
func seedMembers(ctx context.Context, bdb *db.DB, n, chunk int, at time.Time) error {
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		if _, err := bdb.NewRaw(membersSQL, lo, hi, at).Exec(ctx); err != nil {
			return fmt.Errorf("members %d…%d: %w", lo, hi, err)
		}
	}
	return nil
}

// seedRegistrations writes the enrolments and plugin states of members lo … hi as
// engine.Enroll would have.
func seedRegistrations(ctx context.Context, bdb *db.DB, campaignID int64, lo, hi, chunk int) error {
	for a := lo; a <= hi; a += chunk {
		b := min(a+chunk-1, hi)
		err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			if _, err := tx.NewRaw(`INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, answers,
					registered_by, responsible, enrolled_at)
				SELECT campaign_id, member_id, idempotency_key, input_hash, answers, registered_by, responsible, enrolled_at
				FROM (`+registrationsSQL+`) r ORDER BY member_id`, a, b, campaignID).Exec(ctx); err != nil {
				return fmt.Errorf("enrolments: %w", err)
			}
			if _, err := tx.NewRaw(`INSERT INTO plugin_state (campaign_id, member_id, state, version, updated_at)
				SELECT campaign_id, member_id, state, version, enrolled_at FROM (`+registrationsSQL+`) r`,
				a, b, campaignID).Exec(ctx); err != nil {
				return fmt.Errorf("plugin state: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("registrations %d…%d: %w", a, b, err)
		}
	}
	return nil
}

// compareWithEngine checks that the set-based rows for members 1 … k equal what the engine
// wrote for them, column by column; it returns the differing rows (as text), if any.
func compareWithEngine(ctx context.Context, bdb *db.DB, campaignID int64, k int) ([]string, error) {
	var diff []string
	err := bdb.NewRaw(`WITH want AS (
			SELECT campaign_id, member_id, idempotency_key, input_hash, answers, registered_by, responsible,
				enrolled_at, state, version, enrolled_at AS state_updated_at
			FROM (`+registrationsSQL+`) r),
		got AS (
			SELECT e.campaign_id, e.member_id, e.idempotency_key, e.input_hash, e.answers, e.registered_by, e.responsible,
				e.enrolled_at, s.state, s.version, s.updated_at
			FROM enrollments e JOIN members m ON m.id = e.member_id
			LEFT JOIN plugin_state s ON s.campaign_id = e.campaign_id AND s.member_id = e.member_id
			WHERE e.campaign_id = ?2 AND m.external_ref IN (SELECT 'mc-' || i FROM generate_series(?0::int, ?1::int) AS i))
		(SELECT 'engine wrote, seed would not: ' || got::text FROM (TABLE got EXCEPT TABLE want) got)
		UNION ALL
		(SELECT 'seed would write, engine did not: ' || want::text FROM (TABLE want EXCEPT TABLE got) want)
		LIMIT 10`, 1, k, campaignID).Scan(ctx, &diff)
	return diff, err
}
