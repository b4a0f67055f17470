package satellite

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/kv"
)

// Health read from Kafka. A Kafka cluster whose pods are all ready is Ready only when Kafka
// agrees: every broker the StatefulSet runs is registered and unfenced, the controller
// quorum has a leader, and no partition is offline. Otherwise, or when partitions are
// under-replicated or a broker's log directory is fuller than diskThreshold, it is Degraded
// with the reason, naming the brokers or counting the partitions. The status carries what
// Kafka reports (kv.KafkaHealth): partitions, under-replicated and offline partitions and
// bytes on disk, per cluster and, on a shared cluster, per tenant prefix.

// diskThreshold is the fraction of a log directory's volume above which a cluster is
// Degraded.
const diskThreshold = 0.85

// healthProblem is why Kafka says a cluster is not healthy; quorum and offline problems
// and unregistered brokers keep it from Ready, the others degrade it.
type healthProblem struct {
	reason, message string
}

// kafkaHealth reads the cluster's health from Kafka into st and returns what is wrong, the
// most serious problem first.
func (op *operator) kafkaHealth(ctx context.Context, cl *kgo.Client, adm *kadm.Client, o *PSCObject, out *rendered, v *clusterView, st *PSCObjectStatus) ([]healthProblem, error) {
	var problems []healthProblem
	// Brokers the StatefulSet runs (its ready pods) that Kafka does not see.
	var missing []string
	for i := range min(st.ReadyReplicas, int32(len(out.brokers))) {
		id := out.brokers[i].id
		switch {
		case !v.registered[id]:
			missing = append(missing, fmt.Sprintf("%d (not registered)", id))
		case v.fenced[id]:
			missing = append(missing, fmt.Sprintf("%d (fenced)", id))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, healthProblem{"BrokerNotRegistered",
			"Kafka does not see broker " + strings.Join(missing, ", ") + " while its pod runs"})
	}
	q, err := kmsg.NewPtrDescribeQuorumRequest().RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(q.ErrorCode)
	}
	if err != nil {
		return nil, fmt.Errorf("describe quorum: %w", err)
	}
	leader := int32(-1)
	for _, t := range q.Topics {
		for _, p := range t.Partitions {
			leader = p.LeaderID
		}
	}
	if leader < 0 {
		problems = append(problems, healthProblem{"NoQuorumLeader", "the KRaft controller quorum has no leader"})
	}

	h := &kv.KafkaHealth{}
	tenants := map[string]*kv.TenantHealth{}
	for _, t := range o.Spec.Tenants {
		tenants[t.ID] = &kv.TenantHealth{ID: t.ID}
	}
	tenantOf := func(topic string) *kv.TenantHealth {
		id, _, ok := strings.Cut(topic, ".")
		if !ok {
			return nil
		}
		return tenants[id]
	}
	var offline, under []string
	for _, t := range v.meta.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue
		}
		th := tenantOf(*t.Topic)
		for _, p := range t.Partitions {
			h.Partitions++
			if th != nil {
				th.Partitions++
			}
			switch {
			case p.Leader < 0:
				h.Offline++
				offline = append(offline, fmt.Sprintf("%s/%d", *t.Topic, p.Partition))
			case len(p.ISR) < len(p.Replicas) && !v.inFlight[*t.Topic][p.Partition]:
				// (A partition being reassigned lists the replicas it adds before they
				// join the ISR; KIP-352 does not count it: the Rebalancing condition does.)
				h.UnderReplicated++
				if th != nil {
					th.UnderReplicated++
				}
				under = append(under, fmt.Sprintf("%s/%d", *t.Topic, p.Partition))
			}
		}
	}
	if len(offline) > 0 {
		problems = append(problems, healthProblem{"OfflinePartitions",
			fmt.Sprintf("%d partitions offline: %s", len(offline), sample(offline))})
	}
	if len(under) > 0 {
		problems = append(problems, healthProblem{"UnderReplicatedPartitions",
			fmt.Sprintf("%d partitions under-replicated: %s", len(under), sample(under))})
	}

	// Log directories of the brokers Kafka sees.
	var full []string
	for i := range min(st.ReadyReplicas, int32(len(out.brokers))) {
		id := out.brokers[i].id
		if !v.registered[id] || v.fenced[id] {
			continue
		}
		dirs, err := adm.DescribeBrokerLogDirs(ctx, id, nil)
		if err != nil {
			return nil, fmt.Errorf("log dirs of broker %d: %w", id, err)
		}
		dirs.Each(func(d kadm.DescribedLogDir) {
			d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
				h.BytesOnDisk += p.Size
				if th := tenantOf(p.Topic); th != nil {
					th.BytesOnDisk += p.Size
				}
			})
			if d.TotalBytes > 0 && d.UsableBytes >= 0 {
				if used := 1 - float64(d.UsableBytes)/float64(d.TotalBytes); used > diskThreshold {
					full = append(full, fmt.Sprintf("%d (%s %.0f%% full)", id, d.Dir, used*100))
				}
			}
		})
	}
	if len(full) > 0 {
		problems = append(problems, healthProblem{"DiskAlmostFull", "log directories above the threshold on broker " + strings.Join(full, ", ")})
	}
	for _, id := range slicesSortedKeys(tenants) {
		h.Tenants = append(h.Tenants, *tenants[id])
	}
	st.Kafka = h
	return problems, nil
}

// sample lists the first few names.
func sample(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

func slicesSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// applyHealth turns Kafka's problems into the phase: a cluster Kubernetes calls Ready is
// Degraded with the most serious problem's reason; a message lists the others.
func (op *operator) applyHealth(o *PSCObject, st *PSCObjectStatus, problems []healthProblem) {
	if len(problems) == 0 || st.Phase != kv.PhaseReady {
		return
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.message
	}
	next := op.status(o, kv.PhaseDegraded, problems[0].reason, strings.Join(msgs, "; "), true, st.Roles)
	// Keep what this reconcile observed; take the phase, reason and conditions.
	next.Replicas, next.ReadyReplicas, next.Bootstrap, next.BootstrapHost = st.Replicas, st.ReadyReplicas, st.Bootstrap, st.BootstrapHost
	next.CACertificate, next.CertificateSerial, next.Brokers, next.Kafka = st.CACertificate, st.CertificateSerial, st.Brokers, st.Kafka
	for _, c := range st.Conditions {
		if c.Type != "Ready" && c.Type != "Progressing" && c.Type != "Degraded" {
			next.Conditions = setCondition(next.Conditions, o.Status.Conditions, c)
		}
	}
	*st = next
}
