package simkafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describe returns the topic's partitions as a Kafka client's metadata shows them (a
// Metadata request of its own: kadm's answers may come from the client's cache).
func describe(t *testing.T, cl *kgo.Client, topic string) []kmsg.MetadataResponseTopicPartition {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	for err != nil && ctx.Err() == nil { // the client may try a broker just stopped first
		time.Sleep(50 * time.Millisecond)
		resp, err = req.RequestWith(ctx, cl)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("topic %s: %+v", topic, resp.Topics)
	}
	ps := resp.Topics[0].Partitions
	slices.SortFunc(ps, func(a, b kmsg.MetadataResponseTopicPartition) int { return int(a.Partition - b.Partition) })
	return ps
}

// inFlight lists every reassignment in flight (kadm lists only the partitions named).
func inFlight(t *testing.T, cl *kgo.Client) map[string]kmsg.ListPartitionReassignmentsResponseTopicPartition {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]kmsg.ListPartitionReassignmentsResponseTopicPartition{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp
		}
	}
	return out
}

func holders(ps []kmsg.MetadataResponseTopicPartition) map[int32]int {
	out := map[int32]int{}
	for _, p := range ps {
		for _, r := range p.Replicas {
			out[r]++
		}
	}
	return out
}

func logDirBytes(t *testing.T, adm *kadm.Client, node int32) (int64, map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dirs, err := adm.DescribeBrokerLogDirs(ctx, node, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]int{}
	var total int64
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil {
			t.Fatalf("broker %d: %v", node, d.Err)
		}
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			parts[p.Topic]++
			total += p.Size
		})
	})
	return total, parts
}

// TestPlacementOnCreateAndScaleUp: a topic's replicas are placed across the alive brokers
// and racks; brokers that start later hold nothing and their log dirs are empty, while
// the old brokers' log dirs report only their own replicas' bytes.
func TestPlacementOnCreateAndScaleUp(t *testing.T) {
	f, c, _, ca := startCluster(t, 3)
	cl := client(t, f, ca, testPass)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 6, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	if res, err := adm.CreateTopic(ctx, 1, 4, nil, "too-wide"); err == nil && !errors.Is(res.Err, kerr.InvalidReplicationFactor) {
		t.Errorf("RF 4 on 3 brokers: %v", res.Err)
	}
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "single"); err != nil {
		t.Fatal(err)
	}
	ps := describe(t, cl, "orders")
	for _, p := range ps {
		if len(p.Replicas) != 3 || len(p.ISR) != 3 || !slices.Contains(p.Replicas, p.Leader) {
			t.Errorf("partition %d: replicas %v isr %v leader %d", p.Partition, p.Replicas, p.ISR, p.Leader)
		}
	}
	if h := holders(ps); len(h) != 3 || h[1000] != 6 || h[1001] != 6 || h[1002] != 6 {
		t.Errorf("holders %v", h)
	}
	single := holders(describe(t, cl, "single"))
	if len(single) != 3 {
		t.Errorf("RF 1 partitions are not spread: %v", single)
	}
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	racks := map[int32]string{}
	for _, b := range md.Brokers {
		if b.Rack != nil {
			racks[b.NodeID] = *b.Rack
		}
	}
	if racks[1000] != "zone-0" || racks[1001] != "zone-1" || racks[1002] != "zone-2" {
		t.Errorf("racks %v", racks)
	}

	for i := range 30 {
		rec := &kgo.Record{Topic: "orders", Partition: int32(i % 6), Value: fmt.Appendf(nil, "record %d with some bytes", i)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 3; i < 6; i++ {
		if err := c.StartBroker(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		ids, err := brokerIDs(ctx, adm)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, wantBrokers(1000, 1001, 1002, 1003, 1004, 1005)) {
			return fmt.Errorf("brokers %v", ids)
		}
		return nil
	})
	if h := holders(describe(t, cl, "orders")); h[1003]+h[1004]+h[1005] != 0 {
		t.Errorf("new brokers hold replicas before any reassignment: %v", h)
	}
	for _, n := range []int32{1003, 1004, 1005} {
		if size, parts := logDirBytes(t, adm, n); size != 0 || len(parts) != 0 {
			t.Errorf("broker %d's log dir: %d bytes, %v", n, size, parts)
		}
	}
	size, parts := logDirBytes(t, adm, 1000)
	if size == 0 || parts["orders"] != 6 || parts["single"] != 1 {
		t.Errorf("broker 1000's log dir: %d bytes, %v", size, parts)
	}
}

// TestReassignmentTakesTimeAndCanBeHeld: a reassignment is listed in flight with the
// replicas it adds and removes until the delay passes (or for as long as a test holds
// it); then the target holds the partition, leadership is on the preferred replica,
// producing still works and the removed broker's log dir no longer has it.
func TestReassignmentTakesTimeAndCanBeHeld(t *testing.T) {
	f, c, _, ca := startCluster(t, 6)
	cl := client(t, f, ca, testPass)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{}, "moving"); err != nil {
		t.Fatal(err)
	}
	old := describe(t, cl, "moving")[0].Replicas
	var target []int32
	for n := int32(1000); n < 1006 && len(target) < 3; n++ {
		if !slices.Contains(old, n) {
			target = append(target, n)
		}
	}
	c.SetReassignDelay(300 * time.Millisecond)
	c.HoldReassignments(true)
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("moving", 0, target)
	res, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Error(); err != nil {
		t.Fatal(err)
	}
	var bad kadm.AlterPartitionAssignmentsReq
	bad.Assign("moving", 0, []int32{1000, 1000})
	bad.Assign("missing", 0, []int32{1000})
	if res, err := adm.AlterPartitionAssignments(ctx, bad); err != nil || res.Error() == nil {
		t.Errorf("invalid reassignments accepted: %v", err)
	}
	time.Sleep(600 * time.Millisecond)
	r, ok := inFlight(t, cl)["moving/0"]
	if !ok || !slices.Equal(r.AddingReplicas, target) || len(r.RemovingReplicas) != 3 || len(r.Replicas) != 6 {
		t.Fatalf("held reassignment: %+v (ok %v)", r, ok)
	}
	if got := describe(t, cl, "moving")[0]; len(got.Replicas) != 6 || len(got.ISR) != 3 {
		t.Errorf("in flight: replicas %v isr %v", got.Replicas, got.ISR)
	}
	c.HoldReassignments(false)
	testkit.CheckFor(t, 5*time.Second, func() error {
		if listed := inFlight(t, cl); len(listed) != 0 {
			return fmt.Errorf("still in flight: %v", listed)
		}
		return nil
	})
	got := describe(t, cl, "moving")[0]
	if !slices.Equal(got.Replicas, target) || got.Leader != target[0] {
		t.Errorf("after the move: replicas %v leader %d, want %v", got.Replicas, got.Leader, target)
	}
	if _, parts := logDirBytes(t, adm, old[0]); parts["moving"] != 0 {
		t.Errorf("broker %d still holds the partition", old[0])
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(pctx, &kgo.Record{Topic: "moving", Value: []byte("after")}).FirstErr(); err != nil {
		t.Errorf("producing after the move: %v", err)
	}
	if rs := c.Reassignments(); len(rs) != 1 || rs[0].Topic != "moving" || !slices.Equal(rs[0].Replicas, target) {
		t.Errorf("recorded reassignments %+v", rs)
	}
}

// TestRemovedBrokersLeavePartitionsUnderReplicatedOrOffline: a stopped broker stays
// registered but fenced; its replicas leave the ISR, partitions it led move to another ISR
// member, and a partition whose only replica it held goes offline. UnregisterBroker
// removes it; DescribeQuorum reports the controller as leader.
func TestRemovedBrokersLeavePartitionsUnderReplicatedOrOffline(t *testing.T) {
	f, c, _, ca := startCluster(t, 3)
	cl := client(t, f, ca, testPass)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "narrow"); err != nil {
		t.Fatal(err)
	}
	describe(t, cl, "wide")
	describe(t, cl, "narrow")
	if err := c.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	for _, p := range describe(t, cl, "wide") {
		if len(p.Replicas) != 3 || len(p.ISR) != 2 || slices.Contains(p.ISR, 1002) || p.Leader == 1002 || p.Leader < 0 ||
			!slices.Equal(p.OfflineReplicas, []int32{1002}) {
			t.Errorf("wide/%d: replicas %v isr %v offline %v leader %d", p.Partition, p.Replicas, p.ISR, p.OfflineReplicas, p.Leader)
		}
	}
	offline := 0
	for _, p := range describe(t, cl, "narrow") {
		if slices.Equal(p.Replicas, []int32{1002}) {
			offline++
			if p.Leader != -1 || p.ErrorCode != kerr.LeaderNotAvailable.Code {
				t.Errorf("narrow/%d on the stopped broker: leader %d err %v", p.Partition, p.Leader, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	if offline != 1 {
		t.Errorf("%d narrow partitions were on broker 1002", offline)
	}
	if !c.Registered(1002) {
		t.Error("a stopped broker is no longer registered")
	}
	dc, err := cl.Request(ctx, &kmsg.DescribeClusterRequest{IncludeFencedBrokers: true, Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	fenced := map[int32]bool{}
	for _, b := range dc.(*kmsg.DescribeClusterResponse).Brokers {
		fenced[b.NodeID] = b.IsFenced
	}
	if !fenced[1002] || fenced[1000] || len(fenced) != 4 {
		t.Errorf("DescribeCluster: %v", fenced)
	}
	unreg := kmsg.NewPtrUnregisterBrokerRequest()
	unreg.BrokerID = 1002
	resp, err := cl.Request(ctx, unreg)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.UnregisterBrokerResponse).ErrorCode; code != 0 {
		t.Fatalf("UnregisterBroker: %v", kerr.ErrorForCode(code))
	}
	if c.Registered(1002) || !slices.Equal(c.Unregistered(), []int32{1002}) {
		t.Errorf("unregistered %v", c.Unregistered())
	}
	resp, err = cl.Request(ctx, unreg)
	if err != nil || resp.(*kmsg.UnregisterBrokerResponse).ErrorCode != kerr.BrokerIDNotRegistered.Code {
		t.Errorf("unregistering twice: %v %v", resp, err)
	}
	q, err := cl.Request(ctx, kmsg.NewPtrDescribeQuorumRequest())
	if err != nil {
		t.Fatal(err)
	}
	if qr := q.(*kmsg.DescribeQuorumResponse); len(qr.Topics) != 1 || qr.Topics[0].Partitions[0].LeaderID != ControllerNodeID {
		t.Errorf("DescribeQuorum: %+v", qr)
	}

	// The broker comes back: it registers again, rejoins the ISR, the offline partition
	// has its leader again.
	if err := c.StartBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, p := range describe(t, cl, "narrow") {
		if p.Leader < 0 {
			t.Errorf("narrow/%d still offline", p.Partition)
		}
	}
	// Fenced while running: out of metadata and the ISR.
	c.Fence(1, true)
	for _, p := range describe(t, cl, "wide") {
		if slices.Contains(p.ISR, 1001) || p.Leader == 1001 {
			t.Errorf("wide/%d: isr %v leader %d with 1001 fenced", p.Partition, p.ISR, p.Leader)
		}
	}
	ids, err := brokerIDs(ctx, adm)
	if err != nil || slices.Contains(ids, 1001) {
		t.Errorf("metadata lists %v (%v)", ids, err)
	}
	c.Fence(1, false)
	for _, p := range describe(t, cl, "wide") {
		if len(p.ISR) != 3 {
			t.Errorf("wide/%d: isr %v after the fence is lifted", p.Partition, p.ISR)
		}
	}
}
