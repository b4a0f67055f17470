package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
)

// kafkaClient is a franz-go client of a dev cluster that trusts only the cluster's CA from
// the API and authenticates with a Kafka API key (none when key is ""). It dials through
// the satellite's Kafka harness: the harness advertises its controller node (which alone
// answers CreateTopics) under an in-cluster name that only the harness resolves.
func kafkaClient(t *testing.T, sat *devstack.SatelliteNode, c *api.Cluster, key, secret string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(c.Status.CACertificate)) {
		t.Fatal("the CA Orbit gave is not PEM")
	}
	opts = append(opts, kgo.SeedBrokers(c.Status.Bootstrap),
		kgo.Dialer(sat.Kafka.TLSDialer(&tls.Config{RootCAs: pool, ServerName: c.Status.BootstrapHost, MinVersion: tls.VersionTLS12})),
		kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))
	if key != "" {
		opts = append(opts, kgo.SASL(scram.Auth{User: key, Pass: secret}.AsSha512Mechanism()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestDevKafkaAPIKey is the tour as a new user runs it in dev mode: a dedicated cluster, a
// Kafka API key, a topic; produce and consume over SASL_SSL trusting only Orbit's CA.
// Without credentials, with a wrong secret and with the key once revoked, the client is
// refused.
func TestDevKafkaAPIKey(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "tour", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("tour", 60*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if c.Status.CACertificate == "" || c.Status.BootstrapHost == "" {
			return fmt.Errorf("no CA or bootstrap host yet")
		}
		return nil
	})
	k, err := e.client.CreateKafkaAPIKey(ctx, "tour", api.KafkaAPIKeyRequest{Description: "tour"})
	if err != nil {
		t.Fatal(err)
	}
	const topic = "orders"
	adm := kadm.NewClient(kafkaClient(t, sat, c, k.ID, k.Secret))
	testkit.CheckFor(t, 30*time.Second, func() error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := adm.CreateTopic(rctx, 1, 1, nil, topic)
		if err != nil {
			return err
		}
		if res.Err != nil && res.Err.Error() != "" && !isTopicExists(res.Err) {
			return res.Err
		}
		return nil
	})
	producer := kafkaClient(t, sat, c, k.ID, k.Secret)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := producer.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatalf("producing with the key: %v", err)
	}
	consumer := kafkaClient(t, sat, c, k.ID, k.Secret, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fetches := consumer.PollFetches(pctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("consuming with the key: %v", err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Fatalf("consumed %v", recs)
	}

	refused := func(who string, cl *kgo.Client) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := kadm.NewClient(cl).ListTopics(rctx); err == nil {
			t.Errorf("%s: listed topics", who)
		}
	}
	refused("no credentials", kafkaClient(t, sat, c, "", ""))
	refused("wrong secret", kafkaClient(t, sat, c, k.ID, k.Secret+"x"))

	if _, err := e.client.RevokeKafkaAPIKey(ctx, "tour", k.ID); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := kadm.NewClient(kafkaClient(t, sat, c, k.ID, k.Secret)).ListTopics(rctx); err == nil {
			return fmt.Errorf("the revoked key still authenticates")
		}
		return nil
	})
}

func isTopicExists(err error) bool { return errors.Is(err, kerr.TopicAlreadyExists) }
