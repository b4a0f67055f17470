package simkafka

import (
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The placement model's requests, answered by interceptors (see placement.go). They do not
// check ACLs: in Orbit only the satellite's super user sends them.

func (c *Cluster) interceptPlacement() {
	p := c.place
	c.Intercept(kmsg.CreateTopics.Int16(), p.createTopics)
	c.Intercept(kmsg.AlterPartitionAssignments.Int16(), p.alterAssignments)
	c.Intercept(kmsg.ListPartitionReassignments.Int16(), p.listReassignments)
	c.Intercept(kmsg.DescribeLogDirs.Int16(), p.describeLogDirs)
	c.Intercept(kmsg.DescribeCluster.Int16(), p.describeCluster)
	c.Intercept(kmsg.UnregisterBroker.Int16(), p.unregisterBroker)
	c.Intercept(kmsg.DescribeQuorum.Int16(), p.describeQuorum)
}

// createTopics computes each new topic's assignment when the controller receives the
// request (kfake then creates the topic); a replication factor above the alive brokers, or
// an explicit assignment naming brokers that are not alive, is refused as Kafka refuses it.
func (p *placement) createTopics(node int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.CreateTopicsRequest)
	if node != ControllerNodeID {
		return nil, nil, false // kfake answers NOT_CONTROLLER
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	plans := map[string][][]int32{}
	refused := map[string]error{}
	alive := p.aliveBrokersLocked()
	for _, t := range r.Topics {
		switch {
		case len(t.ReplicaAssignment) > 0:
			plan := make([][]int32, len(t.ReplicaAssignment))
			for _, a := range t.ReplicaAssignment {
				if int(a.Partition) >= len(plan) || a.Partition < 0 {
					refused[t.Topic] = fmt.Errorf("partition %d out of range", a.Partition)
					break
				}
				for _, n := range a.Replicas {
					if !slices.Contains(alive, n) {
						refused[t.Topic] = fmt.Errorf("broker %d is not alive", n)
					}
				}
				plan[a.Partition] = slices.Clone(a.Replicas)
			}
			plans[t.Topic] = plan
		default:
			rf := int(t.ReplicationFactor)
			if rf == -1 {
				rf = DefaultReplicationFactor
			}
			if rf < 1 || rf > len(alive) {
				refused[t.Topic] = fmt.Errorf("replication factor %d is above the %d alive brokers", rf, len(alive))
				continue
			}
			if t.NumPartitions > 0 {
				plan, err := p.assignLocked(int(t.NumPartitions), rf)
				if err != nil {
					refused[t.Topic] = err
					continue
				}
				plans[t.Topic] = plan
			}
		}
	}
	if len(refused) > 0 {
		resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic = t.Topic
			if err, ok := refused[t.Topic]; ok {
				code := kerr.InvalidReplicationFactor.Code
				if len(t.ReplicaAssignment) > 0 {
					code = kerr.InvalidReplicaAssignment.Code
				}
				rt.ErrorCode, rt.ErrorMessage = code, kmsg.StringPtr(err.Error())
			} else {
				rt.ErrorCode, rt.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr("another topic of the request was refused")
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	}
	if !r.ValidateOnly {
		for name, plan := range plans {
			if _, known := p.topics[name]; !known {
				p.pending[name] = plan
			}
		}
	}
	return nil, nil, false
}

// refresh brings the model up to kfake's topics: drops deleted ones and materializes the
// ones created since the last metadata answer. It asks kfake (admin calls), so it runs in
// interceptors and outside request paths only.
func (p *placement) refresh() {
	p.prune()
	p.mu.Lock()
	k := p.kafka
	var names []string
	for name := range p.pending {
		names = append(names, name)
	}
	p.mu.Unlock()
	if k == nil {
		return
	}
	for _, name := range names {
		info := k.TopicInfo(name)
		if info == nil {
			continue
		}
		n := len(k.PartitionInfos(name))
		p.mu.Lock()
		p.materializeLocked(name, info.TopicID, n)
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.settleLocked(time.Now())
	p.mu.Unlock()
}

func (p *placement) alterAssignments(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	p.refresh()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var wake time.Duration
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, part := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = part.Partition
			if err := p.reassignLocked(t.Topic, part.Partition, part.Replicas, now); err != nil {
				rp.ErrorCode, rp.ErrorMessage = err.code, kmsg.StringPtr(err.msg)
			} else {
				p.requests = append(p.requests, Reassignment{At: now, Topic: t.Topic, Partition: part.Partition, Replicas: slices.Clone(part.Replicas)})
				wake = p.delay
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	p.settleLocked(now)
	if wake >= 0 {
		time.AfterFunc(wake+time.Millisecond, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.settleLocked(time.Now())
		})
	}
	return resp, nil, true
}

type codeErr struct {
	code int16
	msg  string
}

func (p *placement) reassignLocked(topic string, part int32, replicas []int32, now time.Time) *codeErr {
	t := p.topics[topic]
	if t == nil || part < 0 || int(part) >= len(t.parts) {
		return &codeErr{kerr.UnknownTopicOrPartition.Code, fmt.Sprintf("%s/%d does not exist", topic, part)}
	}
	pp := t.parts[part]
	if replicas == nil {
		if pp.target == nil {
			return &codeErr{kerr.NoReassignmentInProgress.Code, "no reassignment in progress"}
		}
		pp.target = nil // the replicas being added are dropped; the old ones stay
		return nil
	}
	if len(replicas) == 0 {
		return &codeErr{kerr.InvalidReplicaAssignment.Code, "empty replica set"}
	}
	seen := map[int32]bool{}
	for _, n := range replicas {
		if seen[n] {
			return &codeErr{kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("broker %d appears twice", n)}
		}
		seen[n] = true
		nd := p.nodes[n]
		if n == ControllerNodeID || nd == nil || !nd.registered {
			return &codeErr{kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("broker %d is not registered", n)}
		}
	}
	pp.target = slices.Clone(replicas) // a new target replaces the one in flight
	pp.due = now.Add(p.delay)
	return nil
}

func (p *placement) listReassignments(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.ListPartitionReassignmentsRequest)
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	p.refresh()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	want := named(r.Topics, func(t kmsg.ListPartitionReassignmentsRequestTopic) (string, []int32) { return t.Topic, t.Partitions })
	names := make([]string, 0, len(p.topics))
	for name := range p.topics {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rt := kmsg.NewListPartitionReassignmentsResponseTopic()
		rt.Topic = name
		for i, pp := range p.topics[name].parts {
			if pp.target == nil || !want(name, int32(i)) {
				continue
			}
			all, adding, removing := fullReplicas(pp)
			rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			rp.Partition, rp.Replicas, rp.AddingReplicas, rp.RemovingReplicas = int32(i), all, adding, removing
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp, nil, true
}

// describeLogDirs reports, for the broker that received the request, the bytes of the
// replicas it holds (a replica being added counts: it is copying).
func (p *placement) describeLogDirs(node int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	p.refresh()
	p.mu.Lock()
	k := p.kafka
	held := map[string][]int32{}
	for name, t := range p.topics {
		for i, pp := range t.parts {
			all, _, _ := fullReplicas(pp)
			if slices.Contains(all, node) {
				held[name] = append(held[name], int32(i))
			}
		}
	}
	disk := p.disk
	used := p.extra[node]
	p.mu.Unlock()
	want := named(r.Topics, func(t kmsg.DescribeLogDirsRequestTopic) (string, []int32) { return t.Topic, t.Partitions })
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = LogDir
	names := make([]string, 0, len(held))
	for name := range held {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		infos := k.PartitionInfos(name)
		rt := kmsg.NewDescribeLogDirsResponseDirTopic()
		rt.Topic = name
		for _, part := range held[name] {
			var size int64
			if int(part) < len(infos) {
				size = infos[part].NumBytes
			}
			used += size
			if !want(name, part) {
				continue
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size = part, size
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			dir.Topics = append(dir.Topics, rt)
		}
	}
	dir.TotalBytes, dir.UsableBytes = disk, max(disk-used, 0)
	resp.Dirs = append(resp.Dirs, dir)
	return resp, nil, true
}

// describeCluster lists the alive brokers with their racks (and, when asked, the fenced
// ones), and kfake's controller node, which clients reach for CreateTopics.
func (p *placement) describeCluster(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = p.c.cfg.ID
	resp.ControllerID = ControllerNodeID
	resp.ClusterAuthorizedOperations = -2147483648
	for _, b := range p.c.allBrokers() {
		p.mu.Lock()
		nd := p.nodes[b.NodeID]
		listed := b.NodeID == ControllerNodeID || nd != nil && nd.registered && !nd.fenced
		fenced := nd != nil && nd.registered && nd.fenced
		var rack *string
		if nd != nil && nd.rack != "" {
			rack = kmsg.StringPtr(nd.rack)
		}
		p.mu.Unlock()
		if !listed && !(fenced && r.IncludeFencedBrokers) {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Rack, rb.IsFenced = b.NodeID, rack, fenced
		rb.Host, rb.Port = splitHostPort(b.Host)
		resp.Brokers = append(resp.Brokers, rb)
	}
	if r.IncludeFencedBrokers {
		// Brokers registered whose pods are gone: fenced, with no address to reach.
		p.mu.Lock()
		for n, nd := range p.nodes {
			if n != ControllerNodeID && nd.registered && !nd.running {
				rb := kmsg.NewDescribeClusterResponseBroker()
				rb.NodeID, rb.IsFenced = n, true
				if nd.rack != "" {
					rb.Rack = kmsg.StringPtr(nd.rack)
				}
				resp.Brokers = append(resp.Brokers, rb)
			}
		}
		p.mu.Unlock()
	}
	slices.SortFunc(resp.Brokers, func(a, b kmsg.DescribeClusterResponseBroker) int { return int(a.NodeID - b.NodeID) })
	return resp, nil, true
}

// unregisterBroker removes a broker's registration, as KRaft's UnregisterBroker does. A
// running broker stays unregistered until it restarts (the harness does not model the
// heartbeat that would register it again).
func (p *placement) unregisterBroker(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.UnregisterBrokerRequest)
	resp := r.ResponseKind().(*kmsg.UnregisterBrokerResponse)
	p.mu.Lock()
	defer p.mu.Unlock()
	nd := p.nodes[r.BrokerID]
	if r.BrokerID == ControllerNodeID || nd == nil || !nd.registered {
		resp.ErrorCode = kerr.BrokerIDNotRegistered.Code
		resp.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("broker %d is not registered", r.BrokerID))
		return resp, nil, true
	}
	nd.registered = false
	p.unreg = append(p.unreg, r.BrokerID)
	p.settleLocked(time.Now())
	return resp, nil, true
}

// describeQuorum reports the KRaft quorum: kfake's controller node as its one voter and
// leader (none after SetQuorumLeader(false)), the registered brokers as observers.
func (p *placement) describeQuorum(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.DescribeQuorumRequest)
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	p.mu.Lock()
	defer p.mu.Unlock()
	rt := kmsg.NewDescribeQuorumResponseTopic()
	rt.Topic = "__cluster_metadata"
	rp := kmsg.NewDescribeQuorumResponseTopicPartition()
	rp.LeaderID, rp.LeaderEpoch, rp.HighWatermark = ControllerNodeID, 1, 1
	if !p.quorum {
		rp.LeaderID = -1
	}
	voter := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
	voter.ReplicaID, voter.LogEndOffset = ControllerNodeID, 1
	rp.CurrentVoters = append(rp.CurrentVoters, voter)
	for n, nd := range p.nodes {
		if n != ControllerNodeID && nd.registered && nd.running && !nd.fenced {
			o := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
			o.ReplicaID, o.LogEndOffset = n, 1
			rp.Observers = append(rp.Observers, o)
		}
	}
	slices.SortFunc(rp.Observers, func(a, b kmsg.DescribeQuorumResponseTopicPartitionReplicaState) int {
		return int(a.ReplicaID - b.ReplicaID)
	})
	rt.Partitions = append(rt.Partitions, rp)
	resp.Topics = append(resp.Topics, rt)
	return resp, nil, true
}

// named is a request's partition filter: every partition when the request names no topics
// (null), else the partitions it names.
func named[T any](topics []T, get func(T) (string, []int32)) func(topic string, part int32) bool {
	return func(topic string, part int32) bool {
		if topics == nil {
			return true
		}
		for _, t := range topics {
			if name, parts := get(t); name == topic && slices.Contains(parts, part) {
				return true
			}
		}
		return false
	}
}
