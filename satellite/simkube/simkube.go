// Package simkube simulates the parts of Kubernetes that bring workloads up, for dev mode and
// fast tests: on top of client-go's fake clientset it plays the StatefulSet controller and
// the kubelets (replicas become ready one step at a time, a new pod template rolls them)
// and a load-balancer controller (LoadBalancer services get an ingress address). It writes
// only the status subresource of what it simulates.
package simkube

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// Cluster is a simulated Kubernetes.
type Cluster struct {
	// Client and Dynamic are the clients to give to a satellite.
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Step is how long one replica takes to become ready.
	Step time.Duration
	log  *slog.Logger

	// Hook, if set, takes part in every step: a data-plane simulation (simkafka.Kube) that
	// starts and stops what the ready replicas serve. LoadBalancer services it claims get
	// their ingress from it, not from the default pool.
	Hook Hook

	mu        sync.Mutex
	templates map[string]string // namespace/name → pod template hash last rolled out
}

// Hook is a simulation that runs after each step's StatefulSet changes.
type Hook interface {
	Step(ctx context.Context) error
	Claims(svc *corev1.Service) bool
}

// New returns a simulated cluster whose replicas become ready one per step, serving the
// given custom resources (resource → list kind) besides the built-in ones.
func New(step time.Duration, log *slog.Logger, custom map[schema.GroupVersionResource]string) *Cluster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cluster{Client: fake.NewClientset(), Dynamic: NewDynamic(custom), Step: step, log: log, templates: map[string]string{}}
}

// Run simulates until ctx ends.
func (c *Cluster) Run(ctx context.Context) error {
	f := informers.NewSharedInformerFactory(c.Client, 0)
	sets := f.Apps().V1().StatefulSets().Lister()
	svcs := f.Core().V1().Services().Lister()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	t := time.NewTicker(c.Step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.Shutdown()
			return nil
		case <-t.C:
		}
		all, err := sets.List(labels.Everything())
		if err != nil {
			return err
		}
		for _, sts := range all {
			if err := c.stepStatefulSet(ctx, sts); err != nil && ctx.Err() == nil {
				c.log.Debug("simkube: statefulset status", "name", sts.Name, "error", err)
			}
		}
		if c.Hook != nil {
			if err := c.Hook.Step(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("simkube: hook", "error", err)
			}
		}
		services, err := svcs.List(labels.Everything())
		if err != nil {
			return err
		}
		for _, svc := range services {
			if c.Hook != nil && c.Hook.Claims(svc) {
				continue
			}
			if err := assignLoadBalancer(ctx, c.Client, svc); err != nil && ctx.Err() == nil {
				c.log.Debug("simkube: service status", "name", svc.Name, "error", err)
			}
		}
	}
}

// stepStatefulSet moves a StatefulSet's status one replica towards its spec.
func (c *Cluster) stepStatefulSet(ctx context.Context, sts *appsv1.StatefulSet) error {
	want := int32(1)
	if sts.Spec.Replicas != nil {
		want = *sts.Spec.Replicas
	}
	hash := templateHash(sts)
	id := sts.Namespace + "/" + sts.Name
	c.mu.Lock()
	rolled, seen := c.templates[id]
	c.mu.Unlock()

	st := sts.Status
	next := st
	next.ObservedGeneration = sts.Generation
	next.Replicas = want
	next.UpdateRevision = sts.Name + "-" + hash
	if seen && rolled != hash {
		next.UpdatedReplicas = 0 // a new template: roll every replica again
	}
	switch {
	case next.UpdatedReplicas < want:
		next.UpdatedReplicas++
	case next.UpdatedReplicas > want:
		next.UpdatedReplicas = want
	}
	next.ReadyReplicas = min(next.UpdatedReplicas, want)
	next.AvailableReplicas = next.ReadyReplicas
	next.CurrentReplicas = next.UpdatedReplicas
	if next.UpdatedReplicas == want {
		next.CurrentRevision = next.UpdateRevision
	}
	c.mu.Lock()
	c.templates[id] = hash
	c.mu.Unlock()
	if statusEqual(st, next) {
		return nil
	}
	return patchStatus(ctx, c.Client, "statefulsets", sts.Namespace, sts.Name, next)
}

func statusEqual(a, b appsv1.StatefulSetStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// RunLoadBalancers plays a cloud's load-balancer controller on any cluster until ctx ends:
// every interval, each LoadBalancer service without an address gets one (in 198.18.0.0/16,
// derived from its name).
func RunLoadBalancers(ctx context.Context, client kubernetes.Interface, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		list, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range list.Items {
			_ = assignLoadBalancer(ctx, client, &list.Items[i])
		}
	}
}

// assignLoadBalancer gives a LoadBalancer service an ingress address.
func assignLoadBalancer(ctx context.Context, client kubernetes.Interface, svc *corev1.Service) error {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 {
		return nil
	}
	sum := sha256.Sum256([]byte(svc.Namespace + "/" + svc.Name))
	n := binary.BigEndian.Uint16(sum[:2])
	status := corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
		{IP: fmt.Sprintf("198.18.%d.%d", n>>8, n&0xff)},
	}}}
	return patchStatus(ctx, client, "services", svc.Namespace, svc.Name, status)
}

func patchStatus(ctx context.Context, client kubernetes.Interface, resource, ns, name string, status any) error {
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "simkube"}
	switch resource {
	case "statefulsets":
		_, err = client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType, body, opts, "status")
	case "services":
		_, err = client.CoreV1().Services(ns).Patch(ctx, name, types.MergePatchType, body, opts, "status")
	}
	return err
}

func templateHash(sts *appsv1.StatefulSet) string {
	b, _ := json.Marshal(sts.Spec.Template)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:5])
}
