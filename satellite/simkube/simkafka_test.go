package simkube

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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/testkit"
)

// keystore makes a CA and a keystore (key, certificate, CA) for names, as the satellite does.
func keystore(t *testing.T, names ...string) (*x509.CertPool, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	ca, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, bytes.Join([][]byte{
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}, nil)
}

// TestKafkaBrokersFollowReadyReplicas runs a fleet as simkube's hook: broker StatefulSet
// replicas that become ready are brokers a franz-go client lists, LoadBalancer services
// get the harness's addresses, and a scale-down removes the broker.
func TestKafkaBrokersFollowReadyReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const id, ns, domain = "k1", "orbit-k1", "kafka.test"
	pool, ks := keystore(t, "*."+id+"."+domain, "*.kafka-controller-headless."+ns+".svc")
	fleet := simkafka.NewFleet(nil)
	defer fleet.Close()
	sim := New(10*time.Millisecond, nil, nil)
	sim.Hook = &simkafka.Kube{Client: sim.Client, Fleet: fleet}

	labels := map[string]string{"orbit.dev/product": "kafka", "orbit.dev/cluster": id}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	replicas := int32(2)
	props := map[string]string{}
	for i := range 3 {
		props[fmt.Sprintf("broker-%d.properties", i)] = fmt.Sprintf("node.id=%d\nadvertised.listeners=CLIENT://b%d.%s.%s:9092,INTERNAL://x:9094\n", 1000+i, i, id, domain)
	}
	core := sim.Client.CoreV1()
	create := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := sim.Client.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta("kafka-broker"), Spec: appsv1.StatefulSetSpec{Replicas: &replicas}}, metav1.CreateOptions{})
	create(err)
	_, err = core.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("kafka-config"), Data: props}, metav1.CreateOptions{})
	create(err)
	_, err = core.Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta(simkafka.TLSSecret), Data: map[string][]byte{"keystore.pem": ks}}, metav1.CreateOptions{})
	create(err)
	_, err = core.Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta(simkafka.SuperuserSecret), Data: map[string][]byte{"username": []byte("sat"), "password": []byte("pw")}}, metav1.CreateOptions{})
	create(err)
	for _, name := range []string{"kafka-bootstrap", "kafka-broker-0", "kafka-broker-1"} {
		_, err = core.Services(ns).Create(ctx, &corev1.Service{ObjectMeta: meta(name), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}, metav1.CreateOptions{})
		create(err)
	}
	go func() { _ = sim.Run(ctx) }()

	poll := func(check func() error) {
		t.Helper()
		deadline, _ := ctx.Deadline()
		testkit.CheckFor(t, time.Until(deadline), check)
	}
	var c *simkafka.Cluster
	poll(func() error {
		var ok bool
		if c, ok = fleet.Get(id); !ok || len(c.Brokers()) != 2 {
			return fmt.Errorf("fleet cluster not running 2 brokers")
		}
		for _, o := range []int{simkafka.BootstrapOrdinal, 0, 1} {
			name := map[int]string{-1: "kafka-bootstrap", 0: "kafka-broker-0", 1: "kafka-broker-1"}[o]
			svc, err := core.Services(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			addr, _ := c.Addr(o)
			if in := svc.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP+":9092" != addr {
				return fmt.Errorf("service %s ingress %v, harness %s", name, in, addr)
			}
		}
		return nil
	})

	c.Register("bootstrap."+id+"."+domain, simkafka.BootstrapOrdinal)
	cl, err := kgo.NewClient(kgo.SeedBrokers("bootstrap."+id+"."+domain+":9092"),
		kgo.Dialer(fleet.TLSDialer(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
		kgo.SASL(scram.Auth{User: "sat", Pass: "pw"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	brokers := func(want ...int32) func() error {
		return func() error {
			bs, err := adm.ListBrokers(ctx)
			if err != nil {
				return err
			}
			ids := bs.NodeIDs()
			slices.Sort(ids)
			if !slices.Equal(ids, want) {
				return fmt.Errorf("brokers %v, want %v", ids, want)
			}
			return nil
		}
	}
	poll(brokers(simkafka.ControllerNodeID, 1000, 1001))

	replicas = 1
	sts, err := sim.Client.AppsV1().StatefulSets(ns).Get(ctx, "kafka-broker", metav1.GetOptions{})
	create(err)
	sts.Spec.Replicas = &replicas
	_, err = sim.Client.AppsV1().StatefulSets(ns).Update(ctx, sts, metav1.UpdateOptions{})
	create(err)
	poll(brokers(simkafka.ControllerNodeID, 1000))
}
