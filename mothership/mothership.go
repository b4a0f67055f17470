package mothership

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"golang.org/x/sync/errgroup"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/desiredsync"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/mothership/internal/controller"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
	"github.com/orbitcp/orbit/mothership/internal/registry"
	"github.com/orbitcp/orbit/mothership/leader"
	"github.com/orbitcp/orbit/mothership/onboarding"
	"github.com/orbitcp/orbit/mothership/physical"
	"github.com/orbitcp/orbit/mothership/relay"
	"github.com/orbitcp/orbit/mothership/rollout"
	"github.com/orbitcp/orbit/mothership/scheduler"
	"github.com/orbitcp/orbit/mothership/status"
	"github.com/orbitcp/orbit/mothership/usage"
)

// Config configures a mothership.
type Config struct {
	// Store is the opened database; the database layer migrates it.
	Store *db.Store
	// Conn is a connection to the hub (in-process or external) with full rights.
	Conn *nats.Conn
	// Hub is the embedded hub, when there is one: onboarding a satellite then also grants it
	// access on the hub. With an external NATS deployment, access is managed there.
	Hub *leafnode.Hub
	// Listen is the API address (host:port); ignored when Listener is set.
	Listen string
	// Listener, if set, is used for the API instead of listening on Listen.
	Listener net.Listener
	// APITLS, if set, serves the API over TLS (see leafnode.CertReloader).
	APITLS *tls.Config
	// Replicas of the hub's buckets and stream (1 for a single server).
	Replicas int
	// ResyncInterval is how often every controller re-reads everything (default 10m).
	ResyncInterval time.Duration
	// DeletedRetention is how long a deleted cluster can be undeleted: its volumes are kept
	// that long, then purged (default 7 days).
	DeletedRetention time.Duration
	// UsageInterval is how often usage is metered (default 1m).
	UsageInterval time.Duration
	// ReplicaID names this replica in the leader election: unique among the replicas on one
	// database, and stable across a replica's restarts (default: the host name).
	ReplicaID string
	// RolloutInterval is how often the rollout controller steps the rollouts in progress
	// (default 1s).
	RolloutInterval time.Duration
	// SatelliteTTL is how old a satellite's heartbeat may be for the rollout controller to
	// count its reports (default rollout.DefaultHeartbeatTTL).
	SatelliteTTL time.Duration
	// Clock, if set, is the rollout controller's clock (maintenance windows, soak times and
	// deadlines); tests move it.
	Clock func() time.Time
	// LeaseTTL is how long the leader's lease lasts unless renewed: how long a crashed
	// leader goes unreplaced (default leader.DefaultTTL).
	LeaseTTL time.Duration
	// CredentialKey is the control plane's curve key pair (nkeys, see LoadCredentialKey):
	// Kafka API keys' credentials are sealed from it, to it for the database and to each
	// satellite's curve key for the credentials bucket.
	CredentialKey nkeys.KeyPair
	Log           *slog.Logger
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("mothership: a store is required")
	case c.Conn == nil:
		return errors.New("mothership: a NATS connection is required")
	case c.Listener == nil && c.Listen == "":
		return errors.New("mothership: an API listen address is required")
	case c.CredentialKey == nil:
		return errors.New("mothership: a credential key is required")
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("replicas: must be between 1 and 5 (got %d)", c.Replicas)
	}
	return nil
}

// DefaultDeletedRetention is how long deleted clusters stay restorable by default.
const DefaultDeletedRetention = 7 * 24 * time.Hour

// Mothership is the control plane.
type Mothership struct {
	cfg      Config
	log      *slog.Logger
	js       jetstream.JetStream
	registry *registry.Registry
	access   *onboarding.Access
	elector  *leader.Elector

	mu     sync.Mutex
	layers []api.Layer
	addr   string
	ready  chan struct{}
}

// New returns a mothership; Run starts it.
func New(cfg Config) (*Mothership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.UsageInterval <= 0 {
		cfg.UsageInterval = time.Minute
	}
	if cfg.DeletedRetention <= 0 {
		cfg.DeletedRetention = DefaultDeletedRetention
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Without a timeout, the future of an acknowledgement that never comes (a stream leader
	// lost right after storing) would be kept forever; the relay gives up sooner anyway.
	js, err := jetstream.New(cfg.Conn, jetstream.WithPublishAsyncTimeout(2*relay.PublishAckTimeout))
	if err != nil {
		return nil, err
	}
	replica := cfg.ReplicaID
	if replica == "" {
		replica, _ = os.Hostname()
	}
	return &Mothership{cfg: cfg, log: log, js: js, registry: registry.New(log),
		access:  onboarding.NewAccess(cfg.Store, js, cfg.Hub, log),
		elector: leader.New(cfg.Store, replica, cfg.LeaseTTL, log), ready: make(chan struct{})}, nil
}

// layer is one step of the start order: start runs to completion before the next layer
// starts; run, if set, keeps going until the context ends. leaderOnly layers run on the
// elected replica only.
type layer struct {
	name       string
	start      func(ctx context.Context) error
	run        func(ctx context.Context) error
	leaderOnly bool
}

// OnboardSatellite records a satellite and grants it its access right away.
func (m *Mothership) OnboardSatellite(ctx context.Context, s onboarding.SatelliteSpec) error {
	if err := onboarding.Add(ctx, m.cfg.Store, s); err != nil {
		return err
	}
	return m.access.Sync(ctx)
}

// Run starts every layer in order and serves the API until ctx ends or a part fails. The
// leader-only layers run, in their order, while this replica holds the leader lease.
func (m *Mothership) Run(ctx context.Context) error {
	layers := m.buildLayers()
	m.mu.Lock()
	m.layers = make([]api.Layer, len(layers))
	for i, l := range layers {
		m.layers[i] = api.Layer{Name: l.name, LeaderOnly: l.leaderOnly}
	}
	m.mu.Unlock()
	var shared, leaderOnly []int
	for i, l := range layers {
		if l.leaderOnly {
			leaderOnly = append(leaderOnly, i)
		} else {
			shared = append(shared, i)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if err := m.startLayers(gctx, g, layers, shared); err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	g.Go(func() error { return m.lead(gctx, layers, leaderOnly) })
	close(m.ready)
	m.log.Info("mothership ready", "api", m.Addr(), "replica", m.elector.Holder())
	return g.Wait()
}

// startLayers starts the layers of which, in order, their run functions in g.
func (m *Mothership) startLayers(ctx context.Context, g *errgroup.Group, layers []layer, which []int) error {
	for _, i := range which {
		l := layers[i]
		if l.start != nil {
			if err := l.start(ctx); err != nil {
				return fmt.Errorf("mothership: starting %s: %w", l.name, err)
			}
		}
		if l.run != nil {
			g.Go(func() error {
				if err := l.run(ctx); err != nil {
					return fmt.Errorf("mothership: %s: %w", l.name, err)
				}
				return nil
			})
		}
		m.setReady(i, true)
		m.log.Debug("layer up", "layer", l.name)
	}
	return nil
}

func (m *Mothership) setReady(i int, ready bool) {
	m.mu.Lock()
	m.layers[i].Ready = ready
	m.mu.Unlock()
}

// lead takes part in the election and runs the leader-only layers while this replica
// leads: they stop when it loses the lease, and the lease is released once they stopped.
func (m *Mothership) lead(ctx context.Context, layers []layer, which []int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.elector.Run(gctx) })
	g.Go(func() error {
		defer m.elector.Release()
		for {
			changed := m.elector.Changed()
			if leading, _ := m.elector.Leading(); leading {
				if err := m.whileLeading(gctx, changed, layers, which); err != nil || gctx.Err() != nil {
					return err
				}
				continue
			}
			select {
			case <-changed:
			case <-gctx.Done():
				return nil
			}
		}
	})
	return g.Wait()
}

// whileLeading runs the leader-only layers until ctx ends or the lead changes.
func (m *Mothership) whileLeading(ctx context.Context, changed <-chan struct{}, layers []layer, which []int) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(lctx)
	err := m.startLayers(gctx, g, layers, which)
	if err == nil {
		select {
		case <-changed:
			m.log.Info("no longer leading: stopping the leader-only services")
		case <-gctx.Done():
		}
	}
	cancel()
	err = errors.Join(err, g.Wait())
	for _, i := range which {
		m.setReady(i, false)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		if leading, _ := m.elector.Leading(); leading {
			return err // a leader's service failed, not the lead
		}
		m.log.Info("leader-only services stopped", "error", err)
	}
	return nil
}

// buildLayers wires the services, in the order they start.
func (m *Mothership) buildLayers() []layer {
	st := m.cfg.Store
	syncer := desiredsync.New(st, m.cfg.CredentialKey, m.log.With("service", "sync"))
	sched := scheduler.New(st, m.registry)
	phys := physical.New(st, m.cfg.DeletedRetention)
	status := status.New(st, m.log)
	rollouts := rollout.New(rollout.Config{Store: st, Satellites: m.registry.List, Now: m.cfg.Clock,
		Interval: m.cfg.RolloutInterval, HeartbeatTTL: m.cfg.SatelliteTTL, Log: m.log.With("service", "rollout")})
	syncCtl := m.controller("sync", syncer.Reconcile, syncer.ListIDs, syncer.MapEvent, 4, events.ResourcePhysical, events.ResourcePlacement,
		events.ResourceKafkaKey)
	// One scheduler worker: placements read capacity and must not race each other.
	schedCtl := m.controller("scheduler", sched.Reconcile, sched.ListIDs, sched.MapEvent, 1, events.ResourcePhysical, events.ResourcePlacement)
	physCtl := m.controller("physical", phys.Reconcile, phys.ListIDs, phys.MapEvent, 4, events.ResourceLogical, events.ResourceProfile, events.ResourceTarget)
	// After a restore, a satellite may report a generation above SQL's: the physical
	// controller issues that cluster again above it.
	status.Reported = func(ctx context.Context, physicalID string, observed int64) {
		ids, err := phys.Reported(ctx, physicalID, observed)
		if err != nil {
			m.log.Warn("checking a reported generation", "physical_cluster", physicalID, "error", err)
		}
		physCtl.Enqueue(ids...)
	}
	front := frontend.New(frontend.Config{Store: st, Registry: m.registry, Log: m.log, Ready: m.readiness, Leader: m.leader,
		Controllers: []*controller.Controller{physCtl, schedCtl, syncCtl}, Retention: m.cfg.DeletedRetention,
		CredentialKey: m.cfg.CredentialKey})
	return []layer{
		{name: "nats", start: m.ensureHub},
		{name: "database", start: st.Migrate},
		{name: "satellite-access", start: m.access.Sync, run: func(ctx context.Context) error {
			return m.access.Run(ctx, onboarding.AccessSyncInterval)
		}},
		{name: "registry", start: func(ctx context.Context) error {
			metrics.SetSatellites(m.satellitesSeen)
			return m.registry.Start(ctx, m.js)
		}, run: m.registry.Run},
		{name: "outbox-relay", run: relay.New(st, m.js, m.log).Run, leaderOnly: true},
		{name: "sync", start: func(ctx context.Context) error {
			return errors.Join(syncer.Start(ctx, m.js), syncCtl.Start(ctx, m.js))
		}, run: syncCtl.Run, leaderOnly: true},
		{name: "scheduler", start: func(ctx context.Context) error { return schedCtl.Start(ctx, m.js) },
			run: func(ctx context.Context) error { return m.runScheduler(ctx, schedCtl) }, leaderOnly: true},
		{name: "physical-controller", start: func(ctx context.Context) error { return physCtl.Start(ctx, m.js) }, run: physCtl.Run, leaderOnly: true},
		{name: "rollout-controller", run: rollouts.Run, leaderOnly: true},
		{name: "status-controller", start: func(ctx context.Context) error { return status.Start(ctx, m.js) }, run: status.Run, leaderOnly: true},
		{name: "usage-meter", run: usage.New(st, m.cfg.UsageInterval, m.log).Run, leaderOnly: true},
		{name: "frontend"},
		m.apiLayer(metrics.Instrument(front.Handler()), front.CloseStreams),
	}
}

func (m *Mothership) controller(name string, reconcile func(context.Context, string) error, list func(context.Context) ([]string, error),
	mapID func(context.Context, string, string) ([]string, error), workers int, resources ...string) *controller.Controller {
	return &controller.Controller{Name: name, Resources: resources, Reconcile: reconcile, ListIDs: list, MapID: mapID,
		Workers: workers, Resync: m.cfg.ResyncInterval, Log: m.log}
}

// runScheduler runs the scheduler's controller; a new or changed satellite in the registry
// may take clusters that are pending.
func (m *Mothership) runScheduler(ctx context.Context, schedCtl *controller.Controller) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return schedCtl.Run(ctx) })
	g.Go(func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-m.registry.Changed():
				if err := schedCtl.ResyncAll(ctx); err != nil && ctx.Err() == nil {
					m.log.Warn("scheduler resync failed", "error", err)
				}
			}
		}
	})
	return g.Wait()
}

// ensureHub creates the hub's buckets and stream, waiting for the hub as long as it takes:
// a node of a hub cluster that starts first has no JetStream quorum (and so cannot create
// replicated buckets) until enough of the other nodes are up.
func (m *Mothership) ensureHub(ctx context.Context) error {
	wait := 250 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := kv.EnsureHub(attemptCtx, m.js, m.cfg.Replicas)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		m.log.Warn("hub not ready for the buckets yet; retrying", "replicas", m.cfg.Replicas, "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// apiLayer is the API listener: it listens when it starts (so the address is known and
// readiness is true only once it is), and serves until ctx ends.
func (m *Mothership) apiLayer(h http.Handler, onShutdown func()) layer {
	var ln net.Listener
	return layer{name: "api-listener", start: func(context.Context) error {
		ln = m.cfg.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", m.cfg.Listen); err != nil {
				return fmt.Errorf("API listener: %w", err)
			}
		}
		m.mu.Lock()
		m.addr = ln.Addr().String()
		m.mu.Unlock()
		if m.cfg.APITLS != nil {
			ln = tls.NewListener(ln, m.cfg.APITLS)
		}
		return nil
	}, run: func(ctx context.Context) error { return m.serve(ctx, ln, h, onShutdown) }}
}

func (m *Mothership) serve(ctx context.Context, ln net.Listener, h http.Handler, onShutdown func()) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	// Long-lived responses (the console's event streams) end when shutdown begins.
	srv.RegisterOnShutdown(onShutdown)
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-stopped
}

// Addr is the API's address once it listens ("" before).
func (m *Mothership) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Ready is closed once every layer is up.
func (m *Mothership) Ready() <-chan struct{} { return m.ready }

// readiness reports the layers: a replica is ready once every layer but the leader-only
// ones is up (those run on the leader only).
func (m *Mothership) readiness() (bool, []api.Layer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := len(m.layers) > 0
	for _, l := range m.layers {
		ok = ok && (l.Ready || l.LeaderOnly)
	}
	return ok, append([]api.Layer(nil), m.layers...)
}

// leader reports who leads.
func (m *Mothership) leader(ctx context.Context) (api.Leader, error) {
	leading, _ := m.elector.Leading()
	out := api.Leader{Self: m.elector.Holder(), Leading: leading}
	lease, err := m.elector.Current(ctx)
	if err != nil {
		return out, err
	}
	if time.UnixMilli(lease.ExpiresAt).After(time.Now()) {
		out.Holder, out.Token, out.ExpiresAt = lease.Holder, lease.Token, time.UnixMilli(lease.ExpiresAt).UTC()
	}
	return out, nil
}

// EnsureAPIKey makes key a valid key of the given role for tenant (see frontend.EnsureAPIKey).
func (m *Mothership) EnsureAPIKey(ctx context.Context, tenant, role, key, description string) error {
	return frontend.EnsureAPIKey(ctx, m.cfg.Store, tenant, role, key, description)
}

// satellitesSeen lists the registered satellites for the metrics.
func (m *Mothership) satellitesSeen() []metrics.SatelliteSeen {
	var out []metrics.SatelliteSeen
	for _, s := range m.registry.List() {
		out = append(out, metrics.SatelliteSeen{Name: s.Name, HeartbeatAt: s.HeartbeatAt})
	}
	return out
}

// MetricsHandler serves the mothership's Prometheus metrics (/metrics). The registry is
// the process's: replicas in one process (tests) share it, each labelled where it matters.
func MetricsHandler() http.Handler { return metrics.Handler() }
