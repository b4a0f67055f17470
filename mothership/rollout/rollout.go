// Package rollout is the rollout controller: it owns, for every physical cluster, the
// profile revision the cluster should run (cluster_targets), and moves clusters to a new
// revision wave after wave, gated on what their satellites observed. It writes
// rollout_status, rollout_targets and cluster_targets through db/rolloutdb, appending
// events.target.<physical cluster id> so that the physical controller re-renders that
// cluster; it reads the rollouts users asked for (rollouts, written by the frontend), labels,
// pins and maintenance windows (frontend), the physical clusters (physical controller),
// placements (scheduler) and cluster_status (status controller). Leader-only. It sets the
// rollout series orbit_rollout_paused and orbit_rollout_wave (mothership/internal/metrics).
//
// Each step of a rollout is one transaction, so a mothership that crashes mid-rollout
// resumes where the database says it was: a cluster's target is set in the same
// transaction that marks it started, so no cluster is changed twice and none is skipped,
// and waves keep their order. A step re-reads the rollout, its status and the observations
// of its clusters in flight only; the rollout's targets, which only this controller writes,
// are kept in memory from the last committed step (read from the database when a rollout
// is first stepped, after any failed step, and whenever Run starts, e.g. on a new
// leadership), so that a step costs the clusters that can change, not the whole fleet.
//
// A cluster is done when its satellite reports the target revision at the generation that
// carries it, Ready, with a fresh heartbeat, for the soak time. A cluster that reports
// failed at that generation, or is not done by its progress deadline (a cluster that stays
// degraded), has failed; past
// the failure budget the rollout pauses itself, naming the clusters. A cluster whose
// satellite is disconnected waits (offline): it spends no budget and does not hold the next
// wave; it rolls when its satellite returns, or fails once its offline deadline passes.
//
// Finalizing a complete Kafka rollout (a user's explicit step) sets, on the target of every
// cluster it changed, the newest metadata.version level of the Kafka version it rolled out
// (kafkaconf.MetadataVersion; cluster_targets.metadata_version, which only goes up); the
// physical controller renders it into the cluster's PSC and the satellite raises Kafka's
// finalized level once the cluster is Ready on that version. A finalized rollout cannot be
// rolled back (the frontend refuses it).
//
// A newer rollout of the same product and SKU supersedes the older ones: their clusters not
// yet done stop there, and every cluster goes on to the newest revision in the newer
// rollout's order. Clusters created while a rollout runs start at the newest revision
// (the physical controller's rule); a rollout planned after they exist gates them like the
// others (their start changes nothing), one planned before does not list them.
package rollout

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
)

// Defaults of a strategy that does not say.
const (
	DefaultSoak             = 2 * time.Minute
	DefaultProgressDeadline = 30 * time.Minute
	DefaultOfflineDeadline  = 4 * time.Hour
	// DefaultHeartbeatTTL is how old a satellite's heartbeat may be for its reports to count.
	DefaultHeartbeatTTL = 30 * time.Second
	// DefaultInterval is how often the rollouts in progress are stepped.
	DefaultInterval = time.Second
)

// Config configures the controller.
type Config struct {
	Store *db.Store
	// Satellites lists the satellites with their last heartbeat (the registry).
	Satellites func() []kv.Satellite
	// Now is the clock (tests set it; default time.Now).
	Now func() time.Time
	// Interval is how often every rollout in progress is stepped (default DefaultInterval).
	Interval time.Duration
	// HeartbeatTTL: see DefaultHeartbeatTTL.
	HeartbeatTTL time.Duration
	Log          *slog.Logger
}

// Controller runs the rollouts.
type Controller struct {
	cfg   Config
	store rolloutdb.Store
	kick  chan struct{}
	// measured holds the rollouts whose series orbit_rollout_paused and orbit_rollout_wave
	// carry, so that a rollout's series go when it ends. Only Step touches it.
	measured map[string]bool

	// mu guards cache: per rollout, its targets as of the last committed step.
	mu    sync.Mutex
	cache map[string][]target
}

// New returns a controller.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.HeartbeatTTL <= 0 {
		cfg.HeartbeatTTL = DefaultHeartbeatTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Satellites == nil {
		cfg.Satellites = func() []kv.Satellite { return nil }
	}
	return &Controller{cfg: cfg, store: rolloutdb.New(cfg.Store), kick: make(chan struct{}, 1),
		measured: map[string]bool{}, cache: map[string][]target{}}
}

// Kick asks for a step soon.
func (c *Controller) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run steps every rollout in progress every Interval until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.forget() // another leader may have stepped since this one last ran
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if err := c.Step(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Log.Warn("rollout step failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.kick:
		}
	}
}

// Step moves every rollout in progress as far as it can go now, oldest first. Calls must
// not overlap (Run makes them from one goroutine): they share the cached targets.
func (c *Controller) Step(ctx context.Context) error {
	rollouts, err := c.store.Read().ListActiveRollouts(ctx)
	if err != nil {
		return err
	}
	online := c.online()
	var errs []error
	active := map[string]bool{}
	for _, r := range rollouts {
		var m measure
		var next []target
		err := c.store.InTx(ctx, func(q rolloutdb.Queries) error {
			var err error
			next, err = c.step(ctx, q, r.ID, online, &m)
			return err
		})
		if err != nil {
			// Nothing was written: the targets are read afresh next time.
			c.forget(r.ID)
			errs = append(errs, fmt.Errorf("rollout %s: %w", r.ID, err))
			active[r.ID] = c.measured[r.ID] // a failed step leaves its series as they were
			continue
		}
		c.remember(r.ID, next)
		if m.state != api.RolloutRunning && m.state != api.RolloutPaused {
			continue // ended in this step
		}
		active[r.ID] = true
		metrics.RolloutPaused.WithLabelValues(r.ID).Set(m.pausedByBudget())
		metrics.RolloutWave.WithLabelValues(r.ID).Set(float64(m.wave + 1))
	}
	for id := range c.measured {
		if !active[id] {
			metrics.RolloutPaused.DeleteLabelValues(id)
			metrics.RolloutWave.DeleteLabelValues(id)
		}
	}
	c.measured = active
	return errors.Join(errs...)
}

// measure is what a step leaves for the rollout metrics.
type measure struct {
	state, requested string
	wave             int64 // 0-based
}

// pausedByBudget is orbit_rollout_paused: 1 while the rollout paused itself (its failure
// budget spent) and no user asked for the pause; a pause a user asked for pages no one.
func (m measure) pausedByBudget() float64 {
	if m.state == api.RolloutPaused && m.requested != api.RolloutPaused {
		return 1
	}
	return 0
}

// cached returns the targets of a rollout as of its last committed step, or nil.
func (c *Controller) cached(id string) []target {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[id]
}

// remember keeps a rollout's targets after a committed step; nil forgets them (a rollout
// with nothing left to do).
func (c *Controller) remember(id string, targets []target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if targets == nil {
		delete(c.cache, id)
		return
	}
	c.cache[id] = targets
}

// forget drops the cached targets of the given rollouts, or of all with none given.
func (c *Controller) forget(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ids) == 0 {
		clear(c.cache)
	}
	for _, id := range ids {
		delete(c.cache, id)
	}
}

// online reports, per satellite, whether its heartbeat is fresh.
func (c *Controller) online() map[string]bool {
	now := c.cfg.Now()
	out := map[string]bool{}
	for _, s := range c.cfg.Satellites() {
		out[s.Name] = now.Sub(s.HeartbeatAt) < c.cfg.HeartbeatTTL
	}
	return out
}

// Parse reads a rollout's stored selector and strategy.
func Parse(r db.Rollout) (api.Selector, api.RolloutStrategy, error) {
	var sel api.Selector
	var st api.RolloutStrategy
	if err := json.Unmarshal([]byte(r.Selector), &sel); err != nil {
		return sel, st, fmt.Errorf("selector: %w", err)
	}
	if err := json.Unmarshal([]byte(r.Strategy), &st); err != nil {
		return sel, st, fmt.Errorf("strategy: %w", err)
	}
	return sel, st, nil
}

func durationOr(d api.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// step is one transaction of one rollout. It returns the rollout's targets as this
// transaction leaves them (nil once the rollout has nothing left to do), for the next step
// once the transaction has committed.
func (c *Controller) step(ctx context.Context, q rolloutdb.Queries, id string, online map[string]bool, m *measure) ([]target, error) {
	r, err := q.GetRollout(ctx, id)
	if err != nil {
		return nil, err
	}
	sel, strat, err := Parse(r)
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	st, err := q.GetRolloutStatus(ctx, r.ID)
	planned := false
	switch {
	case errors.Is(err, db.ErrNotFound):
		if st, err = c.plan(ctx, q, r, sel, strat, now); err != nil {
			return nil, err
		}
		planned = true
	case err != nil:
		return nil, err
	}
	targets := c.cached(r.ID)
	if targets == nil || planned {
		rows, err := q.ListRolloutTargets(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		targets = make([]target, len(rows))
		for i, row := range rows {
			targets[i] = target{RolloutTarget: row}
		}
	}
	if planned && st.Waves > 0 {
		if err := record(ctx, q, r.ID, waveKey(ActionWaveStarted, 0), ActionWaveStarted, waveSummary(targets, 0, st.Waves)); err != nil {
			return nil, err
		}
	}
	// (The cached targets are changed in place: should this step fail, Step forgets them.)
	if st.RequestSeq < r.RequestSeq {
		finalized := st.FinalizedAt.Valid
		c.request(&st, r, targets, now)
		if !finalized && st.FinalizedAt.Valid {
			if err := c.finalize(ctx, q, r, targets, now); err != nil {
				return nil, err
			}
		}
		// Written now, so that the observations read next list the clusters it resumed.
		if err := flush(ctx, q, targets); err != nil {
			return nil, err
		}
	}
	if st.State == api.RolloutRunning || st.State == api.RolloutPaused {
		if err := c.progress(ctx, q, r, strat, &st, targets, online, now); err != nil {
			return nil, err
		}
	}
	if err := flush(ctx, q, targets); err != nil {
		return nil, err
	}
	st.UpdatedAt = db.Now()
	*m = measure{state: st.State, requested: r.RequestedState, wave: st.Wave}
	if err := q.UpsertRolloutStatus(ctx, db.UpsertRolloutStatusParams(st)); err != nil {
		return nil, err
	}
	if st.State != api.RolloutRunning && st.State != api.RolloutPaused {
		return nil, nil
	}
	return targets, nil
}

// flush writes the targets marked changed and clears their marks.
func flush(ctx context.Context, q rolloutdb.Queries, targets []target) error {
	for i := range targets {
		t := &targets[i]
		if !t.changed {
			continue
		}
		if err := q.UpdateRolloutTarget(ctx, db.UpdateRolloutTargetParams{State: t.State, Reason: t.Reason, Satellite: t.Satellite,
			StartedAt: t.StartedAt, ReadySince: t.ReadySince, FinishedAt: t.FinishedAt, RolloutID: t.RolloutID,
			PhysicalClusterID: t.PhysicalClusterID}); err != nil {
			return err
		}
		t.changed = false
	}
	return nil
}

// target is a rollout target with a changed mark.
type target struct {
	db.RolloutTarget
	changed bool
}

func (t *target) set(state, reason string) {
	if t.State != state || t.Reason != reason {
		t.State, t.Reason, t.changed = state, reason, true
	}
}

func ms(t time.Time) sql.NullInt64 { return sql.NullInt64{Int64: t.UnixMilli(), Valid: true} }
