package satellite

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestRollWaitsForTheWholeCluster: a broker is not evicted while a controller restarted on
// the new template is still joining, although no controller is outdated any more.
func TestRollWaitsForTheWholeCluster(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	key := putPSC(t, b, testPSC(1, 3))
	ctx := context.Background()
	p := newParts(t, cs, dyn, b)
	if err := p.sync.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, cacheCatchUp, func() error { _, err := p.kube.getPSC("pkc-1"); return err })
	if err := p.op.reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	ns := Namespace("pkc-1")
	// The StatefulSet controller's part: the sets are at revision "new"; the controllers
	// were all restarted (controller-0 is not ready yet), the brokers are all outdated.
	for _, name := range []string{"kafka-controller", "kafka-broker"} {
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, UpdateRevision: "new"}
		if _, err := cs.AppsV1().StatefulSets(ns).UpdateStatus(ctx, sts, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			rev, ready := "new", !(name == "kafka-controller" && i == 0)
			if name == "kafka-broker" {
				rev = "old"
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", name, i), Namespace: ns, UID: types.UID(fmt.Sprint(name, i)),
				Labels: map[string]string{appsv1.ControllerRevisionHashLabelKey: rev},
			}}
			for k, v := range sts.Spec.Selector.MatchLabels {
				pod.Labels[k] = v
			}
			status := corev1.ConditionFalse
			if ready {
				status = corev1.ConditionTrue
			}
			pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	testkit.CheckFor(t, cacheCatchUp, func() error {
		if pods, _ := p.kube.pods.Pods(ns).List(labels.Everything()); len(pods) != 6 {
			return fmt.Errorf("%d pods in the cache", len(pods))
		}
		if sts, err := p.kube.sets.StatefulSets(ns).Get("kafka-broker"); err != nil || sts.Status.UpdateRevision != "new" {
			return fmt.Errorf("the cache does not have the broker set's status yet (%v)", err)
		}
		return nil
	})

	o, _ := p.kube.getPSC("pkc-1")
	out, err := p.op.render.render(o)
	if err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	doing, err := p.op.roll(ctx, o, out)
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(cs.Actions()); len(w) != 0 {
		t.Fatalf("evicted with kafka-controller-0 not ready: %v (%s)", w, doing)
	}
	t.Log(doing)

	// Positive control: once the controller is ready, the highest broker goes.
	c0, _ := cs.CoreV1().Pods(ns).Get(ctx, "kafka-controller-0", metav1.GetOptions{})
	c0.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, c0, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, cacheCatchUp, func() error {
		if c, _ := p.kube.pods.Pods(ns).Get("kafka-controller-0"); !podReady(c) {
			return fmt.Errorf("the cache does not see kafka-controller-0 ready yet")
		}
		return nil
	})
	cs.ClearActions()
	if doing, err = p.op.roll(ctx, o, out); err != nil {
		t.Fatal(err)
	}
	var evicted []string
	for _, a := range cs.Actions() {
		if a.GetSubresource() == "eviction" {
			evicted = append(evicted, a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction).Name)
		}
	}
	if len(evicted) != 1 || evicted[0] != "kafka-broker-2" {
		t.Fatalf("evicted %v, want [kafka-broker-2] (%s)", evicted, doing)
	}
}
