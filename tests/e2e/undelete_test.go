package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

// TestDeleteUndeleteAndPurgeThroughTheAPI: a deleted cluster is restorable (same id) within
// the retention window; after it, its volumes are purged and undelete is refused.
func TestDeleteUndeleteAndPurgeThroughTheAPI(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testDeleteUndeleteAndPurge(t, engine) })
	}
}

func testDeleteUndeleteAndPurge(t *testing.T, engine string) {
	e := newEnv(t, withRetention(3*time.Second), onEngine(engine))
	e.startSatellite("us-west-2")
	ctx := context.Background()
	created, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))
	if _, err := e.client.DeleteCluster(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 30*time.Second, phaseIs(api.PhaseDeleted))
	if c.RestorableUntil == nil {
		t.Fatalf("a deleted cluster says nothing of how long it is restorable: %+v", c)
	}
	back, err := e.client.UndeleteCluster(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != created.ID || back.DeletedAt != nil {
		t.Fatalf("undelete gave %+v, want the same cluster %s", back, created.ID)
	}
	c = e.waitFor("demo", 30*time.Second, readyWith(3))
	if c.Generation != 3 {
		t.Fatalf("generation %d after create, delete, undelete", c.Generation)
	}
	if _, err := e.client.UndeleteCluster(ctx, "demo"); err == nil || !strings.Contains(err.Error(), "live cluster") {
		t.Fatalf("undeleting a live cluster: %v", err)
	}

	// Delete again and let the window pass: purged, and no way back.
	if _, err := e.client.DeleteCluster(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, func(c *api.Cluster) error {
		if c.Status.Reason != "purged: workloads and volumes removed" || c.RestorableUntil != nil {
			return errorf("phase %s, reason %q", c.Status.Phase, c.Status.Reason)
		}
		return nil
	})
	if _, err := e.client.UndeleteCluster(ctx, "demo"); err == nil || !strings.Contains(err.Error(), "could only be restored until") {
		t.Fatalf("undeleting after the window: %v", err)
	}
	// A new cluster may take the name.
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
}
