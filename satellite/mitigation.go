package satellite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// Automated mitigation: detectors that look at a Kafka cluster through Kafka itself and
// act on what they find, the way a fleet at scale cannot wait for a person:
//
//   - a broker whose pod is Ready but that Kafka does not list among its brokers is
//     restarted (its pod deleted; the StatefulSet makes it again), at most one pod of a
//     cluster at a time and at most one every RestartEvery;
//   - a broker whose log directory is fuller than DiskThreshold gets its claim grown by
//     DiskGrowth, when the storage class allows expansion; otherwise it is reported;
//   - partitions under-replicated for longer than URPGrace are reported, and when the
//     assignment is unbalanced (replicas on brokers Kafka does not list, or brokers
//     holding far more replicas than others) the Rebalancer is asked to move them.
//
// Every action (and every report) is a Kubernetes Event on the PSC object and a line in
// its status (status.mitigations, the last maxMitigationLines). Mitigation is off for a
// cluster whose desired state says spec.mitigation: off (set through the API), or whose
// PSC object carries the annotation orbit.dev/mitigation: "off" (for emergencies while
// the mothership is away: the satellite honours it from its own Kubernetes).

// AnnotationMitigation turns mitigation off on a PSC object when "off".
const AnnotationMitigation = "orbit.dev/mitigation"

// conditionMitigation is set (False) while mitigation is turned off.
const conditionMitigation = "Mitigation"

// Rebalancer moves replicas of a Kafka cluster so that they are spread evenly over its
// brokers. The satellite's rebalancer fills it; mitigation calls it when under-replicated
// partitions persist and the assignment is unbalanced. Rebalance starts the moves (Admin
// API reassignments) and returns; it is called again while the cause persists.
type Rebalancer interface {
	Rebalance(ctx context.Context, cluster string, adm *kadm.Client) error
}

// balanceNow is the satellite's own Rebalancer: its operator balances every Kafka cluster's
// assignment on each pass (reconcilePlacement), so asking it to rebalance is queueing the
// cluster's next pass now.
type balanceNow func(name string, d time.Duration)

// Rebalance queues the cluster's next pass, which reassigns replicas to the balanced plan.
func (b balanceNow) Rebalance(_ context.Context, cluster string, _ *kadm.Client) error {
	b(cluster, 0)
	return nil
}

// MitigationConfig tunes the detectors; zero fields take the defaults.
type MitigationConfig struct {
	// RestartGrace is how long a pod must have been Ready, unseen by Kafka, before it is
	// restarted (a broker registers a few seconds after it starts).
	RestartGrace time.Duration
	// RestartEvery is the least time between two restarts in one cluster.
	RestartEvery time.Duration
	// URPGrace is how long partitions may stay under-replicated (a broker restarting, a
	// reassignment) before mitigation reports and acts.
	URPGrace time.Duration
	// DiskThreshold is the used share of a log directory's volume above which its claim
	// grows, by DiskGrowth (a share of its size, at least 1Gi).
	DiskThreshold float64
	DiskGrowth    float64
}

func (c MitigationConfig) withDefaults() MitigationConfig {
	if c.RestartGrace <= 0 {
		c.RestartGrace = 2 * time.Minute
	}
	if c.RestartEvery <= 0 {
		c.RestartEvery = 10 * time.Minute
	}
	if c.URPGrace <= 0 {
		c.URPGrace = 10 * time.Minute
	}
	if c.DiskThreshold <= 0 || c.DiskThreshold >= 1 {
		c.DiskThreshold = 0.85
	}
	if c.DiskGrowth <= 0 {
		c.DiskGrowth = 0.25
	}
	return c
}

// Detectors and their actions, as Events and status lines name them.
const (
	detectorUnseenBroker = "BrokerNotInKafka"
	detectorDiskFull     = "DiskAboveThreshold"
	detectorURP          = "UnderReplicatedPartitions"

	actionRestart   = "RestartedBroker"
	actionGrow      = "GrewVolume"
	actionReport    = "Reported"
	actionRebalance = "RequestedRebalance"

	maxMitigationLines = 10
)

// kafkaView is what the detectors read from Kafka.
type kafkaView struct {
	// brokers are the node ids Kafka lists.
	brokers []int32
	// underReplicated are partitions whose in-sync replicas are fewer than their
	// replicas ("topic/partition").
	underReplicated []string
	// replicas counts replicas per node id (brokers Kafka does not list included).
	replicas map[int32]int
	// disks is each broker's log directory use.
	disks map[int32]diskUse
}

// diskUse is one broker's log directory: bytes used and the volume's size (0: unknown).
type diskUse struct {
	used, total int64
}

// observeKafka reads the detectors' view: metadata (brokers, replicas, in-sync replicas)
// and log directories (KIP-827's total and usable bytes, Kafka 3.3 and later; before, the
// size of what the partitions hold).
func observeKafka(ctx context.Context, adm *kadm.Client) (*kafkaView, error) {
	md, err := adm.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	v := &kafkaView{replicas: map[int32]int{}, disks: map[int32]diskUse{}}
	for _, b := range md.Brokers {
		v.brokers = append(v.brokers, b.NodeID)
	}
	slices.Sort(v.brokers)
	for _, t := range md.Topics.Sorted() {
		for _, p := range t.Partitions.Sorted() {
			for _, r := range p.Replicas {
				v.replicas[r]++
			}
			if len(p.ISR) < len(p.Replicas) {
				v.underReplicated = append(v.underReplicated, fmt.Sprintf("%s/%d", t.Topic, p.Partition))
			}
		}
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("log directories: %w", err)
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil {
			return
		}
		u := v.disks[d.Broker]
		if d.TotalBytes > 0 && d.UsableBytes >= 0 {
			u.used += d.TotalBytes - d.UsableBytes
			u.total += d.TotalBytes
		} else {
			u.used += d.Size()
		}
		v.disks[d.Broker] = u
	})
	return v, nil
}

// mitigator keeps the detectors' memory per cluster.
type mitigator struct {
	cfg        MitigationConfig
	rebalancer Rebalancer
	now        func() time.Time

	mu       sync.Mutex
	clusters map[string]*mitigationState
}

type mitigationState struct {
	lastRestart time.Time
	// restarted is the pod deleted last and the UID it had: no other restart until a pod
	// of that name, another incarnation, is Ready again.
	restarted, restartedUID string
	// urpSince is when under-replicated partitions were first seen, urpReported whether
	// this episode was reported.
	urpSince    time.Time
	urpReported bool
}

func newMitigator(cfg MitigationConfig, r Rebalancer) *mitigator {
	return &mitigator{cfg: cfg.withDefaults(), rebalancer: r, now: time.Now, clusters: map[string]*mitigationState{}}
}

func (m *mitigator) state(cluster string) *mitigationState {
	s := m.clusters[cluster]
	if s == nil {
		s = &mitigationState{}
		m.clusters[cluster] = s
	}
	return s
}

// forget drops a deleted cluster's memory.
func (m *mitigator) forget(cluster string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.clusters, cluster)
}

// mitigationOff says why mitigation is off for o, or "".
func mitigationOff(o *PSCObject) string {
	switch {
	case o.Spec.Mitigation == kv.MitigationOff:
		return "turned off in the desired state (spec.mitigation: off)"
	case o.Annotations[AnnotationMitigation] == kv.MitigationOff:
		return fmt.Sprintf("turned off by the annotation %s: off", AnnotationMitigation)
	}
	return ""
}

// mitigate runs the detectors on a reachable cluster and records what they did in st.
func (op *operator) mitigate(ctx context.Context, o *PSCObject, out *rendered, adm *kadm.Client, st *PSCObjectStatus) {
	if op.mitigation == nil {
		return
	}
	if why := mitigationOff(o); why != "" {
		// Said in status, so that whoever turned it off sees the satellite took it.
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, metav1.Condition{Type: conditionMitigation,
			Status: metav1.ConditionFalse, Reason: "TurnedOff", Message: why, ObservedGeneration: o.Generation})
		return
	}
	view, err := observeKafka(ctx, adm)
	if err != nil {
		op.log.Warn("mitigation: reading the cluster from Kafka failed", "cluster", o.Name, "error", err)
		return
	}
	op.detect(ctx, o, out, adm, view, st)
}

// detect runs the detectors on what was read from Kafka, unless mitigation is off.
func (op *operator) detect(ctx context.Context, o *PSCObject, out *rendered, adm *kadm.Client, view *kafkaView, st *PSCObjectStatus) {
	if op.mitigation == nil || mitigationOff(o) != "" {
		return
	}
	op.mitigation.mu.Lock()
	defer op.mitigation.mu.Unlock()
	s := op.mitigation.state(o.Name)
	for _, detect := range []func(context.Context, *PSCObject, *rendered, *kafkaView, *mitigationState) (*Mitigation, error){
		op.detectUnseenBroker, op.detectFullDisk,
	} {
		m, err := detect(ctx, o, out, view, s)
		if err != nil {
			op.log.Warn("mitigation failed", "cluster", o.Name, "error", err)
			metrics.MitigationActions.WithLabelValues(op.satellite, "Failed", "error").Inc()
		}
		if m != nil {
			op.record(ctx, o, st, m)
		}
	}
	if m := op.detectURP(ctx, o, adm, view, s); m != nil {
		op.record(ctx, o, st, m)
	}
}

// detectUnseenBroker restarts one broker pod that is Ready but that Kafka does not list.
func (op *operator) detectUnseenBroker(ctx context.Context, o *PSCObject, out *rendered, view *kafkaView, s *mitigationState) (*Mitigation, error) {
	if len(view.brokers) == 0 {
		return nil, nil // Kafka lists nobody: a cluster-wide problem, not one broker's
	}
	now := op.mitigation.now()
	pods, err := op.kube.pods.Pods(out.namespace).List(labels.SelectorFromSet(labels.Set{LabelCluster: o.Name, LabelComponent: "kafka-broker"}))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	if s.restarted != "" {
		back := false
		for _, p := range pods {
			back = back || (p.Name == s.restarted && string(p.UID) != s.restartedUID && podReady(p))
		}
		if !back {
			return nil, nil // the last restart is not back yet: one at a time
		}
		s.restarted, s.restartedUID = "", ""
	}
	if now.Sub(s.lastRestart) < op.mitigation.cfg.RestartEvery {
		return nil, nil
	}
	for _, p := range pods {
		ordinal, err := strconv.Atoi(p.Name[strings.LastIndexByte(p.Name, '-')+1:])
		if err != nil || p.DeletionTimestamp != nil || !podReady(p) {
			continue
		}
		id := int32(brokerIDOffset + ordinal)
		if slices.Contains(view.brokers, id) || now.Sub(readySince(p)) < op.mitigation.cfg.RestartGrace {
			continue
		}
		uid := p.UID
		err = op.kube.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return nil, fmt.Errorf("restarting broker %d (pod %s): %w", id, p.Name, err)
		}
		s.lastRestart, s.restarted, s.restartedUID = now, p.Name, string(uid)
		return &Mitigation{Detector: detectorUnseenBroker, Action: actionRestart,
			Message: fmt.Sprintf("broker %d: pod %s is Ready but Kafka does not list it (brokers %v); pod deleted to restart it", id, p.Name, view.brokers)}, nil
	}
	return nil, nil
}

// detectFullDisk grows the claim of the fullest broker above the threshold, or reports
// that it cannot.
func (op *operator) detectFullDisk(ctx context.Context, o *PSCObject, out *rendered, view *kafkaView, _ *mitigationState) (*Mitigation, error) {
	claims, err := roleClaims(op.kube, out.namespace, o.Name, "kafka-broker")
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(view.disks)) {
		d := view.disks[id]
		name := fmt.Sprintf("data-kafka-broker-%d", id-brokerIDOffset)
		var pvc *corev1.PersistentVolumeClaim
		for _, c := range claims {
			if c.Name == name {
				pvc = c
			}
		}
		if pvc == nil || pvc.DeletionTimestamp != nil {
			continue
		}
		capacity := pvc.Status.Capacity[corev1.ResourceStorage]
		request := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		total := d.total
		if total <= 0 {
			total = capacity.Value()
		}
		if total <= 0 || float64(d.used) <= op.mitigation.cfg.DiskThreshold*float64(total) {
			continue
		}
		if request.Cmp(capacity) > 0 {
			continue // a resize is already under way
		}
		grow := max(int64(float64(capacity.Value())*op.mitigation.cfg.DiskGrowth), 1<<30)
		size := resource.NewQuantity(((capacity.Value()+grow+(1<<30)-1)>>30)<<30, resource.BinarySI)
		used := fmt.Sprintf("broker %d: log directory %d%% full (%d of %d bytes)", id, d.used*100/total, d.used, total)
		asked, class, err := growClaim(ctx, op.kube, pvc, *size)
		if err != nil {
			return nil, err
		}
		if !asked {
			return &Mitigation{Detector: detectorDiskFull, Action: actionReport,
				Message: fmt.Sprintf("%s; claim %s cannot grow: storage class %q does not allow volume expansion", used, name, class)}, nil
		}
		return &Mitigation{Detector: detectorDiskFull, Action: actionGrow,
			Message: fmt.Sprintf("%s; claim %s grows from %s to %s", used, name, capacity.String(), size.String())}, nil
	}
	return nil, nil
}

// detectURP reports partitions under-replicated past the grace period, once per episode,
// and asks the rebalancer to move replicas when the assignment is unbalanced (asking
// again at every look while it stays so).
func (op *operator) detectURP(ctx context.Context, o *PSCObject, adm *kadm.Client, view *kafkaView, s *mitigationState) *Mitigation {
	now := op.mitigation.now()
	if len(view.underReplicated) == 0 {
		s.urpSince, s.urpReported = time.Time{}, false
		return nil
	}
	if s.urpSince.IsZero() {
		s.urpSince = now
	}
	if now.Sub(s.urpSince) < op.mitigation.cfg.URPGrace {
		return nil
	}
	parts := view.underReplicated
	sample := strings.Join(parts[:min(len(parts), 5)], ", ")
	if len(parts) > 5 {
		sample += ", …"
	}
	base := fmt.Sprintf("%d partitions under-replicated for %v (%s)", len(parts), now.Sub(s.urpSince).Round(time.Second), sample)
	if why := unbalanced(view); why != "" {
		if op.mitigation.rebalancer == nil {
			if s.urpReported {
				return nil
			}
			s.urpReported = true
			return &Mitigation{Detector: detectorURP, Action: actionReport, Message: base + "; the assignment is unbalanced (" + why + ") and no rebalancer runs"}
		}
		if err := op.mitigation.rebalancer.Rebalance(ctx, o.Name, adm); err != nil {
			return &Mitigation{Detector: detectorURP, Action: actionReport, Message: base + "; rebalancing failed: " + err.Error()}
		}
		s.urpReported = true
		return &Mitigation{Detector: detectorURP, Action: actionRebalance, Message: base + "; the assignment is unbalanced (" + why + "): rebalance requested"}
	}
	if s.urpReported {
		return nil
	}
	s.urpReported = true
	return &Mitigation{Detector: detectorURP, Action: actionReport, Message: base}
}

// unbalanced says how the assignment is unbalanced, or "": replicas on brokers Kafka does
// not list, or a broker holding more than one and a half times the average (and at least
// two more than the least loaded).
func unbalanced(view *kafkaView) string {
	var gone []int32
	for id := range view.replicas {
		if !slices.Contains(view.brokers, id) {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		return fmt.Sprintf("replicas assigned to brokers %v, which Kafka does not list", gone)
	}
	if len(view.brokers) < 2 {
		return ""
	}
	least, most, total := -1, 0, 0
	for _, id := range view.brokers {
		n := view.replicas[id]
		total += n
		most = max(most, n)
		if least < 0 || n < least {
			least = n
		}
	}
	avg := float64(total) / float64(len(view.brokers))
	if float64(most) > 1.5*avg && most-least >= 2 {
		return fmt.Sprintf("replicas per broker from %d to %d, %.1f on average", least, most, avg)
	}
	return ""
}

// record makes a mitigation an Event on the PSC object and a line in its status.
func (op *operator) record(ctx context.Context, o *PSCObject, st *PSCObjectStatus, m *Mitigation) {
	m.Time = metav1.NewTime(op.mitigation.now().UTC().Truncate(time.Second))
	st.Mitigations = append(slices.Clone(st.Mitigations), *m)
	if n := len(st.Mitigations); n > maxMitigationLines {
		st.Mitigations = st.Mitigations[n-maxMitigationLines:]
	}
	op.log.Warn("mitigation", "cluster", o.Name, "detector", m.Detector, "action", m.Action, "message", m.Message)
	metrics.MitigationActions.WithLabelValues(op.satellite, m.Action, "ok").Inc()
	typ := corev1.EventTypeWarning
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: o.Name + ".", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{LabelManagedBy: FieldManager, LabelSatellite: op.satellite, LabelCluster: o.Name}},
		InvolvedObject: corev1.ObjectReference{APIVersion: pscAPIVersion, Kind: pscKind, Name: o.Name, UID: o.UID},
		Reason:         m.Action, Message: m.Detector + ": " + m.Message, Type: typ,
		Source:         corev1.EventSource{Component: FieldManager},
		FirstTimestamp: m.Time, LastTimestamp: m.Time, Count: 1,
		ReportingController: "orbit.dev/" + FieldManager, ReportingInstance: op.satellite,
	}
	if _, err := op.kube.client.CoreV1().Events(metav1.NamespaceDefault).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		op.log.Warn("mitigation: recording the event failed", "cluster", o.Name, "error", err)
	}
}

// readySince is when a Ready pod became Ready.
func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}
