package rollout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/strategy"
)

// candidate is a physical cluster a rollout may change.
type candidate struct {
	db.ListRolloutCandidatesRow
	labels  map[string]string
	tenants []string
	pinned  bool
}

// plan assigns a new rollout's clusters to waves, all at once and for good (so that a
// restart replays nothing), and supersedes the older rollouts of the same product and SKU.
func (c *Controller) plan(ctx context.Context, q rolloutdb.Queries, r db.Rollout, sel api.Selector, strat api.RolloutStrategy, now time.Time) (db.RolloutStatus, error) {
	if err := c.supersede(ctx, q, r); err != nil {
		return db.RolloutStatus{}, err
	}
	cands, err := c.candidates(ctx, q, r, sel)
	if err != nil {
		return db.RolloutStatus{}, err
	}
	waves := Waves(cands, strat)
	pos := int64(0)
	pinned := 0
	for w, wave := range waves {
		for _, cd := range wave {
			t := db.InsertRolloutTargetParams{RolloutID: r.ID, PhysicalClusterID: cd.ID, Wave: int64(w), Position: pos,
				Satellite: cd.Satellite, FromRevision: cd.ProfileRevision, State: api.TargetWaiting}
			pos++
			// A cluster already at the revision (created new, or changed by a rollout this
			// one supersedes) is not skipped: it is gated like the others, its start
			// changing nothing.
			if cd.pinned {
				t.State, t.Reason, t.FinishedAt = api.TargetPinned, "pinned by an operator", ms(now)
				pinned++
			}
			if err := q.InsertRolloutTarget(ctx, t); err != nil {
				return db.RolloutStatus{}, err
			}
		}
	}
	detail := fmt.Sprintf("%d clusters in %d waves", pos, len(waves))
	if pinned > 0 {
		detail += fmt.Sprintf(", %d pinned", pinned)
	}
	if err := record(ctx, q, r.ID, ActionPlanned, ActionPlanned, detail); err != nil {
		return db.RolloutStatus{}, err
	}
	return db.RolloutStatus{RolloutID: r.ID, State: api.RolloutRunning, Waves: int64(len(waves))}, nil
}

// supersede stops the older rollouts of r's product and SKU: their clusters not done yet
// go on in r.
func (c *Controller) supersede(ctx context.Context, q rolloutdb.Queries, r db.Rollout) error {
	active, err := q.ListActiveRollouts(ctx)
	if err != nil {
		return err
	}
	for _, o := range active {
		if o.ID == r.ID || o.Product != r.Product || o.Sku != r.Sku || o.CreatedAt > r.CreatedAt ||
			(o.CreatedAt == r.CreatedAt && o.ID > r.ID) {
			continue
		}
		st, err := q.GetRolloutStatus(ctx, o.ID)
		switch {
		case errors.Is(err, db.ErrNotFound):
			st = db.RolloutStatus{RolloutID: o.ID, RequestSeq: o.RequestSeq}
		case err != nil:
			return err
		}
		if st.State != "" && st.State != api.RolloutRunning && st.State != api.RolloutPaused {
			continue
		}
		st.State, st.Reason, st.UpdatedAt = api.RolloutSuperseded, "superseded by rollout "+r.ID, db.Now()
		c.forget(o.ID) // its targets change here
		targets, err := q.ListRolloutTargets(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, t := range targets {
			if terminal(t.State) {
				continue
			}
			if err := q.UpdateRolloutTarget(ctx, db.UpdateRolloutTargetParams{State: api.TargetSuperseded,
				Reason: "taken over by rollout " + r.ID, Satellite: t.Satellite, StartedAt: t.StartedAt, ReadySince: t.ReadySince,
				FinishedAt: ms(c.cfg.Now()), RolloutID: t.RolloutID, PhysicalClusterID: t.PhysicalClusterID}); err != nil {
				return err
			}
		}
		if err := q.UpsertRolloutStatus(ctx, db.UpsertRolloutStatusParams(st)); err != nil {
			return err
		}
		if err := record(ctx, q, o.ID, ActionSuperseded, ActionSuperseded, st.Reason); err != nil {
			return err
		}
	}
	return nil
}

// candidates lists the live clusters of the rollout's product and SKU that its selector
// picks, with their labels, tenants and pins, canary-labelled ones first, then by id.
func (c *Controller) candidates(ctx context.Context, q rolloutdb.Queries, r db.Rollout, sel api.Selector) ([]candidate, error) {
	rows, err := q.ListRolloutCandidates(ctx, db.ListRolloutCandidatesParams{Product: r.Product, Sku: r.Sku})
	if err != nil {
		return nil, err
	}
	labels, err := q.ListClusterLabels(ctx)
	if err != nil {
		return nil, err
	}
	pins, err := q.ListClusterPins(ctx)
	if err != nil {
		return nil, err
	}
	tenants, err := q.ListPhysicalTenants(ctx, db.ListPhysicalTenantsParams{Product: r.Product, Sku: r.Sku})
	if err != nil {
		return nil, err
	}
	byID := map[string]*candidate{}
	out := make([]candidate, len(rows))
	for i, row := range rows {
		out[i] = candidate{ListRolloutCandidatesRow: row, labels: map[string]string{}}
		byID[row.ID] = &out[i]
	}
	for _, l := range labels {
		if cd := byID[l.PhysicalClusterID]; cd != nil {
			cd.labels[l.Key] = l.Value
		}
	}
	for _, p := range pins {
		if cd := byID[p.PhysicalClusterID]; cd != nil {
			cd.pinned = true
		}
	}
	for _, t := range tenants {
		if cd := byID[t.PhysicalClusterID]; cd != nil {
			cd.tenants = append(cd.tenants, t.TenantID)
		}
	}
	out = slices.DeleteFunc(out, func(cd candidate) bool { return !Matches(&sel, cd) })
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := out[i].labels[strategy.CanaryLabel] == "true", out[j].labels[strategy.CanaryLabel] == "true"
		if ci != cj {
			return ci
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Matches reports whether a selector picks a cluster (a nil selector picks all).
func Matches(s *api.Selector, cd candidate) bool {
	if s == nil {
		return true
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	if !in(s.Regions, cd.Region) || !in(s.Satellites, cd.Satellite) || !in(s.Clusters, cd.ID) {
		return false
	}
	if len(s.Tenants) > 0 && !slices.ContainsFunc(cd.tenants, func(t string) bool { return slices.Contains(s.Tenants, t) }) {
		return false
	}
	for k, v := range s.Labels {
		if cd.labels[k] != v {
			return false
		}
	}
	return true
}

// Waves splits the clusters into the strategy's waves, in order; clusters no wave takes go
// in a last wave; empty waves are dropped.
func Waves(cands []candidate, strat api.RolloutStrategy) [][]candidate {
	if strat.AllAtOnce || len(cands) == 0 {
		if len(cands) == 0 {
			return nil
		}
		return [][]candidate{cands}
	}
	taken := make([]bool, len(cands))
	assigned := 0
	var out [][]candidate
	for _, w := range strat.Waves {
		limit := len(cands)
		switch {
		case w.Count > 0:
			limit = w.Count
		case w.Percent > 0:
			limit = max(int(math.Ceil(float64(len(cands))*float64(w.Percent)/100))-assigned, 0)
		}
		var wave []candidate
		for i, cd := range cands {
			if len(wave) >= limit {
				break
			}
			if !taken[i] && Matches(w.Selector, cd) {
				taken[i] = true
				wave = append(wave, cd)
			}
		}
		assigned += len(wave)
		if len(wave) > 0 {
			out = append(out, wave)
		}
	}
	var rest []candidate
	for i, cd := range cands {
		if !taken[i] {
			rest = append(rest, cd)
		}
	}
	if len(rest) > 0 {
		out = append(out, rest)
	}
	return out
}

// terminal reports whether a target state is final.
func terminal(state string) bool {
	switch state {
	case api.TargetDone, api.TargetFailed, api.TargetSkipped, api.TargetPinned, api.TargetSuperseded:
		return true
	}
	return false
}
