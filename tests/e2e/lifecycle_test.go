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
		Spec: kv.PSCSpec{Version: "3.9.0", Replicas: brokers, Controllers: 3, Storage: kv.Storage{SizeGiB: 10},
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
	kube := kubetest.Start(t)
	e := newEnv(t)
	e.startRealSatellite("us-west-2", kube)
	ctx := context.Background()
	const id = "pkc-life"
	ns := satellite.Namespace(id)
	key := kv.Key{Satellite: "us-west-2", Product: kv.ProductKafka, Cluster: id}
	gen := int64(1)
	step := func(p *kv.PSC, phase kv.Phase) *kv.Status {
		t.Helper()
		p.Generation = gen
		e.putDesired(p)
		st := e.waitActual(key, gen, phase, 120*time.Second)
		gen++
		return st
	}

	// A neighbour: nothing that happens to pkc-life may touch it.
	other := kafkaPSC("pkc-other", 1, 3)
	e.putDesired(other)
	e.waitActual(other.Key(), 1, kv.PhaseReady, 120*time.Second)
	testkit.CheckFor(t, 30*time.Second, func() error { // the cloud's load balancers settle first
		svcs, err := kube.Client.CoreV1().Services(satellite.Namespace("pkc-other")).List(ctx, metav1.ListOptions{})
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
	otherBefore := objectVersions(t, kube, satellite.Namespace("pkc-other"))

	st := step(kafkaPSC(id, 0, 3), kv.PhaseReady)
	if len(st.Roles) != 2 || st.Roles[0].Name != "controller" || st.Roles[0].Ready != 3 || st.Roles[1].Name != "broker" || st.Roles[1].Ready != 3 || st.Bootstrap == "" {
		t.Fatalf("status: %+v", st)
	}

	t.Log("resize up: 6 brokers, 6 broker load balancers")
	step(kafkaPSC(id, 0, 6), kv.PhaseReady)
	if _, err := kube.Client.CoreV1().Services(ns).Get(ctx, "kafka-broker-5", metav1.GetOptions{}); err != nil {
		t.Fatalf("broker 5 load balancer: %v", err)
	}
	t.Log("resize down: 3 brokers; the load balancers of the others go")
	step(kafkaPSC(id, 0, 3), kv.PhaseReady)
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := kube.Client.CoreV1().Services(ns).Get(ctx, "kafka-broker-5", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("broker 5 load balancer still there (%v)", err)
		}
		return nil
	})

	t.Log("version upgrade: a rolling restart, one pod at a time, controllers then brokers, highest ordinal first")
	pw := watchPods(t, kube, ns)
	mark := auditLines(t, kube)
	upgraded := kafkaPSC(id, 0, 3)
	upgraded.Spec.Version = "3.9.1"
	step(upgraded, kv.PhaseReady)
	order := satelliteEvictions(t, kube, mark, "us-west-2")
	wantOrder := []string{"kafka-controller-2", "kafka-controller-1", "kafka-controller-0", "kafka-broker-2", "kafka-broker-1", "kafka-broker-0"}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("the satellite evicted %v, want %v\npod deletions in the audit log:\n%s", order, wantOrder, strings.Join(podDeletions(t, kube), "\n"))
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
	sts, _ := kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	if img := sts.Spec.Template.Spec.Containers[0].Image; img != "apache/kafka:3.9.1" {
		t.Fatalf("image %s", img)
	}

	t.Log("certificate rotation: the Secret changes, no pod template does, no pod restarts")
	before, _ := kube.Client.CoreV1().Secrets(ns).Get(ctx, "kafka-tls", metav1.GetOptions{})
	tmplBroker, tmplController := templateOf(t, kube, ns, "kafka-broker"), templateOf(t, kube, ns, "kafka-controller")
	podsBefore, _ := kube.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	rotated := kafkaPSC(id, 0, 3)
	rotated.Spec.Version, rotated.Spec.TLSSerial = "3.9.1", 1
	step(rotated, kv.PhaseReady)
	after, _ := kube.Client.CoreV1().Secrets(ns).Get(ctx, "kafka-tls", metav1.GetOptions{})
	if string(before.Data["tls.crt"]) == string(after.Data["tls.crt"]) || after.Annotations["orbit.dev/tls-serial"] != "1" {
		t.Fatal("the certificate was not reissued")
	}
	if templateOf(t, kube, ns, "kafka-broker") != tmplBroker || templateOf(t, kube, ns, "kafka-controller") != tmplController {
		t.Fatal("a certificate rotation changed a pod template")
	}
	podsAfter, _ := kube.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if uids(podsBefore.Items) != uids(podsAfter.Items) {
		t.Fatal("a certificate rotation restarted pods")
	}

	t.Log("scale-down below the replication factor is held")
	tooSmall := kafkaPSC(id, 0, 2)
	tooSmall.Spec.Version, tooSmall.Spec.TLSSerial = "3.9.1", 1
	st = step(tooSmall, kv.PhaseDegraded)
	if st.Reason != "ScaleDownHeld" || !strings.Contains(st.Message, "replication factor is 3") {
		t.Fatalf("held scale-down status: %s %s", st.Reason, st.Message)
	}
	sts, _ = kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	if *sts.Spec.Replicas != 3 {
		t.Fatalf("brokers %d after a held scale-down", *sts.Spec.Replicas)
	}
	current := kafkaPSC(id, 0, 3)
	current.Spec.Version, current.Spec.TLSSerial = "3.9.1", 1
	step(current, kv.PhaseReady)

	t.Log("drift, with the control plane down: a deleted Service and a hand-scaled StatefulSet come back")
	e.stopControlPlane()
	if err := kube.Client.CoreV1().Services(ns).Delete(ctx, "kafka-broker-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	scale, _ := kube.Client.AppsV1().StatefulSets(ns).GetScale(ctx, "kafka-broker", metav1.GetOptions{})
	scale.Spec.Replicas = 5
	if _, err := kube.Client.AppsV1().StatefulSets(ns).UpdateScale(ctx, "kafka-broker", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := kube.Client.CoreV1().Services(ns).Get(ctx, "kafka-broker-1", metav1.GetOptions{}); err != nil {
			return err
		}
		s, err := kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil || *s.Spec.Replicas != 3 {
			return fmt.Errorf("brokers not back to 3: %v", err)
		}
		return nil
	})
	e.startControlPlane()
	testkit.CheckFor(t, 60*time.Second, func() error {
		if st := pscStatus(t, kube, id); !strings.Contains(st, `"phase":"ready"`) {
			return fmt.Errorf("PSC status %s", st)
		}
		return nil
	})
	e.waitActual(key, gen-1, kv.PhaseReady, 60*time.Second)

	t.Log("a satellite restart with nothing changed writes nothing to Kubernetes")
	pscBefore := pscStatus(t, kube, id)
	e.stopSatellite("us-west-2")
	mark = auditLines(t, kube)
	e.startRealSatellite("us-west-2", kube)
	time.Sleep(3 * time.Second) // informers synced, every key reconciled
	if writes := satelliteWrites(t, kube, mark, "us-west-2"); len(writes) > 0 {
		t.Fatalf("the restarted satellite wrote to Kubernetes: %v\nPSC status before: %s\nafter: %s", writes, pscBefore, pscStatus(t, kube, id))
	}

	t.Log("delete keeps the volumes; undelete binds the same ones again")
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-orbits", Namespace: ns}, Data: map[string]string{"a": "b"}}
	if _, err := kube.Client.CoreV1().ConfigMaps(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, kube, ns)
	// 3 controllers and 6 brokers: the volumes of brokers scaled away are kept too.
	if len(claims) != 9 {
		t.Fatalf("%d volume claims, want 9: %v", len(claims), claims)
	}
	deleted := kafkaPSC(id, 0, 3)
	deleted.Spec.Version, deleted.Spec.TLSSerial, deleted.Deleted = "3.9.1", 1, true
	later := time.Now().Add(time.Hour)
	deleted.PurgeAfter = &later
	step(deleted, kv.PhaseDeleted)
	if _, err := kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("brokers after delete: %v", err)
	}
	if got := claimsOf(t, kube, ns); !mapsEqual(got, claims) {
		t.Fatalf("volumes after delete %v, want %v", got, claims)
	}
	step(current, kv.PhaseReady)
	if got := claimsOf(t, kube, ns); !mapsEqual(got, claims) {
		t.Fatalf("volumes after undelete %v, want the same %v", got, claims)
	}

	t.Log("after the retention window, the volumes are purged; what the satellite does not own stays")
	deleted.Generation = 0
	soon := time.Now().Add(2 * time.Second)
	deleted.PurgeAfter = &soon
	step(deleted, kv.PhasePurged)
	if got := claimsOf(t, kube, ns); len(got) != 0 {
		t.Fatalf("volumes after purge: %v", got)
	}
	if _, err := kube.Client.CoreV1().ConfigMaps(ns).Get(ctx, "not-orbits", metav1.GetOptions{}); err != nil {
		t.Fatalf("the satellite touched an object it does not own: %v", err)
	}
	if _, err := kube.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("the namespace holding an object the satellite does not own was deleted: %v", err)
	}
	if after := objectVersions(t, kube, satellite.Namespace("pkc-other")); !mapsEqual(after, otherBefore) {
		t.Fatalf("the neighbour's objects changed:\nbefore %v\nafter  %v", otherBefore, after)
	}
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
