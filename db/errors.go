package db

import (
	"database/sql"
	"errors"
)

// ErrNotFound is the kind every store's not-found sentinel belongs to: for each sentinel made
// with NotFound, errors.Is(sentinel, ErrNotFound) holds, so a caller that only needs to know
// that a row is absent (a GraphQL look-up by id answering null) checks this one error.
var ErrNotFound = errors.New("not found")

// NotFound returns a new not-found sentinel with the message msg (e.g. "member not found"). It
// is ErrNotFound (errors.Is) and distinct from every other sentinel, even one with the same
// message.
func NotFound(msg string) error { return &notFoundError{msg: msg} }

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// Resolve is the one translation of a driver error at a store's return: a statement that found
// no row (sql.ErrNoRows, which pgx's ErrNoRows also is) becomes notFound, the store's sentinel;
// nil stays nil; any other error — a lost connection, a timeout, a constraint — is returned as
// it is, so that an outage is never taken for an absent row.
func Resolve(err, notFound error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return err
}
