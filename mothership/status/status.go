// Package status is the status controller and the reading of what satellites report: it
// records each cluster's actual state from the actual bucket into cluster_status (its only
// table, through db/statusdb; leader-only), and Phase derives the phase the API shows from
// that record.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/statusdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
)

// Controller records what satellites report in the actual bucket into
// cluster_status, its only table. A value that does not decode, or that a satellite wrote
// under a key that does not match it, is logged and ignored.
type Controller struct {
	store   statusdb.Store
	log     *slog.Logger
	watcher jetstream.KeyWatcher
	// Reported, if set, is told of every recorded status: which physical cluster and the
	// generation its satellite runs (the physical controller re-issues a cluster whose
	// satellite runs a generation above SQL's, after a restore).
	Reported func(ctx context.Context, physicalID string, observed int64)

	mu   sync.Mutex
	seen map[string]metrics.ClusterSeen // by actual key: what the metrics report
}

// New returns the controller.
func New(s *db.Store, log *slog.Logger) *Controller {
	return &Controller{store: statusdb.New(s), log: log, seen: map[string]metrics.ClusterSeen{}}
}

// Start watches the actual bucket.
func (c *Controller) Start(ctx context.Context, js jetstream.JetStream) error {
	b, err := js.KeyValue(ctx, kv.BucketActual)
	if err != nil {
		return err
	}
	// The watch replays the latest value of every key first, so a restart resyncs.
	c.watcher, err = b.WatchAll(ctx)
	return err
}

// Run records every report until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.watcher.Stop()
	// The watch replays every current key first: start the metrics' view afresh (a
	// replica that leads again must not keep clusters purged meanwhile).
	c.mu.Lock()
	c.seen = map[string]metrics.ClusterSeen{}
	c.mu.Unlock()
	metrics.SetClusters(c.clusters)
	defer metrics.SetClusters(nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-c.watcher.Updates():
			if !ok {
				return nil
			}
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				c.mu.Lock()
				delete(c.seen, e.Key())
				c.mu.Unlock()
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			st, err := c.record(ctx, e)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("recording status failed", "key", e.Key(), "error", err)
			}
			if err == nil && st != nil && c.Reported != nil {
				c.Reported(ctx, st.ID, st.ObservedGeneration)
			}
		}
	}
}

// record records e's status and returns it (nil if it was ignored).
func (c *Controller) record(ctx context.Context, e jetstream.KeyValueEntry) (*kv.Status, error) {
	st, err := kv.DecodeStatus(e.Value())
	if err != nil {
		c.log.Warn("ignoring invalid status", "key", e.Key(), "error", err)
		return nil, nil
	}
	if st.Key().String() != e.Key() {
		c.log.Warn("ignoring status written under another cluster's key", "key", e.Key(), "status_key", st.Key().String())
		return nil, nil
	}
	conds, err := json.Marshal(st.Conditions)
	if err != nil {
		return nil, err
	}
	c.see(e.Key(), st)
	var data []byte
	if st.Data != nil {
		if data, err = json.Marshal(st.Data); err != nil {
			return nil, err
		}
	}
	var health []byte
	if st.Kafka != nil {
		if health, err = json.Marshal(st.Kafka); err != nil {
			return nil, err
		}
	}
	return st, c.store.InTx(ctx, func(q statusdb.Queries) error { // group-committed with the other writes
		return q.UpsertClusterStatus(ctx, db.UpsertClusterStatusParams{
			PhysicalClusterID:  st.ID,
			Satellite:          st.Satellite,
			ObservedGeneration: st.ObservedGeneration,
			ProfileRevision:    st.ProfileRevision,
			Phase:              string(st.Phase),
			Reason:             st.Reason,
			Message:            st.Message,
			Replicas:           int64(st.Replicas),
			ReadyReplicas:      int64(st.ReadyReplicas),
			Bootstrap:          st.Bootstrap,
			Conditions:         string(conds),
			ReportedAt:         st.UpdatedAt.UnixMilli(),
			KvRevision:         int64(e.Revision()),
			CaCertificate:      st.CACertificate,
			CertificateSerial:  st.CertificateSerial,
			BootstrapHost:      st.BootstrapHost,
			DataUsage:          string(data),
			KafkaHealth:        string(health),
		})
	})
}

// see keeps what the metrics report of a cluster.
func (c *Controller) see(key string, st *kv.Status) {
	seen := metrics.ClusterSeen{ID: st.ID, Satellite: st.Satellite, Product: string(st.Product), Phase: string(st.Phase)}
	for _, cond := range st.Conditions {
		seen.Conditions = append(seen.Conditions, metrics.ConditionSeen{Type: cond.Type, Status: cond.Status, Since: cond.LastTransitionTime})
	}
	c.mu.Lock()
	c.seen[key] = seen
	c.mu.Unlock()
}

// clusters lists what the metrics report.
func (c *Controller) clusters() []metrics.ClusterSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]metrics.ClusterSeen, 0, len(c.seen))
	for _, s := range c.seen {
		out = append(out, s)
	}
	return out
}

// ReasonPurged is the reason of a deleted cluster whose volumes are gone too.
const ReasonPurged = "purged: workloads and volumes removed"

// Phase derives a logical cluster's phase and its reason from what the satellite of its
// physical cluster p reported (st), observed being the logical generation that report carries.
func Phase(l db.LogicalCluster, p db.PhysicalCluster, st db.ClusterStatus, observed int64) (string, string) {
	current := observed >= l.Generation
	stalled := st.Phase == string(kv.PhaseFailed)
	switch {
	case l.DeletedAt.Valid && !p.DeletedAt.Valid:
		// A tenant of a shared cluster: gone once the cluster runs without it.
		if current {
			return api.PhaseDeleted, "removed from its shared cluster"
		}
		return api.PhaseDeleting, fmt.Sprintf("satellite %s is removing it from its shared cluster", st.Satellite)
	case l.DeletedAt.Valid:
		if current && st.Phase == string(kv.PhasePurged) {
			return api.PhaseDeleted, ReasonPurged
		}
		if current && st.Phase == string(kv.PhaseDeleted) {
			return api.PhaseDeleted, firstNonEmpty(st.Message, st.Reason)
		}
		if current {
			return api.PhaseDeleting, firstNonEmpty(st.Message, st.Reason)
		}
		return api.PhaseDeleting, fmt.Sprintf("satellite %s is removing the workloads", st.Satellite)
	case stalled:
		return api.PhaseDegraded, firstNonEmpty(st.Message, st.Reason)
	case !current:
		return api.PhaseProvisioning, fmt.Sprintf("satellite %s is converging generation %d (observed %d)", st.Satellite, l.Generation, observed)
	}
	switch kv.Phase(st.Phase) {
	case kv.PhaseReady:
		return api.PhaseReady, ""
	case kv.PhaseDegraded:
		return api.PhaseDegraded, firstNonEmpty(st.Message, st.Reason)
	default:
		return api.PhaseProvisioning, firstNonEmpty(st.Message, st.Reason, fmt.Sprintf("%d of %d brokers ready", st.ReadyReplicas, p.Replicas))
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ForgetRevisions is run once on a restored database, before a mothership starts on it
// ("mothership restore"): the bucket revisions of the recorded statuses are those of the
// hub the backup was taken from, and a fresh hub numbers from 1 again, so without this the
// satellites' new reports would be ignored as older than what was recorded.
func ForgetRevisions(ctx context.Context, s *db.Store) error {
	return statusdb.New(s).InTx(ctx, func(q statusdb.Queries) error { return q.ForgetStatusRevisions(ctx) })
}
