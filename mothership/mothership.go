package mothership

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
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
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("mothership: replicas must be between 1 and 5 (got %d)", c.Replicas)
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
	registry *registry

	mu     sync.Mutex
	layers []layerState
	addr   string
	ready  chan struct{}
}

// layerState is one layer of the cake, as /readyz reports it.
type layerState struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
}

// New returns a mothership; Run starts it.
func New(cfg Config) (*Mothership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
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
	js, err := jetstream.New(cfg.Conn, jetstream.WithPublishAsyncTimeout(2*publishAckTimeout))
	if err != nil {
		return nil, err
	}
	return &Mothership{cfg: cfg, log: log, js: js, registry: newRegistry(log), ready: make(chan struct{})}, nil
}

// layer is one step of the start order: start runs to completion before the next layer
// starts; run, if set, keeps going until the context ends.
type layer struct {
	name  string
	start func(ctx context.Context) error
	run   func(ctx context.Context) error
}

// Run starts every layer in order and serves the API until ctx ends or a part fails.
func (m *Mothership) Run(ctx context.Context) error {
	st := m.cfg.Store
	relay := &relay{store: st, js: m.js, log: m.log}
	phys := &physicalController{store: st, retention: m.cfg.DeletedRetention}
	sched := &scheduler{store: st, registry: m.registry}
	syncer := &syncService{store: st}
	status := &statusController{store: st, log: m.log}
	front := &frontend{store: st, registry: m.registry, log: m.log, ready: m.readiness, retention: m.cfg.DeletedRetention}

	newController := func(name string, resources []string, reconcile func(context.Context, string) error, list func(context.Context) ([]string, error), workers int) *controller {
		return &controller{name: name, resources: resources, reconcile: reconcile, listIDs: list,
			workers: workers, resync: m.cfg.ResyncInterval, log: m.log}
	}
	q := st.Q()
	syncCtl := newController("sync", []string{resourcePhysical, resourcePlacement}, syncer.reconcile, q.ListPhysicalClusterIDs, 4)
	// One scheduler worker: placements read capacity and must not race each other. A
	// placement may unblock the ksqldb and connect clusters waiting for their Kafka.
	schedCtl := newController("scheduler", []string{resourcePhysical, resourcePlacement}, sched.reconcile, q.ListPhysicalClusterIDs, 1)
	schedCtl.mapID = func(ctx context.Context, resource, id string) ([]string, error) {
		if resource != resourcePlacement {
			return []string{id}, nil
		}
		deps, err := q.ListPhysicalDependentIDs(ctx, id)
		return append([]string{id}, deps...), err
	}
	physCtl := newController("physical", []string{resourceLogical, resourceProfile}, phys.reconcile, q.ListLogicalClusterIDs, 4)
	physCtl.mapID = func(ctx context.Context, resource, id string) ([]string, error) {
		if resource != resourceProfile {
			return []string{id}, nil
		}
		// A new profile: every cluster of that product and SKU converges to it.
		product, sku, _ := strings.Cut(id, "-")
		return q.ListLogicalClusterIDsByProfile(ctx, sqlitegen.ListLogicalClusterIDsByProfileParams{Product: product, Sku: sku})
	}

	front.controllers = []*controller{physCtl, schedCtl, syncCtl}
	layers := []layer{
		{name: "nats", start: m.ensureHub},
		{name: "database", start: st.Migrate},
		{name: "satellite-access", start: m.syncSatelliteAccess, run: m.runSatelliteAccess},
		{name: "outbox-relay", run: relay.Run},
		{name: "sync", start: func(ctx context.Context) error {
			b, err := m.js.KeyValue(ctx, kv.BucketDesired)
			if err != nil {
				return err
			}
			syncer.desired = b
			return syncCtl.Start(ctx, m.js)
		}, run: syncCtl.Run},
		{name: "scheduler", start: func(ctx context.Context) error {
			if err := m.registry.Start(ctx, m.js); err != nil {
				return err
			}
			return schedCtl.Start(ctx, m.js)
		}, run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return m.registry.Run(ctx) })
			g.Go(func() error { return schedCtl.Run(ctx) })
			g.Go(func() error { // a new or changed satellite may take pending clusters
				for {
					select {
					case <-ctx.Done():
						return nil
					case <-m.registry.Changed():
						if err := schedCtl.resyncAll(ctx); err != nil && ctx.Err() == nil {
							m.log.Warn("scheduler resync failed", "error", err)
						}
					}
				}
			})
			return g.Wait()
		}},
		{name: "physical-controller", start: func(ctx context.Context) error { return physCtl.Start(ctx, m.js) }, run: physCtl.Run},
		{name: "status-controller", start: func(ctx context.Context) error { return status.Start(ctx, m.js) }, run: status.Run},
		{name: "usage-meter", run: (&meter{store: st, interval: m.cfg.UsageInterval, log: m.log, now: time.Now}).Run},
		{name: "frontend"},
		{name: "api-listener", start: nil},
	}
	m.mu.Lock()
	m.layers = make([]layerState, len(layers))
	for i, l := range layers {
		m.layers[i].Name = l.name
	}
	m.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	fail := func(err error) error {
		cancel()
		return errors.Join(err, g.Wait())
	}
	for i, l := range layers {
		if l.name == "api-listener" {
			if err := m.serve(gctx, g, front.routes()); err != nil {
				return fail(err)
			}
		} else if l.start != nil {
			if err := l.start(gctx); err != nil {
				return fail(fmt.Errorf("mothership: starting %s: %w", l.name, err))
			}
		}
		if l.run != nil {
			g.Go(func() error {
				if err := l.run(gctx); err != nil {
					return fmt.Errorf("mothership: %s: %w", l.name, err)
				}
				return nil
			})
		}
		m.mu.Lock()
		m.layers[i].Ready = true
		m.mu.Unlock()
		m.log.Debug("layer up", "layer", l.name)
	}
	close(m.ready)
	m.log.Info("mothership ready", "api", m.Addr())
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

// serve starts the API listener.
func (m *Mothership) serve(ctx context.Context, g *errgroup.Group, h http.Handler) error {
	ln := m.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.cfg.Listen); err != nil {
			return fmt.Errorf("mothership: API listener: %w", err)
		}
	}
	m.mu.Lock()
	m.addr = ln.Addr().String()
	m.mu.Unlock()
	if m.cfg.APITLS != nil {
		ln = tls.NewListener(ln, m.cfg.APITLS)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("mothership: API: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	return nil
}

// Addr is the API's address once it listens ("" before).
func (m *Mothership) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Ready is closed once every layer is up.
func (m *Mothership) Ready() <-chan struct{} { return m.ready }

func (m *Mothership) readiness() (bool, []layerState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := len(m.layers) > 0
	for _, l := range m.layers {
		ok = ok && l.Ready
	}
	return ok, append([]layerState(nil), m.layers...)
}
