package sdk_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

func TestValuesHelpers(t *testing.T) {
	v := sdk.Values{"name": "  Anna ", "n": json.Number("6"), "s": " 12 ", "f": 1.5, "yes": true, "yesText": " TRUE ",
		"no": "false", "rub": json.Number("1999.9"), "rubText": "15.257", "rubInt": 7, "neg": "-1", "exp": json.Number("1e3")}
	if got := v.Text("name"); got != "Anna" {
		t.Errorf("Text(name) = %q", got)
	}
	if got := v.Text("n"); got != "" {
		t.Errorf("Text of a number = %q, want empty", got)
	}
	for key, want := range map[string]bool{"yes": true, "yesText": true, "no": false, "n": false, "absent": false} {
		if got := v.Bool(key); got != want {
			t.Errorf("Bool(%s) = %v, want %v", key, got, want)
		}
	}
	for _, tc := range []struct {
		key  string
		want int64
		ok   bool
	}{{"n", 6, true}, {"s", 12, true}, {"f", 0, false}, {"name", 0, false}, {"absent", 0, false}} {
		if got, ok := v.Whole(tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("Whole(%s) = %d, %v; want %d, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		key  string
		want int64
		ok   bool
	}{{"rub", 199990, true}, {"rubText", 1525, true}, {"rubInt", 700, true}, {"neg", 0, false}, {"exp", 0, false}, {"name", 0, false}} {
		if got, ok := v.Minor(tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("Minor(%s) = %d, %v; want %d, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMinor is the table of amounts of money billing systems send.
func TestMinor(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{json.Number("3000"), 300000, true},
		{json.Number("3000.5"), 300050, true},
		{json.Number("3000.129"), 300012, true},
		{"0.01", 1, true},
		{int64(7), 700, true},
		{json.Number("1e3"), 0, false},
		{json.Number("-1"), 0, false},
		{".5", 0, false},
		{"12a", 0, false},
		{"1.x", 0, false},
		{true, 0, false},
		{nil, 0, false},
	} {
		if got, ok := (sdk.Values{"v": tc.in}).Minor("v"); got != tc.want || ok != tc.ok {
			t.Errorf("Minor(%#v) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResultHelpers(t *testing.T) {
	if got := sdk.NoEffect("below the %d minimum", 10); !reflect.DeepEqual(got, sdk.EvaluateResult{NoEffectReason: "below the 10 minimum"}) {
		t.Errorf("NoEffect = %+v", got)
	}
	want := sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Reject{Code: "TOO_LATE", Message: "after 2023-08-31"}.Effect()}}
	if got := sdk.Rejected("TOO_LATE", "after %s", "2023-08-31"); !reflect.DeepEqual(got, want) {
		t.Errorf("Rejected = %+v", got)
	}
	credit := sdk.Credit(5, "x")
	got := sdk.WithState([]sdk.Effect{credit}, map[string]int{"n": 1})
	if want := (sdk.EvaluateResult{Effects: []sdk.Effect{credit, sdk.PutState{State: json.RawMessage(`{"n":1}`)}.Effect()}}); !reflect.DeepEqual(got, want) {
		t.Errorf("WithState = %+v", got)
	}
	if got := sdk.WithState(nil, func() {}); got.NoEffectReason != "cannot encode the plugin's state: json: unsupported type: func()" || got.Effects != nil {
		t.Errorf("WithState of a func = %+v", got)
	}
	for bp, want := range map[int]string{2501: "25.01%", 2000: "20%", 5: "0.05%", 10000: "100%"} {
		if got := sdk.FormatPercent(bp); got != want {
			t.Errorf("FormatPercent(%d) = %q, want %q", bp, got, want)
		}
	}
}

func TestReadState(t *testing.T) {
	type state struct{ N int }
	for _, raw := range []string{"", " null ", "\n"} {
		if s, err := sdk.ReadState[state](json.RawMessage(raw)); err != nil || s != (state{}) {
			t.Errorf("ReadState(%q) = %+v, %v; want the zero state", raw, s, err)
		}
	}
	if s, err := sdk.ReadState[state](json.RawMessage(`{"N":3}`)); err != nil || s.N != 3 {
		t.Errorf("ReadState = %+v, %v", s, err)
	}
	if _, err := sdk.ReadState[state](json.RawMessage(`{"N":"x"}`)); !errors.Is(err, sdk.ErrInvalidRequest) {
		t.Errorf("unreadable state: error %v, want ErrInvalidRequest", err)
	}
}

func TestMonthsLaterEndOfDay(t *testing.T) {
	minsk := time.FixedZone("Minsk", 3*3600)
	for _, tc := range []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{time.Date(2023, 1, 31, 10, 0, 0, 0, minsk), 1, time.Date(2023, 2, 28, 23, 59, 59, 0, minsk)},
		{time.Date(2024, 1, 31, 10, 0, 0, 0, minsk), 1, time.Date(2024, 2, 29, 23, 59, 59, 0, minsk)},
		{time.Date(2023, 6, 15, 22, 30, 0, 0, time.UTC), 6, time.Date(2023, 12, 16, 23, 59, 59, 0, minsk)}, // 16 June in Minsk
		{time.Date(2023, 11, 30, 0, 0, 0, 0, minsk), 3, time.Date(2024, 2, 29, 23, 59, 59, 0, minsk)},
	} {
		if got := sdk.MonthsLaterEndOfDay(tc.from, tc.n, minsk); !got.Equal(tc.want) {
			t.Errorf("MonthsLaterEndOfDay(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
}
