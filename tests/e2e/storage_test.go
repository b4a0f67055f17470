package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestBiggerDiskOnRealKubernetes: a profile's bigger disk, on a real API server (which
// refuses any change to a StatefulSet's claim templates). The change is accepted, the
// existing claims grow (the test plays the volume resizer), no pod is replaced, and
// brokers added afterwards get the new size; the satellite's requests never fail.
func TestBiggerDiskOnRealKubernetes(t *testing.T) {
	const id = "pkc-disk"
	kube := kubetest.Start(t)
	e := newEnv(t)
	e.startRealSatellite("us-west-2", kube)
	l := &lifecycle{t: t, e: e, kube: kube, ctx: context.Background(), ns: satellite.Namespace(id),
		key: kv.Key{Satellite: "us-west-2", Product: kv.ProductKafka, Cluster: id}, gen: 1}
	kube.PlayVolumeResizer(t, l.ns)

	l.step(kafkaPSC(id, 0, 3), kv.PhaseReady)
	before := podUIDs(t, kube, l.ns)
	mark := auditLines(t, kube)

	t.Log("the profile's disk grows from 10Gi to 20Gi")
	bigger := kafkaPSC(id, 0, 3)
	bigger.Spec.Storage.SizeGiB = 20
	l.step(bigger, kv.PhaseReady)
	testkit.CheckFor(t, 60*time.Second, func() error {
		if err := claimsAt(kube, l.ns, 3, "20Gi"); err != nil {
			return err
		}
		return storageSettled(l)
	})
	sts, err := kube.Client.AppsV1().StatefulSets(l.ns).Get(l.ctx, "kafka-broker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Fatalf("the claim template asks for %s", q.String())
	}
	if after := podUIDs(t, kube, l.ns); !mapsEqual(after, before) {
		t.Fatalf("pods were replaced:\nbefore %v\nafter  %v", before, after)
	}

	t.Log("scale up: the new brokers get the new size")
	up := kafkaPSC(id, 0, 6)
	up.Spec.Storage.SizeGiB = 20
	l.step(up, kv.PhaseReady)
	testkit.CheckFor(t, 60*time.Second, func() error { return claimsAt(kube, l.ns, 6, "20Gi") })

	if failed := satelliteFailures(t, kube, mark, "us-west-2"); len(failed) > 0 {
		t.Fatalf("the API server refused the satellite's requests:\n%v", failed)
	}
}

// claimsAt checks that brokers 0..n-1 have claims that ask for size and hold it.
func claimsAt(k *kubetest.Cluster, ns string, n int, size string) error {
	want := resource.MustParse(size)
	for i := range n {
		name := fmt.Sprintf("data-kafka-broker-%d", i)
		pvc, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		req, capacity := pvc.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Status.Capacity[corev1.ResourceStorage]
		if req.Cmp(want) != 0 || capacity.Cmp(want) != 0 {
			return fmt.Errorf("%s asks for %s and holds %s, want %s", name, req.String(), capacity.String(), size)
		}
	}
	return nil
}

// storageSettled checks that the satellite no longer reports a storage change pending.
func storageSettled(l *lifecycle) error {
	entry, err := l.e.bucket(kv.BucketActual).Get(l.ctx, l.key.String())
	if err != nil {
		return err
	}
	st, err := kv.DecodeStatus(entry.Value())
	if err != nil {
		return err
	}
	for _, c := range st.Conditions {
		if c.Type == "StorageResized" && c.Status != "True" {
			return fmt.Errorf("storage: %s", c.Message)
		}
	}
	return nil
}

// satelliteFailures lists the requests of a satellite after line mark of the audit log
// that the API server refused, other than reads of what is not there and conflicts on
// preconditions and status writes (which a level-based reconcile retries by design).
func satelliteFailures(t *testing.T, k *kubetest.Cluster, mark int, name string) []string {
	t.Helper()
	var out []string
	for _, line := range readAudit(t, k)[mark:] {
		var ev struct {
			Verb, UserAgent, Stage string
			ObjectRef              struct{ Resource, Name, Subresource string } `json:"objectRef"`
			ResponseStatus         struct {
				Code    int
				Message string
			} `json:"responseStatus"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Stage != "ResponseComplete" || ev.UserAgent != satellite.UserAgent(name) {
			continue
		}
		code := ev.ResponseStatus.Code
		if code < 400 || (code == 404 && (ev.Verb == "get" || ev.Verb == "delete")) || code == 409 {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s/%s %s: %d %s", ev.Verb, ev.ObjectRef.Resource, ev.ObjectRef.Subresource, ev.ObjectRef.Name, code, ev.ResponseStatus.Message))
	}
	return out
}
