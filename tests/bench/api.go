package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkube"
)

const benchKey = "orbit_benchmarkbenchmarkbenchmark"

// orbitEnv is a control plane with one satellite, instrumented: every desired value that
// reaches the satellite's mirror is handed to onDesired. The satellite is the full one on
// simulated Kubernetes, or (lite) only its NATS half.
type orbitEnv struct {
	cp     *devstack.ControlPlane
	sat    *devstack.SatelliteNode
	lite   *liteSat
	client *api.Client
	dir    string

	mu        sync.Mutex
	seen      map[string]bool // physical ids whose desired state reached the satellite
	onDesired func(psc *kv.PSC, at time.Time)
}

func startOrbit(ctx context.Context, o options, engine string, lite bool) (*orbitEnv, error) {
	dir, err := os.MkdirTemp("", "orbit-bench-")
	if err != nil {
		return nil, err
	}
	e := &orbitEnv{dir: dir, seen: map[string]bool{}}
	leaf, _ := devstack.FreePort("127.0.0.1")
	cfg := devstack.ControlPlaneConfig{DataDir: filepath.Join(dir, "mothership"), Listen: "127.0.0.1:0", LeafListen: leaf, Log: o.log}
	if engine == "postgres" {
		if o.postgres == "" {
			return nil, fmt.Errorf("no PostgreSQL server (-postgres)")
		}
		if cfg.DB, err = db.CreateFreshPostgres(ctx, o.postgres, "bench"); err != nil {
			return nil, err
		}
	}
	if e.cp, err = devstack.StartControlPlane(ctx, cfg); err != nil {
		return nil, err
	}
	if err := e.cp.Mothership.EnsureAPIKey(ctx, "bench", api.RoleOperator, benchKey, "bench"); err != nil {
		return nil, err
	}
	e.client, _ = api.NewClient(e.cp.URL(), benchKey, nil)
	satDir := filepath.Join(dir, "satellite")
	seed, err := e.cp.Onboard(ctx, "us-west-2", "us-west-2", "aws", []string{"public"}, satDir)
	if err != nil {
		return nil, err
	}
	observe := func(entry jetstream.KeyValueEntry, at time.Time) {
		psc, err := kv.DecodePSC(entry.Value())
		if err != nil {
			return
		}
		e.mu.Lock()
		e.seen[psc.ID] = true
		fn := e.onDesired
		e.mu.Unlock()
		if fn != nil {
			fn(psc, at)
		}
	}
	if lite {
		e.lite, _, err = startLiteSat(ctx, "us-west-2", "nats-leaf://"+leaf, seed, filepath.Join(satDir, "nats"), observe)
		return e, err
	}
	e.sat, err = devstack.StartSatellite(ctx, devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, Dir: satDir,
		HubURLs: []string{"nats-leaf://" + leaf}, Seed: seed, Sim: simkube.New(5*time.Millisecond, nil, satellite.CustomResources), Log: o.log,
		OnDesired: func(entry jetstream.KeyValueEntry) { observe(entry, time.Now()) },
	})
	return e, err
}

func (e *orbitEnv) setOnDesired(fn func(*kv.PSC, time.Time)) {
	e.mu.Lock()
	e.onDesired = fn
	e.mu.Unlock()
}

func (e *orbitEnv) close() {
	if e.sat != nil {
		_ = e.sat.Stop()
	}
	if e.lite != nil {
		e.lite.stop()
	}
	if e.cp != nil {
		_ = e.cp.Stop()
	}
	os.RemoveAll(e.dir)
}

// createPlaced creates n dedicated clusters and waits until the desired state of each has
// reached the satellite.
func (e *orbitEnv) createPlaced(ctx context.Context, prefix string, n int) ([]*api.Cluster, error) {
	var out []*api.Cluster
	for i := range n {
		c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("%s%d", prefix, i), Product: "kafka", CKU: 1, Region: "us-west-2"})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, c := range out {
		for {
			e.mu.Lock()
			ok := e.seen[physicalID(c)]
			e.mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s never reached the satellite", c.Name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out, nil
}

func physicalID(c *api.Cluster) string { return "p" + c.ID[1:] }

// tracker matches desired values seen at the satellite with the resize requests that asked
// for them: a request is served when its state, or a later one of the same cluster, is seen.
type tracker struct {
	mu      sync.Mutex
	pending map[string][]pendingReq // physical id → requests, oldest first
	lat     *samples
}

type pendingReq struct {
	cku  int
	sent time.Time
}

func newTracker() *tracker { return &tracker{pending: map[string][]pendingReq{}, lat: &samples{}} }

// waitServed waits until n requests are served or limit passes.
func (t *tracker) waitServed(n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for t.lat.len() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func latencyFigures(tr *tracker, sent, failed int) map[string]float64 {
	return map[string]float64{"p50_ms": tr.lat.percentile(0.5), "p99_ms": tr.lat.percentile(0.99),
		"served": float64(tr.lat.len()), "sent": float64(sent), "errors": float64(failed)}
}

// throughputFigures: the rate is what the observer received over the time from the first
// request to the last arrival.
func throughputFigures(tr *tracker, sent, failed int64, ran time.Duration, start time.Time, lastSeen int64) map[string]float64 {
	elapsed := time.Duration(lastSeen - start.UnixNano())
	return map[string]float64{
		"changes_per_s": float64(tr.lat.len()) / elapsed.Seconds(), "api_per_s": float64(sent) / ran.Seconds(),
		"served": float64(tr.lat.len()), "sent": float64(sent), "errors": float64(failed), "p99_ms": tr.lat.percentile(0.99),
	}
}

func (t *tracker) sent(id string, cku int, at time.Time) {
	t.mu.Lock()
	t.pending[id] = append(t.pending[id], pendingReq{cku: cku, sent: at})
	t.mu.Unlock()
}

func (t *tracker) seen(psc *kv.PSC, at time.Time) {
	t.seenCKU(psc.ID, int(psc.Spec.Replicas)/3, at)
}

// seenCKU records that cluster id was seen at cku: every request for that state, and the
// earlier ones it overtook, are served.
func (t *tracker) seenCKU(id string, cku int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	reqs := t.pending[id]
	for j := len(reqs) - 1; j >= 0; j-- {
		if reqs[j].cku == cku {
			for _, r := range reqs[:j+1] {
				t.lat.add(at.Sub(r.sent))
			}
			t.pending[id] = reqs[j+1:]
			return
		}
	}
}

// runAPI: API request → desired state visible at the satellite, at several rates; and API
// create → ready at the mothership (simulated Kubernetes).
func runAPI(ctx context.Context, o options) ([]Result, error) {
	rates := []float64{100, 250, 500, 1000}
	dur := 10 * time.Second
	clusters := 100
	if o.quick {
		rates, dur, clusters = []float64{200}, 2*time.Second, 20
	}
	e, err := startOrbit(ctx, o, "sqlite", true)
	if err != nil {
		return nil, err
	}
	defer func() { e.close() }() // e is replaced below
	cs, err := e.createPlaced(ctx, "lat", clusters)
	if err != nil {
		return nil, err
	}
	var out []Result
	l := newLoad(len(cs), func(i int) string { return physicalID(cs[i]) }, func(i, cku int) error {
		_, err := e.client.UpdateCluster(ctx, cs[i].Name, api.ClusterUpdate{CKU: &cku})
		return err
	})
	for _, rate := range rates {
		tr := newTracker()
		e.setOnDesired(tr.seen)
		sent, failed := l.open(tr, rate, dur)
		e.setOnDesired(nil)
		out = append(out, Result{Scenario: "api→desired", System: "orbit", Params: map[string]any{"rate": rate, "seconds": dur.Seconds(), "clusters": clusters, "db": "sqlite"},
			Figures: latencyFigures(tr, sent, failed),
			Notes:   "PATCH /v1/clusters/{name} → the satellite's mirror holds that state or a later one"})
	}

	// Create → ready, with the full satellite on simulated Kubernetes (5 ms per replica).
	e.close()
	if e, err = startOrbit(ctx, o, "sqlite", false); err != nil {
		return nil, err
	}
	ready := &samples{}
	n := 50
	if o.quick {
		n = 10
	}
	for i := range n {
		start := time.Now()
		c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("rdy%d", i), Product: "kafka", CKU: 1, Region: "us-west-2"})
		if err != nil {
			return nil, err
		}
		for {
			got, err := e.client.GetCluster(ctx, c.Name)
			if err == nil && got.Status.Phase == api.PhaseReady {
				ready.add(time.Since(start))
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	out = append(out, Result{Scenario: "api→ready", System: "orbit", Params: map[string]any{"clusters": n, "kubernetes": "simulated, 5ms per replica"},
		Figures: map[string]float64{"p50_ms": ready.percentile(0.5), "p99_ms": ready.percentile(0.99)},
		Notes:   "POST /v1/clusters → GET shows ready (polled every 2 ms)"})
	return out, nil
}
