package satellite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// These are fast tests on client-go's fakes (through simkube, which serves the PSC
// resource); tests/e2e runs the same code against real API servers.

func TestDeployCRDIsTheSatellitesOwn(t *testing.T) {
	deployed, err := os.ReadFile(filepath.Join("..", "deploy", "satellite", "crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deployed, CRDManifest) {
		t.Fatal("deploy/satellite/crd.yaml differs from satellite/psc.crd.yaml: copy it over")
	}
}

// testBucket is a real JetStream KV bucket named desired on an embedded server.
func testBucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	_, js := testkit.StartJetStream(t)
	b, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: kv.BucketDesired})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testPSC(gen int64, replicas int32) *kv.PSC {
	return &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: "pkc-1", Satellite: "sat", Product: kv.ProductKafka, Generation: gen,
		Spec: kv.PSCSpec{Version: "3.9.0", Replicas: replicas, Controllers: 3, Storage: kv.Storage{SizeGiB: 10},
			Config: map[string]string{"default.replication.factor": "3"}, KafkaClusterID: testClusterID}}
}

// testClusterID is a KRaft cluster id as kafka-storage.sh random-uuid prints one.
const testClusterID = "XxssPU5fYHGCk6S1xtfo-Q"

func putPSC(t *testing.T, b jetstream.KeyValue, psc *kv.PSC) string {
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

// parts is one satellite process's syncer and operator over a (fake) cluster.
type parts struct {
	kube *kube
	sync *syncer
	op   *operator
	pub  *publisher
}

func newParts(t *testing.T, cs *fake.Clientset, dyn *dynfake.FakeDynamicClient, b jetstream.KeyValue) *parts {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := InstallCRD(ctx, dyn); err != nil {
		t.Fatal(err)
	}
	k := newKube(cs, dyn, "sat")
	if err := k.start(ctx); err != nil {
		t.Fatal(err)
	}
	log := testkit.Logger()
	pub := newPublisher(nil, log)
	rep := newReporter(pub)
	return &parts{
		kube: k, pub: pub,
		sync: &syncer{satellite: "sat", desired: b, kube: k, reporter: rep, log: log, operate: func(string) {}},
		op: &operator{satellite: "sat", kube: k, render: &renderer{satellite: "sat", domain: "test.local", image: "ghcr.io/orbitcp/satellite:test", kube: k},
			reporter: rep, log: log, after: func(string, time.Duration) {}},
	}
}

// cacheCatchUp is how long the tests wait for the informer caches, which catch up
// asynchronously.
const cacheCatchUp = 5 * time.Second

// writes lists the mutating requests a fake received.
func writes(actions []k8stesting.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+a.GetSubresource())
	}
	return out
}

func TestSyncOperateAndRestartWithoutWrites(t *testing.T) {
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
	for _, name := range []string{"kafka-controller", "kafka-broker"} {
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || *sts.Spec.Replicas != 3 || sts.Labels[LabelSatellite] != "sat" {
			t.Fatalf("statefulset %s: %v", name, err)
		}
	}
	if st := p.pub.pending[key]; st == nil || st.ObservedGeneration != 1 || len(st.Roles) != 2 {
		t.Fatalf("reported status: %+v", st)
	}

	// A second process on the same cluster: nothing to write, anywhere.
	testkit.CheckFor(t, cacheCatchUp, func() error {
		o, err := p.kube.getPSC("pkc-1")
		if err == nil && o.Status.DesiredGeneration != 1 {
			err = apierrors.NewConflict(PSCResource.GroupResource(), "pkc-1", nil)
		}
		return err
	})
	cs.ClearActions()
	dyn.ClearActions()
	p2 := newParts(t, cs, dyn, b)
	testkit.CheckFor(t, cacheCatchUp, func() error { _, err := p2.kube.sets.StatefulSets(ns).Get("kafka-broker"); return err })
	testkit.CheckFor(t, cacheCatchUp, func() error { _, err := p2.kube.getPSC("pkc-1"); return err })
	if err := p2.sync.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := p2.op.reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if w := append(writes(cs.Actions()), writes(dyn.Actions())...); len(w) != 0 {
		t.Fatalf("a restart with nothing changed wrote: %v", w)
	}
}

func TestInvalidDesiredStateIsReportedNotApplied(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	ctx := context.Background()
	key := "sat.kafka.pkc-bad"
	if _, err := b.Put(ctx, key, []byte(`{"schemaVersion":1,"id":"pkc-bad","generation":4,"brokers":"lots"}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.sync.reconcile(ctx, key); err != nil {
		t.Fatalf("an invalid desired state must not be retried: %v", err)
	}
	st := p.pub.pending[key]
	if st == nil || st.Phase != kv.PhaseFailed || st.Condition("Stalled") == nil || st.Condition("Stalled").ObservedGeneration != 4 {
		t.Fatalf("status: %+v", st)
	}
	if _, err := p.kube.getPSC("pkc-bad"); !apierrors.IsNotFound(err) {
		t.Fatalf("an invalid desired state became a PSC: %v", err)
	}
	// A value under another cluster's key is refused too.
	data, _ := kv.Encode(testPSC(1, 3))
	if _, err := b.Put(ctx, "sat.kafka.pkc-2", data); err != nil {
		t.Fatal(err)
	}
	if err := p.sync.reconcile(ctx, "sat.kafka.pkc-2"); err != nil {
		t.Fatal(err)
	}
	if st := p.pub.pending["sat.kafka.pkc-2"]; st == nil || st.Phase != kv.PhaseFailed {
		t.Fatalf("mismatched key: %+v", st)
	}
	if w := writes(cs.Actions()); len(w) != 0 {
		t.Fatalf("invalid desired states wrote to Kubernetes: %v", w)
	}
}

func TestReplicationFactorHoldsScaleDown(t *testing.T) {
	for cfg, want := range map[string]int32{"": 1, "3": 3, "x": 1} {
		c := map[string]string{}
		if cfg != "" {
			c["default.replication.factor"] = cfg
		}
		if got := replicationFactor(c); got != want {
			t.Errorf("replicationFactor(%q) = %d, want %d", cfg, got, want)
		}
	}
}

// TestTenantQuotasRenderWithoutRestart: a multi-tenant cluster's tenants and quotas render
// no file (Kafka reads none: quotas go through the Admin API) and change no restart hash.
func TestTenantQuotasRenderWithoutRestart(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	withQuotas := pscFromKV(testPSC(1, 3))
	out, err := p.op.render.render(withQuotas)
	if err != nil {
		t.Fatal(err)
	}
	tenants := []kv.TenantQuota{{ID: "lkc-a", ProducerByteRate: 1 << 20}, {ID: "lkc-b", ConsumerByteRate: 5}}
	withQuotas.Spec.Tenants = tenants
	out2, err := p.op.render.render(withQuotas)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range out.workloads {
		if out2.workloads[i].restartHash != w.restartHash {
			t.Fatalf("quotas changed the restart hash of %s", w.name)
		}
	}
	psc := testPSC(1, 3)
	psc.Spec.Tenants = tenants
	converge(t, p, b, psc)
	for name, v := range getConfig(t, cs, Namespace(psc.ID), "kafka-config") {
		if strings.Contains(name, "quota") || strings.Contains(v, "byte_rate") || strings.Contains(v, "lkc-a") {
			t.Errorf("kafka-config renders quotas in %s", name)
		}
	}
}
