package e2e

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/tlstest"
)

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoSecretsInLogsOrOutput runs a session at debug level (embedded NATS servers
// included) that handles every kind of secret: API keys (created, used, revoked, wrong),
// the satellite's nkey seed, a TLS key (including a failed reload). No secret may appear in
// the logs, in an error, or in what the API lists.
func TestNoSecretsInLogsOrOutput(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	ca.Issue(t, certFile, keyFile, 1)
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) { c.TLSCert, c.TLSKey, c.Log = certFile, keyFile, log })
	ctx := context.Background()
	satDir := filepath.Join(e.dir, "satellites", "us-west-2")
	seed, err := e.cp.Onboard(ctx, "us-west-2", "us-west-2", "aws", []string{"public"}, satDir)
	if err != nil {
		t.Fatal(err)
	}
	sat, err := devstack.StartSatellite(ctx, devstack.SatelliteConfig{Name: "us-west-2", Region: "us-west-2", Cloud: "aws",
		Networks: []string{"public"}, Dir: satDir, HubURLs: []string{"nats-leaf://" + e.leafListen}, Seed: seed, HubCA: ca.File, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.sats["us-west-2"] = sat

	hc, err := httpsClient(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := api.NewClient(e.cp.URL(), testKey, hc)
	e.client = admin
	minted, err := admin.CreateAPIKey(ctx, api.APIKeyRequest{Role: "viewer", Description: "for the test"})
	if err != nil || !strings.HasPrefix(minted.Key, "orbit_") {
		t.Fatalf("create key: %v %+v", err, minted)
	}
	viewer, _ := api.NewClient(e.cp.URL(), minted.Key, hc)
	if _, err := viewer.ListClusters(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeAPIKey(ctx, minted.ID); err != nil {
		t.Fatal(err)
	}
	_, errRevoked := viewer.ListClusters(ctx)
	wrong, _ := api.NewClient(e.cp.URL(), "orbit_thisisnotakeyatallreally", hc)
	_, errWrong := wrong.ListClusters(ctx)
	if _, err := admin.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))
	// A key file that does not match its certificate: the reload fails, loudly, keylessly.
	ca.Issue(t, certFile, filepath.Join(dir, "other.key"), 2)
	e.cp.ReloadCertificates()
	testkit.CheckFor(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "certificate not reloaded") {
			return errors.New("the failed certificate reload was not logged (is the log capture working?)")
		}
		return nil
	})

	listed, _ := admin.ListAPIKeys(ctx)
	clusters, _ := admin.ListClusters(ctx)
	tlsKey, _ := os.ReadFile(keyFile)
	secrets := map[string]string{
		"admin API key":   testKey,
		"minted API key":  minted.Key,
		"wrong API key":   "orbit_thisisnotakeyatallreally",
		"satellite seed":  string(seed),
		"TLS private key": strings.TrimSpace(strings.Split(string(tlsKey), "\n")[1]),
	}
	places := map[string]string{
		"logs":        logs.String(),
		"errors":      errorText(errRevoked) + errorText(errWrong),
		"listed keys": toJSON(listed),
		"clusters":    toJSON(clusters),
	}
	for where, text := range places {
		for what, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
