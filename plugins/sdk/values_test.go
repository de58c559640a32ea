package sdk_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/promogate/promogate/plugins/sdk"
)

func TestValuesInt(t *testing.T) {
	t.Parallel()
	v := sdk.Values{
		"number":   json.Number("9007199254740993"),
		"negative": json.Number("-5"),
		"decimal":  json.Number("1.5"),
		"int":      7,
		"int64":    int64(8),
		"float":    9.0,
		"fraction": 9.5,
		"huge":     1e19,
		"string":   "10",
	}
	cases := []struct {
		key  string
		want int64
		ok   bool
	}{
		{"number", 9007199254740993, true},
		{"negative", -5, true},
		{"decimal", 0, false},
		{"int", 7, true},
		{"int64", 8, true},
		{"float", 9, true},
		{"fraction", 0, false},
		{"huge", 0, false},
		{"string", 0, false},
		{"absent", 0, false},
	}
	for _, tc := range cases {
		got, ok := v.Int(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	if s, ok := v.String("string"); s != "10" || !ok {
		t.Errorf(`String("string") = %q, %v; want "10", true`, s, ok)
	}
	if s, ok := v.String("int"); s != "" || ok {
		t.Errorf(`String("int") = %q, %v; want "", false`, s, ok)
	}
}

func TestCampaignLocation(t *testing.T) {
	t.Parallel()
	loc, err := sdk.Campaign{TimeZone: "Europe/Riga"}.Location()
	if err != nil || loc.String() != "Europe/Riga" {
		t.Errorf("Location() = %v, %v; want Europe/Riga", loc, err)
	}
	if loc, err := (sdk.Campaign{}).Location(); err != nil || loc != time.UTC {
		t.Errorf("empty zone: Location() = %v, %v; want UTC", loc, err)
	}
	if _, err := (sdk.Campaign{Code: "X", TimeZone: "Mars/Olympus"}).Location(); err == nil {
		t.Error("Location() of an unknown zone succeeded")
	}
}

func TestEffectConstructors(t *testing.T) {
	t.Parallel()
	at := time.Date(2021, 4, 3, 0, 0, 0, 0, time.UTC)
	state, err := sdk.StoreState(map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	got := []sdk.Effect{
		sdk.Credit(10, "r", sdk.AvailableAt(at), sdk.ExpiresAt(at.AddDate(1, 0, 0)), sdk.WithStatusPoints(3)),
		sdk.Debit(4, "d"),
		state,
	}
	want := []sdk.Effect{
		{Kind: sdk.KindCreditPoints, Credit: &sdk.CreditPoints{Amount: 10, Reason: "r", AvailableAt: &at, ExpiresAt: ptr(at.AddDate(1, 0, 0)), StatusPoints: 3}},
		{Kind: sdk.KindDebitPoints, Debit: &sdk.DebitPoints{Amount: 4, Reason: "d"}},
		{Kind: sdk.KindPutState, PutState: &sdk.PutState{State: json.RawMessage(`{"n":1}`)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := sdk.StoreState(func() {}); err == nil {
		t.Error("StoreState of a func succeeded")
	}
}
