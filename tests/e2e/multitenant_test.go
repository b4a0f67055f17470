package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestMultiTenantPacking: basic and standard clusters of several tenants are packed onto
// shared physical clusters (one per SKU, up to the profile's tenants per cluster), each
// tenant with its SKU's quotas in the PSC; dedicated ones get their own. Deleting a tenant
// takes it off the shared cluster, which stays for the others.
func TestMultiTenantPacking(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			p := startPacking(t, engine)
			a, b, c, s := p.createBasicAndStandard()
			basic := p.checkSharedClusters(a, b, c, s)

			// A dedicated cluster gets its own.
			p.create(p.e.client, "d", "dedicated")
			p.e.waitFor("d", 30*time.Second, readyWith(3))
			if len(p.quotas()) != 3 {
				t.Fatal("a dedicated cluster did not get its own physical cluster")
			}

			p.fourthBasicTenantStartsAnotherCluster()
			p.deletedTenantLeavesTheSharedCluster(basic, a, b)
		})
	}
}

// packing is a control plane and satellite with tenants e2e (the env's client) and rival,
// and an operator.
type packing struct {
	t          *testing.T
	e          *env
	sat        *devstack.SatelliteNode
	rival, ops *api.Client
}

func startPacking(t *testing.T, engine string) *packing {
	t.Helper()
	e := newEnv(t, onEngine(engine))
	p := &packing{t: t, e: e, sat: e.startSatellite("us-west-2")}
	rivalKey, opKey := frontend.NewAPIKey(), frontend.NewAPIKey()
	ctx := context.Background()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "rival", api.RoleAdmin, rivalKey, "rival"); err != nil {
		t.Fatal(err)
	}
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	p.rival, _ = api.NewClient(e.cp.URL(), rivalKey, nil)
	p.ops, _ = api.NewClient(e.cp.URL(), opKey, nil)
	return p
}

func (p *packing) create(c *api.Client, name, sku string) *api.Cluster {
	p.t.Helper()
	cku := 0
	if sku == "dedicated" {
		cku = 1
	}
	got, err := c.CreateCluster(context.Background(), api.ClusterSpec{Name: name, Product: "kafka", SKU: sku, CKU: cku, Region: "us-west-2"})
	if err != nil {
		p.t.Fatalf("%s: %v", name, err)
	}
	return got
}

// quotas maps the namespace of each physical kafka cluster to its tenants' quotas in the
// desired state (one "user.<id>.<quota>=<value>" line each; what the satellite sets through
// AlterClientQuotas, checked against Kafka in TestSharedClusterTenantIsolation).
func (p *packing) quotas() map[string]string {
	p.t.Helper()
	cms, err := p.sat.Kube.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		p.t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range cms.Items {
		if cm.Name == "kafka-config" {
			out[cm.Namespace] = ""
		}
	}
	desired := p.e.bucket(kv.BucketDesired)
	keys, err := desired.ListKeys(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	for key := range keys.Keys() {
		entry, err := desired.Get(context.Background(), key)
		if err != nil {
			continue // deleted meanwhile
		}
		psc, err := kv.DecodePSC(entry.Value())
		if err != nil {
			p.t.Fatal(err)
		}
		ns := satellite.Namespace(psc.ID)
		if _, ok := out[ns]; !ok || psc.Product != kv.ProductKafka {
			continue
		}
		var lines strings.Builder
		for _, t := range psc.Spec.Tenants {
			fmt.Fprintf(&lines, "user.%s.producer_byte_rate=%d\nuser.%s.consumer_byte_rate=%d\n", t.ID, t.ProducerByteRate, t.ID, t.ConsumerByteRate)
		}
		out[ns] = lines.String()
	}
	return out
}

// createBasicAndStandard creates basic clusters a and b (tenant e2e) and c (rival), and a
// standard s, and waits until they are ready; a basic cluster takes no CKUs and no ksqldb.
func (p *packing) createBasicAndStandard() (a, b, c, s *api.Cluster) {
	t, e, ctx := p.t, p.e, context.Background()
	t.Helper()
	a = p.create(e.client, "a", "basic")
	b = p.create(e.client, "b", "basic")
	c = p.create(p.rival, "c", "basic")
	s = p.create(e.client, "s", "standard")
	for _, n := range []string{"a", "b", "s"} {
		e.waitFor(n, 30*time.Second, readyWith(map[string]int{"a": 3, "b": 3, "s": 6}[n]))
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		got, err := p.rival.GetCluster(ctx, "c")
		if err != nil {
			return err
		}
		return readyWith(3)(got)
	})
	if _, err := e.client.UpdateCluster(ctx, "a", api.ClusterUpdate{CKU: ptr(2)}); err == nil || !strings.Contains(err.Error(), "cku") {
		t.Fatalf("resizing a basic cluster: %v", err)
	}
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "x", Product: "ksqldb", SKU: "basic", Region: "us-west-2", Kafka: "a"}); err == nil {
		t.Fatal("a basic ksqldb cluster was accepted")
	}
	return a, b, c, s
}

// checkSharedClusters checks that one shared basic cluster carries a, b and c with the
// basic quotas, and another, standard, carries s; it returns the basic one's namespace.
func (p *packing) checkSharedClusters(a, b, c, s *api.Cluster) (basic string) {
	t := p.t
	t.Helper()
	q := p.quotas()
	if len(q) != 2 {
		for ns, f := range q {
			t.Logf("%s:\n%s", ns, f)
		}
		t.Fatalf("%d physical kafka clusters, want 2 shared ones", len(q))
	}
	var standard string
	for ns, file := range q {
		switch {
		case strings.Contains(file, a.ID):
			basic = ns
		case strings.Contains(file, s.ID):
			standard = ns
		}
	}
	for _, id := range []string{a.ID, b.ID, c.ID} {
		if !strings.Contains(q[basic], "user."+id+".producer_byte_rate=104857600") {
			t.Errorf("the shared basic cluster lacks %s's quota:\n%s", id, q[basic])
		}
	}
	if !strings.Contains(q[standard], "user."+s.ID+".producer_byte_rate=262144000") || strings.Contains(q[standard], a.ID) {
		t.Errorf("the standard cluster's quotas:\n%s", q[standard])
	}
	return basic
}

// fourthBasicTenantStartsAnotherCluster: with room for only 3 tenants per basic cluster,
// the next one starts another.
func (p *packing) fourthBasicTenantStartsAnotherCluster() {
	t := p.t
	t.Helper()
	if _, err := p.ops.SetProfile(context.Background(), "kafka", "basic", api.ProfileSpec{Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 1000,
		TenantsPerCluster: 3, TenantQuotas: &api.TenantQuotas{ProducerByteRate: 100 << 20, ConsumerByteRate: 300 << 20},
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}); err != nil {
		t.Fatal(err)
	}
	p.create(p.e.client, "e4", "basic")
	p.e.waitFor("e4", 30*time.Second, readyWith(3))
	if len(p.quotas()) != 4 {
		t.Fatalf("a fourth basic tenant did not start a new shared cluster: %d clusters", len(p.quotas()))
	}
}

// deletedTenantLeavesTheSharedCluster: deleting a takes it off the shared basic cluster,
// which stays for b.
func (p *packing) deletedTenantLeavesTheSharedCluster(basic string, a, b *api.Cluster) {
	t, e, ctx := p.t, p.e, context.Background()
	t.Helper()
	if _, err := e.client.DeleteCluster(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a", 30*time.Second, phaseIs(api.PhaseDeleted))
	testkit.CheckFor(t, 30*time.Second, func() error {
		if file := p.quotas()[basic]; strings.Contains(file, a.ID) || !strings.Contains(file, b.ID) {
			return errorf("quotas after a's deletion:\n%s", file)
		}
		return nil
	})
	if _, err := p.sat.Kube.AppsV1().StatefulSets(basic).Get(ctx, "kafka-broker", metav1.GetOptions{}); err != nil {
		t.Fatalf("the shared cluster went with its tenant: %v", err)
	}
	e.waitFor("b", 30*time.Second, readyWith(3))
}
