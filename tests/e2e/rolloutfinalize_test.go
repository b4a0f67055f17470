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
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestFinalizeMetadataVersionThroughCLI: Kafka clusters on two satellites, formatted on
// Kafka 3.8 (metadata version 3.8-IV0), are upgraded to 3.9 by a rollout through the CLI.
// Complete, the rollout changed no cluster's metadata version: Kafka still reports 3.8-IV0
// and no UpdateFeatures reached any cluster. `orbit rollout finalize` then has every
// cluster's satellite finalize 3.9-IV0 through Kafka's UpdateFeatures, once per cluster;
// `orbit rollout get` and `orbit cluster get` show it, and the rollout is no longer rolled
// back.
func TestFinalizeMetadataVersionThroughCLI(t *testing.T) {
	e := newEnv(t)
	e.satConfig = func(c *devstack.SatelliteConfig) { c.KafkaHealthInterval = 300 * time.Millisecond }
	ctx := context.Background()
	sats := map[string]*devstack.SatelliteNode{"us-west-2": e.startSatellite("us-west-2"), "eu-west-1": e.startSatellite("eu-west-1")}
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	op := func(args ...string) string {
		t.Helper()
		out, _, err := e.orbitAs(opKey, args...)
		if err != nil {
			t.Fatalf("orbit %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	dir := t.TempDir()
	profile := func(version string) string {
		f := filepath.Join(dir, "profile-"+version+".yaml")
		body := "version: " + version + "\nreplicasPerCKU: 3\ncontrollers: 3\nstorageGiB: 500\n"
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	waitComplete := func(id string) api.Rollout {
		t.Helper()
		var ro api.Rollout
		testkit.CheckFor(t, 3*time.Minute, func() error {
			if ro = getRollout(t, e, opKey, id); ro.State != api.RolloutComplete {
				return fmt.Errorf("rollout %s is %s (%s)", id, ro.State, ro.Reason)
			}
			return nil
		})
		return ro
	}

	// Kafka 3.8 before any cluster exists: the clusters are formatted on it.
	op("profile", "set", "kafka", "dedicated", "-f", profile("3.8.0"), "--all-at-once", "--soak", "1s")
	type cluster struct {
		*api.Cluster
		kafka *simkafka.Cluster
	}
	var clusters []cluster
	for _, spec := range []struct{ name, region string }{{"a", "us-west-2"}, {"b", "us-west-2"}, {"c", "eu-west-1"}} {
		if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: spec.name, Product: "kafka", CKU: 1, Region: spec.region}); err != nil {
			t.Fatal(err)
		}
		c := e.waitFor(spec.name, 60*time.Second, readyWith(3))
		if img := brokerImage(t, sats[spec.region], c); img != "apache/kafka:3.8.0" {
			t.Fatalf("%s runs %s", c.Name, img)
		}
		k, ok := sats[spec.region].Kafka.Get(physicalID(c))
		if !ok {
			t.Fatalf("%s has no simulated Kafka", c.Name)
		}
		clusters = append(clusters, cluster{c, k})
	}
	reports := func(name, want string) func(c *api.Cluster) error {
		return func(c *api.Cluster) error {
			if c.Status.Kafka == nil || c.Status.Kafka.MetadataVersion != want {
				return fmt.Errorf("%s reports metadata version %+v, want %s", name, c.Status.Kafka, want)
			}
			return nil
		}
	}
	for _, c := range clusters {
		e.waitFor(c.Name, 30*time.Second, reports(c.Name, "3.8-IV0"))
	}

	// The upgrade to 3.9, waves of the default strategy with a short soak.
	out := op("profile", "set", "kafka", "dedicated", "-f", profile("3.9.0"), "--soak", "1s", "-o", "json")
	var p api.Profile
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Rollout == "" {
		t.Fatalf("profile set: %v %s", err, out)
	}
	id := p.Rollout
	ro := waitComplete(id)
	for _, c := range clusters {
		c.Cluster = e.waitFor(c.Name, 60*time.Second, readyWith(3))
		if img := brokerImage(t, sats[c.Region], c.Cluster); img != "apache/kafka:3.9.0" {
			t.Fatalf("%s runs %s after the upgrade", c.Name, img)
		}
	}
	// Not finalized: Kafka keeps the metadata version it was formatted at, for several
	// health reads, and nothing asked it to change.
	time.Sleep(time.Second)
	for _, c := range clusters {
		e.waitFor(c.Name, 10*time.Second, reports(c.Name, "3.8-IV0"))
		if level, updates := c.kafka.MetadataVersion(); level != 20 || updates != 0 {
			t.Fatalf("%s before the finalize: metadata.version %d after %d updates", c.Name, level, updates)
		}
	}
	if ro.Finalized || ro.MetadataVersion != "" {
		t.Fatalf("a rollout not finalized: %+v", ro)
	}

	// Finalize through the CLI.
	op("rollout", "finalize", id)
	testkit.CheckFor(t, 60*time.Second, func() error {
		ro = getRollout(t, e, opKey, id)
		if !ro.Finalized || ro.MetadataVersion != "3.9-IV0" || ro.FinalizedClusters != len(clusters) {
			return fmt.Errorf("rollout: finalized %v, metadata version %q on %d clusters", ro.Finalized, ro.MetadataVersion, ro.FinalizedClusters)
		}
		for _, tg := range ro.Targets {
			if !tg.Finalized || tg.MetadataVersion != "3.9-IV0" {
				return fmt.Errorf("target %+v", tg)
			}
		}
		return nil
	})
	if out := op("rollout", "get", id); !strings.Contains(out, "finalized: metadata version 3.9-IV0 on 3 of 3 clusters") {
		t.Fatalf("rollout get:\n%s", out)
	}
	for _, c := range clusters {
		if out, _, err := e.orbit("cluster", "get", c.Name); err != nil || !strings.Contains(out, "3.9-IV0") {
			t.Fatalf("cluster get %s: %v\n%s", c.Name, err, out)
		}
	}
	// Once per cluster: later health reads find the level there and send nothing.
	time.Sleep(time.Second)
	for _, c := range clusters {
		if level, updates := c.kafka.MetadataVersion(); level != 21 || updates != 1 {
			t.Fatalf("%s: metadata.version %d after %d updates, want 21 after 1", c.Name, level, updates)
		}
	}
	if _, _, err := e.orbitAs(opKey, "rollout", "rollback", id); err == nil || !strings.Contains(err.Error(), "finalized") {
		t.Fatalf("rollback of a finalized rollout: %v", err)
	}
	if ro := getRollout(t, e, opKey, id); !hasHistory(ro, "finalize", ro.CreatedBy) {
		t.Fatalf("history: %+v", ro.History)
	}
}
