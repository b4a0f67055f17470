package mothership

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// Event resources.
const (
	resourceLogical   = "logical"
	resourcePhysical  = "physical"
	resourcePlacement = "placement"
	resourceProfile   = "profile"
)

// physicalController maps each logical cluster to a physical cluster: a dedicated cluster
// gets its own, sized by CKU (1 CKU = 3 kafka brokers); basic and standard clusters are
// packed as tenants onto shared ones, each with the quotas of its SKU. It applies the
// current product profile, and writes physical_clusters, tenancies and
// physical_generations, publishing events.physical.<id>.
type physicalController struct {
	store *db.Store
	// retention is how long a deleted cluster's volumes are kept.
	retention time.Duration
	// packing serializes the placement of tenants on shared clusters, so that two
	// tenants arriving together fill one cluster rather than open two. (One mothership
	// runs the physical controller; several would need a database lock here.)
	packing sync.Mutex
}

// physicalID derives a dedicated physical cluster's id from the logical one: lkc-x → pkc-x.
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
	Tenants      string // JSON list of kv.TenantQuota (shared clusters)
	Deleted      bool
	PurgeAfter   int64 // ms; 0 unless deleted
}

// fromProfile is the spec a profile gives a cluster of cku CKUs.
func fromProfile(prof Profile, cku int64) physicalSpec {
	cfg, _ := json.Marshal(prof.Config) // maps marshal with sorted keys
	return physicalSpec{
		Version: prof.Version, Replicas: cku * int64(prof.ReplicasPerCKU), Controllers: int64(prof.Controllers),
		StorageClass: prof.StorageClass, StorageGiB: int64(prof.StorageGiB), Config: string(cfg), Tenants: "[]",
	}
}

func (c *physicalController) desired(l sqlitegen.LogicalCluster, prof Profile) physicalSpec {
	s := fromProfile(prof, l.Cku)
	s.TLSSerial, s.Deleted = l.TlsSerial, l.DeletedAt.Valid
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
		KafkaID: p.KafkaPhysicalID.String, TLSSerial: p.TlsSerial, Tenants: p.Tenants,
		Deleted: p.DeletedAt.Valid, PurgeAfter: p.PurgeAfter.Int64,
	}
}

// physicalEvent is the full state of a physical cluster, as published to EVENTS.
type physicalEvent struct {
	sqlitegen.PhysicalCluster
	LogicalCluster    string `json:"logicalCluster"`
	LogicalGeneration int64  `json:"logicalGeneration"`
}

func (c *physicalController) reconcile(ctx context.Context, logicalID string) error {
	if l, err := c.store.Q().GetLogicalCluster(ctx, logicalID); err == nil && multiTenant(l.Sku) {
		c.packing.Lock()
		defer c.packing.Unlock()
	}
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
		if multiTenant(l.Sku) {
			return c.reconcileTenant(ctx, q, l, prof)
		}
		want := c.desired(l, prof)
		p, err := q.GetPhysicalClusterByLogical(ctx, l.ID)
		switch {
		case db.NotFound(err):
			if want.Deleted {
				return nil // deleted before it ever existed physically
			}
			p, err = c.create(ctx, q, physicalID(l.ID), l, want)
			if err != nil {
				return err
			}
			if err := q.InsertTenancy(ctx, sqlitegen.InsertTenancyParams{LogicalClusterID: l.ID, PhysicalClusterID: p.ID, CreatedAt: db.Now()}); err != nil {
				return err
			}
			return c.changed(ctx, q, p, l)
		case err != nil:
			return err
		}
		if p.DeletedAt.Valid && want.Deleted {
			want.PurgeAfter = p.PurgeAfter.Int64 // keep the original deletion's window
		}
		return c.converge(ctx, q, p, l, want)
	})
}

// reconcileTenant places a basic or standard logical cluster on a shared physical cluster
// with room (or a new one) and keeps that cluster's tenant list and quotas current. The
// shared cluster itself is never deleted by its tenants.
func (c *physicalController) reconcileTenant(ctx context.Context, q db.Querier, l sqlitegen.LogicalCluster, prof Profile) error {
	var p sqlitegen.PhysicalCluster
	t, err := q.GetTenancy(ctx, l.ID)
	switch {
	case db.NotFound(err):
		if l.DeletedAt.Valid {
			return nil
		}
		id, err := q.FindSharedPhysicalCluster(ctx, sqlitegen.FindSharedPhysicalClusterParams{
			Product: l.Product, Sku: l.Sku, Region: l.Region, Cloud: l.Cloud, Network: l.Network, MaxTenants: int64(prof.TenantsPerCluster),
		})
		switch {
		case db.NotFound(err):
			if p, err = c.create(ctx, q, randomID("pkc"), l, fromProfile(prof, 1)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if p, err = q.GetPhysicalCluster(ctx, id); err != nil {
				return err
			}
		}
		if err := q.InsertTenancy(ctx, sqlitegen.InsertTenancyParams{LogicalClusterID: l.ID, PhysicalClusterID: p.ID, CreatedAt: db.Now()}); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if p, err = q.GetPhysicalCluster(ctx, t.PhysicalClusterID); err != nil {
			return err
		}
	}
	want := fromProfile(prof, 1)
	tenants, err := q.ListLiveTenants(ctx, p.ID)
	if err != nil {
		return err
	}
	quotas := prof.TenantQuotas
	if quotas == nil {
		quotas = &api.TenantQuotas{}
	}
	list := make([]kv.TenantQuota, 0, len(tenants))
	for _, id := range tenants {
		list = append(list, kv.TenantQuota{ID: id, ProducerByteRate: quotas.ProducerByteRate, ConsumerByteRate: quotas.ConsumerByteRate,
			MaxPartitions: quotas.MaxPartitions, MaxConnections: quotas.MaxConnections})
	}
	b, _ := json.Marshal(list)
	want.Tenants = string(b)
	want.TLSSerial = p.TlsSerial
	return c.converge(ctx, q, p, l, want)
}

// create inserts a physical cluster at generation 1.
func (c *physicalController) create(ctx context.Context, q db.Querier, id string, l sqlitegen.LogicalCluster, want physicalSpec) (sqlitegen.PhysicalCluster, error) {
	now := db.Now()
	p := sqlitegen.PhysicalCluster{
		ID: id, Product: l.Product, Sku: l.Sku, Region: l.Region, Cloud: l.Cloud, Network: l.Network,
		Generation: 1, CreatedAt: now, UpdatedAt: now,
	}
	setPhysicalSpec(&p, want)
	return p, q.InsertPhysicalCluster(ctx, sqlitegen.InsertPhysicalClusterParams{
		ID: p.ID, Product: p.Product, Sku: p.Sku, Region: p.Region, Cloud: p.Cloud, Network: p.Network,
		Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers, StorageClass: p.StorageClass,
		StorageGib: p.StorageGib, Config: p.Config, KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial,
		Tenants: p.Tenants, Generation: p.Generation, Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
	})
}

// converge moves p to want (a new generation) if it differs, and records which physical
// generation carries l's current generation.
func (c *physicalController) converge(ctx context.Context, q db.Querier, p sqlitegen.PhysicalCluster, l sqlitegen.LogicalCluster, want physicalSpec) error {
	if currentPhysical(p) == want {
		observed, err := q.ObservedLogicalGeneration(ctx, sqlitegen.ObservedLogicalGenerationParams{
			PhysicalClusterID: p.ID, LogicalClusterID: l.ID, ObservedGeneration: p.Generation,
		})
		if err != nil || observed >= l.Generation {
			return err // nothing changed
		}
		// The logical cluster changed in a way that needs no physical change: the current
		// physical generation carries the new logical generation too.
		return q.InsertPhysicalGeneration(ctx, sqlitegen.InsertPhysicalGenerationParams{
			PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
		})
	}
	now := db.Now()
	p.Generation++
	p.UpdatedAt = now
	setPhysicalSpec(&p, want)
	n, err := q.UpdatePhysicalCluster(ctx, sqlitegen.UpdatePhysicalClusterParams{
		ID: p.ID, Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers,
		StorageClass: p.StorageClass, StorageGib: p.StorageGib, Config: p.Config,
		KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial, Tenants: p.Tenants,
		Generation: p.Generation, Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
	})
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("physical cluster %s changed concurrently", p.ID)
	}
	return c.changed(ctx, q, p, l)
}

// changed records that p's generation carries l's and publishes p's full state.
func (c *physicalController) changed(ctx context.Context, q db.Querier, p sqlitegen.PhysicalCluster, l sqlitegen.LogicalCluster) error {
	if err := q.InsertPhysicalGeneration(ctx, sqlitegen.InsertPhysicalGenerationParams{
		PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
	}); err != nil {
		return err
	}
	return db.Enqueue(ctx, q, kv.EventSubject(resourcePhysical, p.ID),
		physicalEvent{PhysicalCluster: p, LogicalCluster: l.ID, LogicalGeneration: l.Generation})
}

func setPhysicalSpec(p *sqlitegen.PhysicalCluster, s physicalSpec) {
	p.Version, p.Replicas, p.Controllers = s.Version, s.Replicas, s.Controllers
	p.StorageClass, p.StorageGib, p.Config = s.StorageClass, s.StorageGiB, s.Config
	p.KafkaPhysicalID = sql.NullString{String: s.KafkaID, Valid: s.KafkaID != ""}
	p.TlsSerial, p.Tenants = s.TLSSerial, s.Tenants
	switch {
	case !s.Deleted:
		p.DeletedAt = sql.NullInt64{}
	case !p.DeletedAt.Valid:
		p.DeletedAt = sql.NullInt64{Int64: db.Now(), Valid: true}
	}
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
