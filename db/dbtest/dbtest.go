// Package dbtest gives tests the whole query set, to seed a store with rows of every owner
// and to inspect what the services wrote. Only tests import it: the ownership test fails
// when a non-test package does.
package dbtest

import (
	"context"
	"testing"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries is every query of the store.
type Queries = queries.Queries

// Q returns every query, outside any transaction.
func Q(s *db.Store) Queries { return queries.Of(s.Reader()) }

// InTx runs fn in one transaction and fails the test if it fails.
func InTx(t testing.TB, s *db.Store, fn func(q Queries) error) {
	t.Helper()
	if err := s.InTx(context.Background(), db.AnyReplica, func(tx *db.Tx) error { return fn(queries.Of(tx)) }); err != nil {
		t.Fatal(err)
	}
}
