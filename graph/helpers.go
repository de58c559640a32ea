package graph

import (
	"errors"

	"github.com/vikstrous/dataloadgen"

	"github.com/promogate/promogate/db"
)

// nilIfNotFound turns a not-found error into a null result, as GraphQL look-ups by id expect.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
