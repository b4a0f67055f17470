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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// brokerImage is the Kafka image a satellite runs for a cluster.
func brokerImage(t *testing.T, sat *devstack.SatelliteNode, c *api.Cluster) string {
	t.Helper()
	sts, err := sat.Kube.AppsV1().StatefulSets(satellite.Namespace(physicalID(c))).Get(context.Background(), "kafka-broker", metav1.GetOptions{})
	if err != nil {
		return "none: " + err.Error()
	}
	return sts.Spec.Template.Spec.Containers[0].Image
}

// getRollout runs `orbit rollout get ID -o json`.
func getRollout(t *testing.T, e *env, key, id string) api.Rollout {
	t.Helper()
	out, _, err := e.orbitAs(key, "rollout", "get", id, "-o", "json")
	if err != nil {
		t.Fatalf("rollout get %s: %v", id, err)
	}
	var ro api.Rollout
	if err := json.Unmarshal([]byte(out), &ro); err != nil {
		t.Fatalf("rollout get %s: %v\n%s", id, err, out)
	}
	return ro
}

func targetOf(ro api.Rollout, cluster string) api.RolloutTarget {
	for _, t := range ro.Targets {
		if t.Cluster == cluster {
			return t
		}
	}
	return api.RolloutTarget{}
}

func hasHistory(ro api.Rollout, action, actor string) bool {
	for _, h := range ro.History {
		if h.Action == action && h.Actor == actor {
			return true
		}
	}
	return false
}

// TestRolloutThroughCLI: clusters on two satellites. `orbit profile set` with no strategy
// changes only the canary (the cluster labelled canary=true) while it soaks; a resize of a
// cluster not rolled yet keeps the old version; pause and resume; a rollout created with
// a short soak supersedes it and, with --wait, shows its waves until complete; finalize,
// then roll back is refused; a bigger disk cannot be rolled back; a roll back of a
// configuration change restores the old revision on the changed clusters; abort stops a
// rollout with the clusters not started at their revision. Every action is in the
// rollout's history with its actor.
func TestRolloutThroughCLI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	west := e.startSatellite("us-west-2")
	eu := e.startSatellite("eu-west-1")
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	op := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := e.orbitAs(opKey, args...)
		return out, err
	}
	var clusters []*api.Cluster
	sats := map[string]*devstack.SatelliteNode{}
	for _, spec := range []struct{ name, region string }{{"a", "us-west-2"}, {"b", "us-west-2"}, {"c", "eu-west-1"}} {
		c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: spec.name, Product: "kafka", CKU: 1, Region: spec.region})
		if err != nil {
			t.Fatal(err)
		}
		clusters = append(clusters, c)
		sats[spec.name] = map[string]*devstack.SatelliteNode{"us-west-2": west, "eu-west-1": eu}[spec.region]
	}
	for _, c := range clusters {
		e.waitFor(c.Name, 60*time.Second, readyWith(3))
	}
	a, b, c := clusters[0], clusters[1], clusters[2]
	image := func(cl *api.Cluster) string { return brokerImage(t, sats[cl.Name], cl) }

	// Labels and pins are operators' business.
	if _, _, err := e.orbit("cluster", "label", physicalID(c), "canary=true"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a tenant admin labelled a physical cluster: %v", err)
	}
	if _, err := op("cluster", "label", physicalID(c), "canary=true"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.orbit("rollout", "list"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a tenant admin listed rollouts: %v", err)
	}

	dir := t.TempDir()
	profileFile := func(version string, disk int, extra string) string {
		f := filepath.Join(dir, fmt.Sprintf("profile-%s-%d-%s.yaml", version, disk, extra))
		body := fmt.Sprintf("version: %s\nreplicasPerCKU: 3\ncontrollers: 3\nstorageGiB: %d\nconfig:\n  default.replication.factor: \"3\"\n  min.insync.replicas: \"2\"\n", version, disk)
		if extra != "" {
			body += "  log.retention.hours: \"" + extra + "\"\n"
		}
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	setProfile := func(file string, flags ...string) api.Profile {
		t.Helper()
		out, err := op(append([]string{"profile", "set", "kafka", "dedicated", "-f", file, "-o", "json"}, flags...)...)
		if err != nil {
			t.Fatalf("profile set: %v", err)
		}
		var p api.Profile
		if err := json.Unmarshal([]byte(out), &p); err != nil || p.Rollout == "" {
			t.Fatalf("profile set: %v %s", err, out)
		}
		return p
	}

	// 1. The default strategy: the canary first; nothing else before it is healthy (it soaks
	// for 2 minutes, longer than this part of the test).
	p1 := setProfile(profileFile("3.9.1", 500, ""))
	testkit.CheckFor(t, 60*time.Second, func() error {
		if img := image(c); img != "apache/kafka:3.9.1" {
			return fmt.Errorf("canary runs %s", img)
		}
		if tg := targetOf(getRollout(t, e, opKey, p1.Rollout), physicalID(c)); tg.State != api.TargetRolling || tg.Reason != "soaking" {
			return fmt.Errorf("canary target %+v", tg)
		}
		return nil
	})
	ro := getRollout(t, e, opKey, p1.Rollout)
	if ro.Waves < 2 || ro.Wave != 0 || len(ro.Progress[0].Counts) != 1 || targetOf(ro, physicalID(c)).Wave != 0 {
		t.Fatalf("default rollout of three clusters: %+v", ro)
	}
	// A user's resize of a cluster not rolled yet keeps its revision.
	two := 2
	if _, err := e.client.UpdateCluster(ctx, "a", api.ClusterUpdate{CKU: &two}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a", 60*time.Second, readyWith(6))
	for _, cl := range []*api.Cluster{a, b} {
		if img := image(cl); img != "apache/kafka:3.9.0" {
			t.Fatalf("%s runs %s before the canary is healthy", cl.Name, img)
		}
	}

	// 2. Pause and resume, through the CLI, in the history with the actor.
	if _, err := op("rollout", "pause", p1.Rollout, "--reason", "checking the canary"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if ro := getRollout(t, e, opKey, p1.Rollout); ro.State != api.RolloutPaused {
			return fmt.Errorf("state %s", ro.State)
		}
		return nil
	})
	if _, err := op("rollout", "resume", p1.Rollout); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if ro := getRollout(t, e, opKey, p1.Rollout); ro.State != api.RolloutRunning {
			return fmt.Errorf("state %s", ro.State)
		}
		return nil
	})

	// 3. A rollout with a short soak supersedes it; --wait shows the waves to the end.
	strategy := filepath.Join(dir, "strategy.yaml")
	if err := os.WriteFile(strategy, []byte("strategy:\n  waves:\n  - name: canary\n    count: 1\n  - name: rest\n  soak: 2s\n  failureBudget: \"1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := op("rollout", "create", "--product", "kafka", "--sku", "dedicated", "-f", strategy, "--wait", "--timeout", "2m")
	if err != nil {
		t.Fatalf("rollout create --wait: %v\n%s", err, out)
	}
	if !strings.Contains(out, "wave 1:") || !strings.Contains(out, "wave 2:") || !strings.Contains(out, "complete") {
		t.Fatalf("--wait progress:\n%s", out)
	}
	for _, cl := range clusters {
		if img := image(cl); img != "apache/kafka:3.9.1" {
			t.Fatalf("%s runs %s after the rollout", cl.Name, img)
		}
	}
	list, err := op("rollout", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ros []api.Rollout
	if err := json.Unmarshal([]byte(list), &ros); err != nil || len(ros) != 2 || ros[0].State != api.RolloutSuperseded || ros[1].State != api.RolloutComplete {
		t.Fatalf("rollouts: %v %s", err, list)
	}
	r2 := ros[1].ID
	ro = getRollout(t, e, opKey, p1.Rollout)
	if !hasHistory(ro, "pause", ro.CreatedBy) || !hasHistory(ro, "resume", ro.CreatedBy) {
		t.Fatalf("history of %s: %+v", p1.Rollout, ro.History)
	}

	// 4. Finalize; a finalized rollout is not rolled back.
	if _, err := op("rollout", "finalize", r2); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if ro := getRollout(t, e, opKey, r2); !ro.Finalized {
			return fmt.Errorf("not finalized: %+v", ro)
		}
		return nil
	})
	if _, err := op("rollout", "rollback", r2); err == nil || !strings.Contains(err.Error(), "finalized") {
		t.Fatalf("rollback of a finalized rollout: %v", err)
	}

	// 5. A bigger disk is not rolled back.
	p2 := setProfile(profileFile("3.9.1", 600, ""), "--all-at-once", "--soak", "1s")
	waitRollout := func(id, state string) api.Rollout {
		t.Helper()
		var ro api.Rollout
		testkit.CheckFor(t, 3*time.Minute, func() error {
			if ro = getRollout(t, e, opKey, id); ro.State != state {
				return fmt.Errorf("rollout %s is %s (%s), want %s", id, ro.State, ro.Reason, state)
			}
			return nil
		})
		return ro
	}
	waitRollout(p2.Rollout, api.RolloutComplete)
	if _, err := op("rollout", "rollback", p2.Rollout); err == nil || !strings.Contains(err.Error(), "disk") {
		t.Fatalf("rollback of a bigger disk: %v", err)
	}

	// 6. A configuration change rolled back: the changed clusters return to the revision
	// before it.
	p3 := setProfile(profileFile("3.9.1", 600, "72"), "--all-at-once", "--soak", "1s")
	waitRollout(p3.Rollout, api.RolloutComplete)
	out, err = op("rollout", "rollback", p3.Rollout, "-o", "json")
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	var back api.Rollout
	if err := json.Unmarshal([]byte(out), &back); err != nil || back.Kind != "rollback" || back.Revision != p2.Revision || back.RollbackOf != p3.Rollout {
		t.Fatalf("rollback: %v %s", err, out)
	}
	waitRollout(back.ID, api.RolloutComplete)
	for _, cl := range clusters {
		cm, err := sats[cl.Name].Kube.CoreV1().ConfigMaps(satellite.Namespace(physicalID(cl))).Get(ctx, "kafka-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cm.Data["broker.properties"], "log.retention.hours=72") {
			t.Fatalf("%s still has the rolled-back configuration", cl.Name)
		}
	}
	if ro := getRollout(t, e, opKey, p3.Rollout); !hasHistory(ro, "rollback", ro.CreatedBy) || ro.State != api.RolloutComplete {
		t.Fatalf("rolled-back rollout: %+v", ro)
	}

	// 7. Abort: the clusters not started keep their revision.
	p4 := setProfile(profileFile("3.9.1", 600, "96"))
	if _, err := op("rollout", "abort", p4.Rollout, "--reason", "wrong retention"); err != nil {
		t.Fatal(err)
	}
	ro = waitRollout(p4.Rollout, api.RolloutAborted)
	started := 0
	for _, tg := range ro.Targets {
		if tg.StartedAt != nil {
			started++
		} else if tg.State != api.TargetSkipped {
			t.Fatalf("a target not started after the abort: %+v", tg)
		}
	}
	if started > 1 || !hasHistory(ro, "abort", ro.CreatedBy) {
		t.Fatalf("aborted rollout: %d started, %+v", started, ro)
	}
	if out, err := op("rollout", "get", p4.Rollout); err != nil || !strings.Contains(out, "aborted") || !strings.Contains(out, "wrong retention") {
		t.Fatalf("rollout get: %v\n%s", err, out)
	}
}

// TestRolloutWithSatelliteOffline: a satellite disconnected during the rollout: its
// cluster shows offline and neither holds the next wave nor spends the budget; the clusters
// on the other satellite roll wave after wave; its stale Ready never counts; once it
// reconnects its cluster rolls and the rollout completes.
func TestRolloutWithSatelliteOffline(t *testing.T) {
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) {
		c.SatelliteTTL, c.RolloutInterval = 2*time.Second, 200*time.Millisecond
	})
	e.heartbeat = 200 * time.Millisecond
	ctx := context.Background()
	west := e.startSatellite("us-west-2")
	e.startSatellite("eu-west-1")
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	ops, _ := api.NewClient(e.cp.URL(), opKey, nil)
	var clusters []*api.Cluster
	for _, spec := range []struct{ name, region string }{{"a", "us-west-2"}, {"b", "us-west-2"}, {"c", "eu-west-1"}} {
		c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: spec.name, Product: "kafka", CKU: 1, Region: spec.region})
		if err != nil {
			t.Fatal(err)
		}
		clusters = append(clusters, c)
	}
	for _, c := range clusters {
		e.waitFor(c.Name, 60*time.Second, readyWith(3))
	}
	a, b, c := clusters[0], clusters[1], clusters[2]
	e.stopSatellite("eu-west-1")

	// The new revision; the rollout takes the disconnected satellite's cluster first.
	if _, err := ops.SetProfileRollout(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.1", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}, "", time.Second); err != nil {
		t.Fatal(err)
	}
	ro, err := ops.CreateRollout(ctx, api.RolloutRequest{Product: "kafka", SKU: "dedicated", Strategy: &api.RolloutStrategy{
		Waves: []api.Wave{{Name: "eu", Selector: &api.Selector{Satellites: []string{"eu-west-1"}}}, {Name: "west-1", Count: 1}, {Name: "rest"}},
		Soak:  api.Duration(time.Second), OfflineDeadline: api.Duration(10 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 90*time.Second, func() error {
		got, err := ops.GetRollout(ctx, ro.ID)
		if err != nil {
			return err
		}
		if tg := targetOf(*got, physicalID(c)); tg.State != api.TargetOffline {
			return fmt.Errorf("c: %+v", tg)
		}
		for _, cl := range []*api.Cluster{a, b} {
			if tg := targetOf(*got, physicalID(cl)); tg.State != api.TargetDone {
				return fmt.Errorf("%s: %+v", cl.Name, tg)
			}
		}
		if got.State != api.RolloutRunning || got.Wave != 2 {
			return fmt.Errorf("rollout %s wave %d (%s)", got.State, got.Wave, got.Reason)
		}
		return nil
	})
	for _, cl := range []*api.Cluster{a, b} {
		if img := brokerImage(t, west, cl); img != "apache/kafka:3.9.1" {
			t.Fatalf("%s runs %s", cl.Name, img)
		}
	}
	// Back: c rolls, and is done only once its satellite reports the new revision.
	eu := e.startSatellite("eu-west-1")
	testkit.CheckFor(t, 90*time.Second, func() error {
		got, err := ops.GetRollout(ctx, ro.ID)
		if err != nil {
			return err
		}
		if got.State != api.RolloutComplete {
			return fmt.Errorf("rollout %s (%s): %+v", got.State, got.Reason, got.Progress)
		}
		return nil
	})
	if img := brokerImage(t, eu, c); img != "apache/kafka:3.9.1" {
		t.Fatalf("c runs %s after its satellite came back", img)
	}
}
