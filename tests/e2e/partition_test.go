package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/netproxy"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestPartitionedSatelliteCatchesUp puts a TCP proxy between a satellite and the hub and
// cuts it: while the satellite is alone it keeps its clusters as they were (and repairs
// them), while creates, resizes and deletes pile up at the mothership. After the heal the
// satellite catches up, and SQL (the API), desired, actual and Kubernetes agree on every
// cluster, at exactly the generations the accepted changes make.
func TestPartitionedSatelliteCatchesUp(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testPartition(t, engine) })
	}
}

func testPartition(t *testing.T, engine string) {
	e := newEnv(t, onEngine(engine))
	proxy, err := netproxy.Start(e.leafListen)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	sat := e.startSatelliteVia("us-west-2", proxy.Addr())
	ctx := context.Background()
	m := &model{cku: map[string]int{}, changes: map[string]int{}, deleted: map[string]bool{}}
	create := func(name string) {
		t.Helper()
		if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
			t.Fatal(err)
		}
		m.cku[name] = 1
	}
	for i := range 4 {
		create(fmt.Sprintf("before-%d", i))
	}
	converge(t, e.client, m)

	proxy.Cut()
	testkit.CheckFor(t, 10*time.Second, func() error {
		if sat.Satellite.HubConnected() {
			return fmt.Errorf("the satellite still reaches the hub")
		}
		return nil
	})
	// Alone, the satellite still repairs drift from its mirror.
	c0, _ := e.client.GetCluster(ctx, "before-0")
	sets := sat.Kube.AppsV1().StatefulSets(satellite.Namespace(physicalID(c0)))
	if err := sets.Delete(ctx, "kafka-broker", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error { _, err := sets.Get(ctx, "kafka-broker", metav1.GetOptions{}); return err })

	// Meanwhile at the mothership: creates, resizes, a delete.
	for i := range 3 {
		create(fmt.Sprintf("during-%d", i))
	}
	for _, name := range []string{"before-1", "before-2"} {
		cku := 2
		if _, err := e.client.UpdateCluster(ctx, name, api.ClusterUpdate{CKU: &cku}); err != nil {
			t.Fatal(err)
		}
		m.apply("resize", name, cku)
	}
	if _, err := e.client.DeleteCluster(ctx, "before-3"); err != nil {
		t.Fatal(err)
	}
	m.apply("delete", "before-3", 0)
	// Nothing of it reaches the satellite while the link is down. Not synchronisation: a
	// quiet window in which the cluster created meanwhile must not become ready.
	time.Sleep(time.Second)
	if c, _ := e.client.GetCluster(ctx, "during-0"); c.Status.Phase == api.PhaseReady {
		t.Fatal("a cluster created during the partition is ready: the link was not cut")
	}

	proxy.Heal()
	converge(t, e.client, m)
	e.agree(sat.Satellite, m)
}

// agree checks, for every cluster of the model, that the desired and actual buckets and
// the satellite's Kubernetes match what the API (SQL) says. It waits for them to agree:
// right after a heal SQL can still hold a status from before the partition while the
// satellite reports what it saw alone (a broker it repaired, Degraded until it is back), so
// a cluster's last word may still be on its way.
func (e *env) agree(sat *satellite.Satellite, m *model) {
	e.t.Helper()
	testkit.CheckForEvery(e.t, 30*time.Second, 200*time.Millisecond, func() error { return e.disagreement(m) })
}

// disagreement is the first cluster of the model on which SQL, desired, actual and
// Kubernetes differ, or nil.
func (e *env) disagreement(m *model) error {
	ctx := context.Background()
	desired, actual := e.bucket(kv.BucketDesired), e.bucket(kv.BucketActual)
	for name, cku := range m.cku {
		c, err := e.client.GetCluster(ctx, name)
		if err != nil {
			return err
		}
		if m.deleted[name] && c.Status.Satellite == "" {
			continue // deleted before it was placed: no satellite ever heard of it
		}
		key := physicalKey("us-west-2", c)
		d, err := desired.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("%s (%s): desired: %w", name, toJSON(c), err)
		}
		psc, err := kv.DecodePSC(d.Value())
		if err != nil {
			return err
		}
		if m.deleted[name] {
			if !psc.Deleted {
				return fmt.Errorf("%s: deleted in SQL, not in desired", name)
			}
			continue
		}
		if psc.Spec.Replicas != int32(3*cku) {
			return fmt.Errorf("%s: desired has %d brokers, SQL %d CKU", name, psc.Spec.Replicas, cku)
		}
		a, err := actual.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("%s: actual: %w", name, err)
		}
		st, err := kv.DecodeStatus(a.Value())
		if err != nil {
			return err
		}
		if st.ObservedGeneration != psc.Generation || st.Phase != kv.PhaseReady {
			return fmt.Errorf("%s: actual %s at generation %d, desired at %d", name, st.Phase, st.ObservedGeneration, psc.Generation)
		}
		sts, err := e.sats["us-west-2"].Kube.AppsV1().StatefulSets(satellite.Namespace(physicalID(c))).Get(ctx, "kafka-broker", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if *sts.Spec.Replicas != int32(3*cku) {
			return fmt.Errorf("%s: Kubernetes runs %d brokers, SQL says %d CKU", name, *sts.Spec.Replicas, cku)
		}
	}
	return nil
}
