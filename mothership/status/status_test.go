package status

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

func TestPhase(t *testing.T) {
	deleted := sql.NullInt64{Int64: 5, Valid: true}
	live := db.LogicalCluster{Generation: 3}
	gone := db.LogicalCluster{Generation: 4, DeletedAt: deleted}
	dedicated := db.PhysicalCluster{Replicas: 3}
	deletedPhysical := db.PhysicalCluster{Replicas: 3, DeletedAt: deleted}
	report := func(phase kv.Phase, msg string) db.ClusterStatus {
		return db.ClusterStatus{Satellite: "eu-a", Phase: string(phase), Message: msg, ReadyReplicas: 1}
	}
	for _, tc := range []struct {
		name     string
		l        db.LogicalCluster
		p        db.PhysicalCluster
		st       db.ClusterStatus
		observed int64
		phase    string
		reason   string
	}{
		{"ready at the current generation", live, dedicated, report(kv.PhaseReady, ""), 3, api.PhaseReady, ""},
		{"ready at an older generation", live, dedicated, report(kv.PhaseReady, ""), 2, api.PhaseProvisioning, "converging generation 3 (observed 2)"},
		{"degraded", live, dedicated, report(kv.PhaseDegraded, "broker 2 down"), 3, api.PhaseDegraded, "broker 2 down"},
		{"failed at any generation", live, dedicated, report(kv.PhaseFailed, "impossible"), 1, api.PhaseDegraded, "impossible"},
		{"still provisioning", live, dedicated, report(kv.PhaseProvisioning, ""), 3, api.PhaseProvisioning, "1 of 3 brokers ready"},
		{"a tenant removed from its shared cluster", gone, dedicated, report(kv.PhaseReady, ""), 4, api.PhaseDeleted, "removed from its shared cluster"},
		{"a tenant being removed", gone, dedicated, report(kv.PhaseReady, ""), 3, api.PhaseDeleting, "removing it from its shared cluster"},
		{"deleted, workloads gone", gone, deletedPhysical, report(kv.PhaseDeleted, "volumes kept"), 4, api.PhaseDeleted, "volumes kept"},
		{"deleted and purged", gone, deletedPhysical, report(kv.PhasePurged, ""), 4, api.PhaseDeleted, ReasonPurged},
		{"deleting", gone, deletedPhysical, report(kv.PhaseReady, ""), 3, api.PhaseDeleting, "is removing the workloads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phase, reason := Phase(tc.l, tc.p, tc.st, tc.observed)
			if phase != tc.phase || !strings.Contains(reason, tc.reason) {
				t.Fatalf("Phase = %q, %q; want %q, reason containing %q", phase, reason, tc.phase, tc.reason)
			}
		})
	}
}

// TestControllerRecordsReports: a satellite's report lands in cluster_status; a report
// under another cluster's key and an undecodable one are ignored.
func TestControllerRecordsReports(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := hubtest.OpenSQLite(t)
	_, js := testkit.StartJetStream(t)
	if err := kv.EnsureHub(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	actual, err := js.KeyValue(ctx, kv.BucketActual)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, st *kv.Status) {
		t.Helper()
		v, err := kv.Encode(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := actual.Put(ctx, key, v); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string, phase kv.Phase) *kv.Status {
		return &kv.Status{SchemaVersion: kv.SchemaVersion, ID: id, Satellite: "eu-a", Product: kv.ProductKafka, ObservedGeneration: 1,
			Phase: phase, Replicas: 3, ReadyReplicas: 3, UpdatedAt: time.Now()}
	}
	key := func(id string) string {
		return kv.Key{Satellite: "eu-a", Product: kv.ProductKafka, Cluster: id}.String()
	}
	put(key("pkc-1"), status("pkc-1", kv.PhaseReady))
	put(key("pkc-2"), status("pkc-1", kv.PhaseFailed)) // names another cluster than its key
	if _, err := actual.Put(ctx, key("pkc-3"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}

	c := New(store, testkit.Logger())
	if err := c.Start(ctx, js); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Run(ctx) }()
	q := dbtest.Q(store)
	testkit.CheckFor(t, 5*time.Second, func() error {
		_, err := q.GetClusterStatus(ctx, "pkc-1")
		return err
	})
	if st, _ := q.GetClusterStatus(ctx, "pkc-1"); st.Phase != string(kv.PhaseReady) || st.ReadyReplicas != 3 {
		t.Fatalf("recorded %+v", st)
	}
	put(key("pkc-4"), status("pkc-4", kv.PhaseReady)) // after it: the ones before were seen
	testkit.CheckFor(t, 5*time.Second, func() error {
		_, err := q.GetClusterStatus(ctx, "pkc-4")
		return err
	})
	for _, id := range []string{"pkc-2", "pkc-3"} {
		if st, err := q.GetClusterStatus(ctx, id); err == nil {
			t.Errorf("recorded a bad report under %s: %+v", id, st)
		}
	}

	// The metrics' view: the valid reports only, and a deleted key leaves it.
	seen := func() map[string]string {
		out := map[string]string{}
		for _, c := range c.clusters() {
			out[c.ID] = c.Satellite + "/" + c.Product + "/" + c.Phase
		}
		return out
	}
	if got := seen(); len(got) != 2 || got["pkc-1"] != "eu-a/kafka/ready" || got["pkc-4"] != "eu-a/kafka/ready" {
		t.Fatalf("metrics see %v", got)
	}
	if err := actual.Delete(ctx, key("pkc-4")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if got := seen(); len(got) != 1 {
			return fmt.Errorf("metrics see %v after a delete", got)
		}
		return nil
	})
}
