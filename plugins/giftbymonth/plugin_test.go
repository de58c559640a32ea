package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

var kyiv = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Kyiv, as the instant the core sends (UTC).
func at(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, kyiv).UTC()
}

func campaign(config string) sdk.Campaign {
	return sdk.Campaign{ID: "c1", Code: "ITS2021", Program: "its", TimeZone: "Europe/Kyiv", Config: json.RawMessage(config)}
}

// contract is an itsContracts entry as the CRM sends it.
func contract(id, level string, term int, scheme string, paid bool, start string) map[string]any {
	c := map[string]any{"id": id, "level": level, "termMonths": json.Number(fmt.Sprint(term)), "paidInFull": paid, "startMonth": start}
	if scheme != "" {
		c["scheme"] = scheme
	}
	return c
}

func member(contracts ...map[string]any) sdk.Member {
	list := make([]any, len(contracts))
	for i, c := range contracts {
		list[i] = c
	}
	return sdk.Member{ID: "m1", Name: "TOV Romashka", Attributes: sdk.Values{"itsContracts": list, "productRegistered": true}}
}

func withState(m sdk.Member, st State) sdk.Member {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	m.State = b
	return m
}

func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// sameJSON compares two values by their JSON encoding, which is how effects
// and attributes travel: json.Number(24) and 24 are the same.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := show(got), show(want); g != w {
		t.Errorf("%s:\n%s\nwant:\n%s", what, g, w)
	}
}

func stateOf(t *testing.T, e sdk.Effect) State {
	t.Helper()
	if e.Kind != sdk.KindPutState || e.PutState == nil {
		t.Fatalf("effect is %s, want put_state", e.Kind)
	}
	var s State
	if err := json.Unmarshal(e.PutState.State, &s); err != nil {
		t.Fatalf("state %s: %v", e.PutState.State, err)
	}
	return s
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "giftbymonth" || d.Version != "1.0.0" {
		t.Errorf("Describe = %s %s, want giftbymonth 1.0.0", d.Name, d.Version)
	}
	if !slices.Equal(d.EventTypes, []string{"contract.signed", "registration.submitted"}) {
		t.Errorf("EventTypes = %v", d.EventTypes)
	}
	if !reflect.DeepEqual(d.Schedules, []sdk.Schedule{{Name: "month-close", Spec: "daily at=00:00:00"}}) {
		t.Errorf("Schedules = %+v", d.Schedules)
	}
	if _, err := sdk.ParseSchedule(d.Schedules[0].Spec); err != nil {
		t.Errorf("schedule does not parse: %v", err)
	}
	if !slices.Equal(d.BenefitKinds, []string{"gift"}) {
		t.Errorf("BenefitKinds = %v", d.BenefitKinds)
	}
	sdktest.CheckConfigSchema(t, p)
	var cfg Config
	if err := json.Unmarshal(d.DefaultConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ProgramStart != "2021-01-01" || cfg.ProgramEnd != "2021-12-28" || cfg.RegistrationLastDay != 28 ||
		cfg.FirstContractMonth != "2021-01" || cfg.LastContractMonth != "2021-12" ||
		!slices.Equal(cfg.Levels, []string{"PROF"}) || !slices.Equal(cfg.Terms, []int{12, 24}) ||
		!reflect.DeepEqual(cfg.Schemes, map[string]int{"8+4": 12}) || !cfg.RequirePaidInFull || !cfg.RequireProductRegistered {
		t.Errorf("default config rules differ from the seed: %s", d.DefaultConfig)
	}
	if len(cfg.Gifts) != 24 {
		t.Errorf("default gift table has %d rows, want 12 months x 2 terms", len(cfg.Gifts))
	}
}

// TestMonthCloseSchedule pins the schedule choice: the hook fires right after
// each month's 28th has ended, February included, which "monthly day=29"
// would not do (it clamps to 28 February 00:00, before that day's
// registrations are over).
func TestMonthCloseSchedule(t *testing.T) {
	t.Parallel()
	spec, err := sdk.ParseSchedule(SpecMonthClose)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		after, want time.Time
	}{
		{"April close", at(2021, 4, 28, 23, 59, 59), at(2021, 4, 29, 0, 0, 0)},
		{"February close", at(2021, 2, 28, 23, 59, 59), at(2021, 3, 1, 0, 0, 0)},
		{"December close", at(2021, 12, 28, 23, 59, 59), at(2021, 12, 29, 0, 0, 0)},
	}
	for _, tc := range cases {
		if got := spec.Next(tc.after, kyiv); !got.Equal(tc.want) {
			t.Errorf("%s: next run %s, want %s", tc.name, got.In(kyiv), tc.want.In(kyiv))
		}
	}
	day29, err := sdk.ParseSchedule("monthly day=29 at=00:00:00")
	if err != nil {
		t.Fatal(err)
	}
	if got := day29.Next(at(2021, 2, 1, 0, 0, 0), kyiv); !got.Equal(at(2021, 2, 28, 0, 0, 0)) {
		t.Errorf("monthly day=29 in February 2021 runs %s; the reason for the daily schedule is gone", got.In(kyiv))
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
		{"empty object", `{}`, nil},
		{"another season", `{"programStart":"2022-01-01","programEnd":"2022-06-28","firstContractMonth":"2022-01","lastContractMonth":"2022-06","gifts":[{"startMonth":"2022-03","termMonths":24,"items":["mug"]}]}`, nil},
		{"schemes replaced, not merged", `{"terms":[24],"schemes":{}}`, []sdk.FieldError{
			{Field: "/gifts/0/termMonths", Code: "not_a_term", Message: "/gifts/0/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/2/termMonths", Code: "not_a_term", Message: "/gifts/2/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/4/termMonths", Code: "not_a_term", Message: "/gifts/4/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/6/termMonths", Code: "not_a_term", Message: "/gifts/6/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/8/termMonths", Code: "not_a_term", Message: "/gifts/8/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/10/termMonths", Code: "not_a_term", Message: "/gifts/10/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/12/termMonths", Code: "not_a_term", Message: "/gifts/12/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/14/termMonths", Code: "not_a_term", Message: "/gifts/14/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/16/termMonths", Code: "not_a_term", Message: "/gifts/16/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/18/termMonths", Code: "not_a_term", Message: "/gifts/18/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/20/termMonths", Code: "not_a_term", Message: "/gifts/20/termMonths 12 is not one of the eligible terms [24]"},
			{Field: "/gifts/22/termMonths", Code: "not_a_term", Message: "/gifts/22/termMonths 12 is not one of the eligible terms [24]"},
		}},
		{"every scalar outside the schema", `{"programStart":"2021-13-01","programEnd":"soon","firstContractMonth":"2021-1","lastContractMonth":"x","registrationLastDay":0,"levels":[],"terms":[],"schemes":{"8+4":12},"contractsAttribute":"","productRegisteredAttribute":" ","headAttribute":"","gifts":[]}`, []sdk.FieldError{
			{Field: "/contractsAttribute", Code: "required", Message: "/contractsAttribute must not be empty"},
			{Field: "/firstContractMonth", Code: "invalid_format", Message: `/firstContractMonth is "2021-1", it must match ^[0-9]{4}-[0-9]{2}$`},
			{Field: "/headAttribute", Code: "required", Message: "/headAttribute must not be empty"},
			{Field: "/lastContractMonth", Code: "invalid_format", Message: `/lastContractMonth is "x", it must match ^[0-9]{4}-[0-9]{2}$`},
			{Field: "/levels", Code: "invalid_length", Message: "/levels has 0 items, it must have at least 1"},
			{Field: "/programEnd", Code: "invalid_format", Message: `/programEnd is "soon", it must match ^[0-9]{4}-[0-9]{2}-[0-9]{2}$`},
			{Field: "/registrationLastDay", Code: "out_of_range", Message: "/registrationLastDay is 0, it must be at least 1"},
			{Field: "/terms", Code: "invalid_length", Message: "/terms has 0 items, it must have at least 1"},
		}},
		{"dates that do not exist, schemes of other terms, blank names", `{"programStart":"2021-13-01","firstContractMonth":"2021-13","schemes":{"8+4":36},"productRegisteredAttribute":" "}`, []sdk.FieldError{
			{Field: "/programStart", Code: "invalid_date", Message: `/programStart "2021-13-01" is not a date`},
			{Field: "/firstContractMonth", Code: "invalid_month", Message: `/firstContractMonth "2021-13" is not a month`},
			{Field: "/schemes/8+4", Code: "not_a_term", Message: "/schemes/8+4 counts as 36 months, which is not one of the eligible terms [12, 24]"},
			{Field: "/productRegisteredAttribute", Code: "required", Message: "/productRegisteredAttribute is blank, it must name a member attribute"},
		}},
		{"order of dates", `{"programStart":"2021-12-28","programEnd":"2021-01-01","firstContractMonth":"2021-12","lastContractMonth":"2021-01","gifts":[]}`, []sdk.FieldError{
			{Field: "/programEnd", Code: "before_start", Message: "/programEnd 2021-01-01 is before programStart 2021-12-28"},
			{Field: "/lastContractMonth", Code: "before_start", Message: "/lastContractMonth 2021-01 is before firstContractMonth 2021-12"},
		}},
		{"lists outside the schema", `{"levels":["PROF",""],"terms":[12,24,0],"gifts":[]}`, []sdk.FieldError{
			{Field: "/levels/1", Code: "required", Message: "/levels/1 must not be empty"},
			{Field: "/terms/2", Code: "out_of_range", Message: "/terms/2 is 0, it must be at least 1"},
		}},
		{"repeated terms and blank levels", `{"levels":["PROF"," "],"terms":[12,24,12],"gifts":[]}`, []sdk.FieldError{
			{Field: "/levels/1", Code: "required", Message: "/levels/1 is blank"},
			{Field: "/terms/2", Code: "duplicate", Message: "/terms/2 12 months is listed twice"},
		}},
		{"gift rows outside the schema", `{"gifts":[
			{"startMonth":"2021-04","termMonths":24,"items":["calculator"]},
			{"startMonth":"April","termMonths":6,"items":[]},
			{"startMonth":"2022-01","termMonths":12,"items":["mug",""]}]}`, []sdk.FieldError{
			{Field: "/gifts/1/items", Code: "invalid_length", Message: "/gifts/1/items has 0 items, it must have at least 1"},
			{Field: "/gifts/1/startMonth", Code: "invalid_format", Message: `/gifts/1/startMonth is "April", it must match ^[0-9]{4}-[0-9]{2}$`},
			{Field: "/gifts/2/items/1", Code: "required", Message: "/gifts/2/items/1 must not be empty"},
		}},
		{"gift rows against the rest of the config", `{"gifts":[
			{"startMonth":"2021-04","termMonths":24,"items":["calculator"]},
			{"startMonth":"2021-04","termMonths":6,"items":["mug"]},
			{"startMonth":"2022-01","termMonths":12,"items":["mug"," "]},
			{"startMonth":"2021-04","termMonths":24,"items":["hair dryer"]}]}`, []sdk.FieldError{
			{Field: "/gifts/1/termMonths", Code: "not_a_term", Message: "/gifts/1/termMonths 6 is not one of the eligible terms [12, 24]"},
			{Field: "/gifts/2/startMonth", Code: "out_of_range", Message: "/gifts/2/startMonth 2022-01 is outside the contract months 2021-01..2021-12"},
			{Field: "/gifts/2/items/1", Code: "required", Message: "/gifts/2/items/1 is blank"},
			{Field: "/gifts/3", Code: "duplicate", Message: "/gifts/3 repeats /gifts/0: 2021-04, 24 months"},
		}},
		{"a row leaving out items does not inherit the default's", `{"gifts":[{"startMonth":"2021-01","termMonths":12}]}`, []sdk.FieldError{
			{Field: "/gifts/0/items", Code: "required", Message: "/gifts/0/items is required"},
		}},
		{"wrong type", `{"registrationLastDay":"28"}`, []sdk.FieldError{
			{Field: "/registrationLastDay", Code: "invalid_type", Message: "/registrationLastDay must be an integer, not a string"},
		}},
		{"unknown field", `{"giftz":[]}`, []sdk.FieldError{
			{Field: "/giftz", Code: "unknown_field", Message: "/giftz is not a setting of giftbymonth"},
		}},
		{"broken JSON", `{"gifts":`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
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

// registration is the state a successful registration of one contract puts.
func registration(id, month string, term int, scheme string, when time.Time, by, responsible string) Registration {
	return Registration{ContractID: id, Month: month, TermMonths: term, Scheme: scheme, RegisteredAt: when, RegisteredBy: by, Responsible: responsible}
}

func TestCheckEligibility(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	prof24Apr := contract("ITS-1", "PROF", 24, "", true, "2021-04")
	answers := sdk.Values{"registeredBy": "Olena Shevchenko", "responsible": "Ivan Petrenko", "howDidYouHear": "service company"}
	term6 := "a 6-month term is not eligible; terms of 12 (incl. 8+4) or 24 months are"
	notProduct := sdk.Reason{Code: "PRODUCT_NOT_REGISTERED", Message: "the software product is not registered in the account on the ITS portal"}

	noProduct := member(prof24Apr)
	noProduct.Attributes["productRegistered"] = false
	noContracts := member()
	noContracts.Attributes["productRegistered"] = "false"
	fromEvents := withState(sdk.Member{ID: "m1", Attributes: sdk.Values{"productRegistered": true}},
		State{Contracts: []Contract{{ID: "ITS-9", Level: "PROF", TermMonths: 12, PaidInFull: true, StartMonth: "2021-06"}}})
	already := withState(member(prof24Apr), State{Registrations: []Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 2, 9, 0, 0), "", "")}})
	bothAccounts := withState(member(prof24Apr, contract("ITS-2", "PROF", 12, "", true, "2021-05")),
		State{Registrations: []Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 2, 9, 0, 0), "", "")}})

	cases := []struct {
		name    string
		member  sdk.Member
		answers sdk.Values
		now     time.Time
		regs    []Registration
		reasons []sdk.Reason
	}{
		{"acceptance: PROF 24 months from April, registered 10 April", member(prof24Apr), answers, at(2021, 4, 10, 12, 0, 0),
			[]Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 10, 12, 0, 0), "Olena Shevchenko", "Ivan Petrenko")}, nil},
		{"first day of the programme 00:00:00", member(contract("ITS-1", "PROF", 12, "", true, "2021-01")), nil, at(2021, 1, 1, 0, 0, 0),
			[]Registration{registration("ITS-1", "2021-01", 12, "", at(2021, 1, 1, 0, 0, 0), "", "")}, nil},
		{"a day before the programme", member(contract("ITS-1", "PROF", 12, "", true, "2021-01")), nil, at(2020, 12, 31, 23, 59, 59), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration has not opened yet: the programme runs from 1 January 2021 to 28 December 2021"}}},
		{"the 28th at 23:59:59 is still open", member(prof24Apr), nil, at(2021, 4, 28, 23, 59, 59),
			[]Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 28, 23, 59, 59), "", "")}, nil},
		{"acceptance: the 29th at 00:00:00 is closed", member(prof24Apr), answers, at(2021, 4, 29, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration for April 2021 contracts closed on 28 April 2021"}}},
		{"20:59:59 UTC on the 28th is 23:59:59 in Kyiv", member(prof24Apr), nil, time.Date(2021, 4, 28, 20, 59, 59, 0, time.UTC),
			[]Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 28, 23, 59, 59), "", "")}, nil},
		{"21:00 UTC on the 28th is already the 29th in Kyiv", member(prof24Apr), nil, time.Date(2021, 4, 28, 21, 0, 0, 0, time.UTC), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration for April 2021 contracts closed on 28 April 2021"}}},
		{"a later month's contract in an earlier month", member(contract("ITS-2", "PROF", 12, "", true, "2021-05")), nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-2", "2021-05", 12, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"a later month's contract on the 29th", member(contract("ITS-2", "PROF", 12, "", true, "2021-05")), nil, at(2021, 4, 29, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration is open from the 1st to the 28th of each month; it reopens on 1 May 2021"}}},
		{"February 28th 23:59:59", member(contract("ITS-3", "PROF", 12, "", true, "2021-02")), nil, at(2021, 2, 28, 23, 59, 59),
			[]Registration{registration("ITS-3", "2021-02", 12, "", at(2021, 2, 28, 23, 59, 59), "", "")}, nil},
		{"1 March 00:00:00 closes February", member(contract("ITS-3", "PROF", 12, "", true, "2021-02")), nil, at(2021, 3, 1, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration for February 2021 contracts closed on 28 February 2021"}}},
		{"last day of the programme", member(contract("ITS-4", "PROF", 24, "", true, "2021-12")), nil, at(2021, 12, 28, 23, 59, 59),
			[]Registration{registration("ITS-4", "2021-12", 24, "", at(2021, 12, 28, 23, 59, 59), "", "")}, nil},
		{"after the programme", member(contract("ITS-4", "PROF", 24, "", true, "2021-12")), nil, at(2021, 12, 29, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "REGISTRATION_CLOSED", Message: "registration for December 2021 contracts closed on 28 December 2021"}}},
		{"acceptance: a 6-month term", member(contract("ITS-5", "PROF", 6, "", true, "2021-04")), nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "NO_ELIGIBLE_CONTRACT", Message: term6}}},
		{"8+4 counts as 12 months", member(contract("ITS-6", "PROF", 8, "8+4", true, "2021-04")), nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-6", "2021-04", 12, "8+4", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"level is case-insensitive", member(contract("ITS-7", "prof", 12, "", true, "2021-04")), nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-7", "2021-04", 12, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"everything wrong with one contract", member(contract("ITS-8", "BASE", 36, "", false, "2022-01")), nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract level BASE is not eligible; only PROF contracts take part"},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "a 36-month term is not eligible; terms of 12 (incl. 8+4) or 24 months are"},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract is not paid in full for the whole term up front"},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract starts in January 2022; only contracts starting from January 2021 to December 2021 take part"},
			}},
		{"a contract of 2020", member(contract("ITS-9", "PROF", 12, "", true, "2020-12")), nil, at(2021, 1, 10, 0, 0, 0), nil,
			[]sdk.Reason{
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract starts in December 2020; only contracts starting from January 2021 to December 2021 take part"},
				{Code: "REGISTRATION_CLOSED", Message: "registration for December 2020 contracts closed on 28 December 2020"},
			}},
		{"no contracts and no product", noContracts, nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{notProduct, {Code: "NO_ITS_CONTRACT", Message: "the account has no ITS contracts"}}},
		{"no attributes at all", sdk.Member{ID: "m1"}, nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{notProduct, {Code: "NO_ITS_CONTRACT", Message: "the account has no ITS contracts"}}},
		{"product not registered", noProduct, nil, at(2021, 4, 10, 0, 0, 0), nil, []sdk.Reason{notProduct}},
		{"unknown contract asked for", member(prof24Apr), sdk.Values{"contractId": "ITS-404"}, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "NO_ITS_CONTRACT", Message: "the account has no ITS contract ITS-404"}}},
		{"the contract asked for, of two", member(prof24Apr, contract("ITS-2", "PROF", 12, "", true, "2021-05")), sdk.Values{"contractId": "ITS-2"}, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-2", "2021-05", 12, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"numeric contract id", member(contract("77", "PROF", 12, "", true, "2021-05")), sdk.Values{"contractId": json.Number("77")}, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("77", "2021-05", 12, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"every eligible contract without a choice", member(prof24Apr, contract("ITS-5", "PROF", 6, "", true, "2021-04"), contract("ITS-2", "PROF", 12, "", true, "2021-05")), nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{
				registration("ITS-1", "2021-04", 24, "", at(2021, 4, 10, 0, 0, 0), "", ""),
				registration("ITS-2", "2021-05", 12, "", at(2021, 4, 10, 0, 0, 0), "", ""),
			}, nil},
		{"two bad contracts are named", member(contract("ITS-5", "PROF", 6, "", true, "2021-04"), contract("ITS-8", "PROF", 12, "", false, "2021-03")), nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "contract ITS-5: " + term6},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "contract ITS-8: the contract is not paid in full for the whole term up front"},
				{Code: "REGISTRATION_CLOSED", Message: "contract ITS-8: registration for March 2021 contracts closed on 28 March 2021"},
			}},
		{"unreadable contract data", member(map[string]any{"level": "PROF", "startMonth": "04/2021"}), nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract has no id"},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract has no term in months"},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: `the contract has no start month YYYY-MM (got "04/2021")`},
				{Code: "NO_ELIGIBLE_CONTRACT", Message: "the contract is not paid in full for the whole term up front"},
			}},
		{"start given as a date", member(contract("ITS-1", "PROF", 24, "", true, "2021-04-01")), nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
		{"a contract from a contract.signed event", fromEvents, nil, at(2021, 6, 1, 0, 0, 0),
			[]Registration{registration("ITS-9", "2021-06", 12, "", at(2021, 6, 1, 0, 0, 0), "", "")}, nil},
		{"already registered", already, nil, at(2021, 4, 10, 0, 0, 0), nil,
			[]sdk.Reason{{Code: "ALREADY_REGISTERED", Message: "contract ITS-1 is already registered (its gift is for April 2021)"}}},
		{"a second contract next to a registered one", bothAccounts, nil, at(2021, 4, 10, 0, 0, 0),
			[]Registration{registration("ITS-2", "2021-05", 12, "", at(2021, 4, 10, 0, 0, 0), "", "")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: campaign(`{}`), Member: tc.member, Answers: tc.answers, Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if tc.regs == nil {
				if got.Eligible || got.Effects != nil || !reflect.DeepEqual(got.Reasons, tc.reasons) {
					t.Errorf("got eligible=%v effects=%s reasons:\n%s\nwant reasons:\n%s", got.Eligible, show(got.Effects), show(got.Reasons), show(tc.reasons))
				}
				return
			}
			if !got.Eligible || got.Reasons != nil || len(got.Effects) != 1 {
				t.Fatalf("got eligible=%v reasons=%s effects=%s, want eligible with one put_state", got.Eligible, show(got.Reasons), show(got.Effects))
			}
			var before State
			if tc.member.State != nil {
				if err := json.Unmarshal(tc.member.State, &before); err != nil {
					t.Fatal(err)
				}
			}
			want := before
			want.Registrations = append(slices.Clone(before.Registrations), tc.regs...)
			sameJSON(t, "state", stateOf(t, got.Effects[0]), want)
		})
	}
}

func TestCheckEligibilityInvalidCampaign(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	for name, c := range map[string]sdk.Campaign{
		"bad config": campaign(`{"registrationLastDay":0}`),
		"bad zone":   {Code: "X", TimeZone: "Europe/Atlantis"},
	} {
		_, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: c, Member: member(), Now: at(2021, 4, 10, 0, 0, 0)})
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
}

// expectedGifts is the seed's table, written out independently of the
// default config: start month → items for 12 and 24 months.
var expectedGifts = map[time.Month][2][]string{
	time.January:   {{"branded folding headphones"}, {"branded folding headphones", "sports bag with the BAS logo"}},
	time.February:  {{"branded folding headphones"}, {"branded folding headphones", "sports bag with the BAS logo"}},
	time.March:     {{"branded folding headphones"}, {"branded folding headphones", "sports bag with the BAS logo"}},
	time.April:     {{"branded calculator"}, {"branded calculator", "branded travel hair dryer"}},
	time.May:       {{"branded folding headphones"}, {"branded folding headphones", "sports bag with the BAS logo"}},
	time.June:      {{"beach towel"}, {"beach towel", "branded travel hair dryer"}},
	time.July:      {{"branded folding headphones"}, {"branded folding headphones", "sports bag with the BAS logo"}},
	time.August:    {{"branded stationery set"}, {"branded stationery set", "branded travel hair dryer"}},
	time.September: {{"branded stationery set"}, {"branded stationery set", "branded travel hair dryer"}},
	time.October:   {{"branded stationery set"}, {"branded stationery set", "branded travel hair dryer"}},
	time.November:  {{"branded stationery set"}, {"branded stationery set", "branded travel hair dryer"}},
	time.December:  {{"2022 wall calendar"}, {"2022 wall calendar", "branded travel hair dryer"}},
}

var expectedTitles = map[string]string{
	"branded folding headphones":                              "Branded folding headphones",
	"branded folding headphones|sports bag with the BAS logo": "Branded folding headphones + sports bag with the BAS logo",
	"branded calculator":                                      "Branded calculator",
	"branded calculator|branded travel hair dryer":            "Branded calculator + branded travel hair dryer",
	"beach towel":                                      "Beach towel",
	"beach towel|branded travel hair dryer":            "Beach towel + branded travel hair dryer",
	"branded stationery set":                           "Branded stationery set",
	"branded stationery set|branded travel hair dryer": "Branded stationery set + branded travel hair dryer",
	"2022 wall calendar":                               "2022 wall calendar",
	"2022 wall calendar|branded travel hair dryer":     "2022 wall calendar + branded travel hair dryer",
}

func giftEffect(month string, contractID string, term int, items []string, recipient, role string, from time.Time) sdk.Effect {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	from = from.UTC()
	return sdk.GrantBenefit{
		Key:       "gift-" + month + "-" + contractID,
		Kind:      "gift",
		Title:     expectedTitles[strings.Join(items, "|")],
		Recipient: recipient,
		ValidFrom: &from,
		Attributes: sdk.Values{
			"contractId":    contractID,
			"fulfilment":    "to_deliver",
			"items":         list,
			"month":         month,
			"recipientRole": role,
			"termMonths":    term,
		},
	}.Effect()
}

func tick(t *testing.T, p sdk.Program, config string, now time.Time, members ...sdk.Member) sdk.TickResponse {
	t.Helper()
	resp, err := p.Tick(context.Background(), sdk.TickRequest{Campaign: campaign(config), Hook: "month-close", Now: now, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestMonthCloseAcceptance(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	reg := registration("ITS-1", "2021-04", 24, "", at(2021, 4, 10, 12, 0, 0), "Olena Shevchenko", "Ivan Petrenko")
	m := withState(member(contract("ITS-1", "PROF", 24, "", true, "2021-04")), State{Registrations: []Registration{reg}})

	if got := tick(t, p, `{}`, at(2021, 4, 28, 23, 59, 59), m); got.Results != nil {
		t.Errorf("before the close: %s", show(got.Results))
	}
	got := tick(t, p, `{}`, at(2021, 4, 29, 0, 0, 0), m)
	if len(got.Results) != 1 || got.Results[0].MemberID != "m1" || len(got.Results[0].Effects) != 2 {
		t.Fatalf("at the close: %s", show(got.Results))
	}
	want := giftEffect("2021-04", "ITS-1", 24, []string{"branded calculator", "branded travel hair dryer"}, "Olena Shevchenko", "registered_by", at(2021, 4, 29, 0, 0, 0))
	sameJSON(t, "gift", got.Results[0].Effects[0], want)
	if g := got.Results[0].Effects[0].GrantBenefit; g.Title != "Branded calculator + branded travel hair dryer" || g.Recipient != "Olena Shevchenko" {
		t.Errorf("title %q, recipient %q", g.Title, g.Recipient)
	}
	reg.GiftKey = "gift-2021-04-ITS-1"
	after := State{Registrations: []Registration{reg}}
	sameJSON(t, "state", stateOf(t, got.Results[0].Effects[1]), after)

	// Run twice for the same moment before the state was applied: the same
	// key, which the core grants only once.
	again := tick(t, p, `{}`, at(2021, 4, 29, 0, 0, 0), m)
	sameJSON(t, "second run", again.Results, got.Results)
	// With the state applied, nothing more, on any later day.
	if later := tick(t, p, `{}`, at(2021, 5, 29, 0, 0, 0), withState(m, after)); later.Results != nil {
		t.Errorf("after the gift was granted: %s", show(later.Results))
	}
}

func TestMonthCloseEveryGift(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	for month := time.January; month <= time.December; month++ {
		for i, term := range []int{12, 24} {
			name := fmt.Sprintf("%s %d months", month, term)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ym := fmt.Sprintf("2021-%02d", month)
				reg := registration("C", ym, term, "", at(2021, month, 5, 0, 0, 0), "Employee", "")
				m := withState(sdk.Member{ID: "m1"}, State{Registrations: []Registration{reg}})
				lastDay := 28
				closeAt := at(2021, month, lastDay+1, 0, 0, 0)
				if got := tick(t, p, `{}`, closeAt.Add(-time.Second), m); got.Results != nil {
					t.Errorf("one second before the close: %s", show(got.Results))
				}
				got := tick(t, p, `{}`, closeAt, m)
				if len(got.Results) != 1 {
					t.Fatalf("at the close: %s", show(got.Results))
				}
				sameJSON(t, "gift", got.Results[0].Effects[0], giftEffect(ym, "C", term, expectedGifts[month][i], "Employee", "registered_by", closeAt))
			})
		}
	}
}

func TestMonthCloseRecipientAndTiming(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	reg := func(month string, by, resp string) State {
		return State{Registrations: []Registration{registration("ITS-1", month, 12, "", at(2021, 4, 10, 0, 0, 0), by, resp)}}
	}
	base := member(contract("ITS-1", "PROF", 12, "", true, "2021-04"))
	withHead := withState(base, reg("2021-04", "", ""))
	withHead.Attributes = sdk.Values{"headOfOrganisation": "Mykola Bondar"}
	enrolledBy := withState(base, reg("2021-04", "", ""))
	enrolledBy.Enrollments = []sdk.Enrollment{{Campaign: "ITS2021", EnrolledAt: at(2021, 4, 10, 0, 0, 0), RegisteredBy: "Enrolment Clerk"}}
	otherCampaign := withState(base, reg("2021-04", "", ""))
	otherCampaign.Enrollments = []sdk.Enrollment{{Campaign: "OTHER", RegisteredBy: "Somebody Else"}}
	// No state at all: the registration is rebuilt from the enrolment.
	lostState := member(contract("ITS-1", "PROF", 12, "", true, "2021-04"))
	lostState.Enrollments = []sdk.Enrollment{{Campaign: "ITS2021", EnrolledAt: at(2021, 4, 10, 0, 0, 0),
		Answers: sdk.Values{"registeredBy": "Answer Author"}, RegisteredBy: "Answer Author"}}
	lostLateEnrolment := member(contract("ITS-1", "PROF", 12, "", true, "2021-04"))
	lostLateEnrolment.Enrollments = []sdk.Enrollment{{Campaign: "ITS2021", EnrolledAt: at(2021, 4, 29, 0, 0, 0)}}
	calc := []string{"branded calculator"}

	cases := []struct {
		name   string
		member sdk.Member
		now    time.Time
		want   []sdk.Effect // gift effects only; nil for no result
	}{
		{"registering employee", withState(base, reg("2021-04", "Olena", "Ivan")), at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Olena", "registered_by", at(2021, 4, 29, 0, 0, 0))}},
		{"responsible person", withState(base, reg("2021-04", "", "Ivan")), at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Ivan", "responsible", at(2021, 4, 29, 0, 0, 0))}},
		{"registering employee from the enrolment", enrolledBy, at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Enrolment Clerk", "registered_by", at(2021, 4, 29, 0, 0, 0))}},
		{"head of organisation", withHead, at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Mykola Bondar", "head_of_organisation", at(2021, 4, 29, 0, 0, 0))}},
		{"the organisation's name", otherCampaign, at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "TOV Romashka", "head_of_organisation", at(2021, 4, 29, 0, 0, 0))}},
		{"catch-up days later", withState(base, reg("2021-04", "Olena", "")), at(2021, 5, 3, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Olena", "registered_by", at(2021, 4, 29, 0, 0, 0))}},
		{"February closes on 1 March, not on the 28th", withState(base, reg("2021-02", "Olena", "")), at(2021, 2, 28, 23, 59, 59), nil},
		{"February close", withState(base, reg("2021-02", "Olena", "")), at(2021, 3, 1, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-02", "ITS-1", 12, []string{"branded folding headphones"}, "Olena", "registered_by", at(2021, 3, 1, 0, 0, 0))}},
		{"a May contract registered in April waits for May", withState(base, reg("2021-05", "Olena", "")), at(2021, 4, 29, 0, 0, 0), nil},
		{"registration rebuilt from the enrolment", lostState, at(2021, 4, 29, 0, 0, 0),
			[]sdk.Effect{giftEffect("2021-04", "ITS-1", 12, calc, "Answer Author", "registered_by", at(2021, 4, 29, 0, 0, 0))}},
		{"an enrolment that was not a valid registration", lostLateEnrolment, at(2021, 5, 29, 0, 0, 0), nil},
		{"an unreadable state is skipped", sdk.Member{ID: "m1", State: json.RawMessage(`[1]`)}, at(2021, 5, 29, 0, 0, 0), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tick(t, p, `{}`, tc.now, tc.member)
			if tc.want == nil {
				if got.Results != nil {
					t.Errorf("got %s, want nothing", show(got.Results))
				}
				return
			}
			if len(got.Results) != 1 || len(got.Results[0].Effects) != len(tc.want)+1 {
				t.Fatalf("got %s", show(got.Results))
			}
			sameJSON(t, "gifts", got.Results[0].Effects[:len(tc.want)], tc.want)
			st := stateOf(t, got.Results[0].Effects[len(tc.want)])
			if st.Registrations[0].GiftKey != tc.want[0].GrantBenefit.Key {
				t.Errorf("state does not record the gift: %s", show(st))
			}
		})
	}
}

func TestMonthCloseEditedTable(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	m := withState(sdk.Member{ID: "m1"}, State{Registrations: []Registration{registration("ITS-1", "2021-05", 24, "", at(2021, 5, 2, 0, 0, 0), "Olena", "")}})
	// May's gift not announced yet: nothing is released at the close, and
	// the registration stays pending.
	unannounced := `{"gifts":[{"startMonth":"2021-04","termMonths":24,"items":["branded calculator"]}]}`
	if got := tick(t, p, unannounced, at(2021, 5, 29, 0, 0, 0), m); got.Results != nil {
		t.Errorf("unannounced month: %s", show(got.Results))
	}
	// Announced later with another gift: the next run releases it.
	announced := `{"gifts":[{"startMonth":"2021-05","termMonths":24,"items":["branded power bank","branded mug"]}]}`
	got := tick(t, p, announced, at(2021, 5, 30, 0, 0, 0), m)
	if len(got.Results) != 1 {
		t.Fatalf("announced: %s", show(got.Results))
	}
	g := got.Results[0].Effects[0].GrantBenefit
	if g == nil || g.Title != "Branded power bank + branded mug" || g.Key != "gift-2021-05-ITS-1" {
		t.Errorf("edited table gift: %s", show(got.Results[0].Effects[0]))
	}
	// Another closing day, registrationLastDay 25: closes on the 26th.
	early := `{"registrationLastDay":25}`
	if got := tick(t, p, early, at(2021, 5, 25, 23, 59, 59), m); got.Results != nil {
		t.Errorf("day 25 still open: %s", show(got.Results))
	}
	if got := tick(t, p, early, at(2021, 5, 26, 0, 0, 0), m); len(got.Results) != 1 {
		t.Errorf("day 26: %s", show(got.Results))
	}
}

func TestTickUnknownHook(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	_, err := p.Tick(context.Background(), sdk.TickRequest{Campaign: campaign(`{}`), Hook: "daily", Now: at(2021, 4, 29, 0, 0, 0)})
	if !errors.Is(err, sdk.ErrUnsupportedHook) {
		t.Errorf("err = %v, want ErrUnsupportedHook", err)
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	signed := func(attrs sdk.Values) sdk.Event {
		return sdk.Event{Type: "contract.signed", OccurredAt: at(2021, 4, 5, 10, 0, 0), Attributes: attrs}
	}
	prof := sdk.Values{"id": "ITS-1", "level": "PROF", "termMonths": json.Number("24"), "paidInFull": true, "startMonth": "2021-04"}
	stored := Contract{ID: "ITS-1", Level: "PROF", TermMonths: 24, PaidInFull: true, StartMonth: "2021-04"}
	unpaid := stored
	unpaid.PaidInFull = false
	enrolled := withState(sdk.Member{ID: "m1", Attributes: sdk.Values{"productRegistered": true},
		Enrollments: []sdk.Enrollment{{Campaign: "ITS2021", EnrolledAt: at(2021, 4, 1, 0, 0, 0)}}}, State{Contracts: []Contract{stored}})
	register := func(when time.Time, attrs sdk.Values) sdk.Event {
		return sdk.Event{Type: "registration.submitted", OccurredAt: when, Attributes: attrs}
	}
	enrolledSix := withState(enrolled, State{Contracts: []Contract{{ID: "ITS-5", Level: "PROF", TermMonths: 6, PaidInFull: false, StartMonth: "2021-04"}}})

	cases := []struct {
		name   string
		event  sdk.Event
		member sdk.Member
		state  *State
		want   sdk.EvaluateResult
	}{
		{"a new contract", signed(prof), sdk.Member{ID: "m1"}, &State{Contracts: []Contract{stored}}, sdk.EvaluateResult{}},
		{"the same contract again", signed(prof), withState(sdk.Member{ID: "m1"}, State{Contracts: []Contract{stored}}), nil,
			sdk.EvaluateResult{NoEffectReason: "contract ITS-1 is already recorded with the same terms"}},
		{"a changed contract replaces it", signed(prof), withState(sdk.Member{ID: "m1"}, State{Contracts: []Contract{unpaid}}), &State{Contracts: []Contract{stored}}, sdk.EvaluateResult{}},
		{"a contract without id", signed(sdk.Values{"level": "PROF"}), sdk.Member{ID: "m1"}, nil,
			sdk.EvaluateResult{NoEffectReason: "the contract has no id attribute"}},
		{"a contract without start", signed(sdk.Values{"id": "X", "termMonths": json.Number("12")}), sdk.Member{ID: "m1"}, nil,
			sdk.EvaluateResult{NoEffectReason: `contract X: the contract has no start month YYYY-MM (got "")`}},
		{"registration by event", register(at(2021, 4, 12, 0, 0, 0), sdk.Values{"contractId": "ITS-1", "registeredBy": "Olena"}), enrolled,
			&State{Contracts: []Contract{stored}, Registrations: []Registration{registration("ITS-1", "2021-04", 24, "", at(2021, 4, 12, 0, 0, 0), "Olena", "")}}, sdk.EvaluateResult{}},
		{"registration by event on the 29th", register(at(2021, 4, 29, 0, 0, 0), sdk.Values{"contractId": "ITS-1"}), enrolled, nil,
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Reject{Code: "REGISTRATION_CLOSED", Message: "registration for April 2021 contracts closed on 28 April 2021"}.Effect()}}},
		{"registration by event of a bad contract", register(at(2021, 4, 12, 0, 0, 0), nil), enrolledSix, nil,
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Reject{Code: "NO_ELIGIBLE_CONTRACT",
				Message: "a 6-month term is not eligible; terms of 12 (incl. 8+4) or 24 months are; the contract is not paid in full for the whole term up front"}.Effect()}}},
		{"registration by event without enrolment", register(at(2021, 4, 12, 0, 0, 0), nil), sdk.Member{ID: "m1"}, nil,
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Reject{Code: "NOT_ENROLLED", Message: "the member is not registered in the programme; register through the programme page first"}.Effect()}}},
		{"another event type", sdk.Event{Type: "purchase"}, sdk.Member{ID: "m1"}, nil,
			sdk.EvaluateResult{NoEffectReason: `event type "purchase" is not part of giftbymonth`}},
		{"unreadable state", signed(prof), sdk.Member{ID: "m1", State: json.RawMessage(`"x"`)}, nil,
			sdk.EvaluateResult{NoEffectReason: "invalid request: unreadable member state: json: cannot unmarshal string into Go value of type main.State"}},
	}
	items := make([]sdk.EvaluateItem, len(cases))
	for i, tc := range cases {
		items[i] = sdk.EvaluateItem{Event: tc.event, Member: tc.member}
	}
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: campaign(`{}`), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != len(cases) {
		t.Fatalf("%d results for %d items", len(resp.Results), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resp.Results[i]
			if tc.state != nil {
				if len(got.Effects) != 1 || got.NoEffectReason != "" {
					t.Fatalf("got %s, want one put_state", show(got))
				}
				sameJSON(t, "state", stateOf(t, got.Effects[0]), *tc.state)
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

func TestQuoteLeavesPricesAlone(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	got, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: campaign(`{}`), Item: sdk.QuoteItem{Price: 250}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (sdk.QuoteResponse{Price: 250, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("Quote = %+v, want %+v", got, want)
	}
}
