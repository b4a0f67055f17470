package mothership

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// usageCursorKey is the meter's progress in the meta table.
const usageCursorKey = "usage_cursor"

// meter bills each cluster for what its satellite reports running: every interval it adds
// the time since the last tick, times the CKUs actually running (the logical CKUs scaled by
// the share of desired replicas the satellite runs) and the storage they hold, to the
// tenant's row of the hour. It writes the usage table and its cursor, nothing else. After a
// restart it resumes from its cursor: the data plane ran meanwhile, in the state last
// reported.
type meter struct {
	store    *db.Store
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
}

func (m *meter) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := m.tick(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("usage meter tick failed", "error", err)
		}
	}
}

func (m *meter) tick(ctx context.Context) error {
	now := m.now().UTC()
	return m.store.InTx(ctx, func(q db.Querier) error {
		last := now
		if v, err := q.GetMeta(ctx, usageCursorKey); err == nil {
			ms, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return fmt.Errorf("usage cursor %q: %w", v, perr)
			}
			last = time.UnixMilli(ms).UTC()
		} else if !db.NotFound(err) {
			return err
		}
		if err := q.SetMeta(ctx, sqlitegen.SetMetaParams{Key: usageCursorKey, Value: strconv.FormatInt(now.UnixMilli(), 10)}); err != nil {
			return err
		}
		if !now.After(last) {
			return nil
		}
		clusters, err := q.ListMeteredClusters(ctx)
		if err != nil {
			return err
		}
		// Split the span at hour boundaries, so each hour gets its share.
		for from := last; from.Before(now); {
			hour := from.Truncate(time.Hour)
			to := hour.Add(time.Hour)
			if now.Before(to) {
				to = now
			}
			if err := m.bill(ctx, q, clusters, hour, to.Sub(from)); err != nil {
				return err
			}
			from = to
		}
		return nil
	})
}

func (m *meter) bill(ctx context.Context, q db.Querier, clusters []sqlitegen.ListMeteredClustersRow, hour time.Time, span time.Duration) error {
	ms := span.Milliseconds()
	for _, c := range clusters {
		if (c.Phase != string(kv.PhaseReady) && c.Phase != string(kv.PhaseDegraded)) || c.Replicas == 0 || c.RunningReplicas == 0 {
			continue
		}
		running := min(c.RunningReplicas, c.Replicas)
		ckuMillis := c.Cku * ms * running / c.Replicas
		gibMillis := running * c.StorageGib * ms
		if err := q.AddUsage(ctx, sqlitegen.AddUsageParams{
			TenantID: c.TenantID, Hour: hour.UnixMilli(), LogicalClusterID: c.ID,
			CkuMs: ckuMillis, StorageGibMs: gibMillis,
		}); err != nil {
			return err
		}
	}
	return nil
}

// usage reports the tenant's usage per hour and cluster, between from and to (default the
// last 24 hours).
func (f *frontend) usage(w http.ResponseWriter, r *http.Request, p *principal) error {
	to, from := time.Now().UTC(), time.Now().UTC().Add(-24*time.Hour)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return invalid(name, "%q is not an RFC 3339 time", v)
			}
			*dst = t
		}
	}
	if !to.After(from) {
		return invalid("to", "must be after from")
	}
	rows, err := f.store.Q().ListUsage(r.Context(), sqlitegen.ListUsageParams{
		TenantID: p.TenantID, FromHour: from.Truncate(time.Hour).UnixMilli(), ToHour: to.UnixMilli(),
	})
	if err != nil {
		return err
	}
	out := make([]api.Usage, 0, len(rows))
	for _, u := range rows {
		out = append(out, api.Usage{Hour: db.Time(u.Hour), ClusterID: u.LogicalClusterID, Cluster: u.Name,
			CKUHours: float64(u.CkuMs) / 3.6e6, StorageGiBHours: float64(u.StorageGibMs) / 3.6e6})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
