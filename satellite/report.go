package satellite

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// reporter turns what the operator observed (and what the syncer refused) into the status
// the hub gets for each key.
type reporter struct {
	pub *publisher

	mu       sync.Mutex
	failures map[string]failure
	last     map[string]*PSCObjectStatus
}

// failure is a desired value that can never be applied as written.
type failure struct {
	generation int64
	reason     string
}

func newReporter(pub *publisher) *reporter {
	return &reporter{pub: pub, failures: map[string]failure{}, last: map[string]*PSCObjectStatus{}}
}

// fail records that the desired value of key, at generation, is invalid, and reports it.
// The cluster keeps running what it last applied.
func (r *reporter) fail(key kv.Key, generation int64, reason string) {
	r.mu.Lock()
	r.failures[key.String()] = failure{generation: generation, reason: reason}
	last := r.last[key.String()]
	r.mu.Unlock()
	r.report(key, generation, last)
}

// clear forgets a failure; it reports whether there was one.
func (r *reporter) clear(key kv.Key) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, had := r.failures[key.String()]
	delete(r.failures, key.String())
	return had
}

// report publishes the status of key: the operator's last observation (st, for the desired
// generation it worked on), overridden by a failure if the newest desired value is invalid.
func (r *reporter) report(key kv.Key, generation int64, st *PSCObjectStatus) {
	k := key.String()
	r.mu.Lock()
	if st != nil {
		r.last[k] = st
	}
	f, failed := r.failures[k]
	r.mu.Unlock()

	out := &kv.Status{SchemaVersion: kv.SchemaVersion, ID: key.Cluster, Satellite: key.Satellite, Product: key.Product, UpdatedAt: time.Now().UTC()}
	if st != nil {
		out.ObservedGeneration, out.ProfileRevision = st.DesiredGeneration, st.ProfileRevision
		out.Phase, out.Reason, out.Message = st.Phase, st.Reason, st.Message
		out.Replicas, out.ReadyReplicas, out.Roles, out.Bootstrap = st.Replicas, st.ReadyReplicas, st.Roles, st.Bootstrap
		out.CACertificate, out.CertificateSerial, out.Brokers = st.CACertificate, st.CertificateSerial, st.Brokers
		out.BootstrapHost, out.Data, out.Kafka = st.BootstrapHost, st.Data, st.Kafka
		for _, c := range st.Conditions {
			out.Conditions = append(out.Conditions, kv.Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason,
				Message: c.Message, ObservedGeneration: generation, LastTransitionTime: c.LastTransitionTime.UTC()})
		}
	}
	if failed {
		out.Phase, out.Reason, out.Message = kv.PhaseFailed, "InvalidDesiredState", f.reason
		out.Conditions = []kv.Condition{
			{Type: "Ready", Status: "False", Reason: "InvalidDesiredState", Message: f.reason, ObservedGeneration: f.generation},
			{Type: "Stalled", Status: "True", Reason: "InvalidDesiredState", Message: f.reason, ObservedGeneration: f.generation},
		}
	}
	if out.Phase == "" {
		return // nothing observed yet
	}
	if out.Phase == kv.PhasePurged {
		metrics.Forget(key.Satellite, key.Cluster)
	} else {
		metrics.SetPhase(key.Satellite, key.Cluster, string(out.Phase))
	}
	r.pub.Set(out)
}

// setCondition sets a condition, keeping its transition time if its status is unchanged.
func setCondition(conds []metav1.Condition, prev []metav1.Condition, c metav1.Condition) []metav1.Condition {
	c.LastTransitionTime = metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for _, p := range prev {
		if p.Type == c.Type && p.Status == c.Status {
			c.LastTransitionTime = p.LastTransitionTime
		}
	}
	if c.Reason == "" {
		c.Reason = c.Type
	}
	return append(conds, c)
}
