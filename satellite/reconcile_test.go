package satellite

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/orbitcp/orbit/kv"
)

// testBucket is a real JetStream KV bucket named desired on an embedded server.
func testBucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	b, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: kv.BucketDesired})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testPSC(gen int64, replicas int32) *kv.PSC {
	return &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: "pkc-1", Satellite: "sat", Product: kv.ProductKafka, Generation: gen,
		Spec: kv.PSCSpec{Version: "3.9.0", Replicas: replicas, Storage: kv.Storage{SizeGiB: 10}, Config: map[string]string{"a.b": "c"}}}
}

func put(t *testing.T, b jetstream.KeyValue, psc *kv.PSC) string {
	t.Helper()
	data, err := kv.Encode(psc)
	if err != nil {
		t.Fatal(err)
	}
	key := psc.Key().String()
	if _, err := b.Put(context.Background(), key, data); err != nil {
		t.Fatal(err)
	}
	return key
}

// newTestReconciler starts informers on cs and returns a reconciler.
func newTestReconciler(t *testing.T, cs *fake.Clientset, b jetstream.KeyValue) *reconciler {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	k := newKube(cs, "sat")
	if err := k.start(ctx); err != nil {
		t.Fatal(err)
	}
	return newReconciler("sat", b, k, newPublisher(nil, slog.New(slog.DiscardHandler)), slog.New(slog.DiscardHandler))
}

// writes lists the mutating requests cs received.
func writes(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		desc := a.GetVerb() + " " + a.GetResource().Resource
		if p, ok := a.(k8stesting.PatchAction); ok {
			desc += " " + p.GetName()
		}
		out = append(out, desc)
	}
	return out
}

// waitSynced waits until the informer caches hold the statefulset (reconcile reads them).
func waitSynced(t *testing.T, r *reconciler, ns string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := r.kube.sets.StatefulSets(ns).Get("kafka"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("statefulset never reached the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReconcileAppliesThenRestartWritesNothing(t *testing.T) {
	cs := fake.NewClientset()
	b := testBucket(t)
	key := put(t, b, testPSC(1, 3))
	ctx := context.Background()

	r := newTestReconciler(t, cs, b)
	if err := r.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if w := writes(cs); len(w) != 5 {
		t.Fatalf("first reconcile made %d writes, want 5 (namespace, configmap, 2 services, statefulset): %v", len(w), w)
	}
	ns := Namespace("pkc-1")
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "kafka", metav1.GetOptions{})
	if err != nil || *sts.Spec.Replicas != 3 || sts.Labels[LabelSatellite] != "sat" || sts.Labels[LabelManagedBy] != FieldManager {
		t.Fatalf("statefulset: %v %+v", err, sts)
	}
	if st := r.pub.pending[key]; st == nil || st.ObservedGeneration != 1 {
		t.Fatalf("status after apply: %+v", st)
	}

	// A new satellite process (fresh informers, same cluster) finds nothing to change.
	cs.ClearActions()
	r2 := newTestReconciler(t, cs, b)
	waitSynced(t, r2, ns)
	if err := r2.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if w := writes(cs); len(w) != 0 {
		t.Fatalf("restart with nothing changed wrote to Kubernetes: %v", w)
	}

	// A resize writes the statefulset only.
	cs.ClearActions()
	put(t, b, testPSC(2, 6))
	if err := r2.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if w := writes(cs); len(w) != 1 || w[0] != "patch statefulsets kafka" {
		t.Fatalf("resize wrote %v", w)
	}
}

func TestReconcileInvalidDesiredStateReportsAndStops(t *testing.T) {
	cs := fake.NewClientset()
	b := testBucket(t)
	r := newTestReconciler(t, cs, b)
	ctx := context.Background()
	key := "sat.kafka.pkc-bad"
	if _, err := b.Put(ctx, key, []byte(`{"schemaVersion":1,"id":"pkc-bad","generation":4,"brokers":"lots"}`)); err != nil {
		t.Fatal(err)
	}
	if err := r.reconcile(ctx, key); err != nil {
		t.Fatalf("an invalid desired state must not be retried: %v", err)
	}
	st := r.pub.pending[key]
	if st == nil || st.Phase != kv.PhaseFailed || st.Condition("Stalled") == nil || st.Condition("Stalled").ObservedGeneration != 4 {
		t.Fatalf("status: %+v", st)
	}
	if w := writes(cs); len(w) != 0 {
		t.Fatalf("an invalid desired state wrote to Kubernetes: %v", w)
	}
	// A value under the wrong key is refused too.
	other := testPSC(1, 3)
	data, _ := kv.Encode(other)
	if _, err := b.Put(ctx, "sat.kafka.pkc-2", data); err != nil {
		t.Fatal(err)
	}
	if err := r.reconcile(ctx, "sat.kafka.pkc-2"); err != nil {
		t.Fatal(err)
	}
	if st := r.pub.pending["sat.kafka.pkc-2"]; st == nil || st.Phase != kv.PhaseFailed {
		t.Fatalf("mismatched key: %+v", st)
	}
}

func TestReconcileDeletedKeepsNamespace(t *testing.T) {
	cs := fake.NewClientset()
	b := testBucket(t)
	key := put(t, b, testPSC(1, 3))
	ctx := context.Background()
	r := newTestReconciler(t, cs, b)
	if err := r.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	ns := Namespace("pkc-1")
	waitSynced(t, r, ns)
	del := testPSC(2, 3)
	del.Deleted = true
	put(t, b, del)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := r.reconcile(ctx, key); err != nil {
			t.Fatal(err)
		}
		if st := r.pub.pending[key]; st != nil && st.Phase == kv.PhaseDeleted {
			if st.ObservedGeneration != 2 {
				t.Fatalf("deleted status observed %d", st.ObservedGeneration)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reported deleted: %+v", r.pub.pending[key])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "kafka", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("statefulset still there: %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace (and its volumes) must stay: %v", err)
	}
	// Keys that are simply gone remove nothing.
	if err := b.Purge(ctx, key); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	if err := r.reconcile(ctx, key); err != nil || len(writes(cs)) != 0 {
		t.Fatalf("a missing key: %v %v", err, writes(cs))
	}
}
