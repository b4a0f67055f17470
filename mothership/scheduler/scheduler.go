// Package scheduler places each physical cluster on a satellite that serves its region,
// cloud and network and has room for it. It writes placements through db/schedulerdb,
// appending events.placement.<id>. Leader-only.
package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/schedulerdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/registry"
)

// Scheduler places each physical cluster on a satellite that serves its region, cloud and
// network and has room for it, and never anywhere else: a cluster with no such satellite
// stays pending, with the reason recorded, until one registers. A placement, once made,
// does not move. It writes placements and publishes events.placement.<id>.
type Scheduler struct {
	store    schedulerdb.Store
	registry *registry.Registry
}

// New returns a scheduler placing on the satellites reg lists.
func New(s *db.Store, reg *registry.Registry) *Scheduler {
	return &Scheduler{store: schedulerdb.New(s), registry: reg}
}

// ListIDs lists every physical cluster, for a resync.
func (s *Scheduler) ListIDs(ctx context.Context) ([]string, error) {
	return s.store.Read().ListPhysicalClusterIDs(ctx)
}

// MapEvent maps an EVENTS id to the clusters to (re)place: a placement may unblock the
// ksqlDB and Connect clusters waiting for their Kafka.
func (s *Scheduler) MapEvent(ctx context.Context, resource, id string) ([]string, error) {
	if resource != events.ResourcePlacement {
		return []string{id}, nil
	}
	deps, err := s.store.Read().ListPhysicalDependentIDs(ctx, id)
	return append([]string{id}, deps...), err
}

// Reconcile places one physical cluster, if it is not placed yet.
func (s *Scheduler) Reconcile(ctx context.Context, physicalID string) error {
	return s.store.InTx(ctx, func(q schedulerdb.Queries) error {
		p, err := q.GetPhysicalCluster(ctx, physicalID)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		pl, err := q.GetPlacement(ctx, physicalID)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		placed := err == nil
		if placed && pl.Satellite.Valid {
			return nil // placements are sticky
		}
		if p.DeletedAt.Valid {
			return nil // deleted while pending: nothing to place
		}
		var satellite, reason string
		if p.KafkaPhysicalID.Valid {
			// ksqlDB and Connect run next to their Kafka cluster.
			satellite, reason, err = colocate(ctx, q, p)
			if err != nil {
				return err
			}
		} else {
			sats := s.registry.List()
			load, err := loadInRegion(ctx, q, sats, p.Region)
			if err != nil {
				return err
			}
			satellite, reason = choose(p, sats, load)
		}
		if placed && !pl.Satellite.Valid && satellite == "" && pl.Reason == reason {
			return nil // still pending for the same reason
		}
		now := db.Now()
		if err := q.UpsertPlacement(ctx, db.UpsertPlacementParams{
			PhysicalClusterID: p.ID, Satellite: sql.NullString{String: satellite, Valid: satellite != ""}, Reason: reason, Now: now,
		}); err != nil {
			return err
		}
		return events.Append(ctx, q, &events.Placement{PhysicalClusterID: p.ID, Satellite: satellite, Reason: reason, At: db.Time(now)})
	})
}

// loadInRegion counts what is placed on each satellite of a region (only those: the cost of
// a placement does not grow with the whole fleet).
func loadInRegion(ctx context.Context, q schedulerdb.Queries, sats []kv.Satellite, region string) ([]db.CountPlacedBySatelliteRow, error) {
	var load []db.CountPlacedBySatelliteRow
	for _, sat := range sats {
		if sat.Region != region {
			continue
		}
		name := sql.NullString{String: sat.Name, Valid: true}
		c, err := q.CountPlacedOnSatellite(ctx, name)
		if err != nil {
			return nil, err
		}
		load = append(load, db.CountPlacedBySatelliteRow{Satellite: name, Clusters: c.Clusters, Replicas: c.Replicas})
	}
	return load, nil
}

// choose picks the satellite with the fewest clusters among those that serve the cluster's
// region, cloud and network and have capacity left. It returns "" and the reason when none
// qualifies.
func choose(p db.PhysicalCluster, sats []kv.Satellite, load []db.CountPlacedBySatelliteRow) (string, string) {
	used := map[string]db.CountPlacedBySatelliteRow{}
	for _, l := range load {
		used[l.Satellite.String] = l
	}
	var inRegion, matching int
	best, bestLoad := "", int64(-1)
	for _, s := range sats {
		if s.Region != p.Region {
			continue
		}
		inRegion++
		if s.Cloud != p.Cloud || !slices.Contains(s.Networks, p.Network) {
			continue
		}
		matching++
		u := used[s.Name]
		if s.Capacity.Clusters > 0 && u.Clusters+1 > int64(s.Capacity.Clusters) {
			continue
		}
		if s.Capacity.Brokers > 0 && u.Replicas+p.Replicas > int64(s.Capacity.Brokers) {
			continue
		}
		if bestLoad < 0 || u.Clusters < bestLoad {
			best, bestLoad = s.Name, u.Clusters
		}
	}
	switch {
	case best != "":
		return best, "placed on " + best
	case inRegion == 0:
		return "", fmt.Sprintf("no satellite serves region %s", p.Region)
	case matching == 0:
		return "", fmt.Sprintf("no satellite in region %s serves cloud %s with network %s", p.Region, p.Cloud, p.Network)
	default:
		return "", fmt.Sprintf("every satellite for region %s, cloud %s, network %s is at capacity", p.Region, p.Cloud, p.Network)
	}
}

// colocate places a ksqldb or connect cluster on its Kafka cluster's satellite.
func colocate(ctx context.Context, q schedulerdb.Queries, p db.PhysicalCluster) (string, string, error) {
	kpl, err := q.GetPlacement(ctx, p.KafkaPhysicalID.String)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !kpl.Satellite.Valid) {
		return "", fmt.Sprintf("waiting for kafka cluster %s to be placed", p.KafkaPhysicalID.String), nil
	}
	if err != nil {
		return "", "", err
	}
	return kpl.Satellite.String, "placed next to kafka cluster " + p.KafkaPhysicalID.String + " on " + kpl.Satellite.String, nil
}
