package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestInstrumentLabelsRoutesByPattern: requests are counted under the pattern the mux
// matched, never the raw path (a cluster name in the path is not a label).
func TestInstrumentLabelsRoutesByPattern(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/clusters/{name}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	h := Instrument(mux)
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/clusters/very-private-name", nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nothing/here", nil))
	if got := testutil.ToFloat64(apiRequests.WithLabelValues("GET /v1/clusters/{name}", "404")); got != 3 {
		t.Errorf("requests by pattern = %v, want 3", got)
	}
	if got := testutil.ToFloat64(apiRequests.WithLabelValues("unmatched", "404")); got != 1 {
		t.Errorf("unmatched requests = %v, want 1", got)
	}
	out := scrape(t)
	if strings.Contains(out, "very-private-name") || strings.Contains(out, "/nothing/here") {
		t.Errorf("a raw path became a label:\n%s", out)
	}
}

// TestFleetSeries: satellites by heartbeat freshness, clusters by product/phase/satellite,
// per-cluster phase and condition times, and controller backlogs, read at scrape time.
func TestFleetSeries(t *testing.T) {
	now := time.Now()
	SetSatellites(func() []SatelliteSeen {
		return []SatelliteSeen{{Name: "s1", HeartbeatAt: now}, {Name: "s2", HeartbeatAt: now.Add(-time.Minute)}}
	})
	since := time.Unix(1_800_000_000, 0)
	SetClusters(func() []ClusterSeen {
		return []ClusterSeen{
			{ID: "pkc-a", Satellite: "s1", Product: "kafka", Phase: "ready", Conditions: []ConditionSeen{{Type: "Ready", Status: "True", Since: since}}},
			{ID: "pkc-b", Satellite: "s1", Product: "kafka", Phase: "ready"},
			{ID: "pks-c", Satellite: "s2", Product: "ksqldb", Phase: "degraded"},
		}
	})
	SetControllerBacklog("physical", func(context.Context) (Backlog, error) { return Backlog{Pending: 7, Unacked: 2}, nil })
	SetControllerBacklog("broken", func(context.Context) (Backlog, error) { return Backlog{}, errors.New("no consumer") })
	t.Cleanup(func() {
		SetSatellites(nil)
		SetClusters(nil)
		SetControllerBacklog("physical", nil)
		SetControllerBacklog("broken", nil)
	})
	out := scrape(t)
	for _, want := range []string{
		`orbit_satellites{state="connected"} 1`,
		`orbit_satellites{state="stale"} 1`,
		`orbit_satellite_connected{satellite="s1"} 1`,
		`orbit_satellite_connected{satellite="s2"} 0`,
		`orbit_clusters{phase="ready",product="kafka",satellite="s1"} 2`,
		`orbit_clusters{phase="degraded",product="ksqldb",satellite="s2"} 1`,
		`orbit_cluster_phase{cluster="pks-c",phase="degraded",product="ksqldb",satellite="s2"} 1`,
		`orbit_cluster_condition_since_timestamp_seconds{cluster="pkc-a",satellite="s1",status="True",type="Ready"} 1.8e+09`,
		`orbit_controller_events_unreconciled{controller="physical",state="pending"} 7`,
		`orbit_controller_events_unreconciled{controller="physical",state="unacked"} 2`,
		`orbit_controller_backlog_scrape_errors_total{controller="broken"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, `controller="broken",state=`) {
		t.Error("a backlog that could not be read is reported as a value")
	}
	problems, err := testutil.GatherAndLint(Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
