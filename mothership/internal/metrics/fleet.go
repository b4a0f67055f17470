package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HeartbeatFresh is how recent a satellite's heartbeat must be for it to count as
// connected: three of the satellites' default heartbeat intervals (10 s).
const HeartbeatFresh = 30 * time.Second

// SatelliteSeen is one registered satellite as the registry last heard from it.
type SatelliteSeen struct {
	Name        string
	HeartbeatAt time.Time
}

// ClusterSeen is one physical cluster as its satellite last reported it.
type ClusterSeen struct {
	ID, Satellite, Product, Phase string
	// Conditions are the reported conditions with when each last changed status.
	Conditions []ConditionSeen
}

// ConditionSeen is one condition of a cluster.
type ConditionSeen struct {
	Type, Status string
	Since        time.Time
}

// Backlog is what a controller has not reconciled yet: events not delivered to it yet
// (Pending) and delivered but not acknowledged (Unacked). Ids waiting in its queue are
// workqueue_depth.
type Backlog struct {
	Pending, Unacked int
}

var (
	fleetMu     sync.Mutex
	satellites  func() []SatelliteSeen
	clusters    func() []ClusterSeen
	controllers = map[string]func(context.Context) (Backlog, error){}
)

// SetSatellites makes the metrics report the satellites list returns at scrape time (the
// registry's view); nil stops reporting them.
func SetSatellites(list func() []SatelliteSeen) {
	fleetMu.Lock()
	defer fleetMu.Unlock()
	satellites = list
}

// SetClusters makes the metrics report the clusters list returns at scrape time (the
// status controller's view, on the leader); nil stops reporting them.
func SetClusters(list func() []ClusterSeen) {
	fleetMu.Lock()
	defer fleetMu.Unlock()
	clusters = list
}

// SetControllerBacklog makes the metrics report a controller's backlog at scrape time; nil
// stops reporting it (a replica that stops leading).
func SetControllerBacklog(controller string, backlog func(context.Context) (Backlog, error)) {
	fleetMu.Lock()
	defer fleetMu.Unlock()
	if backlog == nil {
		delete(controllers, controller)
		return
	}
	controllers[controller] = backlog
}

var (
	satellitesDesc = prometheus.NewDesc("orbit_satellites",
		"Satellites registered, by whether their heartbeat is fresh (connected) or not.", []string{"state"}, nil)
	heartbeatDesc = prometheus.NewDesc("orbit_satellite_heartbeat_age_seconds",
		"Seconds since each satellite's last heartbeat reached the mothership.", []string{"satellite"}, nil)
	connectedDesc = prometheus.NewDesc("orbit_satellite_connected",
		"1 while the satellite's heartbeat is fresh (within 30 s), else 0.", []string{"satellite"}, nil)
	clustersDesc = prometheus.NewDesc("orbit_clusters",
		"Physical clusters by product, phase and satellite, as the satellites report them.", []string{"product", "phase", "satellite"}, nil)
	phaseDesc = prometheus.NewDesc("orbit_cluster_phase",
		"1 for each physical cluster's current phase.", []string{"satellite", "cluster", "product", "phase"}, nil)
	conditionDesc = prometheus.NewDesc("orbit_cluster_condition_since_timestamp_seconds",
		"When each cluster condition last changed status: how long the cluster has been in it is time() minus this.",
		[]string{"satellite", "cluster", "type", "status"}, nil)
	backlogDesc = prometheus.NewDesc("orbit_controller_events_unreconciled",
		"Events a controller has not reconciled yet: not yet delivered, delivered and unacknowledged.", []string{"controller", "state"}, nil)
	backlogErrDesc = prometheus.NewDesc("orbit_controller_backlog_scrape_errors_total",
		"Failures to read a controller's consumer state while scraping.", []string{"controller"}, nil)
)

// fleetCollector reads the fleet views at scrape time.
type fleetCollector struct {
	mu         sync.Mutex
	scrapeErrs map[string]float64
}

func (*fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{satellitesDesc, heartbeatDesc, connectedDesc, clustersDesc, phaseDesc, conditionDesc, backlogDesc, backlogErrDesc} {
		ch <- d
	}
}

func (f *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	fleetMu.Lock()
	sats, cls := satellites, clusters
	ctls := make(map[string]func(context.Context) (Backlog, error), len(controllers))
	for k, v := range controllers {
		ctls[k] = v
	}
	fleetMu.Unlock()
	now := time.Now()
	if sats != nil {
		fresh, stale := 0, 0
		for _, s := range sats() {
			connected := 0.0
			if now.Sub(s.HeartbeatAt) < HeartbeatFresh {
				connected = 1
				fresh++
			} else {
				stale++
			}
			ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, connected, s.Name)
			ch <- prometheus.MustNewConstMetric(heartbeatDesc, prometheus.GaugeValue, max(0, now.Sub(s.HeartbeatAt).Seconds()), s.Name)
		}
		ch <- prometheus.MustNewConstMetric(satellitesDesc, prometheus.GaugeValue, float64(fresh), "connected")
		ch <- prometheus.MustNewConstMetric(satellitesDesc, prometheus.GaugeValue, float64(stale), "stale")
	}
	if cls != nil {
		type group struct{ product, phase, satellite string }
		counts := map[group]int{}
		for _, c := range cls() {
			counts[group{c.Product, c.Phase, c.Satellite}]++
			ch <- prometheus.MustNewConstMetric(phaseDesc, prometheus.GaugeValue, 1, c.Satellite, c.ID, c.Product, c.Phase)
			for _, cond := range c.Conditions {
				if cond.Since.IsZero() {
					continue
				}
				ch <- prometheus.MustNewConstMetric(conditionDesc, prometheus.GaugeValue, float64(cond.Since.UnixMilli())/1000,
					c.Satellite, c.ID, cond.Type, cond.Status)
			}
		}
		for g, n := range counts {
			ch <- prometheus.MustNewConstMetric(clustersDesc, prometheus.GaugeValue, float64(n), g.product, g.phase, g.satellite)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, backlog := range ctls {
		b, err := backlog(ctx)
		if err != nil {
			f.scrapeErrs[name]++
		} else {
			ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Pending), name, "pending")
			ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Unacked), name, "unacked")
		}
		ch <- prometheus.MustNewConstMetric(backlogErrDesc, prometheus.CounterValue, f.scrapeErrs[name], name)
	}
}

func init() { Registry.MustRegister(&fleetCollector{scrapeErrs: map[string]float64{}}) }
