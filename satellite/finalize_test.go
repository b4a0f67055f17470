package satellite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestFinalizeMetadataSendsUpdateFeaturesOnce, against simkafka: a cluster formatted on
// Kafka 3.8 is asked for 3.9-IV0. Nothing is sent while its brokers do not run 3.9 or the
// cluster is not Ready; then one UpdateFeatures raises it, the status reports the level,
// and later passes find it there and send nothing. A PSC that asks for nothing only
// reports the level.
func TestFinalizeMetadataSendsUpdateFeaturesOnce(t *testing.T) {
	caData, err := newCA("pkc-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := parseCA(caData)
	if err != nil {
		t.Fatal(err)
	}
	const boot, ctlHost = "bootstrap.pkc-1.kafka.test", "kafka-controller-0.kafka-controller-headless.orbit-pkc-1.svc"
	files, _, err := issueCertificate(ca, certSubject(kv.ProductKafka, "pkc-1"), []string{boot, "*.pkc-1.kafka.test", ctlHost}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	secrets := &simkafka.StaticSecrets{}
	secrets.Set(superUserName, "s3cret-password", files[fileKeystore])
	fleet := simkafka.NewFleet(testkit.Logger())
	t.Cleanup(fleet.Close)
	c, err := fleet.Add(simkafka.Config{ID: "pkc-1", Secrets: secrets, ControllerHost: ctlHost, KafkaVersion: "3.8.0"})
	if err != nil {
		t.Fatal(err)
	}
	c.Register(boot, simkafka.BootstrapOrdinal)
	for i := range 3 {
		c.Register(brokerHostName(i), i)
		if err := c.StartBroker(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cl, err := kgo.NewClient(kgo.SeedBrokers(boot+":9092"),
		kgo.Dialer(fleet.TLSDialer(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
		kgo.SASL(scram.Auth{User: superUserName, Pass: "s3cret-password"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	op := &operator{log: testkit.Logger()}
	o := &PSCObject{ObjectMeta: metav1.ObjectMeta{Name: "pkc-1", Generation: 4},
		Spec: PSCObjectSpec{Product: kv.ProductKafka, Generation: 2, PSCSpec: kv.PSCSpec{Version: "3.9.0", MetadataVersion: 21}}}
	pass := func(phase kv.Phase) *PSCObjectStatus {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st := &PSCObjectStatus{Phase: phase, DesiredGeneration: 2, Kafka: &kv.KafkaHealth{}}
		if err := op.finalizeMetadata(ctx, cl, adm, o, st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	reason := func(st *PSCObjectStatus) string {
		for _, c := range st.Conditions {
			if c.Type == conditionMetadataFinalized {
				return c.Reason
			}
		}
		return ""
	}
	want := func(st *PSCObjectStatus, level int16, why string, updates int) {
		t.Helper()
		got, n := c.MetadataVersion()
		if st.Kafka.MetadataVersion != level || reason(st) != why || n != updates || got != level {
			t.Fatalf("reported %d (%s), Kafka at %d after %d updates; want %d (%s) after %d",
				st.Kafka.MetadataVersion, reason(st), got, n, level, why, updates)
		}
	}

	want(pass(kv.PhaseReady), 20, "WaitingForBrokers", 0) // the brokers still run 3.8
	c.SetKafkaVersion("3.9.0")
	want(pass(kv.PhaseDegraded), 20, "WaitingForReady", 0)
	want(pass(kv.PhaseReady), 21, "Finalized", 1)
	for range 2 {
		want(pass(kv.PhaseReady), 21, "Finalized", 1)
	}
	o.Spec.MetadataVersion = 0
	want(pass(kv.PhaseReady), 21, "", 1)
}

func brokerHostName(i int) string { return fmt.Sprintf("b%d.pkc-1.kafka.test", i) }
