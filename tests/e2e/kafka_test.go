package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestDevKafkaIsReachableOverTLS is what a new user does in dev mode: create a dedicated
// Kafka cluster, wait for it, take the CA Orbit gives, and connect to the reported
// bootstrap with a Kafka client that trusts only that CA. The brokers it lists are the
// Kafka-protocol brokers behind the simulated pods. (Kafka API keys come with the
// credentials work; the satellite's own principal stands in until then.) A certificate
// rotation keeps the CA, and once the satellite reloads the brokers through the Admin API
// they serve the new serial while clients keep connecting.
func TestDevKafkaIsReachableOverTLS(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("demo", 60*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if c.Status.CACertificate == "" || c.Status.BootstrapHost == "" {
			return fmt.Errorf("no CA or bootstrap host yet: %+v", c.Status)
		}
		return nil
	})
	ns := satellite.Namespace("p" + c.ID[1:])
	secret, err := sat.Kube.CoreV1().Secrets(ns).Get(ctx, "kafka-superuser", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	user, password := string(secret.Data["username"]), string(secret.Data["password"])

	listBrokers := func(c *api.Cluster) ([]int32, error) {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.Status.CACertificate)) {
			return nil, fmt.Errorf("the CA Orbit gave is not PEM")
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Status.Bootstrap),
			kgo.DialTLSConfig(&tls.Config{RootCAs: pool, ServerName: c.Status.BootstrapHost, MinVersion: tls.VersionTLS12}),
			kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		brokers, err := kadm.NewClient(cl).ListBrokers(reqCtx)
		if err != nil {
			return nil, err
		}
		return brokers.NodeIDs(), nil
	}
	var ids []int32
	testkit.CheckFor(t, 30*time.Second, func() error {
		ids, err = listBrokers(c)
		return err
	})
	for _, id := range []int32{1000, 1001, 1002} {
		if !slices.Contains(ids, id) {
			t.Fatalf("brokers listed over TLS: %v, want 1000-1002", ids)
		}
	}

	// Rotation: same CA, new serial, served by every broker after the satellite's reload.
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
		t.Fatal("a certificate rotation changed the CA")
	}
	cluster, ok := sat.Kafka.Get("p" + c.ID[1:])
	if !ok {
		t.Fatal("no harness cluster")
	}
	want, ok := new(big.Int).SetString(c.Status.CertificateSerial, 16)
	if !ok {
		t.Fatalf("serial %q is not hex", c.Status.CertificateSerial)
	}
	testkit.CheckFor(t, 60*time.Second, func() error { return servesSerial(cluster, want) })
	if _, err := listBrokers(c); err != nil {
		t.Fatalf("a client trusting the CA after the rotation: %v", err)
	}
}
