package physical

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

func seedTenant(t *testing.T, store *db.Store) {
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertTenant(context.Background(), db.InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1})
	})
}

func seedLogical(t *testing.T, store *db.Store, id, sku string, cku int64) {
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertLogicalCluster(context.Background(), db.InsertLogicalClusterParams{ID: id, TenantID: "t1", Name: id, Product: "kafka",
			Sku: sku, Cku: cku, Region: "r", Cloud: "aws", Network: "public", Now: 1})
	})
}

// TestDedicatedClusterFollowsCKUAndProfile: 1 CKU of the default profile is 3 brokers; a
// resize is a new physical generation that carries the logical one; a new profile revision
// changes a cluster only once the rollout controller made it the cluster's target.
func TestDedicatedClusterFollowsCKUAndProfile(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	ctx := context.Background()
	c := New(store, time.Hour)
	seedTenant(t, store)
	seedLogical(t, store, "lkc-a", "dedicated", 2)
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	q := dbtest.Q(store)
	p, err := q.GetPhysicalCluster(ctx, "pkc-a")
	if err != nil {
		t.Fatal(err)
	}
	if p.Replicas != 6 || p.Controllers != 3 || p.StorageGib != 500 || p.Version != "3.9.0" || p.Generation != 1 {
		t.Fatalf("2 CKUs: %+v", p)
	}
	kraftID := p.KraftClusterID
	if err := kv.ValidateKafkaClusterID(kraftID); err != nil {
		t.Fatalf("KRaft cluster id %q: %v", kraftID, err)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.GetPhysicalCluster(ctx, "pkc-a"); again.Generation != 1 {
		t.Fatalf("a reconcile with nothing changed moved to generation %d", again.Generation)
	}

	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		_, err := q.ResizeLogicalCluster(ctx, db.ResizeLogicalClusterParams{ID: "lkc-a", Cku: 3, Now: 2})
		return err
	})
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	p, _ = q.GetPhysicalCluster(ctx, "pkc-a")
	observed, _ := q.ObservedLogicalGeneration(ctx, db.ObservedLogicalGenerationParams{PhysicalClusterID: "pkc-a", LogicalClusterID: "lkc-a", ObservedGeneration: p.Generation})
	if p.Replicas != 9 || p.Generation != 2 || observed != 2 {
		t.Fatalf("after resizing to 3 CKUs: %d brokers at generation %d carrying logical %d", p.Replicas, p.Generation, observed)
	}

	spec, _ := json.Marshal(map[string]any{"version": "3.9.1", "replicasPerCKU": 4, "controllers": 3, "storageGiB": 800, "config": map[string]string{"num.io.threads": "16"}})
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertProfile(ctx, db.InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: 1, Spec: string(spec), CreatedAt: 3, CreatedBy: "op"})
	})
	ids, err := c.MapEvent(ctx, "profile", "kafka-dedicated")
	if err != nil || len(ids) != 1 || ids[0] != "lkc-a" {
		t.Fatalf("a profile event maps to %v, %v", ids, err)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if p, _ = q.GetPhysicalCluster(ctx, "pkc-a"); p.Version != "3.9.0" || p.ProfileRevision != 0 || p.Generation != 2 {
		t.Fatalf("a new profile revision changed a cluster no rollout reached: %+v", p)
	}
	// A resize of a cluster not rolled yet keeps its revision.
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		_, err := q.ResizeLogicalCluster(ctx, db.ResizeLogicalClusterParams{ID: "lkc-a", Cku: 4, Now: 4})
		return err
	})
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if p, _ = q.GetPhysicalCluster(ctx, "pkc-a"); p.Replicas != 12 || p.Version != "3.9.0" || p.StorageGib != 500 || p.ProfileRevision != 0 {
		t.Fatalf("a resize before the rollout: %+v", p)
	}
	// The rollout controller sets the cluster's target revision.
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpsertClusterTarget(ctx, db.UpsertClusterTargetParams{PhysicalClusterID: "pkc-a", Revision: 1, RolloutID: "ro-1", UpdatedAt: 5})
	})
	if ids, err := c.MapEvent(ctx, "target", "pkc-a"); err != nil || len(ids) != 1 || ids[0] != "lkc-a" {
		t.Fatalf("a target event maps to %v, %v", ids, err)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	p, _ = q.GetPhysicalCluster(ctx, "pkc-a")
	if p.ProfileRevision != 1 || p.Replicas != 16 || p.StorageGib != 800 || p.Version != "3.9.1" || p.Config != `{"num.io.threads":"16"}` {
		t.Fatalf("after the profile change: %+v", p)
	}
	if p.KraftClusterID != kraftID {
		t.Fatalf("the KRaft cluster id changed from %q to %q", kraftID, p.KraftClusterID)
	}
}

// TestTenantsArePackedOntoSharedClusters: basic clusters share a physical cluster until it
// holds the profile's tenants per cluster, each with the SKU's quotas; a deleted tenant
// leaves the tenant list and the shared cluster stays.
func TestTenantsArePackedOntoSharedClusters(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	ctx := context.Background()
	c := New(store, time.Hour)
	seedTenant(t, store)
	spec, _ := json.Marshal(map[string]any{"version": "3.9.0", "replicasPerCKU": 3, "controllers": 3, "storageGiB": 100,
		"tenantsPerCluster": 2, "tenantQuotas": map[string]int{"producerByteRate": 1000, "consumerByteRate": 2000}})
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertProfile(ctx, db.InsertProfileParams{Product: "kafka", Sku: "basic", Version: 1, Spec: string(spec), CreatedAt: 1, CreatedBy: "op"})
	})
	for _, id := range []string{"lkc-1", "lkc-2", "lkc-3"} {
		seedLogical(t, store, id, "basic", 1)
		if err := c.Reconcile(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	q := dbtest.Q(store)
	home := map[string]string{}
	for _, id := range []string{"lkc-1", "lkc-2", "lkc-3"} {
		p, err := q.GetPhysicalClusterByLogical(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		home[id] = p.ID
	}
	if home["lkc-1"] != home["lkc-2"] || home["lkc-3"] == home["lkc-1"] {
		t.Fatalf("packing with 2 tenants per cluster: %v", home)
	}
	tenantsOf := func(id string) []kv.TenantQuota {
		p, _ := q.GetPhysicalCluster(ctx, id)
		var list []kv.TenantQuota
		if err := json.Unmarshal([]byte(p.Tenants), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	shared := tenantsOf(home["lkc-1"])
	if len(shared) != 2 || shared[0].ProducerByteRate != 1000 || shared[1].ConsumerByteRate != 2000 {
		t.Fatalf("tenants of the first shared cluster: %+v", shared)
	}

	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		_, err := q.DeleteLogicalCluster(ctx, db.DeleteLogicalClusterParams{ID: "lkc-1", Now: 5})
		return err
	})
	if err := c.Reconcile(ctx, "lkc-1"); err != nil {
		t.Fatal(err)
	}
	if list := tenantsOf(home["lkc-1"]); len(list) != 1 || list[0].ID != "lkc-2" {
		t.Fatalf("after deleting lkc-1: %+v", list)
	}
	if p, _ := q.GetPhysicalCluster(ctx, home["lkc-1"]); p.DeletedAt != (sql.NullInt64{}) {
		t.Fatal("a tenant's deletion deleted the shared cluster")
	}
}

// TestFinalizedMetadataVersionIsRendered: a cluster's metadata version is rendered only
// once its target asks for one (a finalized rollout), as a new generation; a level the
// cluster's Kafka version does not run is left out.
func TestFinalizedMetadataVersionIsRendered(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	ctx := context.Background()
	c := New(store, time.Hour)
	seedTenant(t, store)
	seedLogical(t, store, "lkc-a", "dedicated", 1)
	q := dbtest.Q(store)
	for rev, version := range map[int64]string{1: "4.0.0", 2: "3.9.1"} {
		spec, _ := json.Marshal(map[string]any{"version": version, "replicasPerCKU": 3, "controllers": 3, "storageGiB": 500})
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			return q.InsertProfile(ctx, db.InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: rev, Spec: string(spec), CreatedAt: rev, CreatedBy: "op"})
		})
	}
	target := func(rev, level int64) {
		t.Helper()
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			if err := q.UpsertClusterTarget(ctx, db.UpsertClusterTargetParams{PhysicalClusterID: "pkc-a", Revision: rev, RolloutID: "ro", UpdatedAt: 1}); err != nil {
				return err
			}
			if level > 0 {
				_, err := q.FinalizeClusterTarget(ctx, db.FinalizeClusterTargetParams{PhysicalClusterID: "pkc-a", MetadataVersion: level, UpdatedAt: 2})
				return err
			}
			return nil
		})
		if err := c.Reconcile(ctx, "lkc-a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	target(1, 0) // upgraded to 4.0, not finalized
	p, _ := q.GetPhysicalCluster(ctx, "pkc-a")
	if p.Version != "4.0.0" || p.MetadataVersion != 0 || p.Generation != 2 {
		t.Fatalf("upgraded, not finalized: version %s, metadata version %d, generation %d", p.Version, p.MetadataVersion, p.Generation)
	}
	target(1, 25) // finalized: 4.0-IV3
	p, _ = q.GetPhysicalCluster(ctx, "pkc-a")
	if p.MetadataVersion != 25 || p.Generation != 3 {
		t.Fatalf("finalized: metadata version %d at generation %d, want 25 at 3", p.MetadataVersion, p.Generation)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.GetPhysicalCluster(ctx, "pkc-a"); again.Generation != 3 {
		t.Fatalf("a reconcile with nothing changed moved to generation %d", again.Generation)
	}
	target(2, 0) // a profile back on 3.9: 4.0-IV3 is not one it runs
	if p, _ = q.GetPhysicalCluster(ctx, "pkc-a"); p.Version != "3.9.1" || p.MetadataVersion != 0 {
		t.Fatalf("on 3.9 with 4.0-IV3 asked: version %s, metadata version %d", p.Version, p.MetadataVersion)
	}
}

// TestKRaftClusterIDSurvivesARestoreThatLacksIt: a mothership restored from a backup taken
// before the physical controller recorded a new Kafka cluster creates that cluster again;
// it must record the KRaft cluster id the satellite already formatted the cluster's storage
// with, so the id is the physical cluster's own, the same on any database, and another
// cluster's differs.
func TestKRaftClusterIDSurvivesARestoreThatLacksIt(t *testing.T) {
	ctx := context.Background()
	idOn := func(logical string) string {
		store := hubtest.OpenSQLite(t)
		seedTenant(t, store)
		seedLogical(t, store, logical, "dedicated", 1)
		if err := New(store, time.Hour).Reconcile(ctx, logical); err != nil {
			t.Fatal(err)
		}
		p, err := dbtest.Q(store).GetPhysicalCluster(ctx, "p"+logical[1:])
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.ValidateKafkaClusterID(p.KraftClusterID); err != nil {
			t.Fatalf("KRaft cluster id %q: %v", p.KraftClusterID, err)
		}
		return p.KraftClusterID
	}
	first, again, other := idOn("lkc-a"), idOn("lkc-a"), idOn("lkc-b")
	if first != again {
		t.Fatalf("the same cluster on a restored database got KRaft cluster id %q, the satellite runs %q", again, first)
	}
	if other == first {
		t.Fatalf("two clusters share the KRaft cluster id %q", first)
	}
}

// TestSatelliteAheadOfSQLGetsTheRestoredSpecAgain: after a restore from an older backup, the
// satellite reports a generation above SQL's (it runs a change the backup lacks). Reported
// names the logical cluster only then; its reconcile issues SQL's spec again at a generation
// above the satellite's, once; a satellite at or below SQL's generation changes nothing.
func TestSatelliteAheadOfSQLGetsTheRestoredSpecAgain(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	ctx := context.Background()
	c := New(store, time.Hour)
	seedTenant(t, store)
	seedLogical(t, store, "lkc-a", "dedicated", 2)
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	q := dbtest.Q(store)
	report := func(observed, revision int64) {
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			return q.UpsertClusterStatus(ctx, db.UpsertClusterStatusParams{PhysicalClusterID: "pkc-a", Satellite: "s1",
				ObservedGeneration: observed, Phase: "Ready", Conditions: "[]", KvRevision: revision})
		})
	}
	report(1, 1) // the satellite runs what SQL has
	if ids, err := c.Reported(ctx, "pkc-a", 1); err != nil || len(ids) != 0 {
		t.Fatalf("a satellite at SQL's generation: Reported %v, %v", ids, err)
	}
	if ids, err := c.Reported(ctx, "pkc-missing", 9); err != nil || len(ids) != 0 {
		t.Fatalf("an unknown physical cluster: Reported %v, %v", ids, err)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if p, _ := q.GetPhysicalCluster(ctx, "pkc-a"); p.Generation != 1 {
		t.Fatalf("a reconcile with the satellite in step moved to generation %d", p.Generation)
	}

	// Resized three times after the backup: the satellite reports generation 4 to the new
	// hub, while cluster_status still holds the old hub's report (a lower KV revision on a
	// new hub does not replace it).
	ids, err := c.Reported(ctx, "pkc-a", 4)
	if err != nil || len(ids) != 1 || ids[0] != "lkc-a" {
		t.Fatalf("a satellite ahead of SQL: Reported %v, %v", ids, err)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	p, _ := q.GetPhysicalCluster(ctx, "pkc-a")
	if p.Generation != 5 || p.Replicas != 6 {
		t.Fatalf("re-issued: %d brokers at generation %d, want 6 at 5", p.Replicas, p.Generation)
	}
	observed, _ := q.ObservedLogicalGeneration(ctx, db.ObservedLogicalGenerationParams{PhysicalClusterID: "pkc-a", LogicalClusterID: "lkc-a", ObservedGeneration: 5})
	if observed != 1 {
		t.Fatalf("generation 5 carries logical generation %d, want 1", observed)
	}
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.GetPhysicalCluster(ctx, "pkc-a"); again.Generation != 5 {
		t.Fatalf("a second reconcile moved to generation %d", again.Generation)
	}
	if ids, _ := c.Reported(ctx, "pkc-a", 4); len(ids) != 0 {
		t.Fatalf("the old report still names %v after the re-issue", ids)
	}

	// A change made now builds on the re-issued generation.
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		_, err := q.ResizeLogicalCluster(ctx, db.ResizeLogicalClusterParams{ID: "lkc-a", Cku: 3, Now: 2})
		return err
	})
	if err := c.Reconcile(ctx, "lkc-a"); err != nil {
		t.Fatal(err)
	}
	if p, _ := q.GetPhysicalCluster(ctx, "pkc-a"); p.Generation != 6 || p.Replicas != 9 {
		t.Fatalf("a resize after the re-issue: %d brokers at generation %d", p.Replicas, p.Generation)
	}
}
