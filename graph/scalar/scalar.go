// Package scalar holds the GraphQL scalars' wire formats, marshalled by gqlgen through the
// MarshalX/UnmarshalX function pairs it looks up by name (gqlgen.yml binds them): the custom
// Time, Date and JSON, and the built-in String and Int, whose input is checked more strictly
// than gqlgen's defaults (no NUL characters; Int within 32 bits).
//
// Every unmarshaller's error wraps one of ErrInvalid, ErrNUL or ErrIntRange, so the API reports
// bad input with a specific code on the argument's path, never as an internal failure.
package scalar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Errors of the unmarshallers (see the package comment).
var (
	// ErrInvalid: the value is malformed for its scalar (a bad date or time, JSON that is not
	// an object, a non-integer Int).
	ErrInvalid = errors.New("invalid scalar value")
	// ErrNUL: a String or JSON input holds the NUL character (U+0000), which PostgreSQL cannot
	// store in text or jsonb.
	ErrNUL = errors.New("invalid character")
	// ErrIntRange: an Int input is outside GraphQL's 32-bit range.
	ErrIntRange = errors.New("integer out of range")
)

func invalid(msg string, args ...any) error {
	return fmt.Errorf("%w: "+msg, append([]any{ErrInvalid}, args...)...)
}

// DateLayout is the wire format of the Date scalar.
const DateLayout = "2006-01-02"

// MarshalDate writes t's calendar date as "YYYY-MM-DD".
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(DateLayout)))
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
			_, _ = io.WriteString(w, "{}")
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(b)
	})
}

// UnmarshalJSON accepts a JSON object given as a GraphQL object literal, a variable, or a string
// holding JSON text. No key or string in it may hold a NUL character (ErrNUL).
func UnmarshalJSON(v any) (map[string]any, error) {
	var m map[string]any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		m = x
	case string:
		if err := json.Unmarshal([]byte(x), &m); err != nil || m == nil {
			return nil, invalid("JSON must be an object")
		}
	default:
		return nil, invalid("JSON must be an object")
	}
	if hasNUL(m) {
		return nil, nulError("JSON")
	}
	return m, nil
}

// hasNUL reports whether a decoded JSON value holds a NUL character in a key or a string.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

func nulError(scalar string) error {
	return fmt.Errorf("%w: a %s value may not contain the NUL character (U+0000)", ErrNUL, scalar)
}

// MarshalString writes s as a JSON string.
func MarshalString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalString reads a String input as gqlgen does, and refuses one holding a NUL
// character (ErrNUL): PostgreSQL cannot store it, and no field has a use for it.
func UnmarshalString(v any) (string, error) {
	s, err := graphql.UnmarshalString(v)
	if err != nil {
		return "", invalid("%v", err)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", nulError("String")
	}
	return s, nil
}

// MarshalTime writes t in RFC 3339 with its offset (and fractional seconds when it has them),
// or null for the zero time, as gqlgen's Time does.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads an RFC 3339 timestamp with an offset (Z or ±hh:mm) and a year from 0001
// to 9999, e.g. 2021-04-10T09:30:00+03:00. Anything else, a bare date or a time without an
// offset too, is refused with ErrInvalid.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, invalid("Time must be a string in RFC 3339 form with an offset, e.g. 2021-04-10T09:30:00+03:00")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 || t.IsZero() {
		return time.Time{}, invalid("Time %q is not an RFC 3339 time with an offset between the years 0001 and 9999, e.g. 2021-04-10T09:30:00+03:00", s)
	}
	return t, nil
}

// The range of GraphQL's Int: a signed 32-bit integer.
const (
	MinInt = math.MinInt32
	MaxInt = math.MaxInt32
)

// MarshalInt64 writes i as a GraphQL Int. It does not check the range: a field whose value
// does not fit is refused before it is marshalled (graph's intRange).
func MarshalInt64(i int64) graphql.Marshaler { return graphql.MarshalInt64(i) }

// UnmarshalInt64 reads a GraphQL Int input: an integer from −2,147,483,648 to 2,147,483,647.
// A larger one is refused with ErrIntRange; a value that is not an integer with ErrInvalid.
func UnmarshalInt64(v any) (int64, error) {
	var (
		i   int64
		err error
	)
	switch x := v.(type) {
	case int:
		i = int64(x)
	case int32:
		i = int64(x)
	case int64:
		i = x
	case json.Number:
		i, err = strconv.ParseInt(string(x), 10, 64)
	case string:
		i, err = strconv.ParseInt(x, 10, 64)
	case float64:
		if x != math.Trunc(x) {
			return 0, invalid("Int must be an integer, not %v", x)
		}
		if x < MinInt || x > MaxInt {
			return 0, intRangeError(x)
		}
		return int64(x), nil
	default:
		return 0, invalid("Int must be an integer, not %T", v)
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, intRangeError(v)
	}
	if err != nil {
		return 0, invalid("Int must be an integer, not %q", v)
	}
	if !InRange(i) {
		return 0, intRangeError(i)
	}
	return i, nil
}

func intRangeError(v any) error {
	return fmt.Errorf("%w: Int %v is outside GraphQL's 32-bit range (%d to %d)", ErrIntRange, v, MinInt, MaxInt)
}

// MarshalInt writes i as a GraphQL Int (see MarshalInt64).
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int input (see UnmarshalInt64).
func UnmarshalInt(v any) (int, error) {
	i, err := UnmarshalInt64(v)
	return int(i), err
}

// MarshalInt32 writes i as a GraphQL Int.
func MarshalInt32(i int32) graphql.Marshaler { return graphql.MarshalInt32(i) }

// UnmarshalInt32 reads a GraphQL Int input (see UnmarshalInt64).
func UnmarshalInt32(v any) (int32, error) {
	i, err := UnmarshalInt64(v)
	return int32(i), err
}

// InRange reports whether i fits in GraphQL's Int.
func InRange(i int64) bool { return i >= MinInt && i <= MaxInt }
