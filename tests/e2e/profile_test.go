package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestProfileChangeReachesClusters: an operator sets a new kafka/dedicated profile (a new
// version and configuration) through the API, with no code change; every existing cluster
// of that product and SKU converges to it, and new ones start with it.
func TestProfileChangeReachesClusters(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	ops, _ := api.NewClient(e.cp.URL(), opKey, nil)
	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))

	if _, err := e.client.SetProfile(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.1", ReplicasPerCKU: 3, StorageGiB: 1}); err == nil {
		t.Fatal("an admin set a profile")
	}
	if _, err := ops.SetProfile(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "latest", ReplicasPerCKU: 3, StorageGiB: 1}); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("a bad profile: %v", err)
	}
	// Kafka's own definitions decide: a key the version does not define, one Orbit owns, a
	// version the satellites cannot run. Each is refused naming the field; none is kept.
	for field, spec := range map[string]api.ProfileSpec{
		"config.log.retention.millis": {Version: "3.9.1", ReplicasPerCKU: 3, StorageGiB: 1, Config: map[string]string{"log.retention.millis": "1"}},
		"config.listeners":            {Version: "3.9.1", ReplicasPerCKU: 3, StorageGiB: 1, Config: map[string]string{"listeners": "PLAINTEXT://:9092"}},
		"config.super.users":          {Version: "3.9.1", ReplicasPerCKU: 3, StorageGiB: 1, Config: map[string]string{"super.users": "User:ANONYMOUS"}},
		"version":                     {Version: "2.8.0", ReplicasPerCKU: 3, StorageGiB: 1},
	} {
		var apiErr *api.StatusError
		if _, err := ops.SetProfile(ctx, "kafka", "dedicated", spec); !errors.As(err, &apiErr) || apiErr.Err.Field != field {
			t.Fatalf("profile with a bad %s: %v", field, err)
		}
	}
	p, err := ops.SetProfile(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.1", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 200,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2", "log.retention.hours": "72"}})
	if err != nil || p.Revision != 1 {
		t.Fatalf("set profile: %v %+v", err, p)
	}
	ns := satellite.Namespace(physicalID(c))
	testkit.CheckFor(t, 30*time.Second, func() error {
		sts, err := sat.Kube.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if img := sts.Spec.Template.Spec.Containers[0].Image; img != "apache/kafka:3.9.1" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})
	cm, _ := sat.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "kafka-config", metav1.GetOptions{})
	if !strings.Contains(cm.Data["broker.properties"], "log.retention.hours=72") {
		t.Fatalf("configuration:\n%s", cm.Data["broker.properties"])
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))
	profiles, err := ops.ListProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range profiles {
		if pr.Product == "kafka" && pr.SKU == "dedicated" && (pr.Revision != 1 || pr.Spec.Version != "3.9.1") {
			t.Fatalf("listed profile %+v", pr)
		}
	}
}
