package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
)

// TestHistoryAndCapacity: every change is in the history with who did it and the state
// before and after; satellites above 80% of their capacity are flagged.
func TestHistoryAndCapacity(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine))
			e.startSatelliteWith("us-west-2", "us-west-2", "aws", []string{"public"}, kv.Capacity{Clusters: 2, Brokers: 100})
			ctx := context.Background()
			opKey := frontend.NewAPIKey()
			if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
				t.Fatal(err)
			}
			ops, _ := api.NewClient(e.cp.URL(), opKey, nil)

			c := e.client
			if _, err := c.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
				t.Fatal(err)
			}
			e.waitFor("demo", 30*time.Second, readyWith(3))
			sats, err := ops.ListSatellites(ctx)
			if err != nil || len(sats) != 1 || sats[0].Clusters != 1 || sats[0].Utilization != 0.5 || sats[0].NearCapacity {
				t.Fatalf("satellites at 1 of 2 clusters: %v %+v", err, sats)
			}
			if _, err := c.UpdateCluster(ctx, "demo", api.ClusterUpdate{CKU: ptr(2)}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RotateCertificates(ctx, "demo"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DeleteCluster(ctx, "demo"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.UndeleteCluster(ctx, "demo"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateCluster(ctx, api.ClusterSpec{Name: "second", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
				t.Fatal(err)
			}
			e.waitFor("second", 30*time.Second, readyWith(3))
			sats, _ = ops.ListSatellites(ctx)
			if len(sats) != 1 || sats[0].Utilization != 1 || !sats[0].NearCapacity {
				t.Fatalf("satellites at 2 of 2 clusters: %+v", sats)
			}

			h, err := c.ClusterHistory(ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, en := range h {
				actions = append(actions, en.Action)
			}
			if want := []string{"create", "resize", "rotate-certificates", "delete", "undelete"}; !slices.Equal(actions, want) {
				t.Fatalf("history %v, want %v", actions, want)
			}
			keys, _ := c.ListAPIKeys(ctx)
			state := func(raw json.RawMessage) map[string]any {
				var m map[string]any
				_ = json.Unmarshal(raw, &m)
				return m
			}
			for _, en := range h {
				if en.Actor != keys[0].ID || en.At.IsZero() {
					t.Errorf("%s: actor %q at %v", en.Action, en.Actor, en.At)
				}
			}
			if h[0].Before != nil || state(h[0].After)["cku"] != float64(1) {
				t.Errorf("create entry: %s → %s", h[0].Before, h[0].After)
			}
			if state(h[1].Before)["cku"] != float64(1) || state(h[1].After)["cku"] != float64(2) {
				t.Errorf("resize entry: %s → %s", h[1].Before, h[1].After)
			}
			if state(h[3].After)["deletedAt"] == nil || state(h[4].After)["deletedAt"] != nil {
				t.Errorf("delete/undelete entries: %s, %s", h[3].After, h[4].After)
			}
			if _, err := c.ClusterHistory(ctx, "never-was"); !api.IsNotFound(err) {
				t.Errorf("history of a cluster that never was: %v", err)
			}
		})
	}
}
