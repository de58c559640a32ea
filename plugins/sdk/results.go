package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// NoEffect returns the result of an event that changes nothing, with the reason people read in
// the event's outcome ("the purchase is below the 10.00 minimum").
func NoEffect(format string, args ...any) EvaluateResult {
	return EvaluateResult{NoEffectReason: fmt.Sprintf(format, args...)}
}

// Rejected returns the result of an event the programme refuses: a reject effect with a stable
// code and a message for people.
func Rejected(code, format string, args ...any) EvaluateResult {
	return EvaluateResult{Effects: []Effect{Reject{Code: code, Message: fmt.Sprintf(format, args...)}.Effect()}}
}

// WithState returns the result of an event with effects and the member's new state: a put_state
// effect holding state is appended last. A state that cannot be encoded is a result without
// effects that says so.
func WithState(effects []Effect, state any) EvaluateResult {
	put, err := StoreState(state)
	if err != nil {
		return NoEffect("cannot encode the plugin's state: %v", err)
	}
	return EvaluateResult{Effects: append(effects, put)}
}

// ReadState decodes a member's state for this plugin (Member.State) into a new S; no state (nil,
// empty or null) is S's zero value. A state that does not decode is ErrInvalidRequest.
func ReadState[S any](raw json.RawMessage) (S, error) {
	var s S
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return s, nil
	}
	if err := json.Unmarshal(trimmed, &s); err != nil {
		return s, fmt.Errorf("%w: unreadable member state: %w", ErrInvalidRequest, err)
	}
	return s, nil
}

// FormatPercent shows basis points as a percentage for people: 2501 is "25.01%", 2000 "20%".
func FormatPercent(basisPoints int) string {
	if basisPoints%100 == 0 {
		return fmt.Sprintf("%d%%", basisPoints/100)
	}
	return fmt.Sprintf("%d.%02d%%", basisPoints/100, basisPoints%100)
}

// MonthsLaterEndOfDay returns the last second (23:59:59) of the day n calendar months after t's
// day in loc, the usual end of "valid for n months": from 31 January, one month later is the
// end of 28 (or 29) February, as the target month has no 31st.
func MonthsLaterEndOfDay(t time.Time, n int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, loc)
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, loc).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 23, 59, 59, 0, loc)
}
