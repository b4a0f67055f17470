package simkafka

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Replica placement: which brokers hold which partitions, as the harness models it over
// kfake's one shared store (see the package doc and wire.go for how it is served).
//
// The model knows, per broker node: registered (it started once and was not unregistered),
// running (its pod is ready: StartBroker / StopBroker), fenced (Fence: running but the
// controller no longer hears it). A broker is alive when all three say so. Per partition it
// keeps an explicit replica list, the leader, and at most one reassignment in flight
// (target replicas and when it may finish). From these:
//
//   - ISR is the alive members of the current replicas (replicas being added join only when
//     the reassignment finishes);
//   - the leader stays while it is in the ISR, else moves to the first ISR member, else the
//     partition is offline (leader -1);
//   - a reassignment finishes after the cluster's reassignment delay, unless reassignments
//     are held or a replica being added is not alive; it then makes the target the replicas
//     and moves leadership to the preferred (first) replica if alive, as Kafka's
//     auto.leader.rebalance.enable does;
//   - kfake's own leader (where Produce and Fetch are served) follows the model's, moved
//     by a goroutine of the harness (kfake.MoveTopicPartition), never on a request path.

// DefaultReassignDelay is how long a reassignment takes unless SetReassignDelay says.
const DefaultReassignDelay = 300 * time.Millisecond

// DefaultDiskBytes is each broker's log directory capacity unless SetDiskBytes says.
const DefaultDiskBytes int64 = 100 << 30

// LogDir is the one log directory each broker reports (Orbit's log.dirs).
const LogDir = "/var/lib/orbit/data/kafka"

// DefaultReplicationFactor is the replication factor of topics created with -1, capped by
// the alive brokers (Orbit's default.replication.factor is 3).
const DefaultReplicationFactor = 3

// DefaultRack is the rack of broker ordinal i unless Config.Rack says: three zones by
// ordinal modulo 3, as Orbit spreads brokers across zones.
func DefaultRack(ordinal int) string { return fmt.Sprintf("zone-%d", ordinal%3) }

// Reassignment is one partition's entry of an AlterPartitionAssignments request the
// harness accepted, in arrival order (Replicas nil: a cancellation).
type Reassignment struct {
	At        time.Time
	Topic     string
	Partition int32
	Replicas  []int32
}

// Partition is a partition as the model holds it now.
type Partition struct {
	Topic     string
	Partition int32
	Replicas  []int32 // during a reassignment: the target, then the replicas being removed
	ISR       []int32
	Leader    int32 // -1: offline
	Adding    []int32
	Removing  []int32
}

// UnderReplicated is true when some replica is out of the ISR.
func (p Partition) UnderReplicated() bool { return len(p.ISR) < len(p.Replicas) }

// Offline is true when the partition has no leader.
func (p Partition) Offline() bool { return p.Leader < 0 }

type ptopic struct {
	id    [16]byte
	parts []*ppart
}

type ppart struct {
	replicas []int32
	leader   int32
	target   []int32 // nil: no reassignment in flight
	due      time.Time
}

type pnode struct {
	registered, running, fenced bool
	rack                        string
	stops                       []time.Time
}

type placement struct {
	c *Cluster

	mu       sync.Mutex
	kafka    *kfake.Cluster
	nodes    map[int32]*pnode
	topics   map[string]*ptopic
	pending  map[string][][]int32 // topic → replicas per partition, from CreateTopics
	next     int                  // where the next assignment starts, for spread
	delay    time.Duration
	hold     bool
	disk     int64
	extra    map[int32]int64 // bytes a broker's log directory holds beyond its replicas
	quorum   bool            // the controller quorum has a leader
	requests []Reassignment
	unreg    []int32
	dirty    map[tpKey]int32 // kfake leaders to move
	kick     chan struct{}
	done     chan struct{}
}

type tpKey struct {
	topic string
	part  int32
}

func newPlacement(c *Cluster) *placement {
	return &placement{c: c, nodes: map[int32]*pnode{}, topics: map[string]*ptopic{},
		pending: map[string][][]int32{}, delay: DefaultReassignDelay, disk: DefaultDiskBytes,
		quorum: true, dirty: map[tpKey]int32{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

func (p *placement) rack(ordinal int) string {
	if p.c.cfg.Rack != nil {
		return p.c.cfg.Rack(ordinal)
	}
	return DefaultRack(ordinal)
}

// attach starts moving kfake's leaders once the kfake cluster exists.
func (p *placement) attach(k *kfake.Cluster) {
	p.mu.Lock()
	p.kafka = k
	p.mu.Unlock()
	go p.syncLeaders()
}

func (p *placement) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

// syncLeaders moves kfake's partition leaders to the model's, off every request path.
func (p *placement) syncLeaders() {
	for {
		select {
		case <-p.done:
			return
		case <-p.kick:
		}
		p.mu.Lock()
		moves := p.dirty
		p.dirty = map[tpKey]int32{}
		k := p.kafka
		p.mu.Unlock()
		for tp, leader := range moves {
			select {
			case <-p.done:
				return
			default:
			}
			if k.LeaderFor(tp.topic, tp.part) != leader {
				_ = k.MoveTopicPartition(tp.topic, tp.part, leader) // the topic may be gone
			}
		}
	}
}

// markAll asks for every partition's kfake leader to be checked (after kfake shuffled
// them, adding or removing a node); p.mu is held.
func (p *placement) markAllLocked() {
	for name, t := range p.topics {
		for i, pp := range t.parts {
			if pp.leader >= 0 {
				p.dirty[tpKey{name, int32(i)}] = pp.leader
			}
		}
	}
	p.kickLocked()
}

func (p *placement) kickLocked() {
	if len(p.dirty) == 0 {
		return
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *placement) alive(n int32) bool {
	nd := p.nodes[n]
	return nd != nil && nd.registered && nd.running && !nd.fenced
}

// aliveBrokers lists alive broker nodes (kfake's controller node never holds replicas),
// ordered so that consecutive entries alternate racks, as Kafka's rack-aware assignment
// orders them.
func (p *placement) aliveBrokersLocked() []int32 {
	byRack := map[string][]int32{}
	for n, nd := range p.nodes {
		if n != ControllerNodeID && p.alive(n) {
			byRack[nd.rack] = append(byRack[nd.rack], n)
		}
	}
	racks := slices.Sorted(maps.Keys(byRack))
	var out []int32
	for i := 0; ; i++ {
		added := false
		for _, r := range racks {
			ns := byRack[r]
			slices.Sort(ns)
			if i < len(ns) {
				out = append(out, ns[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// assignLocked places n partitions of rf replicas on the alive brokers, rack-aware and
// round-robin from a moving start so that leaders spread.
func (p *placement) assignLocked(n, rf int) ([][]int32, error) {
	brokers := p.aliveBrokersLocked()
	if rf < 1 || rf > len(brokers) {
		return nil, fmt.Errorf("replication factor %d: %d brokers alive", rf, len(brokers))
	}
	out := make([][]int32, n)
	for i := range out {
		start := p.next
		p.next++
		for r := range rf {
			out[i] = append(out[i], brokers[(start+r)%len(brokers)])
		}
	}
	return out, nil
}

// settleLocked finishes due reassignments and recomputes leaders; it records kfake leader
// moves for syncLeaders.
func (p *placement) settleLocked(now time.Time) {
	for name, t := range p.topics {
		for i, pp := range t.parts {
			old := pp.leader
			if pp.target != nil && !p.hold && !now.Before(pp.due) && p.targetReadyLocked(pp) {
				pp.replicas, pp.target = pp.target, nil
				if first := pp.replicas[0]; p.alive(first) {
					pp.leader = first
				}
			}
			isr := p.isrLocked(pp)
			if !slices.Contains(isr, pp.leader) {
				pp.leader = -1
				if len(isr) > 0 {
					pp.leader = isr[0]
				}
			}
			if pp.leader >= 0 && pp.leader != old {
				p.dirty[tpKey{name, int32(i)}] = pp.leader
			}
		}
	}
	p.kickLocked()
}

// targetReadyLocked: every replica being added is alive (it can catch up).
func (p *placement) targetReadyLocked(pp *ppart) bool {
	for _, n := range pp.target {
		if !slices.Contains(pp.replicas, n) && !p.alive(n) {
			return false
		}
	}
	return true
}

func (p *placement) isrLocked(pp *ppart) []int32 {
	var isr []int32
	for _, n := range pp.replicas {
		if p.alive(n) {
			isr = append(isr, n)
		}
	}
	return isr
}

// fullReplicas is what Kafka reports as replicas: during a reassignment the target
// followed by the replicas being removed.
func fullReplicas(pp *ppart) (all, adding, removing []int32) {
	if pp.target == nil {
		return slices.Clone(pp.replicas), nil, nil
	}
	all = slices.Clone(pp.target)
	for _, n := range pp.target {
		if !slices.Contains(pp.replicas, n) {
			adding = append(adding, n)
		}
	}
	for _, n := range pp.replicas {
		if !slices.Contains(pp.target, n) {
			removing = append(removing, n)
			all = append(all, n)
		}
	}
	return all, adding, removing
}

func (p *placement) snapshotLocked(name string, i int, pp *ppart) Partition {
	all, adding, removing := fullReplicas(pp)
	return Partition{Topic: name, Partition: int32(i), Replicas: all, ISR: p.isrLocked(pp),
		Leader: pp.leader, Adding: adding, Removing: removing}
}

// materializeLocked makes sure the model has topic name with id and at least n
// partitions: a topic it does not know (or knew under another id, since recreated) gets
// the assignment its CreateTopics computed, else a default one over the alive brokers.
func (p *placement) materializeLocked(name string, id [16]byte, n int) *ptopic {
	t := p.topics[name]
	if t != nil && id != ([16]byte{}) && t.id != ([16]byte{}) && t.id != id {
		t = nil
	}
	if t == nil {
		t = &ptopic{id: id}
		p.topics[name] = t
		if plan, ok := p.pending[name]; ok {
			delete(p.pending, name)
			for _, r := range plan {
				t.parts = append(t.parts, &ppart{replicas: r, leader: -1})
			}
		}
	}
	if t.id == ([16]byte{}) {
		t.id = id
	}
	if missing := n - len(t.parts); missing > 0 {
		rf := DefaultReplicationFactor
		if len(t.parts) > 0 {
			rf = len(t.parts[0].replicas)
		}
		rf = min(rf, len(p.aliveBrokersLocked()))
		plan, err := p.assignLocked(missing, max(rf, 1))
		for i := range missing {
			var r []int32
			if err == nil {
				r = plan[i]
			}
			t.parts = append(t.parts, &ppart{replicas: r, leader: -1})
		}
	}
	for i, pp := range t.parts {
		if pp.leader < 0 {
			if isr := p.isrLocked(pp); len(isr) > 0 {
				pp.leader = isr[0]
				p.dirty[tpKey{name, int32(i)}] = pp.leader
			}
		}
	}
	p.kickLocked()
	return t
}

// prune drops topics kfake no longer has (deleted); it asks kfake, so it runs only where
// kfake's admin calls are served: in interceptors and outside request paths.
func (p *placement) prune() {
	p.mu.Lock()
	k := p.kafka
	names := slices.Collect(maps.Keys(p.topics))
	p.mu.Unlock()
	if k == nil {
		return
	}
	for _, name := range names {
		info := k.TopicInfo(name)
		p.mu.Lock()
		if t := p.topics[name]; t != nil && (info == nil || t.id != ([16]byte{}) && t.id != info.TopicID) {
			delete(p.topics, name)
		}
		p.mu.Unlock()
	}
}

// setNode updates a broker node's state and settles the partitions.
func (p *placement) setNode(node int32, ordinal int, fn func(*pnode)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nd := p.nodes[node]
	if nd == nil {
		nd = &pnode{}
		if ordinal >= 0 {
			nd.rack = p.rack(ordinal)
		}
		p.nodes[node] = nd
	}
	fn(nd)
	p.markAllLocked()
	p.settleLocked(time.Now())
}

// SetReassignDelay sets how long each reassignment takes from now on.
func (c *Cluster) SetReassignDelay(d time.Duration) {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	c.place.delay = d
}

// HoldReassignments keeps every reassignment in flight (true) until released (false).
func (c *Cluster) HoldReassignments(hold bool) {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	c.place.hold = hold
	c.place.settleLocked(time.Now())
}

// SetDiskBytes sets the capacity each broker's log directory reports.
func (c *Cluster) SetDiskBytes(n int64) {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	c.place.disk = n
}

// FillDisk makes broker node's log directory hold n bytes beyond its replicas (segments
// Kafka has not deleted yet, say), so that a test can fill one broker's disk; 0 clears it.
func (c *Cluster) FillDisk(node int32, n int64) {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	if c.place.extra == nil {
		c.place.extra = map[int32]int64{}
	}
	c.place.extra[node] = n
}

// SetQuorumLeader makes DescribeQuorum report a leader (true) or none (false).
func (c *Cluster) SetQuorumLeader(ok bool) {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	c.place.quorum = ok
}

// Fence makes broker ordinal i stop answering the controller (true) or answer again
// (false): the broker still serves connections, but Kafka fences it: metadata and
// DescribeCluster no longer list it, its replicas leave the ISR and the partitions it led
// move to another ISR member.
func (c *Cluster) Fence(ordinal int, fenced bool) {
	c.place.setNode(NodeID(ordinal), ordinal, func(n *pnode) { n.fenced = fenced })
}

// Reassignments returns every reassignment the cluster accepted, oldest first.
func (c *Cluster) Reassignments() []Reassignment {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	return slices.Clone(c.place.requests)
}

// Unregistered returns the broker ids UnregisterBroker removed, in order.
func (c *Cluster) Unregistered() []int32 {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	return slices.Clone(c.place.unreg)
}

// Stops returns when broker node id was stopped (its pod went away), oldest first.
func (c *Cluster) Stops(node int32) []time.Time {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	if nd := c.place.nodes[node]; nd != nil {
		return slices.Clone(nd.stops)
	}
	return nil
}

// Registered is true when broker node id is registered with the controller.
func (c *Cluster) Registered(node int32) bool {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	nd := c.place.nodes[node]
	return nd != nil && nd.registered
}

// Partitions returns every partition the model knows, by topic and partition.
func (c *Cluster) Partitions() []Partition {
	c.place.prune()
	p := c.place
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	var out []Partition
	for name, t := range p.topics {
		for i, pp := range t.parts {
			out = append(out, p.snapshotLocked(name, i, pp))
		}
	}
	slices.SortFunc(out, func(a, b Partition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// Assign sets a partition's replicas directly, as a test's starting point (no
// reassignment); the topic must be known to the model (seen in metadata or created).
func (c *Cluster) Assign(topic string, partition int32, replicas []int32) error {
	p := c.place
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.topics[topic]
	if t == nil || int(partition) >= len(t.parts) || partition < 0 {
		return fmt.Errorf("simkafka: %s: no partition %s/%d", c.cfg.ID, topic, partition)
	}
	t.parts[partition].replicas = slices.Clone(replicas)
	t.parts[partition].target = nil
	p.settleLocked(time.Now())
	return nil
}
