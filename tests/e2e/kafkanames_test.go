package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestKafkaNamesOnRealKubernetes: on a real API server (pods run by kwok, each ready broker
// pod backed by a Kafka-protocol broker), every broker and bootstrap load balancer carries
// its DNS name for external-dns, the brokers advertise exactly those names, the API reports
// the bootstrap's name, and the certificate covers every name: a client that trusts only
// the cluster's CA and resolves the names connects and lists the brokers. A certificate
// rotation keeps the CA and every pod, and the brokers load the new certificate through
// Kafka's Admin API.
func TestKafkaNamesOnRealKubernetes(t *testing.T) {
	kube := kubetest.Start(t)
	fleet := kube.RunKafka(t)
	e := newEnv(t)
	ctx := context.Background()
	e.startRealSatellite("us-west-2", kube, func(c *devstack.SatelliteConfig) { c.KafkaDial = fleet.DialContext })

	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 120*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if c.Status.Bootstrap == "" || c.Status.CACertificate == "" {
			return fmt.Errorf("no bootstrap or CA yet: %+v", c.Status)
		}
		return nil
	})
	id := "p" + c.ID[1:]
	ns := satellite.Namespace(id)
	domain := id + ".us-west-2.orbit.local"
	names := map[string]string{"kafka-bootstrap": "bootstrap." + domain}
	for i := range 3 {
		names[fmt.Sprintf("kafka-broker-%d", i)] = fmt.Sprintf("b%d.%s", i, domain)
	}
	if want := net.JoinHostPort(names["kafka-bootstrap"], "9092"); c.Status.Bootstrap != want || c.Status.BootstrapHost != names["kafka-bootstrap"] {
		t.Fatalf("reported bootstrap %q (host %q), want %q", c.Status.Bootstrap, c.Status.BootstrapHost, want)
	}

	// Published names, advertised names.
	for svc, name := range names {
		s, err := kube.Client.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Annotations["external-dns.alpha.kubernetes.io/hostname"]; got != name {
			t.Errorf("service %s publishes %q, want %q", svc, got, name)
		}
	}
	cm, err := kube.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kafka-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		props := cm.Data[fmt.Sprintf("broker-%d.properties", i)]
		if want := fmt.Sprintf("CLIENT://%s:9092", names[fmt.Sprintf("kafka-broker-%d", i)]); !strings.Contains(props, want) {
			t.Errorf("broker %d advertises %q, want %s", i, props, want)
		}
	}

	// The certificate covers every name, under the CA the API gives.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(c.Status.CACertificate)) {
		t.Fatal("the CA the API gives is not PEM")
	}
	cert := serverCertificate(t, kube, ns)
	for _, name := range slices.Sorted(maps.Values(names)) {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("the certificate does not serve %s under the cluster's CA: %v", name, err)
		}
	}

	secret, err := kube.Client.CoreV1().Secrets(ns).Get(ctx, "kafka-superuser", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	connect := func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Status.Bootstrap),
			kgo.Dialer(fleet.TLSDialer(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
			kgo.SASL(scram.Auth{User: string(secret.Data["username"]), Pass: string(secret.Data["password"])}.AsSha512Mechanism()))
		if err != nil {
			return err
		}
		defer cl.Close()
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		brokers, err := kadm.NewClient(cl).ListBrokers(reqCtx)
		if err != nil {
			return err
		}
		for _, want := range []int32{1000, 1001, 1002} {
			if !slices.Contains(brokers.NodeIDs(), want) {
				return fmt.Errorf("brokers %v lack %d", brokers.NodeIDs(), want)
			}
		}
		return nil
	}
	testkit.CheckFor(t, 60*time.Second, connect)

	// Rotation: same CA, a new serial, the same pods, a reload through the Admin API.
	pods := podUIDs(t, kube, ns)
	sts, err := kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := c.Status
	if _, err := e.client.RotateCertificates(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	c = e.waitFor("demo", 60*time.Second, func(c *api.Cluster) error {
		if c.Status.CertificateSerial == before.CertificateSerial {
			return fmt.Errorf("serial still %s", before.CertificateSerial)
		}
		return readyWith(3)(c)
	})
	if c.Status.CACertificate != before.CACertificate {
		t.Fatal("the rotation changed the CA")
	}
	want, ok := new(big.Int).SetString(c.Status.CertificateSerial, 16)
	if !ok || serverCertificate(t, kube, ns).SerialNumber.Cmp(want) != 0 {
		t.Fatalf("the TLS Secret does not hold the reported serial %s", c.Status.CertificateSerial)
	}
	cluster, ok := fleet.Get(id)
	if !ok {
		t.Fatal("no harness cluster")
	}
	testkit.CheckFor(t, 60*time.Second, func() error { return servesSerial(cluster, want) })
	if err := connect(); err != nil {
		t.Fatalf("a client trusting the CA after the rotation: %v", err)
	}
	after, err := kube.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != sts.Generation {
		t.Errorf("the rotation changed the broker StatefulSet's spec (generation %d → %d)", sts.Generation, after.Generation)
	}
	if now := podUIDs(t, kube, ns); !maps.Equal(now, pods) {
		t.Errorf("pods changed across the rotation: %v → %v", pods, now)
	}
}

// servesSerial checks that every running broker of cluster serves the certificate with
// serial want, loaded through a reload request of the Admin API.
func servesSerial(cluster *simkafka.Cluster, want *big.Int) error {
	brokers := cluster.Brokers()
	if len(brokers) < 3 {
		return fmt.Errorf("%d brokers running, want 3", len(brokers))
	}
	for _, b := range brokers {
		if b.CertSerial != want.String() || b.Reloads == 0 {
			return fmt.Errorf("broker %d serves %s after %d reloads, want %s", b.NodeID, b.CertSerial, b.Reloads, want)
		}
	}
	return nil
}

// serverCertificate is the leaf certificate of the cluster's Kafka keystore Secret.
func serverCertificate(t *testing.T, kube *kubetest.Cluster, ns string) *x509.Certificate {
	t.Helper()
	s, err := kube.Client.CoreV1().Secrets(ns).Get(context.Background(), "kafka-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rest := s.Data["keystore.pem"]
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			t.Fatal("no certificate in kafka-tls keystore.pem")
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return cert
		}
	}
}

// podUIDs maps each pod of the namespace to its UID.
func podUIDs(t *testing.T, kube *kubetest.Cluster, ns string) map[string]string {
	t.Helper()
	pods, err := kube.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		out[p.Name] = string(p.UID)
	}
	return out
}
