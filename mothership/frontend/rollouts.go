package frontend

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/ids"
	"github.com/orbitcp/orbit/mothership/internal/profile"
	"github.com/orbitcp/orbit/mothership/internal/strategy"
)

// Rollouts are operators' business: they change clusters of every tenant. The frontend
// records what operators ask (rollouts, their requests, labels, pins, windows) with the
// actor; the rollout controller carries it out.

// validateStrategy checks a strategy, naming the field at fault.
func validateStrategy(s *api.RolloutStrategy) error {
	if s.AllAtOnce && len(s.Waves) > 0 {
		return invalid("strategy.allAtOnce", "cannot be combined with waves")
	}
	if !s.AllAtOnce && len(s.Waves) == 0 {
		return invalid("strategy.waves", "at least one wave is required (or allAtOnce, by name)")
	}
	for i, w := range s.Waves {
		f := fmt.Sprintf("strategy.waves[%d]", i)
		switch {
		case w.Count < 0:
			return invalid(f+".count", "must not be negative")
		case w.Percent < 0 || w.Percent > 100:
			return invalid(f+".percent", "must be between 0 and 100")
		case w.Count > 0 && w.Percent > 0:
			return invalid(f, "a wave has a count or a percentage, not both")
		}
		if err := validateSelector(f+".selector", w.Selector); err != nil {
			return err
		}
	}
	switch {
	case s.MaxConcurrency < 0:
		return invalid("strategy.maxConcurrency", "must not be negative")
	case s.Soak < 0:
		return invalid("strategy.soak", "must not be negative")
	case s.ProgressDeadline < 0:
		return invalid("strategy.progressDeadline", "must not be negative")
	case s.OfflineDeadline < 0:
		return invalid("strategy.offlineDeadline", "must not be negative")
	}
	if _, err := strategy.Budget(s.FailureBudget, 0); err != nil {
		return invalid("strategy.failureBudget", "%v", err)
	}
	return nil
}

func validateSelector(field string, s *api.Selector) error {
	if s == nil {
		return nil
	}
	for name, list := range map[string][]string{"regions": s.Regions, "satellites": s.Satellites, "tenants": s.Tenants, "clusters": s.Clusters} {
		for i, v := range list {
			if err := kv.ValidateName(fmt.Sprintf("%s.%s[%d]", field, name, i), v); err != nil {
				return asFieldErr("", err)
			}
		}
	}
	for k, v := range s.Labels {
		if err := validateLabel(field+".labels", k, v); err != nil {
			return err
		}
	}
	return nil
}

func validateLabel(field, k, v string) error {
	if err := kv.ValidateName(field+"."+k, k); err != nil {
		return invalid(field, "label key %q: lower-case letters, digits and '-', up to 63", k)
	}
	if len(v) > 63 || strings.ContainsAny(v, " \t\n.*>") {
		return invalid(field+"."+k, "label value %q: up to 63 characters, no whitespace, '.', '*' or '>'", v)
	}
	return nil
}

// insertRollout records a rollout request and its history entry.
func insertRollout(ctx context.Context, q frontenddb.Queries, p *principal, kind, rollbackOf, product, sku string, rev int64,
	sel api.Selector, strat api.RolloutStrategy) (string, error) {
	id := ids.New("ro")
	selJSON, _ := json.Marshal(sel)
	stratJSON, _ := json.Marshal(strat)
	now := db.Now()
	if err := q.InsertRollout(ctx, db.InsertRolloutParams{ID: id, Product: product, Sku: sku, Revision: rev, Kind: kind,
		RollbackOf: sql.NullString{String: rollbackOf, Valid: rollbackOf != ""}, Selector: string(selJSON), Strategy: string(stratJSON),
		RequestedState: api.RolloutRunning, Now: now, CreatedBy: p.KeyID}); err != nil {
		return "", err
	}
	detail := fmt.Sprintf("%s/%s to revision %d", product, sku, rev)
	if rollbackOf != "" {
		detail += ", rolling back " + rollbackOf
	}
	return id, q.InsertRolloutHistory(ctx, db.InsertRolloutHistoryParams{RolloutID: id, At: now, Actor: p.KeyID, Action: kind, Detail: detail})
}

func (f *Frontend) createRollout(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req api.RolloutRequest
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	if err := kv.Product(req.Product).Validate("product"); err != nil {
		return asFieldErr("", err)
	}
	if !slices.Contains(profile.ProductSKUs[kv.Product(req.Product)], req.SKU) {
		return invalid("sku", "%s is not sold as %q", req.Product, req.SKU)
	}
	strat := strategy.DefaultStrategy()
	if req.Strategy != nil {
		strat = *req.Strategy
	}
	if err := validateStrategy(&strat); err != nil {
		return err
	}
	var sel api.Selector
	if req.Selector != nil {
		sel = *req.Selector
	}
	if err := validateSelector("selector", &sel); err != nil {
		return err
	}
	var id string
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		_, current, err := profile.Current(r.Context(), q, req.Product, req.SKU)
		if err != nil {
			return err
		}
		rev := req.Revision
		switch {
		case rev == 0:
			rev = current
		case rev < 0 || rev > current:
			return invalid("revision", "%s/%s has revisions 0 to %d", req.Product, req.SKU, current)
		}
		id, err = insertRollout(r.Context(), q, p, "rollout", "", req.Product, req.SKU, rev, sel, strat)
		return err
	})
	if err != nil {
		return err
	}
	return f.writeRollout(w, r, http.StatusCreated, id)
}

func (f *Frontend) listRollouts(w http.ResponseWriter, r *http.Request, _ *principal) error {
	rows, err := f.store.Read().ListRollouts(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.Rollout, 0, len(rows))
	for _, row := range rows {
		v, err := f.rolloutView(r.Context(), f.store.Read(), row, false)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (f *Frontend) getRollout(w http.ResponseWriter, r *http.Request, _ *principal) error {
	return f.writeRollout(w, r, http.StatusOK, r.PathValue("id"))
}

func (f *Frontend) writeRollout(w http.ResponseWriter, r *http.Request, code int, id string) error {
	row, err := f.store.Read().GetRollout(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return &notFoundErr{field: "id", err: fmt.Errorf("%w: rollout %q", errNotFound, id)}
	}
	if err != nil {
		return err
	}
	v, err := f.rolloutView(r.Context(), f.store.Read(), row, true)
	if err != nil {
		return err
	}
	writeJSON(w, code, v)
	return nil
}

// rolloutView joins what was asked with where the controller is.
func (f *Frontend) rolloutView(ctx context.Context, q frontenddb.Queries, row db.Rollout, detail bool) (api.Rollout, error) {
	v := api.Rollout{ID: row.ID, Product: row.Product, SKU: row.Sku, Revision: row.Revision, Kind: row.Kind,
		RollbackOf: row.RollbackOf.String, RequestedState: row.RequestedState, State: api.RolloutPending,
		OverrideWindows: row.OverrideWindows != 0, CreatedAt: db.Time(row.CreatedAt), CreatedBy: row.CreatedBy}
	_ = json.Unmarshal([]byte(row.Selector), &v.Selector)
	_ = json.Unmarshal([]byte(row.Strategy), &v.Strategy)
	st, err := q.GetRolloutStatus(ctx, row.ID)
	switch {
	case err == nil:
		v.State, v.Reason, v.Wave, v.Waves, v.Finalized = st.State, st.Reason, int(st.Wave), int(st.Waves), st.FinalizedAt.Valid
	case !errors.Is(err, db.ErrNotFound):
		return v, err
	}
	targets, err := q.ListRolloutTargets(ctx, row.ID)
	if err != nil {
		return v, err
	}
	for _, t := range targets {
		for len(v.Progress) <= int(t.Wave) {
			v.Progress = append(v.Progress, api.WaveProgress{Wave: len(v.Progress), Counts: map[string]int{}})
		}
		v.Progress[t.Wave].Counts[t.State]++
		if detail {
			rt := api.RolloutTarget{Cluster: t.PhysicalClusterID, Wave: int(t.Wave), Satellite: t.Satellite,
				FromRevision: t.FromRevision, State: t.State, Reason: t.Reason}
			if t.StartedAt.Valid {
				at := db.Time(t.StartedAt.Int64)
				rt.StartedAt = &at
			}
			if t.FinishedAt.Valid {
				at := db.Time(t.FinishedAt.Int64)
				rt.FinishedAt = &at
			}
			v.Targets = append(v.Targets, rt)
		}
	}
	if v.Finalized {
		if err := finalization(ctx, q, &v); err != nil {
			return v, err
		}
	}
	if detail {
		hist, err := q.ListRolloutHistory(ctx, row.ID)
		if err != nil {
			return v, err
		}
		// What the rollout controller did on its own, merged in.
		evs, err := q.ListRolloutEvents(ctx, row.ID)
		if err != nil {
			return v, err
		}
		v.History = mergeHistory(hist, evs)
	}
	return v, nil
}

// finalization fills in what Kafka reports of a finalized rollout's metadata version: per
// cluster (the detailed view's targets) and how many clusters are at the level asked for.
func finalization(ctx context.Context, q frontenddb.Queries, v *api.Rollout) error {
	rows, err := q.ListRolloutFinalization(ctx, v.ID)
	if err != nil {
		return err
	}
	byCluster := make(map[string]int, len(v.Targets))
	for i, t := range v.Targets {
		byCluster[t.Cluster] = i
	}
	var asked int64
	for _, r := range rows {
		asked = max(asked, r.MetadataVersion)
	}
	if asked == 0 {
		return nil // not a Kafka rollout, or none of its clusters changed
	}
	v.MetadataVersion = kafkaconf.MetadataVersionName(int16(asked))
	for _, r := range rows {
		var reported int16
		if r.KafkaHealth != "" {
			var h kv.KafkaHealth
			if err := json.Unmarshal([]byte(r.KafkaHealth), &h); err != nil {
				return fmt.Errorf("status of %s: kafka health: %w", r.PhysicalClusterID, err)
			}
			reported = h.MetadataVersion
		}
		done := r.MetadataVersion > 0 && int64(reported) >= r.MetadataVersion
		if done {
			v.FinalizedClusters++
		}
		if i, ok := byCluster[r.PhysicalClusterID]; ok {
			v.Targets[i].Finalized = done
			if reported > 0 {
				v.Targets[i].MetadataVersion = kafkaconf.MetadataVersionName(reported)
			}
		}
	}
	return nil
}

// mergeHistory is a rollout's history: the users' actions and the controller's events,
// each list in the order written, merged in time order; on a tie a user's action comes
// first (the controller acts on it afterwards).
func mergeHistory(users []db.RolloutHistory, controller []db.RolloutEvent) []api.RolloutEvent {
	out := make([]api.RolloutEvent, 0, len(users)+len(controller))
	for _, h := range users {
		out = append(out, api.RolloutEvent{At: db.Time(h.At), Actor: h.Actor, Action: h.Action, Detail: h.Detail})
	}
	for _, e := range controller {
		out = append(out, api.RolloutEvent{At: db.Time(e.At), Actor: e.Actor, Action: e.Action, Detail: e.Detail})
	}
	slices.SortStableFunc(out, func(a, b api.RolloutEvent) int { return a.At.Compare(b.At) })
	return out
}

// rolloutAction records pause, resume, abort, finalize and override-windows, and creates
// a roll back.
func (f *Frontend) rolloutAction(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req api.RolloutAction
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	result := id
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		row, err := q.GetRollout(r.Context(), id)
		if errors.Is(err, db.ErrNotFound) {
			return &notFoundErr{field: "id", err: fmt.Errorf("%w: rollout %q", errNotFound, id)}
		}
		if err != nil {
			return err
		}
		state := api.RolloutPending
		st, err := q.GetRolloutStatus(r.Context(), id)
		switch {
		case err == nil:
			state = st.State
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
		done := state == api.RolloutAborted || state == api.RolloutSuperseded || state == api.RolloutComplete
		upd := db.UpdateRolloutRequestParams{ID: id, RequestedState: row.RequestedState, FinalizeRequested: row.FinalizeRequested,
			OverrideWindows: row.OverrideWindows, Now: db.Now()}
		switch req.Action {
		case "pause":
			if done {
				return &conflictErr{field: "action", msg: fmt.Sprintf("rollout %s is %s", id, state)}
			}
			upd.RequestedState = api.RolloutPaused
		case "resume":
			if done {
				return &conflictErr{field: "action", msg: fmt.Sprintf("rollout %s is %s", id, state)}
			}
			upd.RequestedState = api.RolloutRunning
		case "abort":
			if done {
				return &conflictErr{field: "action", msg: fmt.Sprintf("rollout %s is %s", id, state)}
			}
			upd.RequestedState = api.RolloutAborted
		case "override-windows":
			upd.OverrideWindows = 1
		case "finalize":
			if state != api.RolloutComplete {
				return &conflictErr{field: "action", msg: fmt.Sprintf("rollout %s is %s: only a complete rollout is finalized", id, state)}
			}
			if row.Kind != "rollout" {
				return &conflictErr{field: "action", msg: "a roll back is not finalized"}
			}
			upd.FinalizeRequested = 1
		case "rollback":
			back, err := f.rollback(r.Context(), q, p, row, st, state)
			if err != nil {
				return err
			}
			result = back
		default:
			return invalid("action", "%q is not pause, resume, abort, rollback, finalize or override-windows", req.Action)
		}
		if req.Action != "rollback" {
			if err := q.UpdateRolloutRequest(r.Context(), upd); err != nil {
				return err
			}
		}
		return q.InsertRolloutHistory(r.Context(), db.InsertRolloutHistoryParams{RolloutID: id, At: db.Now(), Actor: p.KeyID,
			Action: req.Action, Detail: strings.TrimSpace(req.Reason + rollbackDetail(req.Action, result))})
	})
	if err != nil {
		return err
	}
	return f.writeRollout(w, r, http.StatusOK, result)
}

func rollbackDetail(action, id string) string {
	if action != "rollback" {
		return ""
	}
	return " (rollout " + id + ")"
}

// rollback creates a rollout back to each changed cluster's previous revision, refused
// for changes that cannot be undone: a bigger disk, a finalized rollout.
func (f *Frontend) rollback(ctx context.Context, q frontenddb.Queries, p *principal, row db.Rollout, st db.RolloutStatus, state string) (string, error) {
	if row.Kind != "rollout" {
		return "", &conflictErr{field: "action", msg: "a roll back is not rolled back; create a rollout"}
	}
	if st.FinalizedAt.Valid {
		return "", &conflictErr{field: "action", msg: fmt.Sprintf("rollout %s was finalized: its metadata version cannot go back", row.ID)}
	}
	if state == api.RolloutPending {
		return "", &conflictErr{field: "action", msg: "the rollout changed no cluster yet; abort it"}
	}
	targets, err := q.ListRolloutTargets(ctx, row.ID)
	if err != nil {
		return "", err
	}
	to := map[int64][]string{}
	for _, t := range targets {
		if t.StartedAt.Valid && t.FromRevision != row.Revision {
			to[t.FromRevision] = append(to[t.FromRevision], t.PhysicalClusterID)
		}
	}
	if len(to) == 0 {
		return "", &conflictErr{field: "action", msg: "the rollout changed no cluster to roll back"}
	}
	if len(to) > 1 {
		return "", &conflictErr{field: "action", msg: "the changed clusters came from several revisions; roll back each with a rollout"}
	}
	newProf, err := profile.At(ctx, q, row.Product, row.Sku, row.Revision)
	if err != nil {
		return "", err
	}
	var from int64
	var clusters []string
	for rev, cs := range to {
		from, clusters = rev, cs
	}
	oldProf, err := profile.At(ctx, q, row.Product, row.Sku, from)
	if err != nil {
		return "", err
	}
	if newProf.StorageGiB > oldProf.StorageGiB {
		return "", &conflictErr{field: "action", msg: fmt.Sprintf("revision %d grew the disk from %d to %d GiB: volumes do not shrink, so it cannot be rolled back",
			row.Revision, oldProf.StorageGiB, newProf.StorageGiB)}
	}
	_, strat, _ := parseRollout(row)
	return insertRollout(ctx, q, p, "rollback", row.ID, row.Product, row.Sku, from, api.Selector{Clusters: clusters}, strat)
}

func parseRollout(row db.Rollout) (api.Selector, api.RolloutStrategy, error) {
	var sel api.Selector
	var strat api.RolloutStrategy
	err := errors.Join(json.Unmarshal([]byte(row.Selector), &sel), json.Unmarshal([]byte(row.Strategy), &strat))
	return sel, strat, err
}

// physicalOf finds a live physical cluster by id.
func physicalOf(ctx context.Context, q frontenddb.Queries, id string) (db.PhysicalCluster, error) {
	pc, err := q.GetPhysicalCluster(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return pc, &notFoundErr{field: "cluster", err: fmt.Errorf("%w: physical cluster %q", errNotFound, id)}
	}
	return pc, err
}

// labelCluster sets or removes labels of a physical cluster (operators).
func (f *Frontend) labelCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req api.ClusterLabels
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	for k, v := range req.Labels {
		if err := validateLabel("labels", k, v); err != nil {
			return err
		}
	}
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		if _, err := physicalOf(r.Context(), q, id); err != nil {
			return err
		}
		for k, v := range req.Labels {
			var err error
			if v == "" {
				err = q.DeleteClusterLabel(r.Context(), db.DeleteClusterLabelParams{PhysicalClusterID: id, Key: k})
			} else {
				err = q.UpsertClusterLabel(r.Context(), db.UpsertClusterLabelParams{PhysicalClusterID: id, Key: k, Value: v})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// pinCluster pins or unpins a physical cluster (operators): rollouts skip a pinned cluster.
func (f *Frontend) pinCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req api.ClusterPin
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		if _, err := physicalOf(r.Context(), q, id); err != nil {
			return err
		}
		if req.Pinned {
			return q.UpsertClusterPin(r.Context(), db.UpsertClusterPinParams{PhysicalClusterID: id, PinnedBy: p.KeyID, PinnedAt: db.Now()})
		}
		return q.DeleteClusterPin(r.Context(), id)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// windowScope checks who may set a window's scope: tenant admins name their own dedicated
// cluster (cluster:<name>), which becomes cluster:<physical id>; satellite and region
// scopes (shared clusters host many tenants) are operators'. It returns the stored scope.
func (f *Frontend) windowScope(ctx context.Context, q frontenddb.Queries, p *principal, scope string) (string, error) {
	kind, name, _ := strings.Cut(scope, ":")
	if kind != "cluster" {
		if p.Role != api.RoleOperator {
			return "", fmt.Errorf("%w: only operators set windows of a satellite or region", errForbidden)
		}
		return scope, nil
	}
	l, err := liveCluster(ctx, q, p.TenantID, name)
	if err != nil {
		return "", &notFoundErr{field: "scope", err: err}
	}
	if profile.MultiTenant(l.Sku) {
		return "", invalid("scope", "%q is a shared (%s) cluster: its windows are its satellite's or region's, set by operators", name, l.Sku)
	}
	return "cluster:" + ids.Physical(l.ID), nil
}

func (f *Frontend) setWindow(w http.ResponseWriter, r *http.Request, p *principal) error {
	var win api.MaintenanceWindow
	if err := decodeBody(r.Body, &win); err != nil {
		return err
	}
	if err := strategy.ValidateWindow(&win); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return invalid(field, "%s", msg)
	}
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		scope, err := f.windowScope(r.Context(), q, p, win.Scope)
		if err != nil {
			return err
		}
		win.Scope, win.UpdatedBy = scope, p.KeyID
		spec, _ := json.Marshal(win)
		return q.UpsertMaintenanceWindow(r.Context(), db.UpsertMaintenanceWindowParams{Scope: scope, Spec: string(spec), UpdatedBy: p.KeyID, UpdatedAt: db.Now()})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, win)
	return nil
}

func (f *Frontend) deleteWindow(w http.ResponseWriter, r *http.Request, p *principal) error {
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		scope, err := f.windowScope(r.Context(), q, p, r.PathValue("scope"))
		if err != nil {
			return err
		}
		return q.DeleteMaintenanceWindow(r.Context(), scope)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listWindows lists every window for operators, a tenant's own clusters' for others.
func (f *Frontend) listWindows(w http.ResponseWriter, r *http.Request, p *principal) error {
	rows, err := f.store.Read().ListMaintenanceWindows(r.Context())
	if err != nil {
		return err
	}
	own := map[string]bool{}
	if p.Role != api.RoleOperator {
		ls, err := f.store.Read().ListLiveLogicalClusters(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		for _, l := range ls {
			own["cluster:"+ids.Physical(l.ID)] = true
		}
	}
	out := []api.MaintenanceWindow{}
	for _, row := range rows {
		if p.Role != api.RoleOperator && !own[row.Scope] {
			continue
		}
		var win api.MaintenanceWindow
		if err := json.Unmarshal([]byte(row.Spec), &win); err != nil {
			return err
		}
		out = append(out, win)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
