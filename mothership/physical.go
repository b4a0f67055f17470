package mothership

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
)

// Event resources.
const (
	resourceLogical   = "logical"
	resourcePhysical  = "physical"
	resourcePlacement = "placement"
	resourceProfile   = "profile"
)

// physicalController maps each logical cluster to its physical cluster: for a dedicated
// cluster one physical cluster sized by CKU (1 CKU = 3 kafka brokers), with the product
// profile filled in. It writes physical_clusters and physical_generations, and publishes
// events.physical.<id>.
type physicalController struct {
	store *db.Store
	// retention is how long a deleted cluster's volumes are kept.
	retention time.Duration
}

// physicalID derives the physical cluster id from the logical one: lkc-x → pkc-x.
func physicalID(logicalID string) string {
	prefix, rest, ok := strings.Cut(logicalID, "-")
	if !ok || len(prefix) < 2 {
		return "p" + logicalID
	}
	return "p" + prefix[1:] + "-" + rest
}

// physicalSpec is the part of a physical cluster the controller decides.
type physicalSpec struct {
	Version      string
	Replicas     int64
	Controllers  int64
	StorageClass string
	StorageGiB   int64
	Config       string // JSON object, keys sorted
	KafkaID      string // the physical Kafka cluster of a ksqldb or connect cluster
	TLSSerial    int64
	Deleted      bool
	PurgeAfter   int64 // ms; 0 unless deleted
}

func (c *physicalController) desired(l sqlitegen.LogicalCluster, prof Profile) physicalSpec {
	cfg, _ := json.Marshal(prof.Config) // maps marshal with sorted keys
	s := physicalSpec{
		Version:      prof.Version,
		Replicas:     l.Cku * int64(prof.ReplicasPerCKU),
		Controllers:  int64(prof.Controllers),
		StorageClass: prof.StorageClass,
		StorageGiB:   int64(prof.StorageGiB),
		Config:       string(cfg),
		TLSSerial:    l.TlsSerial,
		Deleted:      l.DeletedAt.Valid,
	}
	if l.KafkaClusterID.Valid {
		s.KafkaID = physicalID(l.KafkaClusterID.String)
	}
	if s.Deleted {
		s.PurgeAfter = l.DeletedAt.Int64 + c.retention.Milliseconds()
	}
	return s
}

func currentPhysical(p sqlitegen.PhysicalCluster) physicalSpec {
	return physicalSpec{
		Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers,
		StorageClass: p.StorageClass, StorageGiB: p.StorageGib, Config: p.Config,
		KafkaID: p.KafkaPhysicalID.String, TLSSerial: p.TlsSerial,
		Deleted: p.DeletedAt.Valid, PurgeAfter: p.PurgeAfter.Int64,
	}
}

// physicalEvent is the full state of a physical cluster, as published to EVENTS.
type physicalEvent struct {
	sqlitegen.PhysicalCluster
	LogicalGeneration int64 `json:"logicalGeneration"`
}

func (c *physicalController) reconcile(ctx context.Context, logicalID string) error {
	return c.store.InTx(ctx, func(q db.Querier) error {
		l, err := q.GetLogicalCluster(ctx, logicalID)
		if db.NotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		prof, _, err := currentProfile(ctx, q, l.Product, l.Sku)
		if err != nil {
			return err
		}
		want := c.desired(l, prof)
		now := db.Now()
		deletedAt := sql.NullInt64{Int64: now, Valid: want.Deleted}

		p, err := q.GetPhysicalClusterByLogical(ctx, l.ID)
		switch {
		case db.NotFound(err):
			if want.Deleted {
				return nil // deleted before it ever existed physically
			}
			p = sqlitegen.PhysicalCluster{
				ID: physicalID(l.ID), LogicalClusterID: l.ID, Product: l.Product,
				Region: l.Region, Cloud: l.Cloud, Network: l.Network, Generation: 1,
				CreatedAt: now, UpdatedAt: now,
			}
			setPhysicalSpec(&p, want, deletedAt)
			if err := q.InsertPhysicalCluster(ctx, sqlitegen.InsertPhysicalClusterParams{
				ID: p.ID, LogicalClusterID: p.LogicalClusterID, Product: p.Product, Region: p.Region,
				Cloud: p.Cloud, Network: p.Network, Version: p.Version, Replicas: p.Replicas,
				Controllers: p.Controllers, StorageClass: p.StorageClass, StorageGib: p.StorageGib,
				Config: p.Config, KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial, Generation: p.Generation,
				Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
			}); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			observed, err := q.ObservedLogicalGeneration(ctx, sqlitegen.ObservedLogicalGenerationParams{
				PhysicalClusterID: p.ID, LogicalClusterID: l.ID, ObservedGeneration: p.Generation,
			})
			if err != nil {
				return err
			}
			if currentPhysical(p) == want {
				if observed >= l.Generation {
					return nil // nothing changed
				}
				// The logical cluster changed in a way that needs no physical change: the
				// current physical generation carries the new logical generation too.
				return q.InsertPhysicalGeneration(ctx, sqlitegen.InsertPhysicalGenerationParams{
					PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
				})
			}
			if p.DeletedAt.Valid && want.Deleted {
				deletedAt = p.DeletedAt // keep the original deletion time
			}
			p.Generation++
			p.UpdatedAt = now
			setPhysicalSpec(&p, want, deletedAt)
			n, err := q.UpdatePhysicalCluster(ctx, sqlitegen.UpdatePhysicalClusterParams{
				ID: p.ID, Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers,
				StorageClass: p.StorageClass, StorageGib: p.StorageGib, Config: p.Config,
				KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial,
				Generation: p.Generation, Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
			})
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("physical cluster %s changed concurrently", p.ID)
			}
		}
		if err := q.InsertPhysicalGeneration(ctx, sqlitegen.InsertPhysicalGenerationParams{
			PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
		}); err != nil {
			return err
		}
		return db.Enqueue(ctx, q, kv.EventSubject(resourcePhysical, p.ID), physicalEvent{PhysicalCluster: p, LogicalGeneration: l.Generation})
	})
}

func setPhysicalSpec(p *sqlitegen.PhysicalCluster, s physicalSpec, deletedAt sql.NullInt64) {
	p.Version, p.Replicas, p.Controllers = s.Version, s.Replicas, s.Controllers
	p.StorageClass, p.StorageGib, p.Config = s.StorageClass, s.StorageGiB, s.Config
	p.KafkaPhysicalID = sql.NullString{String: s.KafkaID, Valid: s.KafkaID != ""}
	p.TlsSerial = s.TLSSerial
	p.DeletedAt = deletedAt
	p.PurgeAfter = sql.NullInt64{Int64: s.PurgeAfter, Valid: s.Deleted}
}

// physicalConfig decodes the stored configuration.
func physicalConfig(p sqlitegen.PhysicalCluster) (map[string]string, error) {
	var cfg map[string]string
	if err := json.Unmarshal([]byte(p.Config), &cfg); err != nil {
		return nil, fmt.Errorf("physical cluster %s: config: %w", p.ID, err)
	}
	return maps.Clone(cfg), nil
}
