package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// realKafkaCluster starts a real API server with Kafka-protocol brokers behind its pods, a
// satellite on it (configured by tweak too) and a ready 1-CKU Kafka cluster "demo"; it
// returns the cluster's physical id and its harness cluster.
func realKafkaCluster(t *testing.T, tweak func(*devstack.SatelliteConfig)) (*env, *kubetest.Cluster, *devstack.SatelliteNode, string, *simkafka.Cluster) {
	t.Helper()
	kube := kubetest.Start(t)
	fleet := kube.RunKafka(t)
	e := newEnv(t)
	sat := e.startRealSatellite("us-west-2", kube, func(c *devstack.SatelliteConfig) {
		c.KafkaDial, c.KafkaObserveEvery = fleet.DialContext, 300*time.Millisecond
		if tweak != nil {
			tweak(c)
		}
	})
	if _, err := e.client.CreateCluster(context.Background(), api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 120*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if c.Status.Bootstrap == "" {
			return fmt.Errorf("no bootstrap yet")
		}
		return nil
	})
	id := physicalID(c)
	kc, ok := fleet.Get(id)
	if !ok {
		t.Fatalf("no Kafka harness for %s", id)
	}
	return e, kube, sat, id, kc
}

// TestMitigationOnRealKubernetes: on a real API server, with Kafka-protocol brokers behind
// the pods, a broker whose log directory Kafka reports above the threshold gets its claim
// grown by the satellite, and the action is an Event on the PSC object. Turned off by the
// annotation on the PSC, and then through the API, another full broker is left alone.
func TestMitigationOnRealKubernetes(t *testing.T) {
	e, kube, sat, id, kc := realKafkaCluster(t, nil)
	ctx := context.Background()
	ns := satellite.Namespace(id)
	// Kafka reports the log directory of the broker named in full as 95% used (the
	// harness answers DescribeLogDirs from where replicas live, plus what FillDisk adds).
	var full atomic.Int32
	fill := func(node int32) {
		if prev := full.Swap(node); prev != 0 {
			kc.FillDisk(prev, 0)
		}
		if node != 0 {
			kc.FillDisk(node, simkafka.DefaultDiskBytes*95/100)
		}
	}
	claim := func(ordinal int) resource.Quantity {
		pvc, err := kube.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, fmt.Sprintf("data-kafka-broker-%d", ordinal), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	events := func() []corev1.Event {
		l, err := kube.Client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + id})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	initial := claim(1)

	fill(1001)
	testkit.CheckFor(t, 30*time.Second, func() error {
		evs := events()
		if len(evs) != 1 || evs[0].Reason != "GrewVolume" || evs[0].InvolvedObject.Kind != "PhysicalStatefulCluster" {
			return fmt.Errorf("events %+v", evs)
		}
		if q := claim(1); q.Cmp(initial) <= 0 {
			return fmt.Errorf("claim of broker 1 still asks for %s", q.String())
		}
		return nil
	})
	t.Logf("event: %s", events()[0].Message)

	// Off by the annotation: a full broker 2 is left alone.
	patch := []byte(`{"metadata":{"annotations":{"` + satellite.AnnotationMitigation + `":"off"}}}`)
	if _, err := sat.Dynamic.Resource(satellite.PSCResource).Patch(ctx, id, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	quiet := func(ordinal int, node int32, reason string) {
		t.Helper()
		// The satellite took it: its status says so.
		testkit.CheckFor(t, 30*time.Second, func() error {
			u, err := sat.Dynamic.Resource(satellite.PSCResource).Get(ctx, id, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				if m, _ := c.(map[string]any); m["type"] == "Mitigation" && m["status"] == "False" && strings.Contains(fmt.Sprint(m["message"]), reason) {
					return nil
				}
			}
			return fmt.Errorf("no Mitigation condition saying %q: %v", reason, conds)
		})
		fill(node)
		// Not synchronisation: ten of the satellite's looks at the cluster, in which it may not act.
		time.Sleep(3 * time.Second)
		if q := claim(ordinal); q.Cmp(initial) != 0 || len(events()) != 1 {
			t.Fatalf("acted while off: claim of broker %d asks for %s, events %+v", ordinal, q.String(), events())
		}
	}
	quiet(2, 1002, "annotation")

	// Annotation removed, off through the API: broker 0 full is left alone.
	off := "off"
	if _, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{Mitigation: &off}); err != nil {
		t.Fatal(err)
	}
	fill(0)
	patch = []byte(`{"metadata":{"annotations":{"` + satellite.AnnotationMitigation + `":null}}}`)
	if _, err := sat.Dynamic.Resource(satellite.PSCResource).Patch(ctx, id, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	quiet(0, 1000, "desired state")
}
