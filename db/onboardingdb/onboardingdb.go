// Package onboardingdb is the query set of onboarding: it writes the satellites table
// (mothership satellite add and revoke, the dev bootstrap) and reads it to grant satellites
// their access on the hub.
package onboardingdb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	UpsertSatellite(ctx context.Context, arg db.UpsertSatelliteParams) error
	ListSatellites(ctx context.Context) ([]db.Satellite, error)
	RevokeSatellite(ctx context.Context, arg db.RevokeSatelliteParams) (int64, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.AnyReplica, func(tx *db.Tx) Queries { return queries.Of(tx) })
}
