// Package physical is the physical controller: it maps each logical cluster to a physical
// cluster (a dedicated cluster gets its own, sized by CKU; basic and standard clusters are
// packed as tenants onto shared ones), applies the product profile at the cluster's target
// revision (see below), and writes
// physical_clusters, physical_generations and tenancies through db/physicaldb, appending
// events.physical.<id>. Leader-only.
//
// Which profile revision a cluster is rendered at: the revision the rollout controller set
// as its target (cluster_targets), if any; else the revision it is rendered at now
// (physical_clusters.profile_revision), so that a new profile revision changes nothing by
// itself and a user's own change (a resize) of a cluster no rollout reached yet keeps its
// revision; a cluster created new starts at the newest revision.
//
// A Kafka cluster's metadata version (PSC spec.metadataVersion, physical_clusters.
// metadata_version) is the level its target asks for once the rollout that reached it was
// finalized (cluster_targets.metadata_version, the rollout controller's); the controller
// only renders it, and never a level the cluster's Kafka version does not run: a target
// level above it (a profile that went back to an older Kafka) is left out, and the
// cluster keeps the level its brokers finalized.
package physical

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/physicaldb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/ids"
	"github.com/orbitcp/orbit/mothership/internal/profile"
)

// Controller maps each logical cluster to a physical cluster: a dedicated cluster
// gets its own, sized by CKU (1 CKU = 3 kafka brokers); basic and standard clusters are
// packed as tenants onto shared ones, each with the quotas of its SKU. It applies the
// current product profile, and writes physical_clusters, tenancies and
// physical_generations, publishing events.physical.<id>.
type Controller struct {
	store physicaldb.Store
	// retention is how long a deleted cluster's volumes are kept.
	retention time.Duration
	// packing serializes the placement of tenants on shared clusters, so that two
	// tenants arriving together fill one cluster rather than open two. (One mothership
	// runs the physical controller; several would need a database lock here.)
	packing sync.Mutex

	// running is the newest generation each physical cluster's satellite reported it runs,
	// as the status controller sees the reports (cluster_status may still hold an older
	// hub's report after a restore).
	runningMu sync.Mutex
	running   map[string]int64
}

// New returns the controller; deleted clusters keep their volumes for retention.
func New(s *db.Store, retention time.Duration) *Controller {
	return &Controller{store: physicaldb.New(s), retention: retention, running: map[string]int64{}}
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
	Mitigation   string // "", on or off (kv.PSCSpec.Mitigation)
	// Throttle is the replication throttle from the profile (kv.PSCSpec.ReplicationThrottle).
	Throttle   int64
	Tenants    string // JSON list of kv.TenantQuota (shared clusters)
	Deleted    bool
	PurgeAfter int64 // ms; 0 unless deleted
	// KRaftID is a Kafka cluster's KRaft cluster id: generated with the physical cluster and
	// kept for its life (an undelete finds its volumes formatted with it).
	KRaftID string
	// ProfileRevision is the profile revision the spec is rendered at.
	ProfileRevision int64
	// MetadataVersion is the metadata.version level to finalize (kafka; 0: none).
	MetadataVersion int64
}

// fromProfile is the spec a profile gives a cluster of cku CKUs.
func fromProfile(prof profile.Profile, rev, cku int64) physicalSpec {
	cfg, _ := json.Marshal(prof.Config) // maps marshal with sorted keys
	return physicalSpec{ProfileRevision: rev,
		Version: prof.Version, Replicas: cku * int64(prof.ReplicasPerCKU), Controllers: int64(prof.Controllers),
		StorageClass: prof.StorageClass, StorageGiB: int64(prof.StorageGiB), Config: string(cfg), Tenants: "[]",
		Throttle: prof.ReplicationThrottleBytesPerSecond,
	}
}

func (c *Controller) desired(ctx context.Context, q physicaldb.Queries, l db.LogicalCluster, prof profile.Profile, rev int64) (physicalSpec, error) {
	s := fromProfile(prof, rev, l.Cku)
	s.TLSSerial, s.Deleted, s.Mitigation = l.TlsSerial, l.DeletedAt.Valid, l.Mitigation
	if l.KafkaClusterID.Valid {
		id, err := kafkaPhysical(ctx, q, l.KafkaClusterID.String)
		if err != nil {
			return s, err
		}
		s.KafkaID = id
	}
	if s.Deleted {
		s.PurgeAfter = l.DeletedAt.Int64 + c.retention.Milliseconds()
	}
	return s, nil
}

// errKafkaNotPlaced is returned while a ksqldb or connect cluster's basic or standard Kafka
// cluster has no shared physical cluster yet; the controller retries.
var errKafkaNotPlaced = errors.New("its kafka cluster is not on a physical cluster yet")

// kafkaPhysical is the physical cluster a ksqldb or connect cluster works on: its dedicated
// Kafka cluster's own, or the shared one its basic or standard Kafka cluster is a tenant of
// (the worker's desired state then names that tenant: desiredsync).
func kafkaPhysical(ctx context.Context, q physicaldb.Queries, kafkaLogicalID string) (string, error) {
	k, err := q.GetLogicalCluster(ctx, kafkaLogicalID)
	if errors.Is(err, db.ErrNotFound) {
		return ids.Physical(kafkaLogicalID), nil // purged: as if it had been dedicated
	}
	if err != nil {
		return "", fmt.Errorf("kafka cluster %s: %w", kafkaLogicalID, err)
	}
	if !profile.MultiTenant(k.Sku) {
		return ids.Physical(k.ID), nil
	}
	t, err := q.GetTenancy(ctx, k.ID)
	if errors.Is(err, db.ErrNotFound) {
		return "", fmt.Errorf("kafka cluster %s: %w", k.ID, errKafkaNotPlaced)
	}
	if err != nil {
		return "", err
	}
	return t.PhysicalClusterID, nil
}

func currentPhysical(p db.PhysicalCluster) physicalSpec {
	return physicalSpec{KRaftID: p.KraftClusterID,
		Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers,
		StorageClass: p.StorageClass, StorageGiB: p.StorageGib, Config: p.Config,
		KafkaID: p.KafkaPhysicalID.String, TLSSerial: p.TlsSerial, Tenants: p.Tenants, Mitigation: p.Mitigation,
		Throttle: p.ReplicationThrottle, Deleted: p.DeletedAt.Valid, PurgeAfter: p.PurgeAfter.Int64, ProfileRevision: p.ProfileRevision,
		MetadataVersion: p.MetadataVersion,
	}
}

// ListIDs lists every logical cluster, for a resync.
func (c *Controller) ListIDs(ctx context.Context) ([]string, error) {
	return c.store.Read().ListLogicalClusterIDs(ctx)
}

// MapEvent maps an EVENTS id to the logical clusters to reconcile: a new profile concerns
// every cluster of its product and SKU (new ones start at it); a new target revision the
// logical clusters of that physical cluster.
func (c *Controller) MapEvent(ctx context.Context, resource, id string) ([]string, error) {
	if resource == events.ResourceTarget {
		return c.store.Read().ListTenancyLogicalIDs(ctx, id)
	}
	if resource != events.ResourceProfile {
		return []string{id}, nil
	}
	product, sku, _ := strings.Cut(id, "-")
	return c.store.Read().ListLogicalClusterIDsByProfile(ctx, db.ListLogicalClusterIDsByProfileParams{Product: product, Sku: sku})
}

// Reconcile converges the physical cluster of one logical cluster.
func (c *Controller) Reconcile(ctx context.Context, logicalID string) error {
	if l, err := c.store.Read().GetLogicalCluster(ctx, logicalID); err == nil && profile.MultiTenant(l.Sku) {
		c.packing.Lock()
		defer c.packing.Unlock()
	}
	return c.store.InTx(ctx, func(q physicaldb.Queries) error {
		l, err := q.GetLogicalCluster(ctx, logicalID)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		latest, latestRev, err := profile.Current(ctx, q, l.Product, l.Sku)
		if err != nil {
			return err
		}
		if profile.MultiTenant(l.Sku) {
			return c.reconcileTenant(ctx, q, l, latest, latestRev)
		}
		p, err := q.GetPhysicalClusterByLogical(ctx, l.ID)
		switch {
		case errors.Is(err, db.ErrNotFound):
			want, err := c.desired(ctx, q, l, latest, latestRev)
			if err != nil {
				return err
			}
			if want.Deleted {
				return nil // deleted before it ever existed physically
			}
			p, err = c.create(ctx, q, ids.Physical(l.ID), l, want)
			if err != nil {
				return err
			}
			if err := q.InsertTenancy(ctx, db.InsertTenancyParams{LogicalClusterID: l.ID, PhysicalClusterID: p.ID, CreatedAt: db.Now()}); err != nil {
				return err
			}
			return c.changed(ctx, q, p, l)
		case err != nil:
			return err
		}
		prof, rev, mv, err := targetProfile(ctx, q, p)
		if err != nil {
			return err
		}
		want, err := c.desired(ctx, q, l, prof, rev)
		if err != nil {
			return err
		}
		want.MetadataVersion = metadataVersion(p.Product, prof.Version, mv)
		if p.DeletedAt.Valid && want.Deleted {
			want.PurgeAfter = p.PurgeAfter.Int64 // keep the original deletion's window
		}
		return c.converge(ctx, q, p, l, want)
	})
}

// reconcileTenant places a basic or standard logical cluster on a shared physical cluster
// with room (or a new one) and keeps that cluster's tenant list and quotas current. The
// shared cluster itself is never deleted by its tenants.
func (c *Controller) reconcileTenant(ctx context.Context, q physicaldb.Queries, l db.LogicalCluster, prof profile.Profile, rev int64) error {
	var p db.PhysicalCluster
	t, err := q.GetTenancy(ctx, l.ID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		if l.DeletedAt.Valid {
			return nil
		}
		id, err := q.FindSharedPhysicalCluster(ctx, db.FindSharedPhysicalClusterParams{
			Product: l.Product, Sku: l.Sku, Region: l.Region, Cloud: l.Cloud, Network: l.Network, MaxTenants: int64(prof.TenantsPerCluster),
		})
		switch {
		case errors.Is(err, db.ErrNotFound):
			if p, err = c.create(ctx, q, ids.New("pkc"), l, fromProfile(prof, rev, 1)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if p, err = q.GetPhysicalCluster(ctx, id); err != nil {
				return err
			}
		}
		if err := q.InsertTenancy(ctx, db.InsertTenancyParams{LogicalClusterID: l.ID, PhysicalClusterID: p.ID, CreatedAt: db.Now()}); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if p, err = q.GetPhysicalCluster(ctx, t.PhysicalClusterID); err != nil {
			return err
		}
	}
	// The shared cluster runs at its target revision, whatever its tenants do.
	var mv int64
	if prof, rev, mv, err = targetProfile(ctx, q, p); err != nil {
		return err
	}
	want := fromProfile(prof, rev, 1)
	want.MetadataVersion = metadataVersion(p.Product, prof.Version, mv)
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
		list = append(list, kv.TenantQuota{ID: id, ProducerByteRate: quotas.ProducerByteRate, ConsumerByteRate: quotas.ConsumerByteRate})
	}
	b, _ := json.Marshal(list)
	want.Tenants = string(b)
	want.TLSSerial, want.Mitigation = p.TlsSerial, p.Mitigation
	return c.converge(ctx, q, p, l, want)
}

// targetProfile is the profile p is to be rendered at: its rollout target, else the
// revision it is rendered at now; and the metadata version its target asks for (0: none).
func targetProfile(ctx context.Context, q physicaldb.Queries, p db.PhysicalCluster) (profile.Profile, int64, int64, error) {
	rev, mv := p.ProfileRevision, int64(0)
	t, err := q.GetClusterTarget(ctx, p.ID)
	switch {
	case err == nil:
		rev, mv = t.Revision, t.MetadataVersion
	case !errors.Is(err, db.ErrNotFound):
		return profile.Profile{}, 0, 0, err
	}
	prof, err := profile.At(ctx, q, p.Product, p.Sku, rev)
	return prof, rev, mv, err
}

// metadataVersion is the metadata version a cluster of product running Kafka version is
// rendered with, given the level its target asks for: that level if the version runs it,
// else none.
func metadataVersion(product, version string, level int64) int64 {
	if product != string(kv.ProductKafka) || level <= 0 || level > math.MaxInt16 ||
		kafkaconf.CheckMetadataVersion(version, int16(level)) != nil {
		return 0
	}
	return level
}

// create inserts a physical cluster at generation 1.
func (c *Controller) create(ctx context.Context, q physicaldb.Queries, id string, l db.LogicalCluster, want physicalSpec) (db.PhysicalCluster, error) {
	now := db.Now()
	p := db.PhysicalCluster{
		ID: id, Product: l.Product, Sku: l.Sku, Region: l.Region, Cloud: l.Cloud, Network: l.Network,
		Generation: 1, CreatedAt: now, UpdatedAt: now,
	}
	want.KRaftID = kraftID(l.Product, id, "")
	setPhysicalSpec(&p, want)
	return p, q.InsertPhysicalCluster(ctx, db.InsertPhysicalClusterParams{
		ID: p.ID, Product: p.Product, Sku: p.Sku, Region: p.Region, Cloud: p.Cloud, Network: p.Network,
		Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers, StorageClass: p.StorageClass,
		StorageGib: p.StorageGib, Config: p.Config, KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial,
		Tenants: p.Tenants, Generation: p.Generation, Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
		KraftClusterID: p.KraftClusterID, Mitigation: p.Mitigation, ProfileRevision: p.ProfileRevision,
		ReplicationThrottle: p.ReplicationThrottle,
	})
}

// kraftID keeps a Kafka cluster's KRaft cluster id, or gives it one if it has none yet:
// 16 bytes in unpadded URL-safe base64, as `kafka-storage.sh random-uuid` prints them. Other
// products have none. The id is derived from the physical cluster's id, not drawn at random:
// a mothership restored from a backup taken before it recorded a new cluster's id records
// it again as the one the satellite formatted the cluster's storage with, so the running
// cluster is left alone. Physical cluster ids are never reused.
func kraftID(product, physicalID, current string) string {
	if product != string(kv.ProductKafka) || current != "" {
		return current
	}
	for i := 0; ; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "orbit kraft cluster id\x00%s\x00%d", physicalID, i))
		id := base64.RawURLEncoding.EncodeToString(sum[:16])
		if kv.ValidateKafkaClusterID(id) == nil { // Kafka reserves two ids and a leading '-'
			return id
		}
	}
}

// Reported notes that a satellite runs physicalID at generation observed, and lists the
// logical clusters to reconcile: none unless observed is above the generation in SQL,
// which happens only after a restore from a backup older than what the satellite runs.
func (c *Controller) Reported(ctx context.Context, physicalID string, observed int64) ([]string, error) {
	c.runningMu.Lock()
	c.running[physicalID] = max(c.running[physicalID], observed)
	c.runningMu.Unlock()
	q := c.store.Read()
	p, err := q.GetPhysicalCluster(ctx, physicalID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil || observed <= p.Generation {
		return nil, err
	}
	return q.ListTenancyLogicalIDs(ctx, physicalID)
}

// satelliteGeneration is the generation id's satellite reports it runs (0 before any report).
func (c *Controller) satelliteGeneration(ctx context.Context, q physicaldb.Queries, id string) (int64, error) {
	c.runningMu.Lock()
	reported := c.running[id]
	c.runningMu.Unlock()
	st, err := q.GetClusterStatus(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return reported, nil
	}
	return max(reported, st.ObservedGeneration), err
}

// converge moves p to want (a new generation) if it differs, and records which physical
// generation carries l's current generation. After a restore, the satellite may run a
// generation above p's (a change made after the backup): p is then issued again, with the
// spec SQL has, at a generation above the satellite's, which the desired bucket accepts and
// the satellite converges to.
func (c *Controller) converge(ctx context.Context, q physicaldb.Queries, p db.PhysicalCluster, l db.LogicalCluster, want physicalSpec) error {
	want.KRaftID = kraftID(p.Product, p.ID, p.KraftClusterID)
	running, err := c.satelliteGeneration(ctx, q, p.ID)
	if err != nil {
		return err
	}
	if currentPhysical(p) == want && running <= p.Generation {
		observed, err := q.ObservedLogicalGeneration(ctx, db.ObservedLogicalGenerationParams{
			PhysicalClusterID: p.ID, LogicalClusterID: l.ID, ObservedGeneration: p.Generation,
		})
		if err != nil || observed >= l.Generation {
			return err // nothing changed
		}
		// The logical cluster changed in a way that needs no physical change: the current
		// physical generation carries the new logical generation too.
		return q.InsertPhysicalGeneration(ctx, db.InsertPhysicalGenerationParams{
			PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
		})
	}
	now := db.Now()
	previous := p.Generation
	p.Generation = max(p.Generation, running) + 1
	p.UpdatedAt = now
	setPhysicalSpec(&p, want)
	n, err := q.UpdatePhysicalCluster(ctx, db.UpdatePhysicalClusterParams{PreviousGeneration: previous,
		ID: p.ID, Version: p.Version, Replicas: p.Replicas, Controllers: p.Controllers,
		StorageClass: p.StorageClass, StorageGib: p.StorageGib, Config: p.Config,
		KafkaPhysicalID: p.KafkaPhysicalID, TlsSerial: p.TlsSerial, Tenants: p.Tenants,
		Generation: p.Generation, Now: now, DeletedAt: p.DeletedAt, PurgeAfter: p.PurgeAfter,
		KraftClusterID: p.KraftClusterID, Mitigation: p.Mitigation, ProfileRevision: p.ProfileRevision,
		ReplicationThrottle: p.ReplicationThrottle, MetadataVersion: p.MetadataVersion,
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
func (c *Controller) changed(ctx context.Context, q physicaldb.Queries, p db.PhysicalCluster, l db.LogicalCluster) error {
	if err := q.InsertPhysicalGeneration(ctx, db.InsertPhysicalGenerationParams{
		PhysicalClusterID: p.ID, Generation: p.Generation, LogicalClusterID: l.ID, LogicalGeneration: l.Generation,
	}); err != nil {
		return err
	}
	return events.Append(ctx, q, &events.Physical{ID: p.ID, Product: p.Product, SKU: p.Sku, Region: p.Region,
		Generation: p.Generation, Replicas: p.Replicas, Version: p.Version, Deleted: p.DeletedAt.Valid,
		LogicalCluster: l.ID, LogicalGeneration: l.Generation})
}

func setPhysicalSpec(p *db.PhysicalCluster, s physicalSpec) {
	p.Version, p.Replicas, p.Controllers = s.Version, s.Replicas, s.Controllers
	p.StorageClass, p.StorageGib, p.Config = s.StorageClass, s.StorageGiB, s.Config
	p.KafkaPhysicalID = sql.NullString{String: s.KafkaID, Valid: s.KafkaID != ""}
	p.TlsSerial, p.Tenants, p.KraftClusterID, p.Mitigation = s.TLSSerial, s.Tenants, s.KRaftID, s.Mitigation
	p.ProfileRevision, p.ReplicationThrottle, p.MetadataVersion = s.ProfileRevision, s.Throttle, s.MetadataVersion
	switch {
	case !s.Deleted:
		p.DeletedAt = sql.NullInt64{}
	case !p.DeletedAt.Valid:
		p.DeletedAt = sql.NullInt64{Int64: db.Now(), Valid: true}
	}
	p.PurgeAfter = sql.NullInt64{Int64: s.PurgeAfter, Valid: s.Deleted}
}
