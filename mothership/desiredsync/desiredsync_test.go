package desiredsync

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/physical"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// startService is the service on a fresh SQLite store and hub.
func startService(t *testing.T) (*db.Store, *Service) {
	t.Helper()
	ctx := context.Background()
	store := hubtest.OpenSQLite(t)
	_, js := testkit.StartJetStream(t)
	if err := kv.EnsureHub(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	s := New(store, nil, nil)
	if err := s.Start(ctx, js); err != nil {
		t.Fatal(err)
	}
	return store, s
}

// TestReconcilePutsThePSCOnce: a placed cluster's PSC lands under its satellite's key; a
// second reconcile writes nothing; a newer generation replaces it; a desired value of a
// newer generation than SQL is never overwritten by an older one; an unplaced cluster has
// no key.
func TestReconcilePutsThePSCOnce(t *testing.T) {
	ctx := context.Background()
	store, s := startService(t)
	physical := db.InsertPhysicalClusterParams{ID: "pkc-1", Product: "kafka", Sku: "dedicated", Region: "r", Cloud: "aws", Network: "public",
		Version: "3.9.0", Replicas: 3, Controllers: 3, StorageGib: 10, Config: `{"num.io.threads":"8"}`, Tenants: "[]", Generation: 1,
		KraftClusterID: "MkU3OEVBNTcwNTJENDM2Qg"}
	dbtest.InTx(t, store, func(q dbtest.Queries) error { return q.InsertPhysicalCluster(ctx, physical) })
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	key := kv.Key{Satellite: "eu-a", Product: kv.ProductKafka, Cluster: "pkc-1"}.String()
	if _, err := s.desired.Get(ctx, key); err == nil {
		t.Fatal("an unplaced cluster got a desired key")
	}
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpsertPlacement(ctx, db.UpsertPlacementParams{PhysicalClusterID: "pkc-1", Satellite: sql.NullString{String: "eu-a", Valid: true}, Reason: "placed"})
	})
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	entry, err := s.desired.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	psc, err := kv.DecodePSC(entry.Value())
	if err != nil || psc.Generation != 1 || psc.Spec.Replicas != 3 || psc.Spec.Config["num.io.threads"] != "8" || psc.Spec.KafkaClusterID != "MkU3OEVBNTcwNTJENDM2Qg" {
		t.Fatalf("desired: %+v, %v", psc, err)
	}
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.desired.Get(ctx, key); again.Revision() != entry.Revision() {
		t.Fatal("a reconcile with nothing changed wrote the key again")
	}

	update := func(replicas, generation int64) {
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			_, err := q.UpdatePhysicalCluster(ctx, db.UpdatePhysicalClusterParams{ID: "pkc-1", Version: "3.9.0", Replicas: replicas, Controllers: 3,
				StorageGib: 10, Config: "{}", Tenants: "[]", Generation: generation, PreviousGeneration: generation - 1, KraftClusterID: "MkU3OEVBNTcwNTJENDM2Qg"})
			return err
		})
	}
	update(6, 2)
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	entry, _ = s.desired.Get(ctx, key)
	if psc, _ := kv.DecodePSC(entry.Value()); psc.Generation != 2 || psc.Spec.Replicas != 6 {
		t.Fatalf("after generation 2: %+v", psc)
	}

	// A value ahead of SQL (written by a newer mothership, say) is never taken back.
	ahead := *psc
	ahead.Generation, ahead.Spec.Replicas = 9, 27
	v, err := kv.Encode(&ahead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.desired.Put(ctx, key, v); err != nil {
		t.Fatal(err)
	}
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	entry, _ = s.desired.Get(ctx, key)
	if psc, _ := kv.DecodePSC(entry.Value()); psc.Generation != 9 {
		t.Fatalf("the desired value went back to generation %d", psc.Generation)
	}
}

// TestWorkerOnSharedKafkaNamesItsTenant: a ksqlDB cluster working with a basic Kafka
// cluster waits until that cluster is a tenant of a shared physical cluster, then works on
// that shared cluster, and its PSC names the tenant (spec.kafka.logical) whose prefix its
// principal may use; a Connect cluster of a dedicated Kafka cluster names none.
func TestWorkerOnSharedKafkaNamesItsTenant(t *testing.T) {
	ctx := context.Background()
	store, s := startService(t)
	pc := physical.New(store, time.Hour)
	logical := func(id, product, sku, kafka string) {
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			return q.InsertLogicalCluster(ctx, db.InsertLogicalClusterParams{ID: id, TenantID: "t1", Name: id, Product: product,
				Sku: sku, Cku: 1, Region: "r", Cloud: "aws", Network: "public", Now: 1,
				KafkaClusterID: sql.NullString{String: kafka, Valid: kafka != ""}})
		})
	}
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertTenant(ctx, db.InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1})
	})
	logical("lkc-b", "kafka", "basic", "")
	logical("lkc-d", "kafka", "dedicated", "")
	logical("lksqlc-w", "ksqldb", "dedicated", "lkc-b")
	logical("lcc-c", "connect", "dedicated", "lkc-d")
	if err := pc.Reconcile(ctx, "lksqlc-w"); err == nil {
		t.Fatal("a worker of a Kafka cluster not yet on a shared cluster was placed")
	}
	for _, id := range []string{"lkc-b", "lkc-d", "lksqlc-w", "lcc-c"} {
		if err := pc.Reconcile(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	q := dbtest.Q(store)
	shared, err := q.GetPhysicalClusterByLogical(ctx, "lkc-b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		physical string
		product  kv.Product
		want     kv.KafkaRef
	}{
		{"pksqlc-w", kv.ProductKsqlDB, kv.KafkaRef{ID: shared.ID, Logical: "lkc-b"}},
		{"pcc-c", kv.ProductConnect, kv.KafkaRef{ID: "pkc-d"}},
	} {
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			return q.UpsertPlacement(ctx, db.UpsertPlacementParams{PhysicalClusterID: tc.physical, Satellite: sql.NullString{String: "eu-a", Valid: true}, Reason: "placed"})
		})
		if err := s.Reconcile(ctx, tc.physical); err != nil {
			t.Fatal(err)
		}
		entry, err := s.desired.Get(ctx, kv.Key{Satellite: "eu-a", Product: tc.product, Cluster: tc.physical}.String())
		if err != nil {
			t.Fatal(err)
		}
		psc, err := kv.DecodePSC(entry.Value())
		if err != nil || psc.Spec.Kafka == nil || *psc.Spec.Kafka != tc.want {
			t.Fatalf("%s: kafka %+v, want %+v (%v)", tc.physical, psc.Spec.Kafka, tc.want, err)
		}
	}
}
