package simkafka

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const (
	testCluster = "k1"
	testDomain  = "kafka.test"
	testUser    = "orbit-satellite"
	testPass    = "s3cret-password"
)

// testCA is a cluster CA issuing keystores the way the satellite does (satellite/tls.go):
// key, leaf and CA in one PEM.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// keystore issues a server certificate with the given serial for the cluster's names.
func (ca *testCA) keystore(t *testing.T, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: testCluster},
		DNSNames:  []string{testCluster + "." + testDomain, "*." + testCluster + "." + testDomain, "*.kafka-controller-headless.orbit-" + testCluster + ".svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return bytes.Join([][]byte{
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		ca.pem,
	}, nil)
}

func brokerHost(i int) string { return fmt.Sprintf("b%d.%s.%s", i, testCluster, testDomain) }

var bootstrapHost = "bootstrap." + testCluster + "." + testDomain

// startCluster runs a fleet cluster with brokers 0..n-1 and the names the satellite gives them.
func startCluster(t *testing.T, n int) (*Fleet, *Cluster, *StaticSecrets, *testCA) {
	t.Helper()
	ca := newTestCA(t)
	secrets := &StaticSecrets{}
	secrets.Set(testUser, testPass, ca.keystore(t, 100))
	f := NewFleet(nil)
	t.Cleanup(f.Close)
	c, err := f.Add(Config{ID: testCluster, Secrets: secrets,
		ControllerHost: "kafka-controller-0.kafka-controller-headless.orbit-" + testCluster + ".svc"})
	if err != nil {
		t.Fatal(err)
	}
	c.Register(bootstrapHost, BootstrapOrdinal)
	for i := range 6 {
		c.Register(brokerHost(i), i)
	}
	for i := range n {
		if err := c.StartBroker(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	return f, c, secrets, ca
}

func client(t *testing.T, f *Fleet, ca *testCA, password string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(bootstrapHost + ":9092"),
		kgo.Dialer(f.TLSDialer(&tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12})),
		kgo.SASL(scram.Auth{User: testUser, Pass: password}.AsSha512Mechanism()),
		kgo.RequestRetries(2),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func brokerIDs(ctx context.Context, adm *kadm.Client) ([]int32, error) {
	bs, err := adm.ListBrokers(ctx)
	if err != nil {
		return nil, err
	}
	ids := bs.NodeIDs()
	slices.Sort(ids)
	return ids, nil
}

// wantBrokers is what metadata should list: the ready brokers and kfake's controller node.
func wantBrokers(ids ...int32) []int32 { return append([]int32{ControllerNodeID}, ids...) }

func TestFleetServesKafkaOverTLSAndSCRAM(t *testing.T) {
	f, c, _, ca := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Every broker and the bootstrap listen on loopback addresses of their own.
	seen := map[string]bool{}
	for _, o := range []int{BootstrapOrdinal, ControllerOrdinal, 0, 1, 2} {
		addr, ok := c.Addr(o)
		if !ok || seen[addr] {
			t.Fatalf("ordinal %d: address %q (ok %v) not its own", o, addr, ok)
		}
		seen[addr] = true
	}
	if addr, ok := f.Resolve(brokerHost(1)); !ok || addr != mustAddr(t, c, 1) {
		t.Fatalf("resolve %s = %q, %v", brokerHost(1), addr, ok)
	}

	cl := client(t, f, ca, testPass)
	adm := kadm.NewClient(cl)
	ids, err := brokerIDs(ctx, adm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, wantBrokers(1000, 1001, 1002)) {
		t.Fatalf("brokers %v", ids)
	}
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range meta.Brokers {
		if b.NodeID >= BrokerIDOffset && b.Host != brokerHost(int(b.NodeID-BrokerIDOffset)) {
			t.Errorf("broker %d advertises %s", b.NodeID, b.Host)
		}
	}

	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("hello")}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer := client(t, f, ca, testPass, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) == 0 {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("consumed %v", got)
	}

	// A broker whose pod goes away leaves metadata; one that comes back returns.
	if err := c.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Resolve(brokerHost(2)); ok {
		t.Fatal("a stopped broker still resolves")
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		ids, err := brokerIDs(ctx, adm)
		if err == nil && !slices.Equal(ids, wantBrokers(1000, 1001)) {
			err = fmt.Errorf("brokers %v after stopping 1002", ids)
		}
		return err
	})
	if err := c.StartBroker(ctx, 3); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		ids, err := brokerIDs(ctx, adm)
		if err == nil && !slices.Equal(ids, wantBrokers(1000, 1001, 1003)) {
			err = fmt.Errorf("brokers %v after starting 1003", ids)
		}
		return err
	})
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce after the broker set changed: %v", err)
	}
}

func mustAddr(t *testing.T, c *Cluster, ordinal int) string {
	t.Helper()
	addr, ok := c.Addr(ordinal)
	if !ok {
		t.Fatalf("broker %d not running", ordinal)
	}
	return addr
}

func TestWrongPasswordIsRefused(t *testing.T) {
	f, _, _, ca := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl := client(t, f, ca, "not-the-password")
	if _, err := kadm.NewClient(cl).ListBrokers(ctx); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	ok := client(t, f, ca, testPass)
	if _, err := kadm.NewClient(ok).ListBrokers(ctx); err != nil {
		t.Fatalf("the super user: %v", err)
	}
}

func TestClientMustTrustTheClusterCA(t *testing.T) {
	f, _, _, _ := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl := client(t, f, newTestCA(t), testPass)
	if _, err := kadm.NewClient(cl).ListBrokers(ctx); err == nil {
		t.Fatal("a client trusting another CA connected")
	}
}

// servedSerial is the serial of the certificate a fresh TLS handshake with broker i sees.
func servedSerial(t *testing.T, f *Fleet, ca *testCA, i int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := f.DialContext(ctx, "tcp", brokerHost(i)+":9092")
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, &tls.Config{ServerName: brokerHost(i), RootCAs: ca.pool, MinVersion: tls.VersionTLS12})
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestRotatedCertificateIsServedOnlyAfterReload(t *testing.T) {
	f, c, secrets, ca := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, f, ca, testPass))
	if _, err := adm.ListBrokers(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := servedSerial(t, f, ca, i); got != "100" {
			t.Fatalf("broker %d serves serial %s before the rotation", i, got)
		}
	}

	secrets.SetKeystore(ca.keystore(t, 200)) // the satellite rewrites the Secret
	for i := range 2 {
		if got := servedSerial(t, f, ca, i); got != "100" {
			t.Fatalf("broker %d serves serial %s with no reload asked", i, got)
		}
	}

	// Broker 0 is told to reload, as Kafka is: the keystore location re-set on its resource.
	before := time.Now()
	resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "listener.name.client.ssl.keystore.location", Value: kadm.StringPtr("/etc/orbit/tls/keystore.pem")}}, NodeID(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatalf("alter %s: %v %s", r.Name, r.Err, r.ErrMessage)
		}
	}
	if got := servedSerial(t, f, ca, 0); got != "200" {
		t.Fatalf("broker 0 serves serial %s after its reload", got)
	}
	if got := servedSerial(t, f, ca, 1); got != "100" {
		t.Fatalf("broker 1 serves serial %s though only broker 0 reloaded", got)
	}
	b0, _ := c.Broker(0)
	if b0.CertSerial != "200" || b0.Reloads != 1 || b0.ReloadRequested.Before(before) {
		t.Fatalf("broker 0 record: %+v", b0)
	}
	b1, _ := c.Broker(1)
	if b1.CertSerial != "100" || b1.Reloads != 0 || !b1.ReloadRequested.IsZero() {
		t.Fatalf("broker 1 record: %+v", b1)
	}
}

func TestKeystoreConfigNames(t *testing.T) {
	for name, want := range map[string]bool{
		"ssl.keystore.location":                               true,
		"listener.name.client.ssl.keystore.location":          true,
		"listener.name.client.ssl.keystore.certificate.chain": true,
		"ssl.keystore.key":                                    true,
		"ssl.truststore.location":                             false,
		"listener.name.client.ssl.truststore.location":        false,
		"listener.name.ssl.keystore.location":                 false,
		"log.retention.ms":                                    false,
	} {
		if got := isKeystoreConfig(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}
