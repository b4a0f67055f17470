package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/tlstest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	demo := e.waitFor("demo", 30*time.Second, readyWith(3))
	// The Kafka cluster's certificate is rotated too: keys of both generations must stay put.
	kafkaBefore := kafkaSecrets(t, sat, demo)
	if _, err := admin.RotateCertificates(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 60*time.Second, func(c *api.Cluster) error {
		if c.Status.CertificateSerial == demo.Status.CertificateSerial {
			return errorf("certificate not rotated yet")
		}
		return readyWith(3)(c)
	})
	kafkaAfter := kafkaSecrets(t, sat, demo)
	// A key file that does not match its certificate: the reload fails, loudly, keylessly.
	ca.Issue(t, certFile, filepath.Join(dir, "other.key"), 2)
	e.cp.ReloadCertificates()
	testkit.CheckFor(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "certificate not reloaded") {
			return errorf("the failed certificate reload is not logged yet")
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
	for what, secret := range kafkaBefore {
		secrets[what+" (before the rotation)"] = secret
	}
	for what, secret := range kafkaAfter {
		secrets[what] = secret
	}
	places := map[string]string{
		"logs":           logs.String(),
		"errors":         errorText(errRevoked) + errorText(errWrong),
		"listed keys":    toJSON(listed),
		"clusters":       toJSON(clusters),
		"database":       databaseText(t, e),
		"desired bucket": bucketText(t, e, kv.BucketDesired),
		"actual bucket":  bucketText(t, e, kv.BucketActual),
		"PSC objects":    pscText(t, sat),
	}
	// Positive controls: the search is real.
	if !strings.Contains(places["clusters"], demo.ID) || !strings.Contains(places["desired bucket"], "kafkaClusterId") ||
		!strings.Contains(places["PSC objects"], "caCertificate") || !strings.Contains(places["database"], demo.ID) {
		t.Fatal("a place searched for secrets does not hold what it should")
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

// kafkaSecrets reads, from the satellite's Kubernetes, the secrets of a Kafka cluster that
// must never leave it: the super user's password and the CA's and server's private keys
// (one line of each PEM body: enough to recognise it anywhere).
func kafkaSecrets(t *testing.T, sat *devstack.SatelliteNode, c *api.Cluster) map[string]string {
	t.Helper()
	ns := satellite.Namespace("p" + c.ID[1:])
	get := func(name, key string) string {
		s, err := sat.Kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v := string(s.Data[key])
		if v == "" {
			t.Fatalf("secret %s has no %s", name, key)
		}
		if strings.HasPrefix(v, "-----BEGIN") {
			v = strings.TrimSpace(strings.Split(v, "\n")[1])
		}
		return v
	}
	return map[string]string{
		"Kafka super user's password": get("kafka-superuser", "password"),
		"Kafka CA's private key":      get("kafka-ca", "ca.key"),
		"Kafka server's private key":  get("kafka-tls", "tls.key"),
	}
}

// databaseText is every text and blob value of every table of the store.
func databaseText(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	store := e.cp.Store
	rows, err := store.DB().QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		r, err := store.DB().QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%s\n", v)
			}
		}
		r.Close()
	}
	return b.String()
}

// bucketText is every value of a hub bucket.
func bucketText(t *testing.T, e *env, bucket string) string {
	t.Helper()
	ctx := context.Background()
	b := e.bucket(bucket)
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, k := range keys {
		entry, err := b.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(entry.Value())
	}
	return out.String()
}

// pscText is every PSC object on the satellite's Kubernetes, as JSON.
func pscText(t *testing.T, sat *devstack.SatelliteNode) string {
	t.Helper()
	list, err := sat.Dynamic.Resource(satellite.PSCResource).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return toJSON(list.Items)
}
