package db

import (
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun/schema"
)

// Collect reads every row of rows into a T, a bun model: each column fills the field bun's
// schema maps it to (its bun:"…" column name), decoded by pgx (jsonb into maps or structs,
// arrays into slices, NULL into nil pointers). It closes rows. A column that no field takes is
// an error, so a model and a SELECT * cannot drift apart unnoticed.
func Collect[T any](rows pgx.Rows) ([]T, error) {
	defer rows.Close()
	table := dialect.Tables().Get(reflect.TypeFor[T]())
	fds := rows.FieldDescriptions()
	fields := make([]*schema.Field, len(fds))
	for i, fd := range fds {
		if fields[i] = table.LookupField(fd.Name); fields[i] == nil {
			return nil, fmt.Errorf("db: %s has no field for column %q", table.TypeName, fd.Name)
		}
	}
	var out []T
	dest := make([]any, len(fds))
	for rows.Next() {
		out = append(out, *new(T))
		v := reflect.ValueOf(&out[len(out)-1]).Elem()
		for i, f := range fields {
			dest[i] = f.Value(v).Addr().Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}
