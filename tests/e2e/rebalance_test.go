package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/testkit"
)

// resizeEnv is a dedicated Kafka cluster of cku CKUs on a satellite started with tweak,
// with the harness's cluster and a client as the satellite's super user.
type resizeEnv struct {
	e       *env
	sat     *devstack.SatelliteNode
	name    string
	kafka   *simkafka.Cluster
	cl      *kgo.Client
	cluster *api.Cluster
	// user and password are the super user's.
	user, password string
}

func newResizeEnv(t *testing.T, cku int, tweak func(*devstack.SatelliteConfig)) *resizeEnv {
	t.Helper()
	e := newEnv(t)
	e.satConfig = tweak
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "moving", Product: "kafka", CKU: cku, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("moving", 60*time.Second, readyWith(3*cku))
	id := strings.TrimPrefix(physicalKeyOf(t, e, "us-west-2"), "us-west-2.kafka.")
	k, ok := sat.Kafka.Get(id)
	if !ok {
		t.Fatalf("no harness cluster %s", id)
	}
	secret, err := sat.Kube.CoreV1().Secrets(satellite.Namespace(id)).Get(ctx, "kafka-superuser", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := kafkaClient(t, sat, c, string(secret.Data["username"]), string(secret.Data["password"]))
	return &resizeEnv{e: e, sat: sat, name: "moving", kafka: k, cl: cl, cluster: c,
		user: string(secret.Data["username"]), password: string(secret.Data["password"])}
}

func (r *resizeEnv) resize(t *testing.T, cku int) {
	t.Helper()
	if _, err := r.e.client.UpdateCluster(context.Background(), r.name, api.ClusterUpdate{CKU: ptr(cku)}); err != nil {
		t.Fatal(err)
	}
}

// createTopic creates topic with partitions of replication factor rf as the super user.
func (r *resizeEnv) createTopic(t *testing.T, topic string, partitions, rf int) {
	t.Helper()
	testkit.CheckFor(t, 20*time.Second, func() error {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, int32(partitions), int16(rf)
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 5000
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, r.cl)
		if err != nil {
			return err
		}
		if code := resp.Topics[0].ErrorCode; code != 0 && code != 36 { // TOPIC_ALREADY_EXISTS
			return fmt.Errorf("create %s: error %d", topic, code)
		}
		return nil
	})
}

// partitions is every partition as a Kafka client's metadata shows it (a request of its
// own, never the client's cache), by topic.
func (r *resizeEnv) partitions(t *testing.T) map[string][]kmsg.MetadataResponseTopicPartition {
	t.Helper()
	var out map[string][]kmsg.MetadataResponseTopicPartition
	testkit.CheckFor(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, r.cl)
		if err != nil {
			return err
		}
		out = map[string][]kmsg.MetadataResponseTopicPartition{}
		for _, tp := range resp.Topics {
			if tp.Topic != nil {
				out[*tp.Topic] = tp.Partitions
			}
		}
		return nil
	})
	return out
}

// holders counts the replicas and the leaders each broker has.
func holders(parts map[string][]kmsg.MetadataResponseTopicPartition) (replicas, leaders map[int32]int) {
	replicas, leaders = map[int32]int{}, map[int32]int{}
	for _, ps := range parts {
		for _, p := range ps {
			for _, b := range p.Replicas {
				replicas[b]++
			}
			leaders[p.Leader]++
		}
	}
	return replicas, leaders
}

func noReassign(cfg *devstack.SatelliteConfig) { cfg.KafkaNoReassign = true }

// TestResizeWithoutReassignmentFailsVisibly is the negative control: with the satellite's
// reassignment turned off, the harness shows what a real cluster would. After 1 → 2 CKUs
// the new brokers hold no replicas; after 2 → 1 the partitions that had replicas on
// brokers 3–5 are under-replicated or offline.
func TestResizeWithoutReassignmentFailsVisibly(t *testing.T) {
	r := newResizeEnv(t, 1, noReassign)
	r.createTopic(t, "before", 6, 3)
	r.resize(t, 2)
	r.e.waitFor(r.name, 60*time.Second, readyWith(6))
	replicas, _ := holders(r.partitions(t))
	if replicas[1003]+replicas[1004]+replicas[1005] != 0 || replicas[1000] != 6 {
		t.Fatalf("after 1 → 2 CKUs without reassignment: replicas per broker %v", replicas)
	}
	r.createTopic(t, "spread", 6, 3) // placed across the six brokers
	r.createTopic(t, "single", 6, 1)
	r.resize(t, 1)
	// Kubernetes has its three brokers; Kafka says the cluster is not healthy.
	r.e.waitFor(r.name, 60*time.Second, func(c *api.Cluster) error {
		if c.Status.ReadyBrokers != 3 || c.Status.Brokers != 3 || c.Status.Phase != api.PhaseDegraded {
			return fmt.Errorf("phase %s, %d/%d brokers (%s)", c.Status.Phase, c.Status.ReadyBrokers, c.Status.Brokers, c.Status.Reason)
		}
		return nil
	})
	under, offline := 0, 0
	for topic, ps := range r.partitions(t) {
		for _, p := range ps {
			if p.Leader < 0 {
				offline++
			} else if len(p.ISR) < len(p.Replicas) {
				under++
			}
			if topic == "before" && len(p.ISR) != 3 {
				t.Errorf("before/%d lost replicas: %+v", p.Partition, p)
			}
		}
	}
	if under == 0 || offline == 0 {
		t.Fatalf("after 2 → 1 CKUs without a drain: %d under-replicated, %d offline partitions", under, offline)
	}
	t.Logf("without a drain: %d partitions under-replicated, %d offline", under, offline)
}

// TestScaleUpRebalances: after 1 → 2 CKUs, RF-3 topics have replicas on all six brokers,
// leaders spread evenly across brokers and racks; the Rebalancing condition was True while
// the replicas moved and the replication throttle is gone once they did.
func TestScaleUpRebalances(t *testing.T) {
	r := newResizeEnv(t, 1, nil)
	r.kafka.SetReassignDelay(500 * time.Millisecond)
	r.createTopic(t, "orders", 12, 3)
	r.createTopic(t, "payments", 6, 3)
	r.resize(t, 2)
	sawRebalancing := false
	r.e.waitFor(r.name, 90*time.Second, func(c *api.Cluster) error {
		for _, cond := range c.Status.Conditions {
			if cond.Type == "Rebalancing" && cond.Status == "True" {
				sawRebalancing = true
			}
		}
		if err := readyWith(6)(c); err != nil {
			return err
		}
		balanced := false
		for _, cond := range c.Status.Conditions {
			if cond.Type == "Rebalancing" {
				if cond.Status != "False" {
					return fmt.Errorf("rebalancing: %s", cond.Message)
				}
				balanced = true
			}
		}
		if !balanced {
			return fmt.Errorf("no Rebalancing condition: %+v", c.Status.Conditions)
		}
		if len(r.kafka.Reassignments()) == 0 {
			return fmt.Errorf("no reassignment yet")
		}
		return nil
	})
	if !sawRebalancing {
		t.Error("the Rebalancing condition never was True")
	}
	parts := r.partitions(t)
	for _, topic := range []string{"orders", "payments"} {
		per := map[int32]int{}
		lead := map[int32]int{}
		for _, p := range parts[topic] {
			for _, b := range p.Replicas {
				per[b]++
			}
			lead[p.Leader]++
			if len(p.ISR) != 3 {
				t.Errorf("%s/%d under-replicated: %+v", topic, p.Partition, p)
			}
		}
		if len(per) != 6 {
			t.Errorf("%s: replicas on %d brokers: %v", topic, len(per), per)
		}
		n := len(parts[topic])
		for b := int32(1000); b < 1006; b++ {
			if got, want := lead[b], n/6; got != want {
				t.Errorf("%s: broker %d leads %d partitions, want %d (%v)", topic, b, got, want, lead)
			}
		}
		racks := map[int32]int{}
		for b, l := range lead {
			racks[(b-1000)%3] += l
		}
		for z, l := range racks {
			if l != n/3 {
				t.Errorf("%s: rack zone-%d leads %d partitions, want %d", topic, z, l, n/3)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeConfigsRequest()
	for b := 1000; b < 1006; b++ {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, fmt.Sprint(b)
		rr.ConfigNames = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}
		req.Resources = append(req.Resources, rr)
	}
	shards := r.cl.RequestSharded(ctx, req)
	for _, s := range shards {
		if s.Err != nil {
			t.Fatal(s.Err)
		}
		for _, res := range s.Resp.(*kmsg.DescribeConfigsResponse).Resources {
			for _, cfg := range res.Configs {
				if cfg.Value != nil && cfg.Source == kmsg.ConfigSourceDynamicBrokerConfig {
					t.Errorf("broker %s keeps %s=%s after the rebalance", res.ResourceName, cfg.Name, *cfg.Value)
				}
			}
		}
	}
}

// TestScaleDownDrainsFirst: after 2 → 1 CKUs every replica lives on brokers 0–2, no
// partition is under-replicated, the reassignments came before any broker of 3–5 stopped,
// and the removed brokers were unregistered.
func TestScaleDownDrainsFirst(t *testing.T) {
	r := newResizeEnv(t, 2, nil)
	r.kafka.SetReassignDelay(300 * time.Millisecond)
	r.createTopic(t, "orders", 12, 3)
	r.createTopic(t, "single", 6, 1)
	if rep, _ := holders(r.partitions(t)); rep[1005] == 0 {
		t.Fatalf("the topics do not reach broker 1005: %v", rep)
	}
	r.resize(t, 1)
	r.e.waitFor(r.name, 120*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if u := r.kafka.Unregistered(); len(u) != 3 {
			return fmt.Errorf("unregistered %v", u)
		}
		return nil
	})
	for topic, ps := range r.partitions(t) {
		for _, p := range ps {
			if slices.ContainsFunc(p.Replicas, func(b int32) bool { return b > 1002 }) || len(p.ISR) != len(p.Replicas) || p.Leader < 0 {
				t.Errorf("%s/%d after the drain: %+v", topic, p.Partition, p)
			}
		}
	}
	moves := r.kafka.Reassignments()
	if len(moves) == 0 {
		t.Fatal("no reassignment was requested")
	}
	for b := int32(1003); b < 1006; b++ {
		stops := r.kafka.Stops(b)
		if len(stops) == 0 {
			t.Errorf("broker %d never stopped", b)
			continue
		}
		if !stops[0].After(moves[0].At) {
			t.Errorf("broker %d stopped at %v, before the first reassignment at %v", b, stops[0], moves[0].At)
		}
	}
	if u := r.kafka.Unregistered(); !slices.Equal(slices.Sorted(slices.Values(u)), []int32{1003, 1004, 1005}) {
		t.Errorf("unregistered %v", u)
	}
	// One at a time, highest ordinal first.
	s5, s4, s3 := r.kafka.Stops(1005), r.kafka.Stops(1004), r.kafka.Stops(1003)
	if len(s5) > 0 && len(s4) > 0 && len(s3) > 0 && !(s5[0].Before(s4[0]) && s4[0].Before(s3[0])) {
		t.Errorf("brokers stopped at 5: %v, 4: %v, 3: %v", s5[0], s4[0], s3[0])
	}
}

// TestHeldDrainKeepsEveryBroker: a drain whose reassignments the harness holds in flight
// past the deadline keeps every broker pod, reports why, and a resize back up cancels it.
func TestHeldDrainKeepsEveryBroker(t *testing.T) {
	r := newResizeEnv(t, 2, func(cfg *devstack.SatelliteConfig) { cfg.DrainDeadline = 2 * time.Second })
	r.createTopic(t, "orders", 6, 3)
	r.kafka.HoldReassignments(true)
	r.resize(t, 1)
	c := r.e.waitFor(r.name, 60*time.Second, func(c *api.Cluster) error {
		if c.Status.Phase != api.PhaseDegraded || !strings.Contains(c.Status.Reason, "held") || !strings.Contains(c.Status.Reason, "in flight") {
			return fmt.Errorf("phase %s (%s)", c.Status.Phase, c.Status.Reason)
		}
		return nil
	})
	t.Logf("held: %s", c.Status.Reason)
	if n := len(r.kafka.Brokers()); n != 6 {
		t.Errorf("%d brokers run during the held drain", n)
	}
	for b := int32(1000); b < 1006; b++ {
		if len(r.kafka.Stops(b)) != 0 {
			t.Errorf("broker %d was stopped", b)
		}
	}
	// The simulated Kubernetes has no pod objects: the StatefulSet's replicas are the pods.
	sts, err := r.sat.Kube.AppsV1().StatefulSets(satellite.Namespace(r.kafka.ID())).Get(context.Background(), "kafka-broker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 6 || sts.Status.ReadyReplicas != 6 {
		t.Errorf("broker StatefulSet during the held drain: %d replicas, %d ready", *sts.Spec.Replicas, sts.Status.ReadyReplicas)
	}
	// The cluster keeps serving: a client produces to every partition.
	producer := kafkaClient(t, r.sat, r.cluster, r.user, r.password, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(6) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := producer.ProduceSync(ctx, &kgo.Record{Topic: "orders", Partition: p, Value: []byte("still serving")}).FirstErr()
		cancel()
		if err != nil {
			t.Errorf("producing to orders/%d during the held drain: %v", p, err)
		}
	}
	r.resize(t, 2)
	r.e.waitFor(r.name, 60*time.Second, func(c *api.Cluster) error {
		if err := readyWith(6)(c); err != nil {
			return err
		}
		for _, p := range r.kafka.Partitions() {
			if len(p.Adding) > 0 || len(p.Removing) > 0 {
				return fmt.Errorf("%s/%d still moving", p.Topic, p.Partition)
			}
		}
		return nil
	})
	if u := r.kafka.Unregistered(); len(u) != 0 {
		t.Errorf("unregistered %v", u)
	}
	r.kafka.HoldReassignments(false)
}

// kafkaStatus is the status the satellite last reported for the cluster.
// apiKafka checks the Kafka numbers the mothership's API shows of the cluster.
func (r *resizeEnv) apiKafka(ok func(*api.KafkaNumbers) bool) error {
	c, err := r.e.client.GetCluster(context.Background(), r.name)
	if err != nil {
		return err
	}
	if c.Status.Kafka == nil || !ok(c.Status.Kafka) {
		return fmt.Errorf("the API shows kafka %+v", c.Status.Kafka)
	}
	return nil
}

func (r *resizeEnv) kafkaStatus(t *testing.T) *kv.Status {
	t.Helper()
	entry, err := r.e.bucket(kv.BucketActual).Get(context.Background(), physicalKeyOf(t, r.e, "us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.DecodeStatus(entry.Value())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHealthFromKafka: a broker the harness stops answering for (fenced while its pod runs)
// turns the cluster Degraded with that broker named; an offline partition does the same;
// both recover to Ready. The status carries what Kafka reports.
func TestHealthFromKafka(t *testing.T) {
	r := newResizeEnv(t, 1, func(cfg *devstack.SatelliteConfig) { cfg.KafkaHealthInterval = 300 * time.Millisecond })
	r.createTopic(t, "orders", 3, 3)
	r.createTopic(t, "single", 3, 1)
	producer := kafkaClient(t, r.sat, r.cluster, r.user, r.password, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(3) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := producer.ProduceSync(ctx, &kgo.Record{Topic: "orders", Partition: p, Value: []byte("some bytes on disk")}).FirstErr()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	degraded := func(words ...string) func(c *api.Cluster) error {
		return func(c *api.Cluster) error {
			if c.Status.Phase != api.PhaseDegraded {
				return fmt.Errorf("phase %s (%s)", c.Status.Phase, c.Status.Reason)
			}
			for _, w := range words {
				if !strings.Contains(c.Status.Reason, w) {
					return fmt.Errorf("reason %q does not say %q", c.Status.Reason, w)
				}
			}
			return nil
		}
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		h := r.kafkaStatus(t).Kafka
		if h == nil || h.Partitions != 6 || h.BytesOnDisk == 0 || h.UnderReplicated != 0 || h.Offline != 0 {
			return fmt.Errorf("kafka status %+v", h)
		}
		// The API shows the same numbers.
		return r.apiKafka(func(k *api.KafkaNumbers) bool {
			return k.Partitions == 6 && k.BytesOnDisk == h.BytesOnDisk && k.UnderReplicated == 0 && k.Offline == 0
		})
	})
	// And so does orbit cluster get.
	out, _, err := r.e.orbit("cluster", "get", r.name)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) < 2 ||
		!strings.HasPrefix(lines[len(lines)-2], "PARTITIONS") || strings.Fields(lines[len(lines)-1])[0] != "6" {
		t.Errorf("orbit cluster get:\n%s", out)
	}

	r.kafka.Fence(1, true)
	c := r.e.waitFor(r.name, 30*time.Second, degraded("1001"))
	t.Logf("fenced broker: %s", c.Status.Reason)
	if h := r.kafkaStatus(t).Kafka; h == nil || h.UnderReplicated == 0 {
		t.Errorf("kafka status with a broker fenced: %+v", h)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		return r.apiKafka(func(k *api.KafkaNumbers) bool { return k.UnderReplicated > 0 })
	})
	r.kafka.Fence(1, false)
	r.e.waitFor(r.name, 30*time.Second, readyWith(3))

	// An offline partition: its one replica is on a broker that does not exist.
	var single int32 = -1
	for _, p := range r.kafka.Partitions() {
		if p.Topic == "single" && p.Partition == 0 {
			single = p.Replicas[0]
		}
	}
	if single < 0 {
		t.Fatal("the harness does not know single/0")
	}
	if err := r.kafka.Assign("single", 0, []int32{1099}); err != nil {
		t.Fatal(err)
	}
	c = r.e.waitFor(r.name, 30*time.Second, degraded("offline", "single/0"))
	t.Logf("offline partition: %s", c.Status.Reason)
	if h := r.kafkaStatus(t).Kafka; h == nil || h.Offline != 1 {
		t.Errorf("kafka status with a partition offline: %+v", h)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		return r.apiKafka(func(k *api.KafkaNumbers) bool { return k.Offline == 1 })
	})
	if err := r.kafka.Assign("single", 0, []int32{single}); err != nil {
		t.Fatal(err)
	}
	r.e.waitFor(r.name, 30*time.Second, readyWith(3))

	// Log directories above the threshold: the disks are made just larger than the data.
	used := r.kafkaStatus(t).Kafka.BytesOnDisk / 3 // every replica counts: each of three brokers holds a third
	r.kafka.SetDiskBytes(used + used/20)
	c = r.e.waitFor(r.name, 30*time.Second, degraded("log directories above the threshold", "1000"))
	t.Logf("full disks: %s", c.Status.Reason)
	r.kafka.SetDiskBytes(simkafka.DefaultDiskBytes)
	r.e.waitFor(r.name, 30*time.Second, readyWith(3))
}
