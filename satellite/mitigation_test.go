package satellite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/satellite/internal/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// mitigationParts is a converged 3-broker cluster with Ready broker pods and claims, and
// a mitigator on a clock the test moves.
type mitigationParts struct {
	*parts
	cs    *fake.Clientset
	clock time.Time
}

func newMitigationParts(t *testing.T, psc *kv.PSC, cfg MitigationConfig, r Rebalancer) *mitigationParts {
	t.Helper()
	yes := true
	cs, dyn := fake.NewClientset(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "elastic"}, Provisioner: "x", AllowVolumeExpansion: &yes}),
		simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	converge(t, p, b, psc)
	m := &mitigationParts{parts: p, cs: cs, clock: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	p.op.mitigation = newMitigator(cfg, r)
	p.op.mitigation.now = func() time.Time { return m.clock }
	ns := Namespace(psc.ID)
	for i := range 3 {
		m.addPod(t, i, fmt.Sprintf("uid-%d", i), m.clock.Add(-time.Hour))
		brokerClaim(t, cs, i, "elastic", "10Gi")
	}
	testkit.CheckFor(t, cacheCatchUp, func() error {
		pods, _ := p.kube.pods.Pods(ns).List(p.op.clusterSelector(&PSCObject{ObjectMeta: metav1.ObjectMeta{Name: psc.ID}}))
		claims, _ := p.kube.claims.PersistentVolumeClaims(ns).List(p.op.clusterSelector(&PSCObject{ObjectMeta: metav1.ObjectMeta{Name: psc.ID}}))
		if len(pods) != 3 || len(claims) != 3 {
			return fmt.Errorf("%d pods, %d claims in the cache", len(pods), len(claims))
		}
		return nil
	})
	return m
}

// addPod adds broker pod i, Ready since readyAt.
func (m *mitigationParts) addPod(t *testing.T, i int, uid string, readyAt time.Time) {
	t.Helper()
	labels := ownerLabels("sat", kv.ProductKafka, "pkc-1")
	labels[LabelComponent] = "kafka-broker"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kafka-broker-%d", i), Namespace: Namespace("pkc-1"), Labels: labels, UID: types.UID(uid)},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(readyAt)}}}}
	if _, err := m.cs.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// run runs the detectors on view and returns the status lines they added.
func (m *mitigationParts) run(t *testing.T, view *kafkaView) []Mitigation {
	t.Helper()
	o, err := m.kube.getPSC("pkc-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.op.render.render(o)
	if err != nil {
		t.Fatal(err)
	}
	st := PSCObjectStatus{}
	m.op.detect(context.Background(), o, out, nil, view, &st)
	return st.Mitigations
}

func (m *mitigationParts) events(t *testing.T) []corev1.Event {
	t.Helper()
	l, err := m.cs.CoreV1().Events(metav1.NamespaceDefault).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func (m *mitigationParts) podExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := m.cs.CoreV1().Pods(Namespace("pkc-1")).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// healthy is a view in which Kafka lists brokers (node ids).
func healthy(brokers ...int32) *kafkaView {
	return &kafkaView{brokers: brokers, replicas: map[int32]int{}, disks: map[int32]diskUse{}}
}

// TestMitigationRestartsABrokerKafkaDoesNotSee: a broker pod Ready but missing from
// Kafka's brokers is deleted (restarted), once, with an Event on the PSC and a status line;
// no second restart before the first pod is back and the rate limit allows.
func TestMitigationRestartsABrokerKafkaDoesNotSee(t *testing.T) {
	m := newMitigationParts(t, testPSC(1, 3), MitigationConfig{RestartGrace: time.Minute, RestartEvery: 10 * time.Minute}, nil)
	lines := m.run(t, healthy(1000, 1001))
	if len(lines) != 1 || lines[0].Detector != detectorUnseenBroker || lines[0].Action != actionRestart || !strings.Contains(lines[0].Message, "broker 1002: pod kafka-broker-2 is Ready but Kafka does not list it") {
		t.Fatalf("status lines %+v", lines)
	}
	if m.podExists(t, "kafka-broker-2") || !m.podExists(t, "kafka-broker-1") {
		t.Fatal("the wrong pod was deleted")
	}
	evs := m.events(t)
	if len(evs) != 1 || evs[0].InvolvedObject.Kind != pscKind || evs[0].InvolvedObject.Name != "pkc-1" || evs[0].Reason != actionRestart ||
		evs[0].Type != corev1.EventTypeWarning || !strings.Contains(evs[0].Message, "kafka-broker-2") {
		t.Fatalf("events %+v", evs)
	}

	// Broker 1 goes missing too: nothing until the restarted pod is back (one at a time)
	// and the rate limit allows.
	if lines := m.run(t, healthy(1000)); len(lines) != 0 {
		t.Fatalf("a second restart while the first is not back: %+v", lines)
	}
	m.clock = m.clock.Add(11 * time.Minute)
	if lines := m.run(t, healthy(1000)); len(lines) != 0 || !m.podExists(t, "kafka-broker-1") {
		t.Fatalf("a second restart while the first pod is not back: %+v", lines)
	}
	// The StatefulSet made broker 2 again and it is Ready: broker 1 is restarted next.
	m.addPod(t, 2, "uid-2b", m.clock.Add(-2*time.Minute))
	testkit.CheckFor(t, cacheCatchUp, func() error {
		if p, err := m.kube.pods.Pods(Namespace("pkc-1")).Get("kafka-broker-2"); err != nil || p.UID != "uid-2b" {
			return fmt.Errorf("cache: %v", err)
		}
		return nil
	})
	if lines := m.run(t, healthy(1000)); len(lines) != 1 || m.podExists(t, "kafka-broker-1") {
		t.Fatalf("broker 1 not restarted once broker 2 was back: %+v", lines)
	}
}

// TestMitigationTurnedOff: off in the desired state (the API's spec.mitigation) or by
// the emergency annotation on the PSC object, the detectors do nothing.
func TestMitigationTurnedOff(t *testing.T) {
	t.Run("desired state", func(t *testing.T) {
		psc := testPSC(1, 3)
		psc.Spec.Mitigation = kv.MitigationOff
		m := newMitigationParts(t, psc, MitigationConfig{RestartGrace: time.Minute}, nil)
		if lines := m.run(t, healthy(1000, 1001)); len(lines) != 0 || !m.podExists(t, "kafka-broker-2") || len(m.events(t)) != 0 {
			t.Fatalf("acted while off: %+v", lines)
		}
	})
	t.Run("annotation", func(t *testing.T) {
		m := newMitigationParts(t, testPSC(1, 3), MitigationConfig{RestartGrace: time.Minute}, nil)
		patch := []byte(`{"metadata":{"annotations":{"` + AnnotationMitigation + `":"off"}}}`)
		if _, err := m.kube.dynamic.Resource(PSCResource).Patch(context.Background(), "pkc-1", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, cacheCatchUp, func() error {
			o, err := m.kube.getPSC("pkc-1")
			if err == nil && mitigationOff(o) == "" {
				err = fmt.Errorf("annotations %v", o.Annotations)
			}
			return err
		})
		if lines := m.run(t, healthy(1000, 1001)); len(lines) != 0 || !m.podExists(t, "kafka-broker-2") || len(m.events(t)) != 0 {
			t.Fatalf("acted while off: %+v", lines)
		}
	})
}

// TestMitigationGrowsAFullDisk: a log directory above the threshold grows its claim when
// the class allows expansion.
func TestMitigationGrowsAFullDisk(t *testing.T) {
	m := newMitigationParts(t, testPSC(1, 3), MitigationConfig{DiskThreshold: 0.8, DiskGrowth: 0.5}, nil)
	v := healthy(1000, 1001, 1002)
	v.disks[1001] = diskUse{used: 9 << 30, total: 10 << 30}
	v.disks[1000] = diskUse{used: 1 << 30, total: 10 << 30}
	grew := metrics.MitigationActions.WithLabelValues(m.op.satellite, actionGrow, "ok")
	before := testutil.ToFloat64(grew)
	lines := m.run(t, v)
	if got := testutil.ToFloat64(grew) - before; got != 1 {
		t.Errorf("orbit_satellite_mitigation_actions_total{action=GrewVolume} moved by %v, want 1", got)
	}
	if len(lines) != 1 || lines[0].Action != actionGrow || !strings.Contains(lines[0].Message, "broker 1001: log directory 90% full") ||
		!strings.Contains(lines[0].Message, "claim data-kafka-broker-1 grows from 10Gi to 15Gi") {
		t.Fatalf("status lines %+v", lines)
	}
	pvc, _ := m.cs.CoreV1().PersistentVolumeClaims(Namespace("pkc-1")).Get(context.Background(), "data-kafka-broker-1", metav1.GetOptions{})
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "15Gi" {
		t.Fatalf("claim asks for %s", q.String())
	}
	if evs := m.events(t); len(evs) != 1 || evs[0].Reason != actionGrow {
		t.Fatalf("events %+v", evs)
	}
}

type recordingRebalancer struct{ calls []string }

func (r *recordingRebalancer) Rebalance(_ context.Context, cluster string, _ *kadm.Client) error {
	r.calls = append(r.calls, cluster)
	return nil
}

// TestMitigationUnderReplicatedPartitions: reported only past the grace period; the
// rebalancer is asked only when the assignment is unbalanced.
func TestMitigationUnderReplicatedPartitions(t *testing.T) {
	r := &recordingRebalancer{}
	m := newMitigationParts(t, testPSC(1, 3), MitigationConfig{URPGrace: 5 * time.Minute}, r)
	v := healthy(1000, 1001, 1002)
	v.underReplicated = []string{"orders/0"}
	v.replicas = map[int32]int{1000: 3, 1001: 3, 1002: 3}
	if lines := m.run(t, v); len(lines) != 0 {
		t.Fatalf("within the grace period: %+v", lines)
	}
	m.clock = m.clock.Add(6 * time.Minute)
	lines := m.run(t, v)
	if len(lines) != 1 || lines[0].Action != actionReport || !strings.Contains(lines[0].Message, "1 partitions under-replicated for 6m0s (orders/0)") || len(r.calls) != 0 {
		t.Fatalf("balanced: lines %+v, rebalances %v", lines, r.calls)
	}
	if lines := m.run(t, v); len(lines) != 0 {
		t.Fatalf("reported twice: %+v", lines)
	}
	// Replicas left on a broker Kafka no longer lists: unbalanced, the rebalancer is asked.
	v.replicas[1003] = 2
	lines = m.run(t, v)
	if len(lines) != 1 || lines[0].Action != actionRebalance || !strings.Contains(lines[0].Message, "replicas assigned to brokers [1003]") || len(r.calls) != 1 {
		t.Fatalf("unbalanced: lines %+v, rebalances %v", lines, r.calls)
	}
	if unbalanced(&kafkaView{brokers: []int32{1, 2, 3}, replicas: map[int32]int{1: 9, 2: 1, 3: 2}}) == "" {
		t.Fatal("9/1/2 replicas is balanced")
	}
}

// TestObserveKafkaReadsBrokersAndDisks reads the detectors' view over the Kafka protocol:
// the brokers Kafka lists, replicas per broker, and each broker's log directory use
// (KIP-827's total and usable bytes).
func TestObserveKafkaReadsBrokersAndDisks(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ControlKey(int16(kmsg.DescribeLogDirs), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
		dir := kmsg.NewDescribeLogDirsResponseDir()
		dir.Dir, dir.TotalBytes, dir.UsableBytes = "/var/lib/orbit/data/kafka", 100, 10
		resp.Dirs = append(resp.Dirs, dir)
		return resp, nil, true
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 2, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	v, err := observeKafka(ctx, adm)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.brokers) != 3 || v.replicas[v.brokers[0]] != 2 || len(v.disks) != 3 || v.disks[v.brokers[1]] != (diskUse{used: 90, total: 100}) {
		t.Fatalf("view %+v", v)
	}
}

// TestMitigationWaitsForANewBrokerToRegister: a pod Ready for less than the grace period
// (its broker may still be registering) is not restarted.
func TestMitigationWaitsForANewBrokerToRegister(t *testing.T) {
	m := newMitigationParts(t, testPSC(1, 3), MitigationConfig{RestartGrace: 2 * time.Hour}, nil)
	if lines := m.run(t, healthy(1000, 1001)); len(lines) != 0 || !m.podExists(t, "kafka-broker-2") {
		t.Fatalf("restarted within the grace period: %+v", lines)
	}
	m.clock = m.clock.Add(time.Hour + time.Second)
	if lines := m.run(t, healthy(1000, 1001)); len(lines) != 1 || m.podExists(t, "kafka-broker-2") {
		t.Fatalf("not restarted after the grace period: %+v", lines)
	}
}
