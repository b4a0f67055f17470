package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// The lifecycle tests drive a satellite on a real Kubernetes the way the mothership does,
// by writing desired values into the hub's bucket, so that each step is exactly the PSC
// under test.

func (e *env) bucket(name string) jetstream.KeyValue {
	e.t.Helper()
	js, err := jetstream.New(e.cp.Conn)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := js.KeyValue(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) putDesired(p *kv.PSC) {
	e.t.Helper()
	data, err := kv.Encode(p)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.bucket(kv.BucketDesired).Put(context.Background(), p.Key().String(), data); err != nil {
		e.t.Fatal(err)
	}
}

// waitActual waits until the satellite reports the key at generation in phase.
func (e *env) waitActual(key kv.Key, generation int64, phase kv.Phase, timeout time.Duration) *kv.Status {
	e.t.Helper()
	var st *kv.Status
	testkit.CheckFor(e.t, timeout, func() error {
		entry, err := e.bucket(kv.BucketActual).Get(context.Background(), key.String())
		if err != nil {
			return err
		}
		if st, err = kv.DecodeStatus(entry.Value()); err != nil {
			return err
		}
		if st.ObservedGeneration != generation || st.Phase != phase {
			return fmt.Errorf("observed %d phase %s (%s: %s), want %d %s", st.ObservedGeneration, st.Phase, st.Reason, st.Message, generation, phase)
		}
		return nil
	})
	return st
}

func kafkaPSC(id string, gen int64, brokers int32) *kv.PSC {
	return &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: id, Satellite: "us-west-2", Product: kv.ProductKafka, Generation: gen,
		Spec: kv.PSCSpec{Version: "3.9.0", Replicas: brokers, Controllers: 3, Storage: kv.Storage{SizeGiB: 10}, KafkaClusterID: "MkU3OEVBNTcwNTJENDM2Qg",
			Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}}
}

// podWatch records, in the order the API server committed them, when each pod of one
// namespace started terminating and when a new incarnation of it became ready. Ordering by
// the watch stream rather than by clocks makes "evicted only after the previous pod was
// back" exact: the satellite's informer and this watch see the same sequence.
type podWatch struct {
	mu     sync.Mutex
	events []podEvent
	stop   func()
}

type podEvent struct {
	pod   string
	ready bool // else: started terminating
}

// index is the position of the first event for pod of that kind at or after from, or -1.
func (pw *podWatch) index(pod string, ready bool, from int) int {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	for i := max(from, 0); i < len(pw.events); i++ {
		if pw.events[i] == (podEvent{pod, ready}) {
			return i
		}
	}
	return -1
}

func watchPods(t *testing.T, k *kubetest.Cluster, ns string) *podWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := k.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pw := &podWatch{stop: func() { w.Stop(); cancel() }}
	wasReady, terminating := map[types.UID]bool{}, map[types.UID]bool{}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			var e *podEvent
			switch {
			case ev.Type == watch.Deleted || p.DeletionTimestamp != nil:
				if !terminating[p.UID] {
					terminating[p.UID] = true
					e = &podEvent{pod: p.Name}
				}
			case podIsReady(p) && !wasReady[p.UID]:
				wasReady[p.UID] = true
				e = &podEvent{pod: p.Name, ready: true}
			}
			if e != nil {
				pw.mu.Lock()
				pw.events = append(pw.events, *e)
				pw.mu.Unlock()
			}
		}
	}()
	return pw
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func templateOf(t *testing.T, k *kubetest.Cluster, ns, sts string) string {
	t.Helper()
	s, err := k.Client.AppsV1().StatefulSets(ns).Get(context.Background(), sts, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s.Spec.Template)
	return string(b)
}

// TestKafkaLifecycleOnRealKubernetes walks one Kafka cluster through resize up and down,
// a version upgrade (brokers roll one at a time, in order), a certificate rotation (no pod
// template changes), a held scale-down, delete and undelete on the same volumes, drift
// repair with the control plane down, a restart that writes nothing, and a purge.
func TestKafkaLifecycleOnRealKubernetes(t *testing.T) {
	l := startLifecycle(t)
	neighbour := l.startNeighbour()

	l.create()
	l.resizeUpAndDown()
	l.upgradeRollsOnePodAtATime()
	l.rotateCertificateWithoutRestarts()
	l.holdScaleDownBelowReplicationFactor()
	l.repairDriftWithoutTheControlPlane()
	l.restartSatelliteWithoutWrites()
	l.deleteAndUndeleteOnTheSameVolumes()
	l.purgeAfterRetention()

	if after := objectVersions(t, l.kube, neighbourNS); !mapsEqual(after, neighbour) {
		t.Fatalf("the neighbour's objects changed:\nbefore %v\nafter  %v", neighbour, after)
	}
}

const (
	lifecycleID = "pkc-life"
	neighbourID = "pkc-other"
)

var neighbourNS = satellite.Namespace(neighbourID)

// lifecycle is the cluster TestKafkaLifecycleOnRealKubernetes walks, and where it is.
type lifecycle struct {
	t    *testing.T
	e    *env
	kube *kubetest.Cluster
	ctx  context.Context
	ns   string
	key  kv.Key
	gen  int64 // the generation the next step writes
}

func startLifecycle(t *testing.T) *lifecycle {
	kube := kubetest.Start(t)
	e := newEnv(t)
	e.startRealSatellite("us-west-2", kube)
	return &lifecycle{t: t, e: e, kube: kube, ctx: context.Background(), ns: satellite.Namespace(lifecycleID),
		key: kv.Key{Satellite: "us-west-2", Product: kv.ProductKafka, Cluster: lifecycleID}, gen: 1}
}

// step writes p as the next generation and waits until the satellite reports it in phase.
func (l *lifecycle) step(p *kv.PSC, phase kv.Phase) *kv.Status {
	l.t.Helper()
	p.Generation = l.gen
	l.e.putDesired(p)
	st := l.e.waitActual(l.key, l.gen, phase, 120*time.Second)
	l.gen++
	return st
}

// upgraded is the cluster on 3.9.1 with its certificates rotated once: the spec from the
// rotation on.
func upgraded(brokers int32) *kv.PSC {
	p := kafkaPSC(lifecycleID, 0, brokers)
	p.Spec.Version, p.Spec.TLSSerial = "3.9.1", 1
	return p
}

// startNeighbour runs a second cluster, which nothing that happens to pkc-life may touch,
// and returns its objects' versions once its load balancers settled.
func (l *lifecycle) startNeighbour() map[string]string {
	t := l.t
	t.Helper()
	other := kafkaPSC(neighbourID, 1, 3)
	l.e.putDesired(other)
	l.e.waitActual(other.Key(), 1, kv.PhaseReady, 120*time.Second)
	testkit.CheckFor(t, 30*time.Second, func() error { // the cloud's load balancers settle first
		svcs, err := l.kube.Client.CoreV1().Services(neighbourNS).List(l.ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range svcs.Items {
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
				return fmt.Errorf("%s has no address yet", s.Name)
			}
		}
		return nil
	})
	return objectVersions(t, l.kube, neighbourNS)
}

func (l *lifecycle) create() {
	l.t.Helper()
	st := l.step(kafkaPSC(lifecycleID, 0, 3), kv.PhaseReady)
	if len(st.Roles) != 2 || st.Roles[0].Name != "controller" || st.Roles[0].Ready != 3 || st.Roles[1].Name != "broker" || st.Roles[1].Ready != 3 {
		l.t.Fatalf("status: %+v", st)
	}
	// The bootstrap is reported, as its DNS name, once the cloud gave its load balancer an
	// address.
	testkit.CheckFor(l.t, 30*time.Second, func() error {
		entry, err := l.e.bucket(kv.BucketActual).Get(l.ctx, kafkaPSC(lifecycleID, 0, 3).Key().String())
		if err != nil {
			return err
		}
		if st, err = kv.DecodeStatus(entry.Value()); err != nil {
			return err
		}
		if want := "bootstrap." + lifecycleID + ".us-west-2.orbit.local:9092"; st.Bootstrap != want {
			return fmt.Errorf("bootstrap %q, want %q", st.Bootstrap, want)
		}
		return nil
	})
}

func (l *lifecycle) resizeUpAndDown() {
	t := l.t
	t.Helper()
	services := l.kube.Client.CoreV1().Services(l.ns)
	t.Log("resize up: 6 brokers, 6 broker load balancers")
	l.step(kafkaPSC(lifecycleID, 0, 6), kv.PhaseReady)
	if _, err := services.Get(l.ctx, "kafka-broker-5", metav1.GetOptions{}); err != nil {
		t.Fatalf("broker 5 load balancer: %v", err)
	}
	t.Log("resize down: 3 brokers; the load balancers of the others go")
	l.step(kafkaPSC(lifecycleID, 0, 3), kv.PhaseReady)
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := services.Get(l.ctx, "kafka-broker-5", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("broker 5 load balancer still there (%v)", err)
		}
		return nil
	})
}

func (l *lifecycle) upgradeRollsOnePodAtATime() {
	t := l.t
	t.Helper()
	t.Log("version upgrade: a rolling restart, one pod at a time, controllers then brokers, highest ordinal first")
	pw := watchPods(t, l.kube, l.ns)
	mark := auditLines(t, l.kube)
	p := kafkaPSC(lifecycleID, 0, 3)
	p.Spec.Version = "3.9.1"
	l.step(p, kv.PhaseReady)
	order := satelliteEvictions(t, l.kube, mark, "us-west-2")
	wantOrder := []string{"kafka-controller-2", "kafka-controller-1", "kafka-controller-0", "kafka-broker-2", "kafka-broker-1", "kafka-broker-0"}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("the satellite evicted %v, want %v\npod deletions in the audit log:\n%s", order, wantOrder, strings.Join(podDeletions(t, l.kube), "\n"))
	}
	// One at a time: in the API server's own order, each pod started terminating only after
	// the one evicted before it was back and ready.
	testkit.CheckFor(t, 10*time.Second, func() error { // the watch may still be delivering the last events
		if pw.index(wantOrder[len(wantOrder)-1], false, 0) < 0 {
			return errorf("the watch has not seen %s terminate yet", wantOrder[len(wantOrder)-1])
		}
		return nil
	})
	pw.stop()
	for i := 1; i < len(wantOrder); i++ {
		prevGone := pw.index(wantOrder[i-1], false, 0)
		prevBack := pw.index(wantOrder[i-1], true, prevGone)
		next := pw.index(wantOrder[i], false, 0)
		if prevGone < 0 || prevBack < 0 || next < prevBack {
			t.Fatalf("%s started terminating (event %d) before %s was back and ready (terminated at event %d, ready at %d)", wantOrder[i], next, wantOrder[i-1], prevGone, prevBack)
		}
	}
	sts, _ := l.kube.Client.AppsV1().StatefulSets(l.ns).Get(l.ctx, "kafka-broker", metav1.GetOptions{})
	if img := sts.Spec.Template.Spec.Containers[0].Image; img != "apache/kafka:3.9.1" {
		t.Fatalf("image %s", img)
	}
}

func (l *lifecycle) rotateCertificateWithoutRestarts() {
	t, kube, ns := l.t, l.kube, l.ns
	t.Helper()
	t.Log("certificate rotation: the Secret changes, no pod template does, no pod restarts")
	before, _ := kube.Client.CoreV1().Secrets(ns).Get(l.ctx, "kafka-tls", metav1.GetOptions{})
	tmplBroker, tmplController := templateOf(t, kube, ns, "kafka-broker"), templateOf(t, kube, ns, "kafka-controller")
	podsBefore, _ := kube.Client.CoreV1().Pods(ns).List(l.ctx, metav1.ListOptions{})
	l.step(upgraded(3), kv.PhaseReady)
	after, _ := kube.Client.CoreV1().Secrets(ns).Get(l.ctx, "kafka-tls", metav1.GetOptions{})
	if string(before.Data["tls.crt"]) == string(after.Data["tls.crt"]) || after.Annotations["orbit.dev/tls-serial"] != "1" {
		t.Fatal("the certificate was not reissued")
	}
	if templateOf(t, kube, ns, "kafka-broker") != tmplBroker || templateOf(t, kube, ns, "kafka-controller") != tmplController {
		t.Fatal("a certificate rotation changed a pod template")
	}
	podsAfter, _ := kube.Client.CoreV1().Pods(ns).List(l.ctx, metav1.ListOptions{})
	if uids(podsBefore.Items) != uids(podsAfter.Items) {
		t.Fatal("a certificate rotation restarted pods")
	}
}

func (l *lifecycle) holdScaleDownBelowReplicationFactor() {
	t := l.t
	t.Helper()
	t.Log("scale-down below the replication factor is held")
	st := l.step(upgraded(2), kv.PhaseDegraded)
	if st.Reason != "ScaleDownTooFewBrokers" || !strings.Contains(st.Message, "replication factor is 3") {
		t.Fatalf("held scale-down status: %s %s", st.Reason, st.Message)
	}
	sts, _ := l.kube.Client.AppsV1().StatefulSets(l.ns).Get(l.ctx, "kafka-broker", metav1.GetOptions{})
	if *sts.Spec.Replicas != 3 {
		t.Fatalf("brokers %d after a held scale-down", *sts.Spec.Replicas)
	}
	l.step(upgraded(3), kv.PhaseReady)
}

func (l *lifecycle) repairDriftWithoutTheControlPlane() {
	t, ctx, ns := l.t, l.ctx, l.ns
	t.Helper()
	t.Log("drift, with the control plane down: a deleted Service and a hand-scaled StatefulSet come back")
	client := l.kube.Client
	l.e.stopControlPlane()
	if err := client.CoreV1().Services(ns).Delete(ctx, "kafka-broker-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	scale, _ := client.AppsV1().StatefulSets(ns).GetScale(ctx, "kafka-broker", metav1.GetOptions{})
	scale.Spec.Replicas = 5
	if _, err := client.AppsV1().StatefulSets(ns).UpdateScale(ctx, "kafka-broker", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := client.CoreV1().Services(ns).Get(ctx, "kafka-broker-1", metav1.GetOptions{}); err != nil {
			return err
		}
		s, err := client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil || *s.Spec.Replicas != 3 {
			return fmt.Errorf("brokers not back to 3: %v", err)
		}
		return nil
	})
	l.e.startControlPlane()
	testkit.CheckFor(t, 60*time.Second, func() error {
		if st := pscStatus(t, l.kube, lifecycleID); !strings.Contains(st, `"phase":"ready"`) {
			return fmt.Errorf("PSC status %s", st)
		}
		return nil
	})
	l.e.waitActual(l.key, l.gen-1, kv.PhaseReady, 60*time.Second)
}

func (l *lifecycle) restartSatelliteWithoutWrites() {
	t := l.t
	t.Helper()
	t.Log("a satellite restart with nothing changed writes nothing to Kubernetes")
	pscBefore := pscStatus(t, l.kube, lifecycleID)
	reported := l.e.actualRevisions()
	l.e.stopSatellite("us-west-2")
	mark := auditLines(t, l.kube)
	l.e.startRealSatellite("us-west-2", l.kube)
	// Its informers synced and every key reconciled: each cluster's status is sent again
	// (a new satellite process remembers none it sent).
	l.e.waitReportedSince(reported)
	// Not synchronisation: a quiet window in which a late write would still show.
	time.Sleep(time.Second)
	if writes := satelliteWrites(t, l.kube, mark, "us-west-2"); len(writes) > 0 {
		t.Fatalf("the restarted satellite wrote to Kubernetes: %v\nPSC status before: %s\nafter: %s", writes, pscBefore, pscStatus(t, l.kube, lifecycleID))
	}
}

func (l *lifecycle) deleteAndUndeleteOnTheSameVolumes() {
	t, kube, ns := l.t, l.kube, l.ns
	t.Helper()
	t.Log("delete keeps the volumes; undelete binds the same ones again")
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-orbits", Namespace: ns}, Data: map[string]string{"a": "b"}}
	if _, err := kube.Client.CoreV1().ConfigMaps(ns).Create(l.ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, kube, ns)
	// 3 controllers and 6 brokers: the volumes of brokers scaled away are kept too.
	if len(claims) != 9 {
		t.Fatalf("%d volume claims, want 9: %v", len(claims), claims)
	}
	later := time.Now().Add(time.Hour)
	l.step(deletedPSC(later), kv.PhaseDeleted)
	if _, err := kube.Client.AppsV1().StatefulSets(ns).Get(l.ctx, "kafka-broker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("brokers after delete: %v", err)
	}
	if got := claimsOf(t, kube, ns); !mapsEqual(got, claims) {
		t.Fatalf("volumes after delete %v, want %v", got, claims)
	}
	l.step(upgraded(3), kv.PhaseReady)
	if got := claimsOf(t, kube, ns); !mapsEqual(got, claims) {
		t.Fatalf("volumes after undelete %v, want the same %v", got, claims)
	}
}

// purgeAfterRetention expects the ConfigMap deleteAndUndeleteOnTheSameVolumes left, which
// the satellite does not own.
func (l *lifecycle) purgeAfterRetention() {
	t, kube, ns := l.t, l.kube, l.ns
	t.Helper()
	t.Log("after the retention window, the volumes are purged; what the satellite does not own stays")
	l.step(deletedPSC(time.Now().Add(2*time.Second)), kv.PhasePurged)
	if got := claimsOf(t, kube, ns); len(got) != 0 {
		t.Fatalf("volumes after purge: %v", got)
	}
	if _, err := kube.Client.CoreV1().ConfigMaps(ns).Get(l.ctx, "not-orbits", metav1.GetOptions{}); err != nil {
		t.Fatalf("the satellite touched an object it does not own: %v", err)
	}
	if _, err := kube.Client.CoreV1().Namespaces().Get(l.ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("the namespace holding an object the satellite does not own was deleted: %v", err)
	}
}

// deletedPSC is the cluster deleted, its volumes purged after purgeAfter.
func deletedPSC(purgeAfter time.Time) *kv.PSC {
	p := upgraded(3)
	p.Deleted, p.PurgeAfter = true, &purgeAfter
	return p
}

// actualRevisions maps every key of the actual bucket to its revision.
func (e *env) actualRevisions() map[string]uint64 {
	e.t.Helper()
	ctx := context.Background()
	actual := e.bucket(kv.BucketActual)
	keys, err := actual.ListKeys(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]uint64{}
	for k := range keys.Keys() {
		entry, err := actual.Get(ctx, k)
		if err != nil {
			e.t.Fatal(err)
		}
		out[k] = entry.Revision()
	}
	return out
}

// waitReportedSince waits until every key of revisions has a newer status.
func (e *env) waitReportedSince(revisions map[string]uint64) {
	e.t.Helper()
	actual := e.bucket(kv.BucketActual)
	testkit.CheckFor(e.t, 60*time.Second, func() error {
		for k, rev := range revisions {
			entry, err := actual.Get(context.Background(), k)
			if err != nil {
				return err
			}
			if entry.Revision() <= rev {
				return fmt.Errorf("no status for %s since revision %d", k, rev)
			}
		}
		return nil
	})
}

// objectVersions maps every workload, service, configuration, secret, budget and volume
// claim of a namespace to its resource version.
func objectVersions(t *testing.T, k *kubetest.Cluster, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(kind string, items []metav1.Object) {
		for _, o := range items {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	c := k.Client
	sts, err1 := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	svc, err2 := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	cm, err3 := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	sec, err4 := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	pdb, err5 := c.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	pvc, err6 := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		t.Fatal(err)
	}
	for i := range sts.Items {
		add("StatefulSet", []metav1.Object{&sts.Items[i]})
	}
	for i := range svc.Items {
		add("Service", []metav1.Object{&svc.Items[i]})
	}
	for i := range cm.Items {
		add("ConfigMap", []metav1.Object{&cm.Items[i]})
	}
	for i := range sec.Items {
		add("Secret", []metav1.Object{&sec.Items[i]})
	}
	for i := range pdb.Items {
		add("PodDisruptionBudget", []metav1.Object{&pdb.Items[i]})
	}
	for i := range pvc.Items {
		add("PersistentVolumeClaim", []metav1.Object{&pvc.Items[i]})
	}
	if len(out) == 0 {
		t.Fatalf("no objects in %s", ns)
	}
	return out
}

func uids(pods []corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, string(p.UID))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// claimsOf maps each volume claim of the namespace to its volume.
func claimsOf(t *testing.T, k *kubetest.Cluster, ns string) map[string]string {
	t.Helper()
	var out map[string]string
	testkit.CheckFor(t, 30*time.Second, func() error {
		l, err := k.Client.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		out = map[string]string{}
		for _, c := range l.Items {
			if c.DeletionTimestamp != nil {
				return fmt.Errorf("claim %s is being deleted", c.Name)
			}
			if c.Status.Phase != corev1.ClaimBound {
				return fmt.Errorf("claim %s is %s", c.Name, c.Status.Phase)
			}
			out[c.Name] = c.Spec.VolumeName
		}
		return nil
	})
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// auditLines is how many lines the API server's audit log has.
func auditLines(t *testing.T, k *kubetest.Cluster) int {
	t.Helper()
	return len(readAudit(t, k))
}

func readAudit(t *testing.T, k *kubetest.Cluster) []string {
	t.Helper()
	f, err := os.Open(k.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		t.Fatal(err)
	}
	return lines
}

// satelliteWrites lists the mutating requests a satellite made after line mark of the
// audit log.
func satelliteWrites(t *testing.T, k *kubetest.Cluster, mark int, name string) []string {
	t.Helper()
	var out []string
	for _, line := range readAudit(t, k)[mark:] {
		var ev struct {
			Verb      string `json:"verb"`
			UserAgent string `json:"userAgent"`
			Stage     string `json:"stage"`
			ObjectRef struct {
				Resource, Namespace, Name, Subresource string
			} `json:"objectRef"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Stage != "ResponseComplete" || ev.UserAgent != satellite.UserAgent(name) {
			continue
		}
		switch ev.Verb {
		case "create", "update", "patch", "delete", "deletecollection":
			out = append(out, fmt.Sprintf("%s %s %s/%s %s", ev.Verb, ev.ObjectRef.Resource, ev.ObjectRef.Namespace, ev.ObjectRef.Name, ev.ObjectRef.Subresource))
		}
	}
	return out
}

func pscStatus(t *testing.T, k *kubetest.Cluster, name string) string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	u, err := dyn.Resource(satellite.PSCResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	b, _ := json.Marshal(u.Object["status"])
	return string(b)
}

// podDeletions lists who deleted or evicted which pod, from the audit log.
func podDeletions(t *testing.T, k *kubetest.Cluster) []string {
	var out []string
	for _, line := range readAudit(t, k) {
		var ev struct {
			Verb, UserAgent, Stage string
			ObjectRef              struct{ Resource, Name, Subresource string } `json:"objectRef"`
			ResponseStatus         struct{ Code int }                           `json:"responseStatus"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Stage != "ResponseComplete" || ev.ObjectRef.Resource != "pods" {
			continue
		}
		if ev.Verb == "delete" || ev.ObjectRef.Subresource == "eviction" {
			out = append(out, fmt.Sprintf("%s %s/%s by %q: %d", ev.Verb, ev.ObjectRef.Name, ev.ObjectRef.Subresource, ev.UserAgent, ev.ResponseStatus.Code))
		}
	}
	return out
}

// satelliteEvictions lists the evictions a satellite made after line mark of the audit log,
// with when the API server received them.
func satelliteEvictions(t *testing.T, k *kubetest.Cluster, mark int, name string) []string {
	t.Helper()
	var out []string
	for _, line := range readAudit(t, k)[mark:] {
		var ev struct {
			UserAgent, Stage string
			ObjectRef        struct{ Resource, Name, Subresource string } `json:"objectRef"`
			ResponseStatus   struct{ Code int }                           `json:"responseStatus"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Stage != "ResponseComplete" || ev.UserAgent != satellite.UserAgent(name) ||
			ev.ObjectRef.Resource != "pods" || ev.ObjectRef.Subresource != "eviction" || ev.ResponseStatus.Code != 201 {
			continue
		}
		out = append(out, ev.ObjectRef.Name)
	}
	return out
}
