// Package scalar holds the GraphQL custom scalars Date and JSON, marshalled by gqlgen through
// the MarshalX/UnmarshalX function pairs it looks up by name.
package scalar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// ErrInvalid wraps every error a scalar's unmarshaller returns, so the API reports it as bad
// input rather than an internal failure.
var ErrInvalid = errors.New("invalid scalar value")

func invalid(msg string, args ...any) error {
	return fmt.Errorf("%w: "+msg, append([]any{ErrInvalid}, args...)...)
}

// DateLayout is the wire format of the Date scalar.
const DateLayout = "2006-01-02"

// MarshalDate writes t's calendar date as "YYYY-MM-DD".
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(t.Format(DateLayout)))
	})
}

// UnmarshalDate reads a "YYYY-MM-DD" string into midnight UTC of that day.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, invalid("Date must be a string in the form YYYY-MM-DD")
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, invalid("Date %q is not a valid YYYY-MM-DD date", s)
	}
	return t, nil
}

// MarshalJSON writes m as a JSON object.
func MarshalJSON(m map[string]any) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if m == nil {
			io.WriteString(w, "{}")
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			io.WriteString(w, "null")
			return
		}
		w.Write(b)
	})
}

// UnmarshalJSON accepts a JSON object given as a GraphQL object literal, a variable, or a string
// holding JSON text.
func UnmarshalJSON(v any) (map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	case string:
		var m map[string]any
		if err := json.Unmarshal([]byte(x), &m); err != nil || m == nil {
			return nil, invalid("JSON must be an object")
		}
		return m, nil
	default:
		return nil, invalid("JSON must be an object")
	}
}
