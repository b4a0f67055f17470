package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSeriesAndForget: reconciles count by result with errors apart, clusters count by
// phase per satellite, and a purged cluster's series go away; the registry passes promlint.
func TestSeriesAndForget(t *testing.T) {
	ObserveReconcile("s1", "operator", time.Millisecond, nil)
	ObserveReconcile("s1", "operator", time.Millisecond, errors.New("boom"))
	if got := testutil.ToFloat64(ReconcileTotal.WithLabelValues("s1", "operator", "error")); got != 1 {
		t.Errorf("errors by result = %v", got)
	}
	if got := testutil.ToFloat64(ReconcileErrors.WithLabelValues("s1", "operator")); got != 1 {
		t.Errorf("errors = %v", got)
	}
	SetPhase("s1", "pkc-a", "ready")
	SetPhase("s1", "pkc-b", "ready")
	SetPhase("s2", "pkc-c", "degraded")
	CertificateExpiry.WithLabelValues("s1", "pkc-a").Set(1)
	KafkaAdminRequests.WithLabelValues("s1", "pkc-a", "Metadata", "success").Inc()
	if n := testutil.CollectAndCount(phases); n != 2 {
		t.Errorf("phase series = %d, want 2 (s1 ready, s2 degraded)", n)
	}
	Forget("s1", "pkc-a")
	if n := testutil.CollectAndCount(CertificateExpiry); n != 0 {
		t.Errorf("certificate series after forget = %d", n)
	}
	if n := testutil.CollectAndCount(KafkaAdminRequests); n != 0 {
		t.Errorf("kafka series after forget = %d", n)
	}
	phases.mu.Lock()
	_, kept := phases.byCluster[[2]string{"s1", "pkc-b"}]
	_, gone := phases.byCluster[[2]string{"s1", "pkc-a"}]
	phases.mu.Unlock()
	if !kept || gone {
		t.Errorf("forget removed the wrong clusters: pkc-b kept %v, pkc-a still there %v", kept, gone)
	}
	problems, err := testutil.GatherAndLint(Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
