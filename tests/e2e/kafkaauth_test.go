package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// kafkaClient is a franz-go client of a dev cluster that trusts only the cluster's CA from
// the API and authenticates with a Kafka API key (none when key is ""). It dials through the
// satellite's Kafka harness, which resolves the brokers' names also where they advertise
// names (satellites on a real API server); plainKafkaClient dials over the network only.
func kafkaClient(t *testing.T, sat *devstack.SatelliteNode, c *api.Cluster, key, secret string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newKafkaClient(t, c, func(cfg *tls.Config) func(context.Context, string, string) (net.Conn, error) {
		return sat.Kafka.TLSDialer(cfg)
	}, key, secret, opts...)
}

// plainKafkaClient is a franz-go client of a dev cluster that reaches it the way any program
// on the machine would: over the network at the addresses the brokers advertise (loopback
// addresses in dev mode, kfake's controller node included), with no help from the harness.
func plainKafkaClient(t *testing.T, c *api.Cluster, key, secret string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newKafkaClient(t, c, func(cfg *tls.Config) func(context.Context, string, string) (net.Conn, error) {
		return (&tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}).DialContext
	}, key, secret, opts...)
}

// newKafkaClient trusts only the cluster's CA (verified against its bootstrap name) and
// dials with the dialer made for that TLS configuration.
func newKafkaClient(t *testing.T, c *api.Cluster, dialer func(*tls.Config) func(context.Context, string, string) (net.Conn, error), key, secret string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(c.Status.CACertificate)) {
		t.Fatal("the CA Orbit gave is not PEM")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: c.Status.BootstrapHost, MinVersion: tls.VersionTLS12}
	opts = append(opts, kgo.SeedBrokers(c.Status.Bootstrap), kgo.Dialer(dialer(cfg)),
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
	c := e.waitFor("tour", 60*time.Second, readyWithCA(3))
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

// readyWithCA: ready with n brokers, and the CA and bootstrap name a client needs reported.
func readyWithCA(n int) func(*api.Cluster) error {
	return func(c *api.Cluster) error {
		if err := readyWith(n)(c); err != nil {
			return err
		}
		if c.Status.CACertificate == "" || c.Status.BootstrapHost == "" {
			return fmt.Errorf("no CA or bootstrap host yet")
		}
		return nil
	}
}

func isTopicExists(err error) bool { return errors.Is(err, kerr.TopicAlreadyExists) }

// TestSharedClusterTenantIsolation puts two tenants' basic clusters on one shared physical
// cluster, each with a Kafka API key: a key creates, produces to and lists only topics under
// its logical cluster's prefix; the other tenant's topics are invisible and refused; and the
// client quotas Kafka reports for a key are its tenant's quota from the desired state.
func TestSharedClusterTenantIsolation(t *testing.T) {
	e := newEnv(t)
	e.satConfig = func(cfg *devstack.SatelliteConfig) { cfg.KafkaHealthInterval = 300 * time.Millisecond }
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	rival, a, b := basicPair(t, e)
	ka, err := e.client.CreateKafkaAPIKey(ctx, "a", api.KafkaAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	kb, err := rival.CreateKafkaAPIKey(ctx, "b", api.KafkaAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	admA := kadm.NewClient(kafkaClient(t, sat, a, ka.ID, ka.Secret))
	admB := kadm.NewClient(kafkaClient(t, sat, b, kb.ID, kb.Secret))
	topicA, topicB := a.ID+".orders", b.ID+".orders"
	create := func(adm *kadm.Client, topic string) error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := adm.CreateTopic(rctx, 1, 1, nil, topic)
		if err != nil {
			return err
		}
		if res.Err != nil && !isTopicExists(res.Err) {
			return res.Err
		}
		return nil
	}
	testkit.CheckFor(t, 30*time.Second, func() error { return create(admA, topicA) })
	testkit.CheckFor(t, 30*time.Second, func() error { return create(admB, topicB) })
	for _, topic := range []string{"orders", b.ID + ".mine", topicB} {
		if err := create(admA, topic); err == nil {
			t.Errorf("A created or may create %s outside its prefix", topic)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	listed, err := admA.ListTopics(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if !listed.Has(topicA) || listed.Has(topicB) {
		t.Errorf("A lists %v", listed.Names())
	}
	if d, err := admA.DescribeTopicConfigs(rctx, topicB); err == nil && d[0].Err == nil {
		t.Errorf("A described B's topic")
	}
	if res, err := admA.DeleteTopic(rctx, topicB); err == nil && res.Err == nil {
		t.Errorf("A deleted B's topic")
	}
	producer := kafkaClient(t, sat, a, ka.ID, ka.Secret)
	if err := producer.ProduceSync(rctx, &kgo.Record{Topic: topicA, Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatalf("A producing to its own topic: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	if err := producer.ProduceSync(pctx, &kgo.Record{Topic: topicB, Value: []byte("a")}).FirstErr(); err == nil {
		t.Error("A produced to B's topic")
	}
	consumer := kafkaClient(t, sat, a, ka.ID, ka.Secret, kgo.ConsumeTopics(topicB), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
	defer ccancel()
	if recs := consumer.PollFetches(cctx).Records(); len(recs) != 0 {
		t.Errorf("A consumed B's records: %v", recs)
	}

	// The status counts each tenant's own partitions and bytes, from Kafka.
	testkit.CheckFor(t, 30*time.Second, func() error {
		entry, err := e.bucket(kv.BucketActual).Get(ctx, physicalKeyOf(t, e, "us-west-2"))
		if err != nil {
			return err
		}
		st, err := kv.DecodeStatus(entry.Value())
		if err != nil {
			return err
		}
		if st.Kafka == nil {
			return fmt.Errorf("no kafka health in the status")
		}
		got := map[string]kv.TenantHealth{}
		for _, th := range st.Kafka.Tenants {
			got[th.ID] = th
		}
		if ta, tb := got[a.ID], got[b.ID]; ta.Partitions != 1 || tb.Partitions != 1 || ta.BytesOnDisk == 0 || tb.BytesOnDisk != 0 {
			return fmt.Errorf("tenants %+v", st.Kafka.Tenants)
		}
		return nil
	})

	// Quotas: what Kafka reports for A's key is A's tenant quota in the desired state.
	pscEntry, err := e.bucket(kv.BucketDesired).Get(ctx, physicalKeyOf(t, e, "us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	psc, err := kv.DecodePSC(pscEntry.Value())
	if err != nil {
		t.Fatal(err)
	}
	var quota kv.TenantQuota
	for _, q := range psc.Spec.Tenants {
		if q.ID == a.ID {
			quota = q
		}
	}
	want := map[string]float64{}
	if quota.ProducerByteRate > 0 {
		want["producer_byte_rate"] = float64(quota.ProducerByteRate)
	}
	if quota.ConsumerByteRate > 0 {
		want["consumer_byte_rate"] = float64(quota.ConsumerByteRate)
	}
	t.Logf("tenant quota of %s: %v", a.ID, want)
	super := superAdmin(t, sat, psc.ID, a)
	testkit.CheckFor(t, 30*time.Second, func() error {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		name := ka.ID
		got, err := super.DescribeClientQuotas(qctx, true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: &name, MatchType: 0}})
		if err != nil {
			return err
		}
		have := map[string]float64{}
		for _, q := range got {
			for _, v := range q.Values {
				have[v.Key] = v.Value
			}
		}
		if fmt.Sprint(have) != fmt.Sprint(want) {
			return fmt.Errorf("quotas of %s: %v, want %v", name, have, want)
		}
		return nil
	})
}

// physicalKeyOf is the desired key of the one Kafka cluster placed on satellite.
func physicalKeyOf(t *testing.T, e *env, satellite string) string {
	t.Helper()
	keys, err := e.bucket(kv.BucketDesired).Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, k := range keys {
		if strings.HasPrefix(k, satellite+".kafka.") {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		t.Fatalf("kafka clusters on %s: %v", satellite, found)
	}
	return found[0]
}

// superAdmin is an admin client of a physical cluster as the satellite's super user.
func superAdmin(t *testing.T, sat *devstack.SatelliteNode, physicalID string, c *api.Cluster) *kadm.Client {
	t.Helper()
	secret, err := sat.Kube.CoreV1().Secrets(satellite.Namespace(physicalID)).Get(context.Background(), "kafka-superuser", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return kadm.NewClient(kafkaClient(t, sat, c, string(secret.Data["username"]), string(secret.Data["password"])))
}
