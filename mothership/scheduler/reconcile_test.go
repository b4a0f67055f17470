package scheduler

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/registry"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// TestReconcilePlacesAndColocates: a Kafka cluster is placed on the satellite of its region;
// a ksqlDB cluster waits, with the reason, until its Kafka is placed, then goes next to it;
// placements do not move; each decision is an event.
func TestReconcilePlacesAndColocates(t *testing.T) {
	ctx := context.Background()
	store := hubtest.OpenSQLite(t)
	_, js := testkit.StartJetStream(t)
	if err := kv.EnsureHub(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	sats, err := js.KeyValue(ctx, kv.BucketSatellites)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eu-a", "us-a"} {
		region := map[string]string{"eu-a": "eu-west-1", "us-a": "us-west-2"}[name]
		v, err := kv.Encode(&kv.Satellite{SchemaVersion: kv.SchemaVersion, Name: name, Region: region, Cloud: "aws", Networks: []string{"public"}, HeartbeatAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sats.Put(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	reg := registry.New(testkit.Logger())
	if err := reg.Start(ctx, js); err != nil {
		t.Fatal(err)
	}
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		for _, p := range []db.InsertPhysicalClusterParams{
			{ID: "pkc-1", Product: "kafka", Sku: "dedicated", Region: "eu-west-1", Cloud: "aws", Network: "public", Replicas: 3},
			{ID: "pksqlc-1", Product: "ksqldb", Sku: "dedicated", Region: "eu-west-1", Cloud: "aws", Network: "public", Replicas: 1,
				KafkaPhysicalID: sql.NullString{String: "pkc-1", Valid: true}},
		} {
			p.Version, p.StorageGib, p.Config, p.Tenants, p.Generation = "3.9.0", 1, "{}", "[]", 1
			if err := q.InsertPhysicalCluster(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	s := New(store, reg)
	q := dbtest.Q(store)
	placement := func(id string) db.Placement {
		t.Helper()
		pl, err := q.GetPlacement(ctx, id)
		if err != nil {
			t.Fatalf("placement of %s: %v", id, err)
		}
		return pl
	}

	if err := s.Reconcile(ctx, "pksqlc-1"); err != nil {
		t.Fatal(err)
	}
	if pl := placement("pksqlc-1"); pl.Satellite.Valid || pl.Reason != "waiting for kafka cluster pkc-1 to be placed" {
		t.Fatalf("ksqlDB before its Kafka: %+v", pl)
	}
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if pl := placement("pkc-1"); pl.Satellite.String != "eu-a" {
		t.Fatalf("Kafka in eu-west-1 placed on %+v", pl)
	}
	deps, err := s.MapEvent(ctx, events.ResourcePlacement, "pkc-1")
	if err != nil || len(deps) != 2 || deps[1] != "pksqlc-1" {
		t.Fatalf("a Kafka placement maps to %v, %v", deps, err)
	}
	if err := s.Reconcile(ctx, "pksqlc-1"); err != nil {
		t.Fatal(err)
	}
	if pl := placement("pksqlc-1"); pl.Satellite.String != "eu-a" {
		t.Fatalf("ksqlDB not next to its Kafka: %+v", pl)
	}

	rows, err := q.ListPendingOutbox(ctx, 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("placement events: %d, %v; want 3 (pending, placed, placed)", len(rows), err)
	}
	ev, err := events.Decode(rows[2].Subject, rows[2].Payload)
	if p, ok := ev.(*events.Placement); err != nil || !ok || p.PhysicalClusterID != "pksqlc-1" || p.Satellite != "eu-a" {
		t.Fatalf("last event: %#v, %v", ev, err)
	}
	if err := s.Reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if rows, _ := q.ListPendingOutbox(ctx, 10); len(rows) != 3 {
		t.Fatalf("a placed cluster was placed again: %d events", len(rows))
	}
}
