package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/orbitcp/orbit/tests/kubetest"
)

// The baseline does the fan-out the way Kubernetes-based fleet managers (Open Cluster
// Management's ManifestWork, Karmada's Work) do: the desired state of each member
// cluster's workloads is an object in that cluster's namespace of a hub kube-apiserver,
// and an agent per member cluster watches its namespace with an informer. Same workload as
// Orbit's: clusters whose size changes, a change counts when the agent sees it. It is
// given every advantage: the cheapest object (a ConfigMap, no CRD), writes straight to the
// hub API (no controllers between the request and the object), client rate limits off.

type baseline struct {
	kube   *kubetest.Cluster
	client kubernetes.Interface
	dir    string

	mu     sync.Mutex
	onSeen func(ns, name string, cku int, at time.Time)
	stops  []chan struct{}
}

func startBaseline() (*baseline, error) {
	if why := kubetest.Available(); why != "" {
		return nil, errors.New(why)
	}
	dir, err := os.MkdirTemp("", "orbit-bench-baseline-")
	if err != nil {
		return nil, err
	}
	k, err := kubetest.StartAPIServer(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &baseline{kube: k, dir: dir}
	if b.client, err = kubernetes.NewForConfig(unlimited(k.Config)); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func unlimited(c *rest.Config) *rest.Config {
	c = rest.CopyConfig(c)
	c.QPS, c.Burst = -1, 0
	return c
}

func (b *baseline) close() {
	for _, s := range b.stops {
		close(s)
	}
	_ = b.kube.Stop()
	os.RemoveAll(b.dir)
}

// member creates a member cluster's namespace with n cluster objects, starts its agent
// (its own client, an informer on its namespace) and waits until the agent has them all.
func (b *baseline) member(ctx context.Context, ns string, n int) error {
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c" + strconv.Itoa(i)}, Data: map[string]string{"cku": "1"}}
		if _, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	agent, err := kubernetes.NewForConfig(unlimited(b.kube.Config))
	if err != nil {
		return err
	}
	f := informers.NewSharedInformerFactoryWithOptions(agent, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().ConfigMaps().Informer()
	seen := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		at := time.Now()
		cku, _ := strconv.Atoi(cm.Data["cku"])
		b.mu.Lock()
		fn := b.onSeen
		b.mu.Unlock()
		if fn != nil {
			fn(cm.Namespace, cm.Name, cku, at)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, o any) { seen(o) }}); err != nil {
		return err
	}
	stop := make(chan struct{})
	b.stops = append(b.stops, stop)
	f.Start(stop)
	for _, ok := range f.WaitForCacheSync(stop) {
		if !ok {
			return fmt.Errorf("%s: the agent's cache did not sync", ns)
		}
	}
	return nil
}

func (b *baseline) setOnSeen(fn func(ns, name string, cku int, at time.Time)) {
	b.mu.Lock()
	b.onSeen = fn
	b.mu.Unlock()
}

// resize is the baseline's change: a read-modify-write of the cluster's object, retried on
// a conflict as any controller would.
func (b *baseline) resize(ctx context.Context, ns, name string, cku int) error {
	for {
		cm, err := b.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["cku"] = strconv.Itoa(cku)
		_, err = b.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
}

// runBaseline measures the baseline's propagation latency at the rates of the Orbit API
// scenario and its sustained throughput with as many clients as Orbit's.
func runBaseline(ctx context.Context, o options) ([]Result, error) {
	rates := []float64{100, 250, 500, 1000}
	dur, clusters, workers, tpDur := 10*time.Second, 100, 64, 15*time.Second
	if o.quick {
		rates, dur, clusters, workers, tpDur = []float64{200}, 2*time.Second, 20, 32, 3*time.Second
	}
	b, err := startBaseline()
	if err != nil {
		return nil, err
	}
	defer b.close()
	const ns = "member-us-west-2"
	if err := b.member(ctx, ns, clusters); err != nil {
		return nil, err
	}
	var out []Result
	l := newLoad(clusters, func(i int) string { return "c" + strconv.Itoa(i) }, func(i, cku int) error {
		return b.resize(ctx, ns, "c"+strconv.Itoa(i), cku)
	})
	for _, rate := range rates {
		tr := newTracker()
		b.setOnSeen(func(_, name string, cku int, at time.Time) { tr.seenCKU(name, cku, at) })
		sent, failed := l.open(tr, rate, dur)
		b.setOnSeen(nil)
		out = append(out, Result{Scenario: "api→desired", System: "baseline", Params: map[string]any{"rate": rate, "seconds": dur.Seconds(), "clusters": clusters},
			Figures: latencyFigures(tr, sent, failed),
			Notes:   "update of the cluster's object in the hub API server → the member's agent informer sees it"})
	}

	// Throughput: a closed loop, as for Orbit.
	tr := newTracker()
	var lastSeen atomic.Int64
	b.setOnSeen(func(_, name string, cku int, at time.Time) { tr.seenCKU(name, cku, at); lastSeen.Store(at.UnixNano()) })
	start := time.Now()
	sent, failed, ran := l.closed(tr, workers, tpDur)
	out = append(out, Result{Scenario: "throughput", System: "baseline",
		Params:  map[string]any{"clients": workers, "clusters": clusters, "seconds": tpDur.Seconds()},
		Figures: throughputFigures(tr, sent, failed, ran, start, lastSeen.Load()),
		Notes:   "closed loop of object updates on the hub API server; a change counts when the member's agent sees it"})
	return out, nil
}
