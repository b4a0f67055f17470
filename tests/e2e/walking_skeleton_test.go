package e2e

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
)

// TestCreateResizeDelete is the walking skeleton: a Kafka cluster requested through the API
// converges on a satellite (simulated Kubernetes), is resized, and is deleted.
func TestCreateResizeDelete(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testCreateResizeDelete(t, engine) })
	}
}

func testCreateResizeDelete(t *testing.T, engine string) {
	e := newEnv(t, onEngine(engine))
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()

	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Generation != 1 || c.Status.Phase == api.PhaseReady {
		t.Fatalf("fresh cluster: %+v", c)
	}
	c = e.waitFor("demo", 30*time.Second, readyWith(3))
	if c.Status.Brokers != 3 || c.Status.Satellite != "us-west-2" || c.Status.Bootstrap == "" {
		t.Fatalf("ready cluster: %+v", c.Status)
	}
	ns := satellite.Namespace("p" + c.ID[1:])
	sts, err := sat.Kube.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 3 {
		t.Fatalf("statefulset replicas %d", *sts.Spec.Replicas)
	}

	if _, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{CKU: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	c = e.waitFor("demo", 30*time.Second, readyWith(6))
	if c.Generation != 2 || c.CKU != 2 {
		t.Fatalf("resized cluster: generation %d cku %d", c.Generation, c.CKU)
	}

	if _, err := e.client.DeleteCluster(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, phaseIs(api.PhaseDeleted))
	if _, err := sat.Kube.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("statefulset after delete: %v", err)
	}
	if list, err := e.client.ListClusters(ctx); err != nil || len(list) != 0 {
		t.Fatalf("list after delete: %v %v", list, err)
	}
}

func ptr[T any](v T) *T { return &v }
