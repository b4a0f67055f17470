// Package leaderdb is the query set of leader election: it writes the leader_lease table
// (take, renew, release) for every mothership replica. Its transactions pass no fence: it is
// what the fence checks.
package leaderdb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries leader election may run.
type Queries interface {
	TakeLease(ctx context.Context, arg db.TakeLeaseParams) (int64, error)
	RenewLease(ctx context.Context, arg db.RenewLeaseParams) (int64, error)
	ReleaseLease(ctx context.Context, arg db.ReleaseLeaseParams) (int64, error)
	GetLease(ctx context.Context, name string) (db.LeaderLease, error)
}

// Store is leader election's view of the store.
type Store = db.Set[Queries]

// New returns leader election's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.AnyReplica, func(tx *db.Tx) Queries { return queries.Of(tx) })
}
