package kubetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/tests/testkit"
)

// TestHarnessRunsAStatefulSet proves the harness is a working Kubernetes: a StatefulSet with
// a volume claim gets scheduled by the real scheduler, its volumes provisioned, its pods run
// by kwok, and it reports ready replicas; a LoadBalancer service gets an address.
func TestHarnessRunsAStatefulSet(t *testing.T) {
	c := Start(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "harness"}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	labels := map[string]string{"app": "x"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "harness"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: "x", Selector: &metav1.LabelSelector{MatchLabels: labels},
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			}},
		},
	}
	if _, err := c.Client.AppsV1().StatefulSets("harness").Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lb", Namespace: "harness"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: labels, Ports: []corev1.ServicePort{{Port: 9092}}}}
	if _, err := c.Client.CoreV1().Services("harness").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := testkit.PollEvery(90*time.Second, 200*time.Millisecond, func() error {
		got, err := c.Client.AppsV1().StatefulSets("harness").Get(ctx, "x", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.ReadyReplicas != 3 {
			return fmt.Errorf("statefulset has %d ready replicas: %+v", got.Status.ReadyReplicas, got.Status)
		}
		s, _ := c.Client.CoreV1().Services("harness").Get(ctx, "lb", metav1.GetOptions{})
		if s == nil || len(s.Status.LoadBalancer.Ingress) != 1 {
			return errors.New("the load balancer has no address")
		}
		return nil
	})
	if err != nil {
		pods, _ := c.Client.CoreV1().Pods("harness").List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			t.Logf("pod %s: %s %v", p.Name, p.Status.Phase, p.Status.Conditions)
		}
		t.Fatalf("statefulset not ready: %v", err)
	}
	pvcs, err := c.Client.CoreV1().PersistentVolumeClaims("harness").List(ctx, metav1.ListOptions{})
	if err != nil || len(pvcs.Items) != 3 {
		t.Fatalf("pvcs: %v %d", err, len(pvcs.Items))
	}
	for _, p := range pvcs.Items {
		if p.Status.Phase != corev1.ClaimBound {
			t.Errorf("pvc %s is %s", p.Name, p.Status.Phase)
		}
	}
}
