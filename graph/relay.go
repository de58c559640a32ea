package graph

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/promogate/promogate/graph/model"
)

// Global id type names.
const (
	typeMember       = "Member"
	typeProgram      = "Program"
	typeTransaction  = "Transaction"
	typePlugin       = "Plugin"
	typeCampaign     = "Campaign"
	typeEvent        = "Event"
	typeBenefit      = "Benefit"
	typeEnrollment   = "Enrollment"
	typeNotification = "Notification"
	typeBacktest     = "Backtest"
)

// MaxPageSize caps `first` on every connection.
const MaxPageSize = 100

// errInvalidID is returned for a malformed or wrongly typed global id.
type errInvalidID struct{ id, want string }

func (e errInvalidID) Error() string {
	if e.want == "" {
		return fmt.Sprintf("%q is not a valid global id", e.id)
	}
	return fmt.Sprintf("%q is not a valid %s id", e.id, e.want)
}

// errDisabled is an operation this server's configuration turns off.
type errDisabled string

func (e errDisabled) Error() string { return string(e) }

// errInvalidInput is a malformed argument; its message names the argument.
type errInvalidInput struct{ msg string }

func (e errInvalidInput) Error() string { return e.msg }

func invalidInput(format string, args ...any) error {
	return errInvalidInput{fmt.Sprintf(format, args...)}
}

// globalID encodes a type name and a database id as an opaque global id.
func globalID(typ string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + strconv.FormatInt(id, 10)))
}

// parseGlobalID decodes a global id into its type name and database id.
func parseGlobalID(gid string) (string, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		return "", 0, errInvalidID{id: gid}
	}
	typ, num, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", 0, errInvalidID{id: gid}
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, errInvalidID{id: gid}
	}
	return typ, id, nil
}

// idOf decodes a global id that must be of type typ.
func idOf(typ, gid string) (int64, error) {
	t, id, err := parseGlobalID(gid)
	if err != nil || t != typ {
		return 0, errInvalidID{id: gid, want: typ}
	}
	return id, nil
}

// page validates Relay arguments and returns the page size and the id the cursor points at.
func page(first *int64, after *string) (int, int64, error) {
	n := 20
	if first != nil {
		if *first < 0 || *first > MaxPageSize {
			return 0, 0, invalidInput("first must be between 0 and %d", MaxPageSize)
		}
		n = int(*first)
	}
	if n < 0 || n > MaxPageSize {
		return 0, 0, invalidInput("first must be between 0 and %d", MaxPageSize)
	}
	if after == nil || *after == "" {
		return n, 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil {
		return 0, 0, invalidInput("after is not a cursor returned by this connection")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(raw), "c:"), 10, 64)
	if err != nil || !strings.HasPrefix(string(raw), "c:") || id <= 0 {
		return 0, 0, invalidInput("after is not a cursor returned by this connection")
	}
	return n, id, nil
}

// cursor encodes a row id as an opaque cursor.
func cursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c:" + strconv.FormatInt(id, 10)))
}

// pageInfo builds Relay page info from the first and last cursors and whether more follow.
func pageInfo(cursors []string, more, hasPrevious bool) *model.PageInfo {
	pi := &model.PageInfo{HasNextPage: more, HasPreviousPage: hasPrevious}
	if len(cursors) > 0 {
		pi.StartCursor = &cursors[0]
		pi.EndCursor = &cursors[len(cursors)-1]
	}
	return pi
}
