package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/tlstest"
)

// TestCertificateRotationKeepsConnections runs the control plane over TLS (API and leaf
// node), with a satellite that verifies the hub. After the certificate files change, an API
// client and the satellite's leaf connection established before keep working on their
// connections, and new connections are served the new certificate.
func TestCertificateRotationKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	ca.Issue(t, certFile, keyFile, 1)
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) { c.TLSCert, c.TLSKey = certFile, keyFile })
	ctx := context.Background()

	satDir := filepath.Join(e.dir, "satellites", "us-west-2")
	seed, err := e.cp.Onboard(ctx, "us-west-2", "us-west-2", "aws", []string{"public"}, satDir)
	if err != nil {
		t.Fatal(err)
	}
	sat, err := devstack.StartSatellite(ctx, devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, Dir: satDir,
		HubURLs: []string{"nats-leaf://" + e.leafListen}, Seed: seed, HubCA: ca.File,
		Sim: simkube.New(10*time.Millisecond, nil, satellite.CustomResources), Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sats["us-west-2"] = sat

	// One API client pinned to one connection, through the CA.
	tlsCfg, err := leafnode.ClientConfig(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	var served []int64
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	get := func(hc *http.Client) int64 {
		t.Helper()
		req, _ := http.NewRequest("GET", e.cp.URL()+"/v1/clusters", nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	served = append(served, get(pinned))
	client, err := api.NewClient(e.cp.URL(), testKey, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	e.client = client
	e.waitFor("demo", 30*time.Second, readyWith(3))
	lz, err := e.cp.Hub.Server().Leafz(nil)
	if err != nil || len(lz.Leafs) != 1 {
		t.Fatalf("leafz: %v", err)
	}
	leafID := lz.Leafs[0].ID

	ca.Issue(t, certFile, keyFile, 2)
	e.cp.ReloadCertificates()
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	testkit.CheckFor(t, 10*time.Second, func() error {
		if s := get(fresh); s != 2 {
			fresh.CloseIdleConnections()
			return errorf("a new connection was served serial %d", s)
		}
		return nil
	})
	served = append(served, get(pinned))
	if served[0] != 1 || served[1] != 1 {
		t.Fatalf("the pinned connection saw serials %v; it should have stayed on its connection", served)
	}
	// The satellite's connection is the one it had, and it still carries changes both ways.
	if _, err := client.UpdateCluster(ctx, "demo", api.ClusterUpdate{CKU: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(6))
	lz, _ = e.cp.Hub.Server().Leafz(nil)
	if len(lz.Leafs) != 1 || lz.Leafs[0].ID != leafID {
		t.Fatalf("the leaf connection was replaced by the rotation: %+v", lz.Leafs)
	}
	// Without the CA, the hub is not trusted.
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}).Get(e.cp.URL() + "/healthz"); err == nil {
		t.Fatal("an unverified TLS client got through")
	}
}
