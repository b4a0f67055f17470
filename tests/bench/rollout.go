package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/physical"
	"github.com/orbitcp/orbit/mothership/rollout"
)

var rolloutSoak = flag.Duration("rollout-soak", time.Second, "rollout scenario: the soak time of each cluster")

// runRollout rolls a new profile revision out across 10,000 dedicated clusters on 100
// satellites in waves of 1, 1%, 10% and the rest, with the real rollout and physical
// controllers on SQLite. The satellites are simulated where the status controller records
// them: once per pass, every cluster reports the generation and revision the physical
// controller rendered, Ready, with a fresh heartbeat. The figures: the controllers' CPU
// time per cluster changed (process CPU during their calls only), the delay from a wave
// turning healthy (its last cluster done after the soak) to the next wave's first change,
// and the process's peak RSS.
func runRollout(ctx context.Context, o options) ([]Result, error) {
	sats, per := 100, 100
	if o.quick {
		sats, per = 10, 20
	}
	dir, err := os.MkdirTemp("", "orbit-bench-rollout-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := db.Open(ctx, filepath.Join(dir, "orbit.db"))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	n := sats * per
	if err := seedRolloutFleet(ctx, store.DB(), sats, per); err != nil {
		return nil, err
	}
	phys := physical.New(store, time.Hour)
	reconcile := func(ids []string) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, id := range ids {
			g.Go(func() error { return phys.Reconcile(gctx, id) })
		}
		return g.Wait()
	}
	all := make([]string, 0, n)
	for s := range sats {
		for c := range per {
			all = append(all, fmt.Sprintf("lkc-%03d-%03d", s, c))
		}
	}
	if err := reconcile(all); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	now := time.Now()
	heartbeats := func() []kv.Satellite {
		mu.Lock()
		defer mu.Unlock()
		out := make([]kv.Satellite, sats)
		for i := range out {
			out[i] = kv.Satellite{Name: fmt.Sprintf("sat-%03d", i), Region: "r", HeartbeatAt: now}
		}
		return out
	}
	ctl := rollout.New(rollout.Config{Store: store, Satellites: heartbeats})
	strat, _ := json.Marshal(api.RolloutStrategy{Soak: api.Duration(*rolloutSoak),
		Waves: []api.Wave{{Name: "canary", Count: 1}, {Name: "1%", Percent: 1}, {Name: "10%", Percent: 10}, {Name: "rest"}}})
	if _, err := store.DB().ExecContext(ctx, `INSERT INTO profiles (product, sku, version, spec, created_at, created_by)
		VALUES ('kafka', 'dedicated', 1, '{"version":"3.9.1","replicasPerCKU":3,"controllers":3,"storageGiB":500}', 1, 'bench')`); err != nil {
		return nil, err
	}
	if _, err := store.DB().ExecContext(ctx, `INSERT INTO rollouts (id, product, sku, revision, kind, selector, strategy, requested_state,
		request_seq, created_at, created_by, updated_at) VALUES ('ro-bench', 'kafka', 'dedicated', 1, 'rollout', '{}', ?, 'running', 1, 1, 'bench', 1)`,
		string(strat)); err != nil {
		return nil, err
	}
	var cpu time.Duration
	measure := func(fn func() error) error {
		before := cpuTime()
		err := fn()
		cpu += cpuTime() - before
		return err
	}
	start := time.Now()
	deadline := start.Add(30 * time.Minute)
	for {
		mu.Lock()
		now = time.Now()
		mu.Unlock()
		if err := measure(func() error { return ctl.Step(ctx) }); err != nil {
			return nil, err
		}
		var changed []string
		if err := measure(func() error {
			var err error
			if changed, err = retargeted(ctx, store.DB()); err != nil {
				return err
			}
			return reconcile(changed)
		}); err != nil {
			return nil, err
		}
		if err := reportAll(ctx, store.DB()); err != nil { // the satellites
			return nil, err
		}
		var state string
		if err := store.DB().QueryRowContext(ctx, `SELECT state FROM rollout_status WHERE rollout_id = 'ro-bench'`).Scan(&state); err != nil {
			return nil, err
		}
		if state == api.RolloutComplete {
			break
		}
		if state != api.RolloutRunning || time.Now().After(deadline) {
			return nil, fmt.Errorf("rollout %s after %s", state, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := time.Since(start)
	delays, err := waveDelays(ctx, store.DB(), rolloutSoak.Milliseconds())
	if err != nil {
		return nil, err
	}
	peak, _, err := procMemory(os.Getpid())
	if err != nil {
		return nil, err
	}
	figures := map[string]float64{"clusters": float64(n), "cpu_ms_per_cluster": ms(cpu) / float64(n), "cpu_s": cpu.Seconds(),
		"rollout_s": total.Seconds(), "peak_rss_mib": peak / 1024}
	worst := 0.0
	for i, d := range delays {
		figures[fmt.Sprintf("wave%d_to_wave%d_ms", i+1, i+2)] = d
		worst = max(worst, d)
	}
	figures["worst_wave_delay_ms"] = worst
	return []Result{{Scenario: "rollout", System: "orbit",
		Params:  map[string]any{"satellites": sats, "clusters": n, "waves": "1, 1%, 10%, rest", "soak": rolloutSoak.String(), "db": "sqlite"},
		Figures: figures,
		Notes: "rollout and physical controllers in process on SQLite; satellites simulated as the status controller records them " +
			"(every cluster reports its rendered generation and revision, Ready, each pass); CPU counts the controllers' calls only; " +
			"the loop passes every 100 ms; the delay is from a wave turning healthy (its last cluster Ready for the soak) to the next wave's first change"}}, nil
}

// seedRolloutFleet writes a tenant, its dedicated clusters and their placements, as the
// frontend and scheduler would have.
func seedRolloutFleet(ctx context.Context, conn *sql.DB, sats, per int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ('t-bench', 'bench', 1)`); err != nil {
		return err
	}
	for s := range sats {
		for c := range per {
			id := fmt.Sprintf("%03d-%03d", s, c)
			if _, err := tx.ExecContext(ctx, `INSERT INTO logical_clusters (id, tenant_id, name, product, sku, cku, region, cloud, network,
				generation, created_at, updated_at) VALUES (?, 't-bench', ?, 'kafka', 'dedicated', 1, 'r', 'aws', 'public', 1, 1, 1)`,
				"lkc-"+id, "c"+id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO placements (physical_cluster_id, satellite, reason, updated_at) VALUES (?, ?, 'bench', 1)`,
				"pkc-"+id, fmt.Sprintf("sat-%03d", s)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// retargeted lists the logical clusters whose physical cluster has a new target revision
// (what events.target tells the physical controller).
func retargeted(ctx context.Context, conn *sql.DB) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT 'l' || SUBSTR(p.id, 2) FROM physical_clusters p JOIN cluster_targets t ON t.physical_cluster_id = p.id
		WHERE p.profile_revision <> t.revision`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// reportAll is every satellite's report: each cluster at its rendered generation and
// revision, Ready.
func reportAll(ctx context.Context, conn *sql.DB) error {
	now := time.Now().UnixMilli()
	_, err := conn.ExecContext(ctx, `INSERT INTO cluster_status (physical_cluster_id, satellite, observed_generation, phase, reason, message,
		replicas, ready_replicas, bootstrap, conditions, reported_at, kv_revision, ca_certificate, certificate_serial, bootstrap_host, profile_revision)
		SELECT p.id, pl.satellite, p.generation, 'ready', '', '', p.replicas, p.replicas, '', '[]', ?, ?, '', '', '', p.profile_revision
		FROM physical_clusters p JOIN placements pl ON pl.physical_cluster_id = p.id
		WHERE true
		ON CONFLICT (physical_cluster_id) DO UPDATE SET observed_generation = excluded.observed_generation,
			profile_revision = excluded.profile_revision, reported_at = excluded.reported_at, kv_revision = excluded.kv_revision`, now, now)
	return err
}

// waveDelays is, for each wave after the first, the time from the previous wave turning
// healthy (its last cluster Ready for the soak) to its first cluster started, in ms.
func waveDelays(ctx context.Context, conn *sql.DB, soak int64) ([]float64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT wave, MIN(started_at), MAX(ready_since) + ? FROM rollout_targets WHERE rollout_id = 'ro-bench'
		GROUP BY wave ORDER BY wave`, soak)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []float64
	prevDone := int64(-1)
	for rows.Next() {
		var wave, first, last int64
		if err := rows.Scan(&wave, &first, &last); err != nil {
			return nil, err
		}
		if prevDone >= 0 {
			out = append(out, float64(first-prevDone))
		}
		prevDone = last
	}
	return out, rows.Err()
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
