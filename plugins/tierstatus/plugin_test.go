package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Moscow, as the instant the core sends (UTC).
func at(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, moscow).UTC()
}

func ptr(t time.Time) *time.Time { return &t }

func campaign(config string) sdk.Campaign {
	return sdk.Campaign{ID: "c1", Code: "RT-BONUS", Program: "rtbonus", TimeZone: "Europe/Moscow", Config: json.RawMessage(config)}
}

// who builds a member of the programme.
type who struct {
	status  int64
	tier    string
	until   time.Time
	state   *State
	enroled bool
	attrs   sdk.Values
	region  string
	birth   string
}

func (w who) member() sdk.Member {
	m := sdk.Member{ID: "m1", Name: "Boris", Region: w.region, BirthDate: w.birth, Attributes: w.attrs,
		Balances: []sdk.Balance{{Program: "other", StatusBalance: 99999}, {Program: "rtbonus", Available: 5000, StatusBalance: w.status, LifetimeEarned: w.status}}}
	if w.tier != "" {
		m.Tiers = []sdk.Tier{{Program: "other", Tier: "VIP"}, {Program: "rtbonus", Tier: w.tier, ValidUntil: ptr(w.until.UTC())}}
	}
	if w.enroled {
		m.Enrollments = []sdk.Enrollment{{Campaign: "RT-BONUS", EnrolledAt: at(2021, 1, 10, 12, 0, 0), Answers: sdk.Values{"acceptTerms": true}}}
	}
	if w.state != nil {
		b, err := json.Marshal(*w.state)
		if err != nil {
			panic(err)
		}
		m.State = b
	}
	return m
}

func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// sameJSON compares by JSON encoding, which is how effects travel.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := show(got), show(want); g != w {
		t.Errorf("%s:\n%s\nwant:\n%s", what, g, w)
	}
}

// earn is the credit of points at credited, available at available (equal
// for immediate credits), expiring 24 months after availability.
func earn(points int64, reason string, credited, available time.Time) sdk.Effect {
	opts := []sdk.CreditOption{}
	if available.After(credited) {
		opts = append(opts, sdk.AvailableAt(available.UTC()))
	}
	opts = append(opts, sdk.ExpiresAt(available.In(moscow).AddDate(0, 24, 0).UTC()), sdk.WithStatusPoints(points))
	return sdk.Credit(points, reason, opts...)
}

func tier(name string, until time.Time) sdk.Effect {
	return sdk.SetTier{Tier: name, ValidUntil: ptr(until.UTC())}.Effect()
}

func put(st State) sdk.Effect {
	e, err := sdk.StoreState(st)
	if err != nil {
		panic(err)
	}
	return e
}

func joinedState() *State {
	return &State{JoinedAt: ptr(at(2021, 1, 10, 12, 0, 0)), Welcomed: true}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "tierstatus" || d.Version != "1.0.0" ||
		!slices.Equal(d.EventTypes, []string{"bill.email_delivery", "profile.completed", "survey.answered", "topup", "payment", "reward.redeemed"}) {
		t.Errorf("Describe = %s %s %v", d.Name, d.Version, d.EventTypes)
	}
	if !reflect.DeepEqual(d.Schedules, []sdk.Schedule{{Name: "daily", Spec: "daily at=00:00:00"}}) {
		t.Errorf("Schedules = %+v", d.Schedules)
	}
	if _, err := sdk.ParseSchedule(d.Schedules[0].Spec); err != nil {
		t.Error(err)
	}
	sdktest.CheckConfigSchema(t, p)
	var cfg Config
	if err := json.Unmarshal(d.DefaultConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	// The seed's numbers, written out independently.
	want := Config{
		JoinPoints: 500, BirthdayPoints: 1000,
		Actions:         []Action{{Event: "bill.email_delivery", Title: "bill delivery switched to e-mail", Points: 300}, {Event: "profile.completed", Title: "every profile field filled in", Points: 100}},
		SurveyMinPoints: 100, SurveyMaxPoints: 1000,
		TopupRubPerPoint: 5, TopupMinRub: 1000, TopupPending: true,
		PaymentRubPerPoint: 5, PaymentServices: []string{"internet", "tv", "phone"},
		PendingDaysAfterMonth: 15, ExpiryMonths: 24,
		Tiers: []Tier{
			{Name: "Basic", Threshold: 0, DiscountPercent: 0, ValidMonths: 12},
			{Name: "Standard", Threshold: 4000, DiscountPercent: 5, ValidMonths: 24},
			{Name: "Privilege", Threshold: 10000, DiscountPercent: 10, ValidMonths: 24},
			{Name: "VIP", Threshold: 20000, DiscountPercent: 15, ValidMonths: 24},
		},
		ExchangesPerMonth: 1, RequiredAnswers: []string{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("default config:\n%s\nwant:\n%s", show(cfg), show(want))
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	cases := []struct {
		name, config string
		want         []sdk.FieldError
	}{
		{"absent", ``, nil},
		{"null", `null`, nil},
		{"empty", `{}`, nil},
		{"another season", `{"joinPoints":0,"tiers":[{"name":"Silver","threshold":0,"discountPercent":0,"validMonths":12},{"name":"Gold","threshold":5000,"discountPercent":7,"validMonths":12}],"requiredAnswers":["fullName"]}`, nil},
		{"scalars outside the schema", `{"joinPoints":-1,"joinAvailableAfterHours":721,"birthdayPoints":1000001,"surveyMinPoints":0,"surveyMaxPoints":0,"topupRubPerPoint":0,"topupMinRub":-1,"paymentRubPerPoint":0,"paymentServices":[],"pendingDaysAfterMonth":61,"expiryMonths":0,"tiers":[],"exchangesPerMonth":0,"requiredAnswers":[""]}`, []sdk.FieldError{
			{Field: "/birthdayPoints", Code: "out_of_range", Message: "/birthdayPoints is 1000001, it must be at most 1000000"},
			{Field: "/exchangesPerMonth", Code: "out_of_range", Message: "/exchangesPerMonth is 0, it must be at least 1"},
			{Field: "/expiryMonths", Code: "out_of_range", Message: "/expiryMonths is 0, it must be at least 1"},
			{Field: "/joinAvailableAfterHours", Code: "out_of_range", Message: "/joinAvailableAfterHours is 721, it must be at most 720"},
			{Field: "/joinPoints", Code: "out_of_range", Message: "/joinPoints is -1, it must be at least 0"},
			{Field: "/paymentRubPerPoint", Code: "out_of_range", Message: "/paymentRubPerPoint is 0, it must be at least 1"},
			{Field: "/paymentServices", Code: "invalid_length", Message: "/paymentServices has 0 items, it must have at least 1"},
			{Field: "/pendingDaysAfterMonth", Code: "out_of_range", Message: "/pendingDaysAfterMonth is 61, it must be at most 60"},
			{Field: "/requiredAnswers/0", Code: "required", Message: "/requiredAnswers/0 must not be empty"},
			{Field: "/surveyMaxPoints", Code: "out_of_range", Message: "/surveyMaxPoints is 0, it must be at least 1"},
			{Field: "/surveyMinPoints", Code: "out_of_range", Message: "/surveyMinPoints is 0, it must be at least 1"},
			{Field: "/tiers", Code: "invalid_length", Message: "/tiers has 0 items, it must have at least 1"},
			{Field: "/topupMinRub", Code: "out_of_range", Message: "/topupMinRub is -1, it must be at least 0"},
			{Field: "/topupRubPerPoint", Code: "out_of_range", Message: "/topupRubPerPoint is 0, it must be at least 1"},
		}},
		{"survey range upside down", `{"surveyMinPoints":500,"surveyMaxPoints":400}`, []sdk.FieldError{
			{Field: "/surveyMaxPoints", Code: "below_minimum", Message: "/surveyMaxPoints 400 is below surveyMinPoints 500"},
		}},
		{"actions outside the schema", `{"actions":[{"event":"topup","title":"","points":0}]}`, []sdk.FieldError{
			{Field: "/actions/0/event", Code: "unsupported", Message: `/actions/0/event is "topup", it must be one of bill.email_delivery, profile.completed`},
			{Field: "/actions/0/points", Code: "out_of_range", Message: "/actions/0/points is 0, it must be at least 1"},
			{Field: "/actions/0/title", Code: "required", Message: "/actions/0/title must not be empty"},
		}},
		{"repeated actions", `{"actions":[{"event":"bill.email_delivery","title":" ","points":5},{"event":"profile.completed","title":"p","points":5},{"event":"profile.completed","title":"p2","points":5}]}`, []sdk.FieldError{
			{Field: "/actions", Code: "invalid_length", Message: "/actions has 3 items, it must have at most 2"},
		}},
		{"a blank and a repeated action", `{"actions":[{"event":"profile.completed","title":" ","points":5},{"event":"profile.completed","title":"p2","points":5}]}`, []sdk.FieldError{
			{Field: "/actions/0/title", Code: "required", Message: "/actions/0/title is blank"},
			{Field: "/actions/1/event", Code: "duplicate", Message: "/actions/1/event profile.completed already has /actions/0"},
		}},
		{"tiers outside the schema", `{"tiers":[{"name":"Basic","threshold":0,"discountPercent":0,"validMonths":12},{"name":"","threshold":5,"discountPercent":101,"validMonths":0}],"paymentServices":["internet",""]}`, []sdk.FieldError{
			{Field: "/paymentServices/1", Code: "required", Message: "/paymentServices/1 must not be empty"},
			{Field: "/tiers/1/discountPercent", Code: "out_of_range", Message: "/tiers/1/discountPercent is 101, it must be at most 100"},
			{Field: "/tiers/1/name", Code: "required", Message: "/tiers/1/name must not be empty"},
			{Field: "/tiers/1/validMonths", Code: "out_of_range", Message: "/tiers/1/validMonths is 0, it must be at least 1"},
		}},
		{"tiers out of order", `{"tiers":[{"name":"Basic","threshold":10,"discountPercent":0,"validMonths":12},{"name":" ","threshold":5,"discountPercent":10,"validMonths":1},{"name":"basic","threshold":5,"discountPercent":5,"validMonths":24}],"paymentServices":["internet"," "]}`, []sdk.FieldError{
			{Field: "/paymentServices/1", Code: "required", Message: "/paymentServices/1 is blank"},
			{Field: "/tiers/0/threshold", Code: "must_be_zero", Message: "/tiers/0/threshold is 10; the first status is given on joining and needs 0"},
			{Field: "/tiers/1/name", Code: "required", Message: "/tiers/1/name is blank"},
			{Field: "/tiers/1/threshold", Code: "not_increasing", Message: "/tiers/1/threshold 5 is not above /tiers/0/threshold 10"},
			{Field: "/tiers/2/name", Code: "duplicate", Message: "/tiers/2/name basic repeats /tiers/0"},
			{Field: "/tiers/2/threshold", Code: "not_increasing", Message: "/tiers/2/threshold 5 is not above /tiers/1/threshold 5"},
		}},
		{"a tier leaving out fields does not inherit the default's", `{"tiers":[{"name":"Basic","threshold":0,"discountPercent":0}]}`, []sdk.FieldError{
			{Field: "/tiers/0/validMonths", Code: "required", Message: "/tiers/0/validMonths is required"},
		}},
		{"wrong type", `{"joinPoints":"500"}`, []sdk.FieldError{{Field: "/joinPoints", Code: "invalid_type", Message: "/joinPoints must be an integer, not a string"}}},
		{"unknown field", `{"joinBonus":500}`, []sdk.FieldError{{Field: "/joinBonus", Code: "unknown_field", Message: "/joinBonus is not a setting of tierstatus"}}},
		{"broken JSON", `{"tiers":`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
		{"two values", `{} {}`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: invalid character after top-level value"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ValidateConfig(context.Background(), sdk.ValidateConfigRequest{Config: json.RawMessage(tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.want, got.Errors) {
				t.Errorf("errors:\n%s\nwant:\n%s", show(got.Errors), show(tc.want))
			}
		})
	}
}

func TestCheckEligibility(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	now := at(2021, 3, 15, 14, 30, 0)
	accept := sdk.Values{"acceptTerms": true, "fullName": "Boris Ivanov"}
	termsReason := sdk.Reason{Code: "TERMS_NOT_ACCEPTED", Message: "the programme's terms must be accepted (answer acceptTerms: true)"}
	joined := State{JoinedAt: ptr(now), Welcomed: true}
	welcome := earn(500, "joining the programme", now, now)
	basic := tier("Basic", at(2022, 3, 15, 14, 30, 0))

	cases := []struct {
		name    string
		config  string
		member  sdk.Member
		answers sdk.Values
		want    sdk.EligibilityResponse
	}{
		{"terms not answered", `{}`, who{}.member(), nil, sdk.EligibilityResponse{Reasons: []sdk.Reason{termsReason}}},
		{"terms refused", `{}`, who{}.member(), sdk.Values{"acceptTerms": false}, sdk.EligibilityResponse{Reasons: []sdk.Reason{termsReason}}},
		{"terms answered no", `{}`, who{}.member(), sdk.Values{"acceptTerms": "no"}, sdk.EligibilityResponse{Reasons: []sdk.Reason{termsReason}}},
		{"joining: 500 points at once and Basic for 12 months", `{}`, who{}.member(), accept,
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{welcome, basic, put(joined)}}},
		{"terms accepted as a string", `{}`, who{}.member(), sdk.Values{"acceptTerms": "true"},
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{welcome, basic, put(joined)}}},
		{"joining points pending 24 hours", `{"joinAvailableAfterHours":24}`, who{}.member(), accept,
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{earn(500, "joining the programme", now, now.Add(24*time.Hour)), basic, put(joined)}}},
		{"no joining points", `{"joinPoints":0}`, who{}.member(), accept,
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{basic, put(joined)}}},
		{"questionnaire incomplete", `{"requiredAnswers":["fullName","birthDate"]}`, who{}.member(), sdk.Values{"fullName": " "}, sdk.EligibilityResponse{Reasons: []sdk.Reason{
			termsReason,
			{Code: "QUESTIONNAIRE_INCOMPLETE", Message: "the questionnaire field fullName must be filled in"},
			{Code: "QUESTIONNAIRE_INCOMPLETE", Message: "the questionnaire field birthDate must be filled in"},
		}}},
		{"birth date from the questionnaire", `{"requiredAnswers":["birthDate"]}`, who{}.member(), sdk.Values{"acceptTerms": true, "birthDate": "1985-07-01"},
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{welcome, basic, put(State{JoinedAt: ptr(now), Welcomed: true, BirthDate: "1985-07-01"})}}},
		{"the profile's birth date wins", `{}`, who{birth: "1990-01-02"}.member(), sdk.Values{"acceptTerms": true, "birthDate": "1985-07-01"},
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{welcome, basic, put(joined)}}},
		{"joining again: no second welcome, status kept", `{}`, who{tier: "Basic", until: at(2022, 1, 10, 12, 0, 0), state: joinedState()}.member(), accept,
			sdk.EligibilityResponse{Eligible: true}},
		{"joining again keeps a higher status", `{}`, who{status: 12000, tier: "Privilege", until: at(2022, 1, 10, 0, 0, 0)}.member(), accept,
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{
				earn(500, "joining the programme", now, now), put(joined)}}},
		{"joining again after the status lapsed", `{}`, who{status: 12000, tier: "Privilege", until: at(2021, 3, 15, 14, 29, 59), state: joinedState()}.member(), accept,
			sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{basic, put(State{JoinedAt: joinedState().JoinedAt, Welcomed: true, StatusBase: 12000})}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: campaign(tc.config), Member: tc.member, Answers: tc.answers, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "response", got, tc.want)
		})
	}
}

func evaluate1(t *testing.T, p sdk.Program, config string, ev sdk.Event, m sdk.Member) sdk.EvaluateResult {
	t.Helper()
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: campaign(config), Items: []sdk.EvaluateItem{{Event: ev, Member: m}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("%d results", len(resp.Results))
	}
	return resp.Results[0]
}

func ev(typ string, when time.Time, attrs sdk.Values) sdk.Event {
	return sdk.Event{ID: "e1", Type: typ, OccurredAt: when, Attributes: attrs}
}

func effects(e ...sdk.Effect) sdk.EvaluateResult { return sdk.EvaluateResult{Effects: e} }
func none(reason string) sdk.EvaluateResult      { return sdk.EvaluateResult{NoEffectReason: reason} }

func TestEarning(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	when := at(2021, 5, 12, 10, 0, 0)
	js := joinedState()
	member := who{status: 600, tier: "Basic", until: at(2022, 1, 10, 12, 0, 0), state: js}.member()
	enrolledNoState := who{status: 600, tier: "Basic", until: at(2022, 1, 10, 12, 0, 0), enroled: true}.member()
	withDone := func(done ...string) State { s := *js; s.Done = done; return s }
	withSurveys := func(ids ...string) State { s := *js; s.Surveys = ids; return s }
	june16 := at(2021, 6, 16, 0, 0, 0)
	amount := func(s string) sdk.Values { return sdk.Values{"amountRub": json.Number(s)} }
	pay := func(service, rub string) sdk.Values {
		return sdk.Values{"service": service, "amountRub": json.Number(rub)}
	}

	cases := []struct {
		name   string
		config string
		event  sdk.Event
		member sdk.Member
		want   sdk.EvaluateResult
	}{
		{"e-mail bill delivery: 300 at once", `{}`, ev("bill.email_delivery", when, nil), member,
			effects(earn(300, "bill delivery switched to e-mail", when, when), put(withDone("bill.email_delivery")))},
		{"e-mail bill delivery counts once", `{}`, ev("bill.email_delivery", when, nil), who{state: ptrState(withDone("bill.email_delivery"))}.member(),
			none("bill delivery switched to e-mail was already credited to this member; it counts once")},
		{"complete profile: 100 at once", `{}`, ev("profile.completed", when, nil), member,
			effects(earn(100, "every profile field filled in", when, when), put(withDone("profile.completed")))},
		{"enrolled member without state", `{}`, ev("profile.completed", when, nil), enrolledNoState,
			effects(earn(100, "every profile field filled in", when, when), put(State{Done: []string{"profile.completed"}}))},
		{"an action left out of the config", `{"actions":[]}`, ev("profile.completed", when, nil), member, none("profile.completed earns nothing in this campaign")},
		{"survey at the minimum 100", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("100")}), member,
			effects(earn(100, "company survey answered", when, when))},
		{"survey at the maximum 1000", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("1000"), "surveyId": "S-7"}), member,
			effects(earn(1000, "company survey answered (S-7)", when, when), put(withSurveys("S-7")))},
		{"survey below the minimum", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("99")}), member, none("a survey is worth 100 to 1000 points, not 99")},
		{"survey above the maximum", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("1001")}), member, none("a survey is worth 100 to 1000 points, not 1001")},
		{"survey without points", `{}`, ev("survey.answered", when, nil), member, none(`a survey needs its points in the "points" attribute`)},
		{"the same survey again", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("300"), "surveyId": "S-7"}), who{state: ptrState(withSurveys("S-7"))}.member(),
			none("survey S-7 was already credited to this member")},
		{"top-up of 1000 RUB: 200 with the month's payments", `{}`, ev("topup", when, amount("1000")), member, effects(earn(200, "top-up of 1000.00 RUB", when, june16))},
		{"top-up of 999.99 RUB", `{}`, ev("topup", when, amount("999.99")), member, none("a top-up of 999.99 RUB earns nothing: a single top-up must be at least 1000 RUB")},
		{"top-up of 1004.99 RUB", `{}`, ev("topup", when, amount("1004.99")), member, effects(earn(200, "top-up of 1004.99 RUB", when, june16))},
		{"top-up of 1005 RUB", `{}`, ev("topup", when, amount("1005")), member, effects(earn(201, "top-up of 1005.00 RUB", when, june16))},
		{"top-up at once when so configured", `{"topupPending":false}`, ev("topup", when, amount("2500")), member, effects(earn(500, "top-up of 2500.00 RUB", when, when))},
		{"top-up without amount", `{}`, ev("topup", when, nil), member, none(`a top-up needs its amount in roubles in the "amountRub" attribute`)},
		{"internet payment of 1000 RUB", `{}`, ev("payment", when, pay("internet", "1000")), member, effects(earn(200, "payment for internet, 2021-05", when, june16))},
		{"TV payment of 5 RUB", `{}`, ev("payment", when, pay("tv", "5")), member, effects(earn(1, "payment for tv, 2021-05", when, june16))},
		{"phone payment of 9.99 RUB", `{}`, ev("payment", when, pay("phone", "9.99")), member, effects(earn(1, "payment for phone, 2021-05", when, june16))},
		{"payment of 4.99 RUB", `{}`, ev("payment", when, pay("internet", "4.99")), member, none("a payment of 4.99 RUB is below 5 RUB and earns no points")},
		{"payment for mobile", `{}`, ev("payment", when, pay("mobile", "1000")), member, none(`a payment for "mobile" earns nothing: only payments for internet, tv, phone do`)},
		{"payment without amount", `{}`, ev("payment", when, sdk.Values{"service": "tv"}), member, none(`a payment needs its amount in roubles in the "amountRub" attribute`)},
		{"payment on the month's last second", `{}`, ev("payment", at(2021, 1, 31, 23, 59, 59), pay("internet", "50")), member,
			effects(earn(10, "payment for internet, 2021-01", at(2021, 1, 31, 23, 59, 59), at(2021, 2, 16, 0, 0, 0)))},
		{"payment on the next month's first second", `{}`, ev("payment", at(2021, 2, 1, 0, 0, 0), pay("internet", "50")), member,
			effects(earn(10, "payment for internet, 2021-02", at(2021, 2, 1, 0, 0, 0), at(2021, 3, 16, 0, 0, 0)))},
		{"payment in the zone's month, not UTC's", `{}`, ev("payment", time.Date(2021, 1, 31, 21, 0, 0, 0, time.UTC), pay("internet", "50")), member,
			effects(earn(10, "payment for internet, 2021-02", at(2021, 2, 1, 0, 0, 0), at(2021, 3, 16, 0, 0, 0)))},
		{"December payment", `{}`, ev("payment", at(2021, 12, 20, 0, 0, 0), pay("tv", "500")), member,
			effects(earn(100, "payment for tv, 2021-12", at(2021, 12, 20, 0, 0, 0), at(2022, 1, 16, 0, 0, 0)))},
		{"not joined", `{}`, ev("survey.answered", when, sdk.Values{"points": json.Number("500")}), who{}.member(),
			none("the member has not joined the programme (accepted its terms and filled in the questionnaire); points are credited only to members who joined")},
		{"unknown event", `{}`, ev("purchase", when, nil), member, none(`event type "purchase" is not part of tierstatus`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sameJSON(t, "result", evaluate1(t, p, tc.config, tc.event, tc.member), tc.want)
		})
	}
}

func ptrState(s State) *State { return &s }

func TestStatus(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	when := at(2021, 5, 12, 10, 0, 0)
	in24 := at(2023, 5, 12, 10, 0, 0)
	basicUntil := at(2022, 1, 10, 12, 0, 0)
	survey := func(points int64) sdk.Event {
		return ev("survey.answered", when, sdk.Values{"points": json.Number(fmt.Sprint(points))})
	}
	credit := func(points int64) sdk.Effect { return earn(points, "company survey answered", when, when) }
	js := joinedState()
	member := func(status int64, tierName string, until time.Time, st *State) sdk.Member {
		return who{status: status, tier: tierName, until: until, state: st}.member()
	}
	based := func(base int64) *State { s := *js; s.StatusBase = base; return &s }

	cases := []struct {
		name   string
		event  sdk.Event
		member sdk.Member
		want   sdk.EvaluateResult
	}{
		{"3,999 status points: still Basic", survey(999), member(3000, "Basic", basicUntil, js), effects(credit(999))},
		{"exactly 4,000: Standard for 24 months", survey(1000), member(3000, "Basic", basicUntil, js), effects(credit(1000), tier("Standard", in24))},
		{"9,999: still Standard", survey(999), member(9000, "Standard", at(2022, 9, 1, 0, 0, 0), js), effects(credit(999))},
		{"acceptance: passing 10,000 makes Privilege for 24 months", survey(500), member(9800, "Standard", at(2022, 9, 1, 0, 0, 0), js), effects(credit(500), tier("Privilege", in24))},
		{"19,999: still Privilege", survey(999), member(19000, "Privilege", at(2022, 9, 1, 0, 0, 0), js), effects(credit(999))},
		{"exactly 20,000: VIP", survey(1000), member(19000, "Privilege", at(2022, 9, 1, 0, 0, 0), js), effects(credit(1000), tier("VIP", in24))},
		{"Basic straight to Privilege", survey(1000), member(9500, "Basic", basicUntil, js), effects(credit(1000), tier("Privilege", in24))},
		{"no status at all gets Basic", survey(100), member(600, "", time.Time{}, js), effects(credit(100), tier("Basic", at(2022, 5, 12, 10, 0, 0)))},
		{"VIP stays VIP", survey(1000), member(40000, "VIP", at(2022, 9, 1, 0, 0, 0), js), effects(credit(1000))},
		{"a pending payment counts for status when credited", ev("payment", when, sdk.Values{"service": "internet", "amountRub": json.Number("5000")}),
			member(9000, "Standard", at(2022, 9, 1, 0, 0, 0), js),
			effects(earn(1000, "payment for internet, 2021-05", when, at(2021, 6, 16, 0, 0, 0)), tier("Privilege", in24))},
		{"status counted since the last review", survey(100), member(13900, "Basic", basicUntil, based(10000)), effects(credit(100), tier("Standard", in24))},
		{"below the threshold since the last review", survey(100), member(13800, "Basic", basicUntil, based(10000)), effects(credit(100))},
		{"a status ended before the event drops first", survey(300), member(12000, "Privilege", at(2021, 5, 12, 9, 59, 59), js),
			effects(credit(300), tier("Basic", at(2022, 5, 12, 10, 0, 0)), put(*based(12000)))},
		{"a status ending at the event's instant still holds", survey(300), member(12000, "Privilege", when, js), effects(credit(300))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sameJSON(t, "result", evaluate1(t, p, `{}`, tc.event, tc.member), tc.want)
		})
	}
}

func TestRecordExchange(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	when := at(2021, 5, 31, 23, 0, 0)
	redeemed := func(attrs sdk.Values) sdk.Event { return ev("reward.redeemed", when, attrs) }
	many := State{}
	for i := range 24 {
		many.Exchanges = append(many.Exchanges, Exchange{Month: fmt.Sprintf("%d-%02d", 2019+i/12, 1+i%12), OrderID: fmt.Sprint("o", i)})
	}
	trimmed := State{Exchanges: append(slices.Clone(many.Exchanges[1:]), Exchange{Month: "2021-05", OrderID: "o-new"})}

	cases := []struct {
		name   string
		event  sdk.Event
		member sdk.Member
		want   sdk.EvaluateResult
	}{
		{"an order", redeemed(sdk.Values{"orderId": "o-1", "rewardIds": []any{"r-kaspersky", json.Number("17")}, "total": json.Number("540"), "month": "2021-05"}), who{}.member(),
			effects(put(State{Exchanges: []Exchange{{Month: "2021-05", OrderID: "o-1"}}, Ordered: map[string]int{"r-kaspersky": 1, "17": 1}}))},
		{"the same order again", redeemed(sdk.Values{"orderId": "o-1", "month": "2021-05"}), who{state: &State{Exchanges: []Exchange{{Month: "2021-05", OrderID: "o-1"}}}}.member(),
			none("order o-1 is already recorded")},
		{"the month from the event's time in the zone", redeemed(sdk.Values{"orderId": "o-2"}), who{state: &State{Ordered: map[string]int{"r-x": 1}}}.member(),
			effects(put(State{Exchanges: []Exchange{{Month: "2021-05", OrderID: "o-2"}}, Ordered: map[string]int{"r-x": 1}}))},
		{"a bad month attribute", redeemed(sdk.Values{"orderId": "o-3", "month": "May"}), who{}.member(),
			effects(put(State{Exchanges: []Exchange{{Month: "2021-05", OrderID: "o-3"}}}))},
		{"the oldest exchange is dropped past 24", redeemed(sdk.Values{"orderId": "o-new"}), who{state: &many}.member(), effects(put(trimmed))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sameJSON(t, "result", evaluate1(t, p, `{}`, tc.event, tc.member), tc.want)
		})
	}
}

func TestDaily(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	bday := at(2021, 5, 10, 0, 0, 0)
	js := joinedState()
	birthdayCredit := func(now time.Time, year int) sdk.Effect {
		return earn(1000, fmt.Sprintf("birthday %d", year), now, now)
	}
	withYear := func(y int) State { s := *js; s.BirthdayYear = y; return s }
	basicUntil := at(2022, 1, 10, 12, 0, 0)
	fromAnswers := *js
	fromAnswers.BirthDate = "1990-05-10"

	cases := []struct {
		name   string
		now    time.Time
		member sdk.Member
		want   []sdk.Effect
	}{
		{"birthday at 00:00:00", bday, who{birth: "1990-05-10", tier: "Basic", until: basicUntil, state: js}.member(),
			[]sdk.Effect{birthdayCredit(bday, 2021), put(withYear(2021))}},
		{"the evening before", at(2021, 5, 9, 23, 59, 59), who{birth: "1990-05-10", tier: "Basic", until: basicUntil, state: js}.member(), nil},
		{"the day after", at(2021, 5, 11, 0, 0, 0), who{birth: "1990-05-10", tier: "Basic", until: basicUntil, state: js}.member(), nil},
		{"a second run on the birthday", bday, who{birth: "1990-05-10", tier: "Basic", until: basicUntil, state: ptrState(withYear(2021))}.member(), nil},
		{"next year's birthday", at(2022, 5, 10, 0, 0, 0), who{birth: "1990-05-10", tier: "Basic", until: at(2022, 6, 1, 0, 0, 0), state: ptrState(withYear(2021))}.member(),
			[]sdk.Effect{birthdayCredit(at(2022, 5, 10, 0, 0, 0), 2022), put(withYear(2022))}},
		{"birth date from the questionnaire", bday, who{tier: "Basic", until: basicUntil, state: &fromAnswers}.member(),
			[]sdk.Effect{birthdayCredit(bday, 2021), put(func() State { s := fromAnswers; s.BirthdayYear = 2021; return s }())}},
		{"no birth date", bday, who{tier: "Basic", until: basicUntil, state: js}.member(), nil},
		{"29 February on 28 February of 2021", at(2021, 2, 28, 0, 0, 0), who{birth: "1992-02-29", tier: "Basic", until: basicUntil, state: js}.member(),
			[]sdk.Effect{birthdayCredit(at(2021, 2, 28, 0, 0, 0), 2021), put(withYear(2021))}},
		{"29 February not on 28 February of 2024", at(2024, 2, 28, 0, 0, 0), who{birth: "1992-02-29", tier: "Basic", until: at(2025, 1, 1, 0, 0, 0), state: js}.member(), nil},
		{"29 February on 29 February of 2024", at(2024, 2, 29, 0, 0, 0), who{birth: "1992-02-29", tier: "Basic", until: at(2025, 1, 1, 0, 0, 0), state: js}.member(),
			[]sdk.Effect{birthdayCredit(at(2024, 2, 29, 0, 0, 0), 2024), put(withYear(2024))}},
		{"a birthday reaching Standard", bday, who{birth: "1990-05-10", status: 3000, tier: "Basic", until: basicUntil, state: js}.member(),
			[]sdk.Effect{birthdayCredit(bday, 2021), tier("Standard", at(2023, 5, 10, 0, 0, 0)), put(withYear(2021))}},
		{"status valid to the second", at(2023, 5, 12, 10, 0, 0), who{status: 12000, tier: "Privilege", until: at(2023, 5, 12, 10, 0, 0), state: js}.member(), nil},
		{"Privilege lapses to Basic, qualification restarts", at(2023, 5, 13, 0, 0, 0), who{status: 12000, tier: "Privilege", until: at(2023, 5, 12, 10, 0, 0), state: js}.member(),
			[]sdk.Effect{tier("Basic", at(2024, 5, 13, 0, 0, 0)), put(func() State { s := *js; s.StatusBase = 12000; return s }())}},
		{"Basic lapses into a new Basic year", at(2022, 1, 11, 0, 0, 0), who{status: 3000, tier: "Basic", until: basicUntil, state: js}.member(),
			[]sdk.Effect{tier("Basic", at(2023, 1, 11, 0, 0, 0))}},
		{"a lapse and a birthday", at(2023, 5, 10, 0, 0, 0), who{birth: "1990-05-10", status: 12000, tier: "VIP", until: at(2023, 5, 9, 0, 0, 0), state: js}.member(),
			[]sdk.Effect{birthdayCredit(at(2023, 5, 10, 0, 0, 0), 2023), tier("Basic", at(2024, 5, 10, 0, 0, 0)),
				put(func() State { s := *js; s.StatusBase = 12000; s.BirthdayYear = 2023; return s }())}},
		{"unreadable state is skipped", bday, sdk.Member{ID: "m1", BirthDate: "1990-05-10", State: json.RawMessage(`[]`)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := p.Tick(context.Background(), sdk.TickRequest{Campaign: campaign(`{}`), Hook: "daily", Now: tc.now, Members: []sdk.Member{tc.member}})
			if err != nil {
				t.Fatal(err)
			}
			var want []sdk.MemberEffects
			if tc.want != nil {
				want = []sdk.MemberEffects{{MemberID: "m1", Effects: tc.want}}
			}
			sameJSON(t, "results", resp.Results, want)
		})
	}
	if _, err := p.Tick(context.Background(), sdk.TickRequest{Campaign: campaign(`{}`), Hook: "month-close"}); !errors.Is(err, sdk.ErrUnsupportedHook) {
		t.Errorf("unknown hook: %v", err)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	now := at(2021, 5, 20, 12, 0, 0)
	until := at(2023, 5, 1, 0, 0, 0)
	reward := func(code string, price int64, attrs sdk.Values) sdk.QuoteItem {
		return sdk.QuoteItem{RewardID: "id-" + code, Category: "internet", Code: code, Price: price, Attributes: attrs}
	}
	inet := sdk.Values{"service": "internet", "servicesRequired": []any{"internet"}, "regions": []any{"*"}}
	antivirus := sdk.Values{"service": "internet", "servicesRequired": []any{"internet"}, "regions": []any{"*"}, "perMemberLimit": json.Number("1")}
	attrs := sdk.Values{"services": []any{"internet", "tv"}}
	may := &State{Exchanges: []Exchange{{Month: "2021-04", OrderID: "o-4"}, {Month: "2021-05", OrderID: "o-5"}}}
	april := &State{Exchanges: []Exchange{{Month: "2021-04", OrderID: "o-4"}}}
	ordered := &State{Ordered: map[string]int{"id-antivirus-kaspersky-is-2pc": 1}}
	debt := func(d sdk.Values) sdk.Values { return sdk.Values{"services": []any{"internet", "tv"}, "debts": d} }
	ok := func(price int64) sdk.QuoteResponse {
		return sdk.QuoteResponse{Price: price, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}
	}
	refused := func(price int64, reasons ...sdk.Reason) sdk.QuoteResponse {
		return sdk.QuoteResponse{Price: price, MaxPointsPayable: sdk.NoPointsCap, Reasons: reasons}
	}
	frequency := sdk.Reason{Code: "FREQUENCY_LIMIT", Message: "points can be exchanged once a month and this month's exchange was already made (order o-5)"}

	cases := []struct {
		name   string
		config string
		now    time.Time
		member sdk.Member
		item   sdk.QuoteItem
		want   sdk.QuoteResponse
	}{
		{"Basic pays the listed price", `{}`, now, who{tier: "Basic", until: until, attrs: attrs}.member(), reward("x", 600, inet), ok(600)},
		{"Standard: 800 costs 760", `{}`, now, who{tier: "Standard", until: until, attrs: attrs}.member(), reward("x", 800, inet), ok(760)},
		{"acceptance: Privilege pays 540 for 600", `{}`, now, who{tier: "Privilege", until: until, attrs: attrs}.member(), reward("x", 600, inet), ok(540)},
		{"VIP: 600 costs 510", `{}`, now, who{tier: "VIP", until: until, attrs: attrs}.member(), reward("x", 600, inet), ok(510)},
		{"Standard: 390 costs 371 (370.5 rounded half up)", `{}`, now, who{tier: "Standard", until: until, attrs: attrs}.member(), reward("x", 390, inet), ok(371)},
		{"VIP: 1950 costs 1658 (1657.5 rounded half up)", `{}`, now, who{tier: "VIP", until: until, attrs: attrs}.member(), reward("x", 1950, inet), ok(1658)},
		{"VIP: 9000 costs 7650", `{}`, now, who{tier: "VIP", until: until, attrs: attrs}.member(), reward("x", 9000, inet), ok(7650)},
		{"Standard: 370 costs 352 (351.5 rounded half up)", `{}`, now, who{tier: "Standard", until: until, attrs: attrs}.member(), reward("x", 370, inet), ok(352)},
		{"no status pays the listed price", `{}`, now, who{attrs: attrs}.member(), reward("x", 600, inet), ok(600)},
		{"a status valid to this instant still discounts", `{}`, now, who{tier: "Privilege", until: now, attrs: attrs}.member(), reward("x", 600, inet), ok(540)},
		{"a status ended a second ago does not", `{}`, now, who{tier: "Privilege", until: now.Add(-time.Second), attrs: attrs}.member(), reward("x", 600, inet), ok(600)},
		{"acceptance: a second exchange this month", `{}`, now, who{tier: "Privilege", until: until, attrs: attrs, state: may}.member(), reward("x", 600, inet), refused(540, frequency)},
		{"last month's exchange does not count", `{}`, now, who{tier: "Privilege", until: until, attrs: attrs, state: april}.member(), reward("x", 600, inet), ok(540)},
		{"the month's last second in the zone", `{}`, at(2021, 5, 31, 23, 59, 59), who{attrs: attrs, state: may}.member(), reward("x", 600, inet), refused(600, frequency)},
		{"the next month's first second in the zone", `{}`, at(2021, 6, 1, 0, 0, 0), who{attrs: attrs, state: may}.member(), reward("x", 600, inet), ok(600)},
		{"two exchanges a month allowed", `{"exchangesPerMonth":2}`, now, who{attrs: attrs, state: may}.member(), reward("x", 600, inet), ok(600)},
		{"an exchange without order id", `{}`, now, who{attrs: attrs, state: &State{Exchanges: []Exchange{{Month: "2021-05"}}}}.member(), reward("x", 600, inet),
			refused(600, sdk.Reason{Code: "FREQUENCY_LIMIT", Message: "points can be exchanged once a month and this month's exchange was already made"})},
		{"an antivirus ordered before", `{}`, at(2021, 9, 1, 0, 0, 0), who{attrs: attrs, state: ordered}.member(), reward("antivirus-kaspersky-is-2pc", 600, antivirus),
			refused(600, sdk.Reason{Code: "FREQUENCY_LIMIT", Message: "antivirus-kaspersky-is-2pc can be ordered once per member and was already ordered"})},
		{"another antivirus is fine", `{}`, at(2021, 9, 1, 0, 0, 0), who{attrs: attrs, state: ordered}.member(), reward("antivirus-drweb-1pc", 500, antivirus), ok(500)},
		{"a repeatable reward ordered before", `{}`, at(2021, 9, 1, 0, 0, 0), who{attrs: attrs, state: ordered}.member(), reward("antivirus-kaspersky-is-2pc", 600, inet), ok(600)},
		{"a debt on the reward's service", `{}`, now, who{attrs: debt(sdk.Values{"internet": json.Number("250")})}.member(), reward("x", 600, inet),
			refused(600, sdk.Reason{Code: "OUTSTANDING_DEBT", Message: "there is an outstanding debt of 250.00 RUB on the internet service"})},
		{"a debt of one kopeck", `{}`, now, who{attrs: debt(sdk.Values{"internet": "0.01"})}.member(), reward("x", 600, inet),
			refused(600, sdk.Reason{Code: "OUTSTANDING_DEBT", Message: "there is an outstanding debt of 0.01 RUB on the internet service"})},
		{"a zero debt", `{}`, now, who{attrs: debt(sdk.Values{"internet": json.Number("0")})}.member(), reward("x", 600, inet), ok(600)},
		{"a debt on another service", `{}`, now, who{attrs: debt(sdk.Values{"tv": json.Number("100")})}.member(), reward("x", 600, inet), ok(600)},
		{"the service read from servicesRequired", `{}`, now, who{attrs: debt(sdk.Values{"tv": json.Number("100")})}.member(),
			reward("tv-film-rental", 800, sdk.Values{"servicesRequired": []any{"tv"}}),
			refused(800, sdk.Reason{Code: "OUTSTANDING_DEBT", Message: "there is an outstanding debt of 100.00 RUB on the tv service"})},
		{"a service the member does not have", `{}`, now, who{attrs: sdk.Values{"services": []any{"tv"}}}.member(), reward("x", 600, inet),
			refused(600, sdk.Reason{Code: "NOT_AVAILABLE", Message: "x needs the internet service, which the member does not have"})},
		{"a partner reward for internet or phone", `{}`, now, who{attrs: sdk.Values{"services": []any{"phone"}}}.member(),
			reward("partner-world-of-tanks", 1000, sdk.Values{"servicesRequired": []any{"internet", "phone"}, "regions": []any{"*"}}), ok(1000)},
		{"a partner reward without internet or phone", `{}`, now, who{attrs: sdk.Values{"services": []any{"tv"}}}.member(),
			reward("partner-world-of-tanks", 1000, sdk.Values{"servicesRequired": []any{"internet", "phone"}}),
			refused(1000, sdk.Reason{Code: "NOT_AVAILABLE", Message: "partner-world-of-tanks needs the internet or phone service, which the member does not have"})},
		{"a Moscow reward in Moscow", `{}`, now, who{region: "moscow", attrs: sdk.Values{"services": []any{"tv"}}}.member(),
			reward("tv-pack-match-futbol", 6400, sdk.Values{"service": "tv", "regions": []any{"Moscow"}}), ok(6400)},
		{"a Moscow reward in Tver", `{}`, now, who{region: "Tver", attrs: sdk.Values{"services": []any{"tv"}}}.member(),
			reward("tv-pack-match-futbol", 6400, sdk.Values{"service": "tv", "regions": []any{"Moscow"}}),
			refused(6400, sdk.Reason{Code: "NOT_AVAILABLE", Message: "tv-pack-match-futbol is not offered in region Tver (only in Moscow)"})},
		{"region from the attributes", `{}`, now, who{attrs: sdk.Values{"region": "Moscow", "services": []any{"tv"}}}.member(),
			reward("tv-pack-match-futbol", 6400, sdk.Values{"service": "tv", "regions": []any{"Moscow"}}), ok(6400)},
		{"no region known", `{}`, now, who{attrs: sdk.Values{"services": []any{"tv"}}}.member(),
			reward("tv-pack-match-futbol", 6400, sdk.Values{"service": "tv", "regions": []any{"Moscow"}}),
			refused(6400, sdk.Reason{Code: "NOT_AVAILABLE", Message: "tv-pack-match-futbol is not offered in the member's region (only in Moscow)"})},
		{"every reason at once", `{}`, now, who{tier: "VIP", until: until, region: "Tver", attrs: sdk.Values{"debts": sdk.Values{"internet": json.Number("10")}},
			state: &State{Exchanges: []Exchange{{Month: "2021-05", OrderID: "o-5"}}, Ordered: map[string]int{"id-antivirus-drweb-1pc": 1}}}.member(),
			reward("antivirus-drweb-1pc", 500, sdk.Values{"service": "internet", "servicesRequired": []any{"internet"}, "regions": []any{"Moscow"}, "perMemberLimit": json.Number("1")}),
			refused(425,
				sdk.Reason{Code: "NOT_AVAILABLE", Message: "antivirus-drweb-1pc is not offered in region Tver (only in Moscow)"},
				sdk.Reason{Code: "NOT_AVAILABLE", Message: "antivirus-drweb-1pc needs the internet service, which the member does not have"},
				sdk.Reason{Code: "OUTSTANDING_DEBT", Message: "there is an outstanding debt of 10.00 RUB on the internet service"},
				frequency,
				sdk.Reason{Code: "FREQUENCY_LIMIT", Message: "antivirus-drweb-1pc can be ordered once per member and was already ordered"},
			)},
		{"another discount table", `{"tiers":[{"name":"Basic","threshold":0,"discountPercent":3,"validMonths":12}]}`, now, who{tier: "Basic", until: until, attrs: attrs}.member(), reward("x", 1000, inet), ok(970)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: campaign(tc.config), Member: tc.member, Item: tc.item, Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

func TestDiscounted(t *testing.T) {
	t.Parallel()
	cases := []struct{ price, percent, want int64 }{
		{600, 10, 540}, {600, 15, 510}, {800, 5, 760}, {1, 5, 1}, {1, 50, 1}, {1, 51, 0}, {0, 15, 0},
		{99, 15, 84}, {101, 15, 86}, {1_000_000_000_000, 15, 850_000_000_000}, {700, 100, 0}, {700, 0, 700},
	}
	for _, tc := range cases {
		if got := discounted(tc.price, tc.percent); got != tc.want {
			t.Errorf("discounted(%d, %d%%) = %d, want %d", tc.price, tc.percent, got, tc.want)
		}
	}
}

// TestAcceptanceFlow plays the e2e scenario against the plugin, applying the
// effects the way the core would: join, earn past 10,000 status points,
// become Privilege for 24 months, pay 540 for a reward listed at 600, be
// refused a second exchange in the same month, with points expiring 24
// months after they were credited.
func TestAcceptanceFlow(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	ctx := context.Background()
	c := campaign(`{}`)
	m := sdk.Member{ID: "m1", Region: "Moscow", Attributes: sdk.Values{"services": []any{"internet"}}}
	var available, status int64
	apply := func(effects []sdk.Effect) {
		for _, e := range effects {
			switch e.Kind {
			case sdk.KindCreditPoints:
				if e.Credit.AvailableAt == nil {
					available += e.Credit.Amount
				}
				status += e.Credit.StatusPoints
				if e.Credit.ExpiresAt == nil {
					t.Fatalf("credit without expiry: %s", show(e))
				}
			case sdk.KindSetTier:
				m.Tiers = []sdk.Tier{{Program: c.Program, Tier: e.SetTier.Tier, ValidUntil: e.SetTier.ValidUntil}}
			case sdk.KindPutState:
				m.State = e.PutState.State
			}
		}
		m.Balances = []sdk.Balance{{Program: c.Program, Available: available, StatusBalance: status}}
	}

	joinAt := at(2021, 3, 1, 9, 0, 0)
	el, err := p.CheckEligibility(ctx, sdk.EligibilityRequest{Campaign: c, Member: m, Answers: sdk.Values{"acceptTerms": true}, Now: joinAt})
	if err != nil || !el.Eligible {
		t.Fatalf("join: %+v %v", el, err)
	}
	apply(el.Effects)
	m.Enrollments = []sdk.Enrollment{{Campaign: c.Code, EnrolledAt: joinAt}}
	if m.Tiers[0].Tier != "Basic" || !m.Tiers[0].ValidUntil.Equal(at(2022, 3, 1, 9, 0, 0)) {
		t.Fatalf("after joining: %+v", m.Tiers)
	}

	// Ten surveys of 1,000: 10,500 status points with the joining 500.
	var last time.Time
	for i := range 10 {
		last = at(2021, 3, 2+i, 12, 0, 0)
		resp, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: c, Items: []sdk.EvaluateItem{{
			Event:  ev("survey.answered", last, sdk.Values{"points": json.Number("1000"), "surveyId": fmt.Sprint("S", i)}),
			Member: m,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		cr := resp.Results[0].Effects[0].Credit
		if cr == nil || !cr.ExpiresAt.Equal(at(2023, 3, 2+i, 12, 0, 0)) {
			t.Fatalf("survey %d: %s; points must expire 24 months after the credit", i, show(resp.Results[0]))
		}
		apply(resp.Results[0].Effects)
	}
	// 500 + 4 × 1,000 = 4,500 ≥ 4,000 made Standard on the 4th survey;
	// 500 + 10 × 1,000 = 10,500 made Privilege on the 10th.
	if m.Tiers[0].Tier != "Privilege" || !m.Tiers[0].ValidUntil.Equal(at(2023, 3, 11, 12, 0, 0)) || !last.Equal(at(2021, 3, 11, 12, 0, 0)) {
		t.Fatalf("after 10,500 status points: %+v", m.Tiers)
	}

	item := sdk.QuoteItem{RewardID: "r-kis", Category: "internet", Code: "antivirus-kaspersky-is-2pc", Price: 600,
		Attributes: sdk.Values{"service": "internet", "servicesRequired": []any{"internet"}, "regions": []any{"*"}, "perMemberLimit": json.Number("1")}}
	now := at(2021, 3, 20, 10, 0, 0)
	q, err := p.Quote(ctx, sdk.QuoteRequest{Campaign: c, Member: m, Item: item, Now: now})
	if err != nil || !q.Allowed || q.Price != 540 || available < q.Price {
		t.Fatalf("first exchange: %+v %v (available %d)", q, err, available)
	}
	resp, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: c, Items: []sdk.EvaluateItem{{
		Event:  ev("reward.redeemed", now, sdk.Values{"orderId": "o-1", "rewardIds": []any{"r-kis"}, "total": json.Number("540"), "month": "2021-03"}),
		Member: m,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	apply(resp.Results[0].Effects)

	other := item
	other.RewardID, other.Code, other.Price = "r-film", "tv-film-rental", 800
	other.Attributes = sdk.Values{"regions": []any{"*"}}
	q, err = p.Quote(ctx, sdk.QuoteRequest{Campaign: c, Member: m, Item: other, Now: at(2021, 3, 31, 23, 59, 59)})
	if err != nil || q.Allowed || len(q.Reasons) != 1 || q.Reasons[0].Code != "FREQUENCY_LIMIT" {
		t.Fatalf("second exchange in March: %+v %v", q, err)
	}
	q, err = p.Quote(ctx, sdk.QuoteRequest{Campaign: c, Member: m, Item: other, Now: at(2021, 4, 1, 0, 0, 0)})
	if err != nil || !q.Allowed || q.Price != 720 {
		t.Fatalf("an exchange in April: %+v %v", q, err)
	}
	q, err = p.Quote(ctx, sdk.QuoteRequest{Campaign: c, Member: m, Item: item, Now: at(2021, 4, 1, 0, 0, 0)})
	if err != nil || q.Allowed || q.Reasons[0].Code != "FREQUENCY_LIMIT" {
		t.Fatalf("the same antivirus again: %+v %v", q, err)
	}
}

func TestInvalidCampaign(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	ctx := context.Background()
	for name, c := range map[string]sdk.Campaign{
		"bad config": campaign(`{"tiers":[]}`),
		"bad zone":   {Code: "X", TimeZone: "Europe/Atlantis"},
	} {
		if _, err := p.CheckEligibility(ctx, sdk.EligibilityRequest{Campaign: c}); !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s: CheckEligibility: %v", name, err)
		}
		if _, err := p.Evaluate(ctx, sdk.EvaluateRequest{Campaign: c}); !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s: Evaluate: %v", name, err)
		}
		if _, err := p.Quote(ctx, sdk.QuoteRequest{Campaign: c}); !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s: Quote: %v", name, err)
		}
		if _, err := p.Tick(ctx, sdk.TickRequest{Campaign: c, Hook: "daily"}); !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s: Tick: %v", name, err)
		}
	}
	if _, err := p.Quote(ctx, sdk.QuoteRequest{Campaign: campaign(`{}`), Member: sdk.Member{State: json.RawMessage(`"x"`)}}); !errors.Is(err, sdk.ErrInvalidRequest) {
		t.Errorf("Quote with unreadable state: %v", err)
	}
}
