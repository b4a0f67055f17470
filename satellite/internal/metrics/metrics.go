// Package metrics owns the satellite's Prometheus metrics: their definitions, the registry
// they live in and the /metrics handler. The satellite only records into them. Every series
// carries the satellite's name (several satellites share one process in dev mode); the only
// other open-ended label is the cluster id; no label carries a secret.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/util/workqueue"
)

// Registry holds every satellite metric, and the Go runtime's and the process's.
var Registry = prometheus.NewRegistry()

// Reconcile loops (sync: desired → PSC; operator: PSC → Kubernetes), under
// controller-runtime's names.
var (
	// ReconcileTotal counts reconciles by satellite, loop and result (success, error).
	ReconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_total", Help: "Total number of reconciliations per controller and result.",
	}, []string{"satellite", "controller", "result"})
	// ReconcileErrors counts failed reconciles by satellite and loop.
	ReconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_errors_total", Help: "Total number of reconciliation errors per controller.",
	}, []string{"satellite", "controller"})
	// ReconcileTime observes how long reconciles take.
	ReconcileTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "controller_runtime_reconcile_time_seconds", Help: "Length of time per reconciliation per controller.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"satellite", "controller"})
	workqueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "workqueue_depth", Help: "Current depth of workqueue.",
	}, []string{"satellite", "name"})
)

// Links and state.
var (
	// HubConnected is 1 while the satellite's leaf node is linked to the hub, else 0.
	HubConnected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_satellite_hub_connected", Help: "1 while the satellite's leaf node is linked to the hub, else 0.",
	}, []string{"satellite"})
	// MirrorLagRevisions is how many desired revisions the local mirror is behind the hub,
	// as the mirror last heard from the hub.
	MirrorLagRevisions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_satellite_desired_mirror_lag_revisions", Help: "Desired revisions the local mirror is behind the hub, as last heard from the hub.",
	}, []string{"satellite"})
	// MirrorLagSeconds is how long the local mirror has not been known to be caught up.
	MirrorLagSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_satellite_desired_mirror_lag_seconds", Help: "Seconds since the desired mirror was last known caught up with the hub (0 while it is).",
	}, []string{"satellite"})
	// KubeApply observes server-side applies to Kubernetes by resource kind and result.
	KubeApply = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "orbit_satellite_kubernetes_apply_duration_seconds", Help: "Server-side applies to Kubernetes by kind and result.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"satellite", "kind", "result"})
	// KafkaAdminRequests counts Kafka Admin API requests by cluster, request and result.
	KafkaAdminRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbit_satellite_kafka_admin_requests_total", Help: "Kafka Admin API requests by cluster, request and result (success, error).",
	}, []string{"satellite", "cluster", "request", "result"})
	// KafkaAdminDuration observes Kafka Admin API round trips by request.
	KafkaAdminDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "orbit_satellite_kafka_admin_request_duration_seconds", Help: "Kafka Admin API round trips by request.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"satellite", "request"})
	// CertificateExpiry is when each cluster's served certificate expires (Unix seconds).
	CertificateExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_satellite_certificate_expiry_timestamp_seconds", Help: "When each cluster's served certificate expires.",
	}, []string{"satellite", "cluster"})
	// MitigationActions counts the automated mitigation detectors' actions (mitigation.go)
	// by action (RestartedBroker, GrewVolume, RequestedRebalance, Reported) and result (ok;
	// Failed/error when a detector's action failed).
	MitigationActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbit_satellite_mitigation_actions_total", Help: "Automatic mitigation actions taken, by action and result.",
	}, []string{"satellite", "action", "result"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		ReconcileTotal, ReconcileErrors, ReconcileTime, workqueueDepth, HubConnected, MirrorLagRevisions, MirrorLagSeconds,
		KubeApply, KafkaAdminRequests, KafkaAdminDuration, CertificateExpiry, MitigationActions, phases)
}

// Handler serves the registry in Prometheus' exposition formats.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// ObserveApply records one server-side apply.
func ObserveApply(satellite, kind string, took time.Duration, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	KubeApply.WithLabelValues(satellite, kind, result).Observe(took.Seconds())
}

// Forget drops every series of one cluster (deleted and purged).
func Forget(satellite, cluster string) {
	l := prometheus.Labels{"satellite": satellite, "cluster": cluster}
	CertificateExpiry.DeletePartialMatch(l)
	KafkaAdminRequests.DeletePartialMatch(l)
	phases.forget(satellite, cluster)
}

// Clusters by phase.
var phases = &phaseCollector{byCluster: map[[2]string]string{}}

// SetPhase records the phase a satellite last reported for a cluster.
func SetPhase(satellite, cluster, phase string) { phases.set(satellite, cluster, phase) }

var phasesDesc = prometheus.NewDesc("orbit_satellite_clusters", "Clusters by the phase the satellite last reported.",
	[]string{"satellite", "phase"}, nil)

type phaseCollector struct {
	mu        sync.Mutex
	byCluster map[[2]string]string // [satellite, cluster] → phase
}

func (p *phaseCollector) set(satellite, cluster, phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byCluster[[2]string{satellite, cluster}] = phase
}

func (p *phaseCollector) forget(satellite, cluster string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byCluster, [2]string{satellite, cluster})
}

func (p *phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- phasesDesc }

func (p *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	counts := map[[2]string]int{}
	for k, phase := range p.byCluster {
		counts[[2]string{k[0], phase}]++
	}
	p.mu.Unlock()
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(phasesDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}

// ObserveReconcile records one reconcile of a loop.
func ObserveReconcile(satellite, loop string, took time.Duration, err error) {
	result := "success"
	errs := ReconcileErrors.WithLabelValues(satellite, loop) // exists, at 0, before the first error
	if err != nil {
		result = "error"
		errs.Inc()
	}
	ReconcileTotal.WithLabelValues(satellite, loop, result).Inc()
	ReconcileTime.WithLabelValues(satellite, loop).Observe(took.Seconds())
}

// Workqueue is the metrics provider of a satellite's workqueues: their depth.
func Workqueue(satellite string) workqueue.MetricsProvider { return queueMetrics{satellite} }

type queueMetrics struct{ satellite string }

func (q queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return workqueueDepth.WithLabelValues(q.satellite, name)
}
func (queueMetrics) NewAddsMetric(string) workqueue.CounterMetric           { return noop{} }
func (queueMetrics) NewRetriesMetric(string) workqueue.CounterMetric        { return noop{} }
func (queueMetrics) NewLatencyMetric(string) workqueue.HistogramMetric      { return noop{} }
func (queueMetrics) NewWorkDurationMetric(string) workqueue.HistogramMetric { return noop{} }
func (queueMetrics) NewUnfinishedWorkSecondsMetric(string) workqueue.SettableGaugeMetric {
	return noop{}
}
func (queueMetrics) NewLongestRunningProcessorSecondsMetric(string) workqueue.SettableGaugeMetric {
	return noop{}
}

// noop stands for the workqueue metrics a satellite does not export.
type noop struct{}

func (noop) Inc()            {}
func (noop) Observe(float64) {}
func (noop) Set(float64)     {}
