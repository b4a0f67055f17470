package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestBrokerRestartOnRealKubernetes: on a real API server, a broker the harness fences
// (Kafka no longer lists it) while its pod is Ready has that pod deleted by the satellite,
// one restart at a time and at most one per RestartEvery, each an Event on the PSC object.
// With mitigation off by the annotation, a fenced broker's pod is left alone.
func TestBrokerRestartOnRealKubernetes(t *testing.T) {
	e, kube, sat, id, kc := realKafkaCluster(t, func(c *devstack.SatelliteConfig) {
		c.Mitigation = satellite.MitigationConfig{RestartGrace: time.Second, RestartEvery: 6 * time.Second}
	})
	ctx := context.Background()
	ns := satellite.Namespace(id)
	uid := func(ordinal int) string {
		p, err := kube.Client.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("kafka-broker-%d", ordinal), metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return string(p.UID)
	}
	restarts := func() int {
		l, err := kube.Client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + id})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range l.Items {
			if ev.Reason == "RestartedBroker" && ev.InvolvedObject.Kind == "PhysicalStatefulCluster" {
				n++
			}
		}
		return n
	}
	before := [3]string{uid(0), uid(1), uid(2)}

	// Two brokers fenced: one pod is deleted, the other waits for the rate limit.
	kc.Fence(1, true)
	kc.Fence(2, true)
	testkit.CheckFor(t, 30*time.Second, func() error {
		if n := restarts(); n != 1 {
			return fmt.Errorf("%d restart events", n)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // not synchronisation: looks at the cluster within RestartEvery, in which none may act
	changed := 0
	for i := range 3 {
		if uid(i) != before[i] {
			changed++
		}
	}
	if changed != 1 || uid(0) != before[0] || restarts() != 1 {
		t.Fatalf("%d broker pods replaced (broker 0 replaced: %t), %d restart events; want one of brokers 1, 2",
			changed, uid(0) != before[0], restarts())
	}
	kc.Fence(1, false)
	kc.Fence(2, false)

	// Mitigation off by the annotation: a fenced broker's pod stays, though the rate limit
	// (RestartEvery) has passed and would allow a restart.
	patch := []byte(`{"metadata":{"annotations":{"` + satellite.AnnotationMitigation + `":"off"}}}`)
	if _, err := sat.Dynamic.Resource(satellite.PSCResource).Patch(ctx, id, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 60*time.Second, readyWith(3))
	time.Sleep(6 * time.Second)
	before = [3]string{uid(0), uid(1), uid(2)}
	kc.Fence(0, true)
	time.Sleep(4 * time.Second) // not synchronisation: grace and looks at the cluster in which it may not act
	if uid(0) != before[0] || restarts() != 1 {
		t.Fatalf("acted while off: broker 0 replaced %t, %d restart events", uid(0) != before[0], restarts())
	}
}
