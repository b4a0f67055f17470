package satellite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Resizes that move data. A scale-up is followed by a rebalance: once every broker the
// desired state asks for is registered, replicas move onto the new ones (Kafka's
// AlterPartitionReassignments) until each topic's replicas and preferred leaders are spread
// evenly across brokers and racks. A scale-down drains first: every replica on the brokers
// leaving is reassigned to the brokers that stay; only when no reassignment is in flight
// and a leaving broker's log directory is empty does the broker StatefulSet lose one
// replica (the highest ordinal), and the broker, once its pod is gone, is unregistered
// (UnregisterBroker). The volume claims of removed brokers are kept, as every claim of a
// StatefulSet is (Kubernetes' default Retain policy for scale-down): a later scale-up finds
// them again; they are deleted with the cluster.
//
// A drain never goes below the largest replication factor in use, nor onto fewer racks than
// a partition's replicas can spread over now. A drain that cannot finish holds the resize:
// every broker keeps running and the status is Degraded with a reason saying why —
// ScaleDownTooFewBrokers (a topic's replication factor exceeds the brokers left),
// ScaleDownTooFewRacks (the brokers left span fewer racks than the replicas use now) or
// ScaleDownHeld (reassignments still in flight past the drain deadline) — and a later desired state that keeps the brokers (a resize back
// up) cancels the reassignments the drain started. Reassignments run under a replication
// throttle (leader/follower.replication.throttled.rate on every broker: the PSC's
// replicationThrottle, or 50 MiB/s), removed once nothing is in flight. The Rebalancing
// condition is True while any reassignment is in flight.
//
// With Config.KafkaNoReassign (a negative control for tests) none of this happens: a
// resize only changes the StatefulSet.

// Defaults of the reassignment machinery.
const (
	// defaultThrottle is the replication throttle (bytes/s per broker) unless the PSC says.
	defaultThrottle int64 = 50 << 20
	// defaultDrainDeadline is how long a drain may wait on reassignments before it is held.
	defaultDrainDeadline = 10 * time.Minute
	// rebalanceRecheck is how soon a cluster with reassignments in flight is looked at again.
	rebalanceRecheck = time.Second
	// conditionRebalancing is True while replicas move between brokers.
	conditionRebalancing = "Rebalancing"
)

// The status reasons of a held scale-down.
const (
	// reasonTooFewBrokers: a topic's replication factor exceeds the brokers that would stay.
	reasonTooFewBrokers = "ScaleDownTooFewBrokers"
	// reasonTooFewRacks: the brokers that would stay span fewer racks than replicas use now.
	reasonTooFewRacks = "ScaleDownTooFewRacks"
	// reasonDrainDeadline: reassignments were still in flight past the drain deadline.
	reasonDrainDeadline = "ScaleDownHeld"
)

// throttleConfigs are the broker configurations of the replication throttle.
var throttleConfigs = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}

// rebalancer keeps, per cluster, what a drain has established between reconciles: which
// brokers are empty, since when the drain waits, and why it is held.
type rebalancer struct {
	deadline time.Duration

	mu     sync.Mutex
	drains map[string]*drainState
	// throttles is whether the satellite set a cluster's replication throttle; a cluster
	// it has not seen since it started may have one left: absent counts as set.
	throttles map[string]bool
	// gone are the brokers a drain removed that are not unregistered yet.
	gone map[string][]int32
}

type drainState struct {
	target  int32          // the broker count the drain works towards
	empty   map[int32]bool // ordinals whose brokers hold nothing and may go
	started time.Time      // when reassignments of this drain were first in flight
	held    string         // why the drain cannot finish ("" while it can)
	reason  string         // the status reason of that hold
	moved   map[string][]int32
}

func newRebalancer(deadline time.Duration) *rebalancer {
	if deadline <= 0 {
		deadline = defaultDrainDeadline
	}
	return &rebalancer{deadline: deadline, drains: map[string]*drainState{}, throttles: map[string]bool{},
		gone: map[string][]int32{}}
}

// throttled reports whether the satellite set cluster's throttle (known: whether it
// knows), and records set when given.
func (rb *rebalancer) throttled(cluster string, set *bool) (on, known bool) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if set != nil {
		rb.throttles[cluster] = *set
	}
	on, known = rb.throttles[cluster]
	return on, known
}

// brokers is the renderer's hook: how many brokers cluster may run now when current run and
// want are asked for. A scale-up or no change is never held back. A scale-down removes
// the highest ordinal once the drain found it empty, one broker per reconcile; otherwise
// every broker stays, with the message saying why (heldReason: the drain cannot finish,
// and why).
func (rb *rebalancer) brokers(cluster string, current, want int32) (n int32, msg, heldReason string) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if want >= current {
		return want, "", ""
	}
	d := rb.drains[cluster]
	if d == nil || d.target != want {
		return current, fmt.Sprintf("draining brokers %d–%d before they are removed", want, current-1), ""
	}
	if d.held != "" {
		return current, d.held, d.reason
	}
	if d.empty[current-1] {
		delete(d.empty, current-1)
		rb.gone[cluster] = append(rb.gone[cluster], brokerIDOffset+current-1)
		return current - 1, fmt.Sprintf("removing broker %d (drained)", current-1), ""
	}
	return current, fmt.Sprintf("draining brokers %d–%d before they are removed", want, current-1), ""
}

// removed lists the brokers cluster's drains removed that are not unregistered yet.
func (rb *rebalancer) removed(cluster string) []int32 {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return slices.Clone(rb.gone[cluster])
}

// unregistered forgets a removed broker once Kafka no longer has it registered.
func (rb *rebalancer) unregistered(cluster string, id int32) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.gone[cluster] = slices.DeleteFunc(rb.gone[cluster], func(n int32) bool { return n == id })
	if len(rb.gone[cluster]) == 0 {
		delete(rb.gone, cluster)
	}
}

func (rb *rebalancer) state(cluster string) *drainState {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return rb.drains[cluster]
}

func (rb *rebalancer) set(cluster string, d *drainState) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if d == nil {
		delete(rb.drains, cluster)
		return
	}
	rb.drains[cluster] = d
}

// clusterView is what the satellite reads of a Kafka cluster for placement and health.
type clusterView struct {
	meta       *kmsg.MetadataResponse
	registered map[int32]bool // from DescribeCluster, fenced included
	fenced     map[int32]bool
	racks      map[int32]string
	current    assignment                // replicas per partition (targets of reassignments in flight)
	inFlight   map[string]map[int32]bool // partitions being reassigned
}

// readView reads metadata, the registered brokers and the reassignments in flight; every
// request is sent, none is answered from the client's metadata cache.
func readView(ctx context.Context, cl *kgo.Client) (*clusterView, error) {
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	v := &clusterView{meta: meta, registered: map[int32]bool{}, fenced: map[int32]bool{}, racks: map[int32]string{},
		current: assignment{}, inFlight: map[string]map[int32]bool{}}
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dreq.IncludeFencedBrokers = true
	dc, err := dreq.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(dc.ErrorCode)
	}
	if err != nil {
		return nil, fmt.Errorf("describe cluster: %w", err)
	}
	for _, b := range dc.Brokers {
		v.registered[b.NodeID] = true
		v.fenced[b.NodeID] = b.IsFenced
		if b.Rack != nil {
			v.racks[b.NodeID] = *b.Rack
		}
	}
	for _, t := range meta.Topics {
		if t.Topic == nil || t.IsInternal || t.ErrorCode != 0 {
			continue
		}
		parts := make([][]int32, len(t.Partitions))
		for _, p := range t.Partitions {
			if int(p.Partition) < len(parts) {
				parts[p.Partition] = slices.Clone(p.Replicas)
			}
		}
		v.current[*t.Topic] = parts
	}
	lr, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(lr.ErrorCode)
	}
	if err != nil {
		return nil, fmt.Errorf("list reassignments: %w", err)
	}
	for _, t := range lr.Topics {
		for _, p := range t.Partitions {
			if v.inFlight[t.Topic] == nil {
				v.inFlight[t.Topic] = map[int32]bool{}
			}
			v.inFlight[t.Topic][p.Partition] = true
			// The target: the replicas without those being removed.
			if parts := v.current[t.Topic]; int(p.Partition) < len(parts) {
				var target []int32
				for _, r := range p.Replicas {
					if !slices.Contains(p.RemovingReplicas, r) {
						target = append(target, r)
					}
				}
				parts[p.Partition] = target
			}
		}
	}
	return v, nil
}

func (v *clusterView) moving() int {
	n := 0
	for _, ps := range v.inFlight {
		n += len(ps)
	}
	return n
}

// maxRF is the largest replication factor among the topics.
func (v *clusterView) maxRF() int {
	rf := 0
	for _, parts := range v.current {
		for _, r := range parts {
			rf = max(rf, len(r))
		}
	}
	return rf
}

// shortfall says why the brokers of keep cannot take every replica (a reason and a
// message; "" when they can): a topic's replication factor exceeds them, or they span fewer
// racks than some partition's replicas are spread over now (a drain never narrows a
// partition's rack spread). Brokers without a rack count as none.
func (v *clusterView) shortfall(keep []int32) (reason, msg string) {
	if rf := v.maxRF(); len(keep) < rf {
		return reasonTooFewBrokers, fmt.Sprintf("a topic has replication factor %d", rf)
	}
	left := map[string]bool{}
	for _, id := range keep {
		if r := v.racks[id]; r != "" {
			left[r] = true
		}
	}
	spread := 0
	for _, parts := range v.current {
		for _, r := range parts {
			used := map[string]bool{}
			for _, id := range r {
				if rk := v.racks[id]; rk != "" {
					used[rk] = true
				}
			}
			spread = max(spread, len(used))
		}
	}
	if len(left) < spread {
		return reasonTooFewRacks, fmt.Sprintf("the brokers left span %d racks, replicas are spread over %d", len(left), spread)
	}
	return "", ""
}

// holds reports whether broker id holds any replica (current or being added or removed).
func (v *clusterView) holds(id int32) bool {
	for _, t := range v.meta.Topics {
		for _, p := range t.Partitions {
			if slices.Contains(p.Replicas, id) {
				return true
			}
		}
	}
	for _, parts := range v.current {
		for _, r := range parts {
			if slices.Contains(r, id) {
				return true
			}
		}
	}
	return false
}

// adminClient is the cluster's admin client as the super user, and the client under it
// (for the requests kadm does not wrap).
func (op *operator) adminClient(ctx context.Context, o *PSCObject, out *rendered) (*kadm.Client, *kgo.Client, error) {
	user, password, err := superUser(ctx, op.kube, out.namespace)
	if err != nil {
		return nil, nil, err
	}
	seeds := []string{net.JoinHostPort(out.bootstrapHost, strconv.Itoa(int(kafkaClientPort)))}
	adm, err := op.kafka.client(o.Name, seeds, user, password, out.tls.ca.certPEM)
	if err != nil {
		return nil, nil, err
	}
	return adm, op.kafka.raw(o.Name), nil
}

// reconcilePlacement rebalances after a scale-up, drains before a scale-down, and sets the
// Rebalancing condition; a drain that cannot finish is recorded for the renderer (which
// then holds the resize). Errors are returned for the KafkaReachable condition.
func (op *operator) reconcilePlacement(ctx context.Context, o *PSCObject, out *rendered, st *PSCObjectStatus, adm *kadm.Client, cl *kgo.Client, v *clusterView) error {
	rb := op.rebalance
	var err error
	current := int32(len(out.brokers)) // what the StatefulSet runs now (this reconcile's rendering)
	want := max(o.Spec.Replicas, replicationFactor(o.Spec.Config))
	keep := make([]int32, 0, want)
	for i := range min(want, current) {
		keep = append(keep, brokerIDOffset+i)
	}
	rebalancing := func(moving int, msg string) {
		s, reason := metav1.ConditionFalse, "Balanced"
		if moving > 0 {
			s, reason = metav1.ConditionTrue, "Reassigning"
		}
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, metav1.Condition{Type: conditionRebalancing,
			Status: s, Reason: reason, Message: msg, ObservedGeneration: o.Generation})
	}
	d := rb.state(o.Name)

	// A drain that the desired state no longer asks for is cancelled: its reassignments in
	// flight are stopped, the replicas stay where they were.
	if d != nil && want >= current {
		if err := cancelMoves(ctx, cl, v, d.moved); err != nil {
			return err
		}
		rb.set(o.Name, nil)
		if want > d.target {
			op.log.Info("drain cancelled: the desired state keeps the brokers", "cluster", o.Name, "brokers", want)
		}
		if v, err = readView(ctx, cl); err != nil {
			return err
		}
		d = nil
	}

	if err := op.unregisterRemoved(ctx, cl, o, v, current); err != nil {
		return err
	}

	draining := want < current
	if draining {
		if d == nil || d.target != want {
			d = &drainState{target: want, empty: map[int32]bool{}, moved: map[string][]int32{}}
		}
		rb.set(o.Name, d)
		if reason, msg := v.shortfall(keep); reason != "" {
			d.held, d.reason = fmt.Sprintf("scale-down to %d brokers held: %s", want, msg), reason
			rebalancing(v.moving(), d.held)
			op.after(o.Name, rebalanceRecheck)
			return nil
		}
	} else {
		// Rebalance only once every broker asked for is registered and unfenced.
		for _, id := range keep {
			if !v.registered[id] || v.fenced[id] {
				rebalancing(v.moving(), fmt.Sprintf("waiting for broker %d to register", id))
				if v.moving() > 0 {
					op.after(o.Name, rebalanceRecheck)
				}
				return nil
			}
		}
	}

	plan := balance(v.current, keep, v.racks)
	var moves []kadm.AlterPartitionAssignmentsReq
	var req kadm.AlterPartitionAssignmentsReq
	n := 0
	for topic, parts := range plan {
		for p, r := range parts {
			if v.inFlight[topic][int32(p)] || slices.Equal(r, v.current[topic][p]) {
				continue
			}
			req.Assign(topic, int32(p), r)
			n++
			if draining {
				d.moved[topic] = append(d.moved[topic], int32(p))
			}
		}
	}
	if n > 0 {
		moves = append(moves, req)
	}
	inFlight := v.moving() + n
	throttleOn, throttleKnown := rb.throttled(o.Name, nil)
	if inFlight > 0 && !(throttleOn && throttleKnown) {
		if err := op.throttle(ctx, adm, o, v, true); err != nil {
			return err
		}
	}
	for _, m := range moves {
		res, err := adm.AlterPartitionAssignments(ctx, m)
		if err != nil {
			return fmt.Errorf("reassigning partitions: %w", err)
		}
		if err := res.Error(); err != nil {
			return fmt.Errorf("reassigning partitions: %w", err)
		}
		op.log.Info("reassigning partitions", "cluster", o.Name, "partitions", n, "brokers", keep)
	}
	if inFlight == 0 && (throttleOn || !throttleKnown) {
		if err := op.throttle(ctx, adm, o, v, false); err != nil {
			return err
		}
	}

	if draining {
		if inFlight > 0 {
			if d.started.IsZero() {
				d.started = time.Now()
			}
			if time.Since(d.started) > rb.deadline {
				d.held = fmt.Sprintf("scale-down to %d brokers held: %d partition reassignments still in flight after %s",
					want, inFlight, rb.deadline)
				d.reason = reasonDrainDeadline
			}
		} else {
			d.started, d.held, d.reason = time.Time{}, "", ""
			// The highest broker may go once it holds nothing, in metadata and on disk.
			last := current - 1
			id := brokerIDOffset + last
			if !v.holds(id) {
				// A broker still serving must also say so of its disk; one whose pod is gone
				// has nothing to read, and metadata already says it holds nothing.
				empty := !v.registered[id] || v.fenced[id]
				if !empty {
					var err error
					if empty, err = logDirEmpty(ctx, adm, id); err != nil {
						return err
					}
				}
				if empty {
					d.empty[last] = true
				}
			}
		}
		op.after(o.Name, rebalanceRecheck)
	} else if inFlight > 0 {
		op.after(o.Name, rebalanceRecheck)
	}
	msg := "every replica is where it belongs"
	switch {
	case inFlight > 0 && draining:
		msg = fmt.Sprintf("%d partitions moving off brokers %d–%d", inFlight, want, current-1)
	case inFlight > 0:
		msg = fmt.Sprintf("%d partitions moving across %d brokers", inFlight, len(keep))
	}
	rebalancing(inFlight, msg)
	return nil
}

// logDirEmpty reports whether broker id's log directories hold no replica.
func logDirEmpty(ctx context.Context, adm *kadm.Client, id int32) (bool, error) {
	dirs, err := adm.DescribeBrokerLogDirs(ctx, id, nil)
	if err != nil {
		return false, fmt.Errorf("log dirs of broker %d: %w", id, err)
	}
	empty := true
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(kadm.DescribedLogDirPartition) { empty = false })
	})
	return empty, nil
}

// cancelMoves stops the reassignments a drain started that are still in flight.
func cancelMoves(ctx context.Context, cl *kgo.Client, v *clusterView, moved map[string][]int32) error {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	for topic, parts := range moved {
		rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		rt.Topic = topic
		for _, p := range parts {
			if !v.inFlight[topic][p] {
				continue
			}
			rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			rp.Partition, rp.Replicas = p, nil
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("cancelling reassignments: %w", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil && !errors.Is(err, kerr.NoReassignmentInProgress) {
				return fmt.Errorf("cancelling the reassignment of %s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// unregisterRemoved unregisters the brokers of ordinals at or above current (the
// StatefulSet no longer runs them) whose pods are gone: those Kafka lists as fenced
// (DescribeCluster v2, Kafka 4.0), and those the drain removed (older Kafka does not list
// fenced brokers); a broker already unregistered counts as done.
func (op *operator) unregisterRemoved(ctx context.Context, cl *kgo.Client, o *PSCObject, v *clusterView, current int32) error {
	candidates := map[int32]bool{}
	for id := range v.registered {
		if id-brokerIDOffset >= current && v.fenced[id] {
			candidates[id] = true
		}
	}
	for _, id := range op.rebalance.removed(o.Name) {
		candidates[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(candidates)) {
		ord := id - brokerIDOffset
		if id < brokerIDOffset || ord < current || v.registered[id] && !v.fenced[id] {
			continue // kept, or still registered and heartbeating: its pod still terminates
		}
		if _, err := op.kube.pods.Pods(Namespace(o.Name)).Get(fmt.Sprintf("kafka-broker-%d", ord)); err == nil {
			continue // the pod still terminates
		}
		req := kmsg.NewPtrUnregisterBrokerRequest()
		req.BrokerID = id
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			if e := kerr.ErrorForCode(resp.ErrorCode); e != nil && !errors.Is(e, kerr.BrokerIDNotRegistered) {
				err = e
			}
		}
		if err != nil {
			return fmt.Errorf("unregistering broker %d: %w", id, err)
		}
		op.rebalance.unregistered(o.Name, id)
		op.log.Info("unregistered a removed broker", "cluster", o.Name, "broker", id)
	}
	return nil
}

// throttle sets (on) or removes the replication throttle on every registered broker.
func (op *operator) throttle(ctx context.Context, adm *kadm.Client, o *PSCObject, v *clusterView, on bool) error {
	rate := strconv.FormatInt(defaultThrottle, 10)
	if o.Spec.ReplicationThrottle > 0 {
		rate = strconv.FormatInt(o.Spec.ReplicationThrottle, 10)
	}
	var ids []int32
	for id := range v.registered {
		if id >= brokerIDOffset && !v.fenced[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil
	}
	var alter []kadm.AlterConfig
	for _, name := range throttleConfigs {
		if on {
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &rate})
		} else {
			alter = append(alter, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: name})
		}
	}
	resps, err := adm.AlterBrokerConfigs(ctx, alter, ids...)
	if err != nil {
		return fmt.Errorf("replication throttle: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil {
			return fmt.Errorf("replication throttle on broker %s: %w", r.Name, r.Err)
		}
	}
	op.rebalance.throttled(o.Name, &on)
	return nil
}
