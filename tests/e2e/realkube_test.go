package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/kubetest"
)

// startRealSatellite onboards and starts a satellite on its own real Kubernetes; opts
// adjust its configuration.
func (e *env) startRealSatellite(region string, kube *kubetest.Cluster, opts ...func(*devstack.SatelliteConfig)) *devstack.SatelliteNode {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(e.dir, "satellites", region)
	seed, err := e.cp.Onboard(ctx, region, region, "aws", []string{"public"}, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := devstack.SatelliteConfig{
		Name: region, Region: region, Cloud: "aws", Networks: []string{"public"}, Dir: dir,
		HubURLs: []string{"nats-leaf://" + e.leafListen}, Seed: seed, Kubeconfig: kube.Kubeconfig, Log: testLog(e.t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	n, err := devstack.StartSatellite(ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sats[region] = n
	return n
}

func TestRealKubernetesSkeleton(t *testing.T) {
	kube := kubetest.Start(t)
	e := newEnv(t)
	e.startRealSatellite("us-west-2", kube)
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 90*time.Second, readyWith(3))
	t.Logf("ready: %+v", c.Status)
}
