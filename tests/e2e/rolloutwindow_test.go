package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestRolloutMaintenanceWindowThroughCLI: an operator sets a weekly window on the cluster's
// region that is closed now (it opens in about twelve hours); `orbit profile set` starts a
// rollout whose canary waits for that window, shown with when it opens, and the cluster
// keeps its version; `orbit rollout override-windows` lets it proceed: the cluster rolls
// to the new version, and the override is in the history with its actor and reason.
func TestRolloutMaintenanceWindowThroughCLI(t *testing.T) {
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) { c.RolloutInterval = 200 * time.Millisecond })
	ctx := context.Background()
	west := e.startSatellite("us-west-2")
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	op := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := e.orbitAs(opKey, args...)
		return out, err
	}
	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "w", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(c.Name, 60*time.Second, readyWith(3))

	// A one-hour window that opens twelve hours from now: closed now, whatever the time.
	opens := time.Now().UTC().Add(12 * time.Hour).Truncate(time.Minute)
	weekly := fmt.Sprintf("%s@%s/1h", strings.ToLower(opens.Weekday().String()[:3]), opens.Format("15:04"))
	if _, _, err := e.orbit("window", "set", "region:us-west-2", "--weekly", weekly); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a tenant admin set the windows of a region: %v", err)
	}
	if out, err := op("window", "set", "region:us-west-2", "--weekly", weekly); err != nil || !strings.Contains(out, "region:us-west-2") {
		t.Fatalf("window set: %v\n%s", err, out)
	}

	profile := filepath.Join(t.TempDir(), "profile.yaml")
	body := "version: 3.9.1\nreplicasPerCKU: 3\ncontrollers: 3\nstorageGiB: 500\nconfig:\n  default.replication.factor: \"3\"\n  min.insync.replicas: \"2\"\n"
	if err := os.WriteFile(profile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := func() api.Profile {
		out, err := op("profile", "set", "kafka", "dedicated", "-f", profile, "-o", "json")
		if err != nil {
			t.Fatalf("profile set: %v", err)
		}
		var p api.Profile
		if err := json.Unmarshal([]byte(out), &p); err != nil || p.Rollout == "" {
			t.Fatalf("profile set: %v %s", err, out)
		}
		return p
	}()

	// The canary waits for its window, saying when it opens; the cluster keeps its version.
	wantOpen := opens.Format(time.RFC3339)
	testkit.CheckFor(t, 20*time.Second, func() error {
		tg := targetOf(getRollout(t, e, opKey, p.Rollout), physicalID(c))
		if tg.State != api.TargetWindow || !strings.Contains(tg.Reason, wantOpen) {
			return fmt.Errorf("target %+v, want %s with %s", tg, api.TargetWindow, wantOpen)
		}
		return nil
	})
	out, err := op("rollout", "get", p.Rollout)
	if err != nil || !strings.Contains(out, wantOpen) {
		t.Fatalf("rollout get does not show when the window opens (%s): %v\n%s", wantOpen, err, out)
	}
	time.Sleep(time.Second) // several controller steps: none starts the cluster
	if tg := targetOf(getRollout(t, e, opKey, p.Rollout), physicalID(c)); tg.State != api.TargetWindow || tg.StartedAt != nil {
		t.Fatalf("the cluster started outside its window: %+v", tg)
	}
	if img := brokerImage(t, west, c); img != "apache/kafka:3.9.0" {
		t.Fatalf("the cluster runs %s outside its window", img)
	}

	// An urgent fix: the operator overrides the windows; the cluster rolls, recorded.
	if _, err := op("rollout", "override-windows", p.Rollout, "--reason", "urgent fix"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		if img := brokerImage(t, west, c); img != "apache/kafka:3.9.1" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})
	ro := getRollout(t, e, opKey, p.Rollout)
	tg := targetOf(ro, physicalID(c))
	if tg.StartedAt == nil || tg.State == api.TargetWindow {
		t.Fatalf("after the override: %+v", tg)
	}
	found := false
	for _, h := range ro.History {
		if h.Action == "override-windows" && h.Actor == ro.CreatedBy && strings.Contains(h.Detail, "urgent fix") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the override is not in the history with its actor and reason: %+v", ro.History)
	}
}
