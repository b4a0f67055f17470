// Package metrics owns the mothership's Prometheus metrics: their definitions, the registry
// they live in and the /metrics handler. Services only record into them (the controllers,
// the relay, the API, the leader elector) or hand in a function read at scrape time (the
// satellite registry, the status controller's view of the fleet, the controllers' event
// backlogs). No label carries a secret or an unbounded value: routes are the API's
// patterns, never raw paths; the only open-ended labels are cluster and satellite ids.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every mothership metric, and the Go runtime's and the process's.
var Registry = prometheus.NewRegistry()

// Controller metrics, under controller-runtime's names so that dashboards and alerts
// written for Kubernetes operators read them as they are.
var (
	// ReconcileTotal counts reconciles by controller and result (success, error, terminal).
	ReconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_total", Help: "Total number of reconciliations per controller and result.",
	}, []string{"controller", "result"})
	// ReconcileErrors counts failed reconciles (retried or terminal) by controller.
	ReconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_errors_total", Help: "Total number of reconciliation errors per controller.",
	}, []string{"controller"})
	// ReconcileTime observes how long reconciles take, by controller.
	ReconcileTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "controller_runtime_reconcile_time_seconds", Help: "Length of time per reconciliation per controller.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"controller"})
	// WorkqueueDepth is how many ids wait in each controller's queue.
	WorkqueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "workqueue_depth", Help: "Current depth of workqueue.",
	}, []string{"name"})
)

// API metrics.
var (
	apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbit_api_requests_total", Help: "API requests by route and status code.",
	}, []string{"route", "code"})
	apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "orbit_api_request_duration_seconds", Help: "API request latency by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
)

// Outbox relay metrics.
var (
	// OutboxPending is how many outbox rows the relay found unpublished at its last pass
	// (at most one batch).
	OutboxPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orbit_outbox_pending", Help: "Unpublished outbox rows seen at the relay's last pass (at most one batch).",
	})
	// OutboxLag is the age of the oldest unpublished outbox row at the relay's last pass.
	OutboxLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orbit_outbox_lag_seconds", Help: "Age of the oldest unpublished outbox row at the relay's last pass.",
	})
	// OutboxPublished counts outbox rows published and acknowledged by the EVENTS stream.
	OutboxPublished = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orbit_outbox_published_total", Help: "Outbox rows published to EVENTS.",
	})
	// OutboxLastPass is when the relay last looked at the outbox: a relay that is stuck
	// (or a leader that stopped relaying) shows as a pass that gets old.
	OutboxLastPass = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orbit_outbox_last_pass_timestamp_seconds", Help: "When the outbox relay last read the outbox.",
	})
)

// Leader is 1 on the replica that holds the leader lease, 0 on the others; the HA work's
// elector (mothership/leader) sets it.
var Leader = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "orbit_leader", Help: "1 while this mothership replica holds the leader lease, else 0.",
}, []string{"replica"})

// Rollout metrics: the rollout controller (mothership/rollout) sets them for each rollout in
// progress (running or paused) at every step and deletes a rollout's series when it ends (so
// that the rollout label stays bounded). deploy/observability's OrbitRolloutPaused reads
// orbit_rollout_paused.
var (
	// RolloutPaused is 1 while a rollout is paused by its failure budget, else 0 (also
	// while a user's pause holds it: that pages no one).
	RolloutPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_rollout_paused", Help: "1 while a rollout is paused by its failure budget, else 0.",
	}, []string{"rollout"})
	// RolloutWave is the wave a rollout is in (1-based).
	RolloutWave = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_rollout_wave", Help: "The wave a rollout is in (1-based).",
	}, []string{"rollout"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		ReconcileTotal, ReconcileErrors, ReconcileTime, WorkqueueDepth, apiRequests, apiDuration,
		OutboxPending, OutboxLag, OutboxPublished, OutboxLastPass, Leader, RolloutPaused, RolloutWave)
}

// Handler serves the registry in Prometheus' exposition formats.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// Instrument counts and times the requests h serves by the pattern its ServeMux matched
// ("unmatched" when none did), so that cluster names in paths never become labels.
func Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		apiRequests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		apiDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushes of watches).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
