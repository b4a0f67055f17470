package satellite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
)

// aclKafka is a kfake cluster set up as simkafka sets up its brokers (SASL, a super user,
// the authorizer on); the super user holds the topics named and a SCRAM user named after a
// worker's certificate subject, so that a client of that user acts under exactly the
// principal the worker's mutual TLS gives it (kfake has no TLS principals).
type aclKafka struct {
	t     *testing.T
	addrs []string
	super *kadm.Client
}

func newACLKafka(t *testing.T, topics ...string) *aclKafka {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "orbit-super", "super-secret"), kfake.EnableACLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	k := &aclKafka{t: t, addrs: c.ListenAddrs()}
	k.super = kadm.NewClient(k.client("orbit-super", "super-secret"))
	ctx := context.Background()
	if _, err := k.super.CreateTopics(ctx, 1, 1, nil, topics...); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *aclKafka) client(user, pass string) *kgo.Client {
	k.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()),
		kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.RecordDeliveryTimeout(5*time.Second))
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	return cl
}

// worker applies the worker's ACLs as the satellite would and returns a client under its
// principal.
func (k *aclKafka) worker(o *PSCObject, entries []aclEntry) *kgo.Client {
	k.t.Helper()
	ctx := context.Background()
	user := certSubject(o.Spec.Product, o.Name).String()
	res, err := k.super.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512,
		Iterations: 4096, Password: "worker-secret"}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		k.t.Fatal(err)
	}
	if err := createACLEntries(ctx, k.super, entries); err != nil {
		k.t.Fatal(err)
	}
	return k.client(user, "worker-secret")
}

func produce(cl *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

// consume reads topic's first record as a member of group.
func consume(t *testing.T, k *aclKafka, o *PSCObject, topic, group string) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...),
		kgo.SASL(scram.Auth{User: certSubject(o.Spec.Product, o.Name).String(), Pass: "worker-secret"}.AsSha512Mechanism()),
		kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		f := cl.PollFetches(ctx)
		if err := f.Err0(); err != nil {
			return err
		}
		if f.NumRecords() > 0 {
			return nil
		}
	}
}

func workerPSC(product kv.Product, name, kafka, logical string) *PSCObject {
	o := &PSCObject{ObjectMeta: metav1.ObjectMeta{Name: name}}
	o.Spec.Product = product
	o.Spec.Kafka = &kv.KafkaRef{ID: kafka, Logical: logical}
	return o
}

// ownState drops a worker's user-data scope: the ACLs it had before it got one.
func ownState(o *PSCObject, entries []aclEntry) []aclEntry {
	var out []aclEntry
	for _, e := range entries {
		if e.Name != "*" && e.Name != o.Spec.Kafka.Logical+"." {
			out = append(out, e)
		}
	}
	return out
}

func refused(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed)
}

// TestWorkerReachesTenantTopicsDedicated: on a dedicated cluster, a Connect cluster's
// principal produces to and consumes (in a group of its own choosing) a user topic, as an
// API key of the cluster may; with only its own state's ACLs (the negative control) the
// produce is refused.
func TestWorkerReachesTenantTopicsDedicated(t *testing.T) {
	k := newACLKafka(t, "orders")
	o := workerPSC(kv.ProductConnect, "pcc-1", "pkc-1", "")
	entries := workerACLEntries(o, false, nil)

	control := k.worker(o, ownState(o, entries))
	if err := produce(control, "orders"); !refused(err) {
		t.Fatalf("produce with the worker's own-state ACLs only: %v, want refused", err)
	}
	if err := createACLEntries(context.Background(), k.super, entries); err != nil {
		t.Fatal(err)
	}
	if err := produce(k.client(certSubject(o.Spec.Product, o.Name).String(), "worker-secret"), "orders"); err != nil {
		t.Fatalf("produce to a user topic: %v", err)
	}
	if err := consume(t, k, o, "orders", "connect-sink-orders"); err != nil {
		t.Fatalf("consume a user topic: %v", err)
	}
	for _, e := range entries {
		if e.Type == kmsg.ACLResourceTypeCluster {
			t.Errorf("worker ACL on the cluster resource: %s", e)
		}
	}
}

// TestWorkerReachesTenantTopicsShared: on a shared cluster, a ksqlDB cluster working for
// tenant lkc-a reaches lkc-a.… topics and groups, not lkc-b's, not a name that merely
// starts like lkc-a's (lkc-ab.), not another worker's internal topics nor Kafka's; without
// its tenant's ACLs (negative control) lkc-a's topic is refused too; a tenant the cluster
// no longer hosts gives it no user-data scope.
func TestWorkerReachesTenantTopicsShared(t *testing.T) {
	k := newACLKafka(t, "lkc-a.orders", "lkc-b.orders", "lkc-ab.orders", "_connect-pcc-9-configs", "__consumer_offsets_like")
	o := workerPSC(kv.ProductKsqlDB, "pksqlc-1", "pkc-s", "lkc-a")
	tenants := []kv.TenantQuota{{ID: "lkc-a"}, {ID: "lkc-b"}}
	entries := workerACLEntries(o, true, tenants)

	control := k.worker(o, ownState(o, entries))
	if err := produce(control, "lkc-a.orders"); !refused(err) {
		t.Fatalf("produce with the worker's own-state ACLs only: %v, want refused", err)
	}
	if err := createACLEntries(context.Background(), k.super, entries); err != nil {
		t.Fatal(err)
	}
	cl := k.client(certSubject(o.Spec.Product, o.Name).String(), "worker-secret")
	if err := produce(cl, "lkc-a.orders"); err != nil {
		t.Fatalf("produce to its tenant's topic: %v", err)
	}
	if err := consume(t, k, o, "lkc-a.orders", "lkc-a.query-1"); err != nil {
		t.Fatalf("consume its tenant's topic: %v", err)
	}
	for _, topic := range []string{"lkc-b.orders", "lkc-ab.orders", "_connect-pcc-9-configs", "__consumer_offsets_like"} {
		if err := produce(cl, topic); !refused(err) {
			t.Errorf("produce to %s: %v, want refused", topic, err)
		}
	}
	if err := consume(t, k, o, "lkc-a.orders", "lkc-b.query-1"); !refused(err) {
		t.Errorf("joining lkc-b's group: %v, want refused", err)
	}
	// Its own internal topics stay its own.
	if res, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, "_confluent-ksql-pksqlc-1__command_topic"); err != nil || res.Err != nil {
		t.Errorf("creating its command topic: %v %v", err, res.Err)
	}

	gone := workerACLEntries(o, true, []kv.TenantQuota{{ID: "lkc-b"}})
	if want := ownState(o, entries); len(gone) != len(want) {
		t.Errorf("ACLs with its tenant gone: %v, want only its own state %v", aclStrings(gone), aclStrings(want))
	}
	if unnamed := workerACLEntries(workerPSC(kv.ProductKsqlDB, "pksqlc-1", "pkc-s", ""), true, tenants); len(unnamed) != 4 {
		t.Errorf("ACLs naming no tenant on a shared cluster: %v, want only its own state", aclStrings(unnamed))
	}
}
