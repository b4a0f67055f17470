package satellite

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orbitcp/orbit/kv"
)

// TestDataUsageIsPerTenantPrefix reads, over the Kafka protocol, what a shared cluster
// holds: each tenant gets the partitions and the logical bytes of its own prefixed topics
// only; the cluster's totals cover every topic.
func TestDataUsageIsPerTenantPrefix(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	topics := map[string]int32{"lkc-a.orders": 3, "lkc-a.audit": 1, "lkc-b.orders": 2, "lkc-ab.x": 1, "shared-ops": 1}
	for name, parts := range topics {
		if _, err := adm.CreateTopic(ctx, parts, 3, nil, name); err != nil {
			t.Fatal(err)
		}
	}
	// lkc-a writes 10 KiB into partition 0 of its orders, lkc-b 1 KiB.
	produce := func(topic string, n int) {
		for range n {
			v := make([]byte, 1024) // random: the producer's compression keeps it whole
			_, _ = rand.Read(v)
			r := &kgo.Record{Topic: topic, Partition: 0, Value: v}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce("lkc-a.orders", 10)
	produce("lkc-b.orders", 1)

	u, err := dataUsage(ctx, adm, []kv.TenantQuota{{ID: "lkc-a"}, {ID: "lkc-b"}, {ID: "lkc-c"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Partitions != 8 {
		t.Fatalf("cluster partitions %d, want 8", u.Partitions)
	}
	a, b, c3 := u.Tenant("lkc-a"), u.Tenant("lkc-b"), u.Tenant("lkc-c")
	if a == nil || b == nil || c3 == nil {
		t.Fatalf("tenants %+v", u.Tenants)
	}
	if a.Partitions != 4 || b.Partitions != 2 || c3.Partitions != 0 || c3.Bytes != 0 {
		t.Fatalf("partitions: a %+v b %+v c %+v", a, b, c3)
	}
	// One replica's bytes: 10 records of 1 KiB and their framing, not three times that.
	if a.Bytes < 10*1024 || a.Bytes > 2*10*1024 || b.Bytes < 1024 || b.Bytes > 2*1024 {
		t.Fatalf("bytes: a %d, b %d", a.Bytes, b.Bytes)
	}
	if u.Bytes != a.Bytes+b.Bytes {
		t.Fatalf("cluster bytes %d, tenants' %d + %d", u.Bytes, a.Bytes, b.Bytes)
	}
}
