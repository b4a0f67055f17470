package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestSatelliteRepairsDriftWithoutTheMothership stops the whole control plane (mothership
// and hub), deletes an owned StatefulSet by hand, and expects the satellite to bring it back
// from its local mirror; after the control plane restarts, the API shows the right state.
func TestSatelliteRepairsDriftWithoutTheMothership(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testSatelliteRepairsDrift(t, engine) })
	}
}

func testSatelliteRepairsDrift(t *testing.T, engine string) {
	e := newEnv(t, onEngine(engine))
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 30*time.Second, readyWith(3))
	ns := satellite.Namespace("p" + c.ID[1:])
	sets := sat.Kube.AppsV1().StatefulSets(ns)

	e.stopControlPlane()
	testkit.CheckFor(t, 10*time.Second, func() error {
		if sat.Satellite.HubConnected() {
			return fmt.Errorf("satellite still connected to the hub")
		}
		return nil
	})

	// Drift: an owned object deleted, another edited by hand.
	if err := sets.Delete(ctx, "kafka-broker", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		sts, err := sets.Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *sts.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d", *sts.Spec.Replicas)
		}
		return nil
	})
	sts, _ := sets.Get(ctx, "kafka-broker", metav1.GetOptions{})
	sts.Spec.Replicas = ptr(int32(1))
	sts.ManagedFields = nil
	if _, err := sets.Update(ctx, sts, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		sts, err := sets.Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *sts.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d after the hand edit", *sts.Spec.Replicas)
		}
		return nil
	})

	e.startControlPlane()
	c = e.waitFor("demo", 60*time.Second, readyWith(3))
	if c.Generation != 1 {
		t.Fatalf("generation %d", c.Generation)
	}
	// And the control plane works again: a resize goes through.
	if _, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{CKU: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 60*time.Second, readyWith(6))
}

// TestSatelliteRestartKeepsClusters restarts a satellite; its clusters stay as they are and
// it reports them again.
func TestSatelliteRestartKeepsClusters(t *testing.T) {
	e := newEnv(t)
	e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))
	e.stopSatellite("us-west-2")
	// Changed while the satellite is away: it catches up when it is back.
	if _, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{CKU: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	e.startSatellite("us-west-2")
	e.waitFor("demo", 60*time.Second, readyWith(6))
}
