package satellite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// brokerClaim makes the claim the StatefulSet controller would for broker i.
func brokerClaim(t *testing.T, cs *fake.Clientset, i int, class, size string) {
	t.Helper()
	labels := ownerLabels("sat", kv.ProductKafka, "pkc-1")
	labels[LabelComponent] = "kafka-broker"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("data-kafka-broker-%d", i), Namespace: Namespace("pkc-1"), Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}
	if _, err := cs.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(context.Background(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func storageCondition(st *kv.Status) *kv.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == conditionStorage {
			return &st.Conditions[i]
		}
	}
	return nil
}

// TestBiggerDiskWhereTheClassCannotExpand: claims of a class without volume expansion
// keep their size and status says why; the template still takes the new size (for new
// brokers); claims of an expandable class are asked to grow.
func TestBiggerDiskWhereTheClassCannotExpand(t *testing.T) {
	no, yes := false, true
	cs, dyn := fake.NewClientset(
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}, Provisioner: "x", AllowVolumeExpansion: &no},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "elastic"}, Provisioner: "x", AllowVolumeExpansion: &yes},
	), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	converge(t, p, b, testPSC(1, 3))
	brokerClaim(t, cs, 0, "fixed", "10Gi")
	brokerClaim(t, cs, 1, "fixed", "10Gi")
	brokerClaim(t, cs, 2, "elastic", "10Gi")
	ns := Namespace("pkc-1")
	testkit.CheckFor(t, cacheCatchUp, func() error {
		l, err := p.kube.claims.PersistentVolumeClaims(ns).List(p.op.clusterSelector(&PSCObject{ObjectMeta: metav1.ObjectMeta{Name: "pkc-1"}}))
		if err == nil && len(l) != 3 {
			err = fmt.Errorf("%d claims in the cache", len(l))
		}
		return err
	})

	bigger := testPSC(2, 3)
	bigger.Spec.Storage.SizeGiB = 20
	st := converge(t, p, b, bigger)
	c := storageCondition(st)
	if c == nil || c.Status != "False" || c.Reason != reasonExpansionNotAllowed || !strings.Contains(c.Message, `claims [data-kafka-broker-0 data-kafka-broker-1] cannot grow to 20Gi: storage class "fixed" does not allow volume expansion`) {
		t.Fatalf("storage condition: %+v", c)
	}
	for i, want := range []string{"10Gi", "10Gi", "20Gi"} {
		pvc, _ := cs.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), fmt.Sprintf("data-kafka-broker-%d", i), metav1.GetOptions{})
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != want {
			t.Errorf("claim %d asks for %s, want %s", i, q.String(), want)
		}
	}
	if q, _ := templateStorage(getSet(t, cs, ns, "kafka-broker")); q.String() != "20Gi" {
		t.Fatalf("the claim template asks for %s", q.String())
	}

	// A smaller disk is held: volumes never shrink.
	testkit.CheckFor(t, cacheCatchUp, func() error {
		sts, err := p.kube.sets.StatefulSets(ns).Get("kafka-broker")
		if err != nil {
			return err
		}
		if q, _ := templateStorage(sts); q.String() != "20Gi" {
			return fmt.Errorf("cached template at %s", q.String())
		}
		return nil
	})
	smaller := testPSC(3, 3)
	smaller.Spec.Storage.SizeGiB = 5
	st = converge(t, p, b, smaller)
	if c := storageCondition(st); c == nil || !strings.Contains(c.Message, "kafka-broker: disk stays at 20Gi: volumes cannot shrink to 5Gi") {
		t.Fatalf("storage condition: %+v", c)
	}
	if q, _ := templateStorage(getSet(t, cs, ns, "kafka-broker")); q.String() != "20Gi" {
		t.Fatalf("the claim template shrank to %s", q.String())
	}
}
