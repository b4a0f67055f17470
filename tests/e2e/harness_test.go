package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

const testKey = "orbit_e2etestkeyabcdefghijklmnop"

// testLog is testkit's logger when ORBIT_TEST_LOG is set, else nil: the parts stay silent.
func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("ORBIT_TEST_LOG") == "" {
		return nil
	}
	return testkit.Logger()
}

// env is a control plane and its satellites, each of which can be stopped and started.
type env struct {
	t          *testing.T
	dir        string
	leafListen string
	cp         *devstack.ControlPlane
	sats       map[string]*devstack.SatelliteNode
	sims       map[string]*simkube.Cluster
	client     *api.Client
	opts       []envOption
	// log, when set, receives every log line of the control plane and the satellites.
	log *slog.Logger
	// heartbeat, if set, is how often the satellites started from here on heartbeat.
	heartbeat time.Duration
	// pgDSN is the test's PostgreSQL database, kept across control plane restarts.
	pgDSN string
	// satConfig, when set, changes how satellites start.
	satConfig func(*devstack.SatelliteConfig)
}

// envOption changes how the control plane starts.
type envOption func(*devstack.ControlPlaneConfig)

// engines are the databases the control plane is tested on: SQLite always, PostgreSQL when
// ORBIT_TEST_POSTGRES names a server (CI sets it).
func engines(t *testing.T) []string {
	t.Helper()
	out := []string{"sqlite"}
	if hubtest.PostgresURL(t) != "" {
		out = append(out, "postgres")
	}
	return out
}

// onEngine runs the control plane on a fresh database of that engine.
func onEngine(engine string) envOption {
	return func(c *devstack.ControlPlaneConfig) {
		if engine == "postgres" {
			c.DB = "postgres-fresh"
		}
	}
}

// withRetention sets how long deleted clusters stay restorable.
func withRetention(d time.Duration) envOption {
	return func(c *devstack.ControlPlaneConfig) { c.DeletedRetention = d }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	leaf, err := devstack.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir(), leafListen: leaf, sats: map[string]*devstack.SatelliteNode{}, sims: map[string]*simkube.Cluster{}, opts: opts}
	for _, o := range opts {
		var probe devstack.ControlPlaneConfig
		o(&probe)
		if probe.Log != nil {
			e.log = probe.Log
		}
	}
	e.startControlPlane()
	t.Cleanup(func() {
		for _, s := range e.sats {
			_ = s.Stop()
		}
		if e.cp != nil {
			_ = e.cp.Stop()
		}
	})
	return e
}

func (e *env) startControlPlane() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := devstack.ControlPlaneConfig{
		DataDir: filepath.Join(e.dir, "mothership"), Listen: "127.0.0.1:0", LeafListen: e.leafListen, Log: e.logger(),
	}
	for _, o := range e.opts {
		o(&cfg)
	}
	if cfg.DB == "postgres-fresh" {
		if e.pgDSN == "" {
			dsn, err := db.CreateFreshPostgres(ctx, hubtest.PostgresURL(e.t), e.t.Name())
			if err != nil {
				e.t.Fatal(err)
			}
			e.pgDSN = dsn
		}
		cfg.DB = e.pgDSN
	}
	cp, err := devstack.StartControlPlane(ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cp.Mothership.EnsureAPIKey(ctx, "e2e", api.RoleAdmin, testKey, "e2e"); err != nil {
		e.t.Fatal(err)
	}
	e.cp = cp
	e.client, err = api.NewClient(cp.URL(), testKey, nil)
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) logger() *slog.Logger {
	if e.log != nil {
		return e.log
	}
	return testLog(e.t)
}

func (e *env) stopControlPlane() {
	e.t.Helper()
	if err := e.cp.Stop(); err != nil {
		e.t.Fatalf("stopping the control plane: %v", err)
	}
	e.cp = nil
}

// startSatellite onboards (first time) and starts a satellite named after its region.
func (e *env) startSatellite(region string) *devstack.SatelliteNode {
	e.t.Helper()
	return e.startSatelliteWith(region, region, "aws", []string{"public"}, kv.Capacity{})
}

// startSatelliteWith starts a satellite with what it declares.
func (e *env) startSatelliteWith(name, region, cloud string, networks []string, capacity kv.Capacity) *devstack.SatelliteNode {
	e.t.Helper()
	return e.startSatelliteAt(name, region, cloud, networks, capacity, e.leafListen)
}

// startSatelliteVia starts a satellite that reaches the hub's leaf listener at hub (a
// proxy in front of it).
func (e *env) startSatelliteVia(region, hub string) *devstack.SatelliteNode {
	e.t.Helper()
	return e.startSatelliteAt(region, region, "aws", []string{"public"}, kv.Capacity{}, hub)
}

func (e *env) startSatelliteAt(name, region, cloud string, networks []string, capacity kv.Capacity, hubs ...string) *devstack.SatelliteNode {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := filepath.Join(e.dir, "satellites", name)
	seed, err := e.cp.Onboard(ctx, name, region, cloud, networks, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	sim := e.sims[name]
	if sim == nil {
		sim = simkube.New(10*time.Millisecond, nil, satellite.CustomResources)
		e.sims[name] = sim
	}
	urls := make([]string, len(hubs))
	for i, h := range hubs {
		urls[i] = "nats-leaf://" + h
	}
	cfg := devstack.SatelliteConfig{
		HubURLs: urls, Name: name, Region: region, Cloud: cloud, Networks: networks, Capacity: capacity, Dir: dir,
		Seed: seed, Sim: sim, Log: e.logger(), HeartbeatInterval: e.heartbeat,
	}
	if e.satConfig != nil {
		e.satConfig(&cfg)
	}
	n, err := devstack.StartSatellite(ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sats[name] = n
	return n
}

func (e *env) stopSatellite(region string) {
	e.t.Helper()
	if err := e.sats[region].Stop(); err != nil {
		e.t.Fatalf("stopping satellite %s: %v", region, err)
	}
	delete(e.sats, region)
}

// clientAs is an API client of a new key with role for tenant (created if new).
func (e *env) clientAs(tenant, role string) *api.Client {
	e.t.Helper()
	key := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(context.Background(), e.cp.Store, tenant, role, key, tenant); err != nil {
		e.t.Fatal(err)
	}
	c, err := api.NewClient(e.cp.URL(), key, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// waitFor polls the cluster until cond holds.
func (e *env) waitFor(name string, timeout time.Duration, cond func(c *api.Cluster) error) *api.Cluster {
	e.t.Helper()
	var c *api.Cluster
	err := testkit.PollEvery(timeout, 50*time.Millisecond, func() error {
		var err error
		if c, err = e.client.GetCluster(context.Background(), name); err != nil {
			return err
		}
		return cond(c)
	})
	if err != nil {
		e.t.Fatalf("cluster %s: condition not met after %v: %v", name, timeout, err)
	}
	return c
}

func readyWith(brokers int) func(c *api.Cluster) error {
	return func(c *api.Cluster) error {
		if c.Status.Phase != api.PhaseReady || c.Status.ReadyBrokers != brokers || c.Status.ObservedGeneration != c.Generation {
			return fmt.Errorf("phase %s, %d/%d brokers ready, observed %d of generation %d (%s)",
				c.Status.Phase, c.Status.ReadyBrokers, c.Status.Brokers, c.Status.ObservedGeneration, c.Generation, c.Status.Reason)
		}
		return nil
	}
}

func phaseIs(phase string) func(c *api.Cluster) error {
	return func(c *api.Cluster) error {
		if c.Status.Phase != phase {
			return fmt.Errorf("phase %s (%s)", c.Status.Phase, c.Status.Reason)
		}
		return nil
	}
}

// physicalKey is the desired/actual key of a cluster placed on satellite.
func physicalKey(satellite string, c *api.Cluster) string {
	return kv.Key{Satellite: satellite, Product: kv.Product(c.Product), Cluster: "p" + c.ID[1:]}.String()
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// httpsClient trusts the CA in caFile.
func httpsClient(caFile string) (*http.Client, error) {
	cfg, err := leafnode.ClientConfig(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}, nil
}
