// Package usage is the usage meter: it bills each cluster for what its satellite reports
// running, into the usage table and its cursor (the meta table's usage_cursor key), through
// db/usagedb. Leader-only. The API reads usage (frontend).
package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/usagedb"
	"github.com/orbitcp/orbit/kv"
)

// Meter bills each cluster for what its satellite reports running: every interval it adds
// the time since the last tick, times the CKUs actually running (the logical CKUs scaled by
// the share of desired replicas the satellite runs), the storage and the partitions, to the
// tenant's row of the hour. Storage and partitions come from the data plane (what the
// satellite read from Kafka, kv.DataUsage): a dedicated cluster is billed the storage its
// running brokers provision and all its partitions; a tenant of a shared cluster only the
// logical bytes (one replica) and the partitions of its own topics, never the cluster's. It writes the usage table and its cursor, nothing else. After a
// restart it resumes from its cursor: the data plane ran meanwhile, in the state last
// reported.
type Meter struct {
	store    usagedb.Store
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
	// carry is, per logical cluster, the byte-milliseconds of storage billed at less than
	// a whole GiB-millisecond so far: a small tenant's bytes add up over ticks rather than
	// rounding to nothing each time (lost on a restart: less than one GiB-ms each).
	carry map[string]int64
}

// skuDedicated is the SKU of physical clusters that host one logical cluster; the others
// (basic, standard) are shared.
const skuDedicated = "dedicated"

// New returns a meter that bills every interval.
func New(s *db.Store, interval time.Duration, log *slog.Logger) *Meter {
	return &Meter{store: usagedb.New(s), interval: interval, log: log, now: time.Now, carry: map[string]int64{}}
}

// Run meters until ctx ends.
func (m *Meter) Run(ctx context.Context) error {
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

func (m *Meter) tick(ctx context.Context) error {
	now := m.now().UTC()
	return m.store.InTx(ctx, func(q usagedb.Queries) error {
		last := now
		if v, err := q.GetUsageCursor(ctx); err == nil {
			ms, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return fmt.Errorf("usage cursor %q: %w", v, perr)
			}
			last = time.UnixMilli(ms).UTC()
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if err := q.SetUsageCursor(ctx, strconv.FormatInt(now.UnixMilli(), 10)); err != nil {
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

func (m *Meter) bill(ctx context.Context, q usagedb.Queries, clusters []db.ListMeteredClustersRow, hour time.Time, span time.Duration) error {
	ms := span.Milliseconds()
	for _, c := range clusters {
		if (c.Phase != string(kv.PhaseReady) && c.Phase != string(kv.PhaseDegraded)) || c.Replicas == 0 || c.RunningReplicas == 0 {
			continue
		}
		running := min(c.RunningReplicas, c.Replicas)
		ckuMillis := c.Cku * ms * running / c.Replicas
		var data *kv.DataUsage
		if c.DataUsage != "" {
			data = &kv.DataUsage{}
			if err := json.Unmarshal([]byte(c.DataUsage), data); err != nil {
				m.log.Warn("ignoring an unreadable data usage report", "logical_cluster", c.ID, "error", err)
				data = nil
			}
		}
		var gibMillis, partitionMillis int64
		if c.Sku == skuDedicated {
			gibMillis = running * c.StorageGib * ms
			if data != nil {
				partitionMillis = int64(data.Partitions) * ms
			}
		} else if t := data.Tenant(c.ID); t != nil {
			// Not reported yet: nothing billed, rather than the whole cluster.
			gibMillis = m.gibTimes(c.ID, t.Bytes, ms)
			partitionMillis = int64(t.Partitions) * ms
		}
		if err := q.AddUsage(ctx, db.AddUsageParams{
			TenantID: c.TenantID, Hour: hour.UnixMilli(), LogicalClusterID: c.ID,
			CkuMs: ckuMillis, StorageGibMs: gibMillis, PartitionMs: partitionMillis,
		}); err != nil {
			return err
		}
	}
	return nil
}

// gibTimes is bytes (in GiB) times ms, plus what was carried for cluster, without
// overflowing for any volume a cluster holds (ms spans at most an hour).
func (m *Meter) gibTimes(cluster string, bytes, ms int64) int64 {
	const gib = 1 << 30
	frac := (bytes%gib)*ms + m.carry[cluster]
	m.carry[cluster] = frac % gib
	return (bytes/gib)*ms + frac/gib
}
