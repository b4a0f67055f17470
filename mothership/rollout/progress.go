package rollout

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/profile"
	"github.com/orbitcp/orbit/mothership/internal/strategy"
)

// request applies the user's newest request on the rollout (pause, resume, abort,
// finalize), once.
func (c *Controller) request(st *db.RolloutStatus, r db.Rollout, targets []target, now time.Time) {
	st.RequestSeq = r.RequestSeq
	switch {
	case r.RequestedState == api.RolloutAborted && (st.State == api.RolloutRunning || st.State == api.RolloutPaused):
		st.State, st.Reason = api.RolloutAborted, "aborted by a user"
		for i := range targets {
			if t := &targets[i]; !terminal(t.State) && !t.StartedAt.Valid {
				t.set(api.TargetSkipped, "rollout aborted")
				t.FinishedAt = ms(now)
			}
		}
	case r.RequestedState == api.RolloutPaused && st.State == api.RolloutRunning:
		st.State, st.Reason = api.RolloutPaused, "paused by a user"
	case r.RequestedState == api.RolloutRunning && st.State == api.RolloutPaused:
		st.State, st.Reason = api.RolloutRunning, ""
		// The failed clusters are looked at afresh: a fixed one can still turn done.
		for i := range targets {
			if t := &targets[i]; t.State == api.TargetFailed {
				t.set(api.TargetRolling, "resumed")
				t.StartedAt, t.ReadySince, t.FinishedAt = ms(now), sql.NullInt64{}, sql.NullInt64{}
			}
		}
	}
	if r.FinalizeRequested != 0 && st.State == api.RolloutComplete && !st.FinalizedAt.Valid {
		st.FinalizedAt = ms(now)
	}
}

// finalize asks every cluster the rollout changed (done) to finalize Kafka's metadata
// version at the newest level of the Kafka version the rollout rolled out: it sets the
// level on each cluster's target and appends events.target, so that the physical
// controller renders it into the PSC and the satellite raises the cluster's finalized
// level. Clusters the rollout did not change (failed, skipped, pinned, superseded) keep
// theirs. Only a Kafka rollout has a metadata version.
func (c *Controller) finalize(ctx context.Context, q rolloutdb.Queries, r db.Rollout, targets []target, now time.Time) error {
	if r.Product != string(kv.ProductKafka) {
		return nil
	}
	prof, err := profile.At(ctx, q, r.Product, r.Sku, r.Revision)
	if err != nil {
		return err
	}
	level, err := kafkaconf.MetadataVersion(prof.Version)
	if err != nil {
		return fmt.Errorf("finalizing rollout %s: %w", r.ID, err)
	}
	n := 0
	for _, t := range targets {
		if t.State != api.TargetDone {
			continue
		}
		changed, err := q.FinalizeClusterTarget(ctx, db.FinalizeClusterTargetParams{PhysicalClusterID: t.PhysicalClusterID,
			MetadataVersion: int64(level), UpdatedAt: now.UnixMilli()})
		if err != nil {
			return err
		}
		if changed == 0 {
			continue // already at that level or above
		}
		n++
		if err := events.Append(ctx, q, &events.Target{PhysicalClusterID: t.PhysicalClusterID, Revision: r.Revision,
			Rollout: r.ID, MetadataVersion: int64(level)}); err != nil {
			return err
		}
	}
	c.cfg.Log.Info("rollout finalized", "rollout", r.ID, "metadataVersion", kafkaconf.MetadataVersionName(level), "clusters", n)
	return nil
}

// progress observes the started clusters, applies the failure budget, starts what may
// start and moves to the next wave once the current one is healthy.
func (c *Controller) progress(ctx context.Context, q rolloutdb.Queries, r db.Rollout, strat api.RolloutStrategy,
	st *db.RolloutStatus, targets []target, online map[string]bool, now time.Time) error {
	obs, err := q.ListRolloutObservations(ctx, r.ID)
	if err != nil {
		return err
	}
	byID := make(map[string]db.ListRolloutObservationsRow, len(obs))
	for _, o := range obs {
		byID[o.PhysicalClusterID] = o
	}
	soak := durationOr(strat.Soak, DefaultSoak)
	deadline := durationOr(strat.ProgressDeadline, DefaultProgressDeadline)
	offlineDeadline := durationOr(strat.OfflineDeadline, DefaultOfflineDeadline)
	for i := range targets {
		t := &targets[i]
		if !t.StartedAt.Valid || terminal(t.State) {
			continue
		}
		o, ok := byID[t.PhysicalClusterID]
		if !ok {
			// The cached targets disagree with the database; the step fails and the next
			// one reads them afresh.
			return fmt.Errorf("cluster %s is in flight in memory but not in the database", t.PhysicalClusterID)
		}
		if o.PlacedOn != "" && o.PlacedOn != t.Satellite {
			t.Satellite, t.changed = o.PlacedOn, true
		}
		c.observe(t, o, r.Revision, online[t.Satellite], soak, deadline, offlineDeadline, now)
	}
	budget, err := strategy.Budget(strat.FailureBudget, len(targets))
	if err != nil {
		return err
	}
	var failed []string
	for _, t := range targets {
		if t.State == api.TargetFailed {
			failed = append(failed, fmt.Sprintf("%s (%s)", t.PhysicalClusterID, t.Reason))
		}
	}
	if len(failed) > budget && st.State == api.RolloutRunning {
		st.State = api.RolloutPaused
		st.Reason = fmt.Sprintf("failure budget of %d spent: %d clusters failed: %s", budget, len(failed), strings.Join(failed, "; "))
		c.cfg.Log.Warn("rollout paused itself", "rollout", r.ID, "reason", st.Reason)
		// One pause per request: only a user's resume (a new request) runs it again.
		if err := record(ctx, q, r.ID, fmt.Sprintf("%s/%d", ActionPaused, st.RequestSeq), ActionPaused, st.Reason); err != nil {
			return err
		}
	}
	if st.State != api.RolloutRunning {
		return nil
	}
	windows, err := c.windows(ctx, q)
	if err != nil {
		return err
	}
	for {
		if err := c.start(ctx, q, r, strat, st, targets, online, windows, now); err != nil {
			return err
		}
		if !waveHealthy(targets, int(st.Wave)) {
			return nil
		}
		if st.Wave < st.Waves {
			// (Recorded once: the last wave is healthy again each step until its offline
			// clusters have rolled.)
			if err := record(ctx, q, r.ID, waveKey(ActionWaveHealthy, st.Wave), ActionWaveHealthy,
				waveSummary(targets, st.Wave, st.Waves)); err != nil {
				return err
			}
		}
		if st.Wave+1 >= st.Waves {
			for _, t := range targets {
				if !terminal(t.State) {
					return nil // offline clusters still to roll
				}
			}
			st.State, st.Reason = api.RolloutComplete, ""
			if len(failed) > 0 {
				st.Reason = fmt.Sprintf("%d clusters failed within the budget", len(failed))
			}
			return record(ctx, q, r.ID, ActionCompleted, ActionCompleted, completion(targets, st.Reason))
		}
		st.Wave++
		st.WaveHealthyAt = ms(now)
		c.cfg.Log.Info("rollout wave healthy; next wave", "rollout", r.ID, "wave", st.Wave)
		if err := record(ctx, q, r.ID, waveKey(ActionWaveStarted, st.Wave), ActionWaveStarted,
			waveSummary(targets, st.Wave, st.Waves)); err != nil {
			return err
		}
	}
}

// observe moves one started cluster on from what its satellite reported.
func (c *Controller) observe(t *target, o db.ListRolloutObservationsRow, rev int64, online bool,
	soak, deadline, offlineDeadline time.Duration, now time.Time) {
	started := time.UnixMilli(t.StartedAt.Int64)
	switch {
	case o.Deleted != 0 || o.Generation == 0:
		t.set(api.TargetSkipped, "cluster deleted")
		t.FinishedAt = ms(now)
		return
	case !online:
		// A stale heartbeat's Ready does not count; the cluster waits for its satellite.
		t.ReadySince = sql.NullInt64{}
		if now.Sub(started) > offlineDeadline {
			t.set(api.TargetFailed, fmt.Sprintf("satellite %s offline past the offline deadline", t.Satellite))
			t.FinishedAt = ms(now)
			return
		}
		t.set(api.TargetOffline, fmt.Sprintf("satellite %s disconnected", t.Satellite))
		return
	}
	if t.State == api.TargetOffline {
		t.set(api.TargetRolling, "satellite back")
	}
	atTarget := o.ProfileRevision == rev && o.ObservedRevision == rev && o.ObservedGeneration >= o.Generation
	switch {
	case atTarget && o.Phase == string(kv.PhaseReady):
		if !t.ReadySince.Valid {
			t.ReadySince, t.changed = ms(now), true
		}
		if now.Sub(time.UnixMilli(t.ReadySince.Int64)) >= soak {
			t.set(api.TargetDone, "")
			t.FinishedAt = ms(now)
		} else {
			t.set(api.TargetRolling, "soaking")
		}
	case atTarget && o.Phase == string(kv.PhaseFailed) && o.ReportedAt >= t.StartedAt.Int64:
		// (A report from before a resume does not fail the cluster again.)
		t.set(api.TargetFailed, fmt.Sprintf("%s at revision %d: %s", o.Phase, rev, o.Message))
		t.FinishedAt = ms(now)
	case now.Sub(started) > deadline:
		// Degraded is what a cluster reports while its pods roll; only past the deadline
		// does it count as a failure.
		last := ""
		if atTarget && o.Phase != "" {
			last = fmt.Sprintf(" (%s: %s)", o.Phase, o.Message)
		}
		t.set(api.TargetFailed, fmt.Sprintf("not ready at revision %d within the progress deadline %s%s", rev, deadline, last))
		t.FinishedAt = ms(now)
	default:
		if t.ReadySince.Valid {
			t.ReadySince, t.changed = sql.NullInt64{}, true
		}
		t.set(api.TargetRolling, "")
	}
}

// start changes the clusters of the current wave (and offline ones of earlier waves whose
// satellite is back) up to maxConcurrency changing at once.
func (c *Controller) start(ctx context.Context, q rolloutdb.Queries, r db.Rollout, strat api.RolloutStrategy,
	st *db.RolloutStatus, targets []target, online map[string]bool, windows *windowSet, now time.Time) error {
	waveSize := 0
	rolling := 0
	for _, t := range targets {
		if int(t.Wave) == int(st.Wave) {
			waveSize++
		}
		if t.StartedAt.Valid && !terminal(t.State) && t.State != api.TargetOffline {
			rolling++
		}
	}
	limit := strat.MaxConcurrency
	if limit <= 0 {
		limit = max(waveSize, 1)
	}
	for i := range targets {
		t := &targets[i]
		if int(t.Wave) > int(st.Wave) || t.StartedAt.Valid || terminal(t.State) {
			continue
		}
		if rolling >= limit {
			return nil
		}
		if !online[t.Satellite] {
			t.set(api.TargetOffline, fmt.Sprintf("satellite %q disconnected", t.Satellite))
			continue
		}
		if r.OverrideWindows == 0 {
			if open, next := windows.open(t.PhysicalClusterID, t.Satellite, now); !open {
				reason := "outside its maintenance window"
				if !next.IsZero() {
					reason = "waiting for its maintenance window at " + next.UTC().Format(time.RFC3339)
				}
				t.set(api.TargetWindow, reason)
				continue
			}
		}
		if err := q.UpsertClusterTarget(ctx, db.UpsertClusterTargetParams{PhysicalClusterID: t.PhysicalClusterID,
			Revision: r.Revision, RolloutID: r.ID, UpdatedAt: now.UnixMilli()}); err != nil {
			return err
		}
		if err := events.Append(ctx, q, &events.Target{PhysicalClusterID: t.PhysicalClusterID, Revision: r.Revision, Rollout: r.ID}); err != nil {
			return err
		}
		reason := ""
		if r.OverrideWindows != 0 {
			reason = "maintenance windows overridden"
		}
		t.set(api.TargetRolling, reason)
		t.StartedAt, t.changed = ms(now), true
		rolling++
	}
	return nil
}

// waveHealthy reports whether every cluster of wave w is final or waits for its
// disconnected satellite.
func waveHealthy(targets []target, w int) bool {
	for _, t := range targets {
		if int(t.Wave) == w && !terminal(t.State) && t.State != api.TargetOffline {
			return false
		}
	}
	return true
}
