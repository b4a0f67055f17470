package mothership

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
)

// statusController records what satellites report in the actual bucket into
// cluster_status, its only table. A value that does not decode, or that a satellite wrote
// under a key that does not match it, is logged and ignored.
type statusController struct {
	store   *db.Store
	log     *slog.Logger
	watcher jetstream.KeyWatcher
}

func (c *statusController) Start(ctx context.Context, js jetstream.JetStream) error {
	b, err := js.KeyValue(ctx, kv.BucketActual)
	if err != nil {
		return err
	}
	// The watch replays the latest value of every key first, so a restart resyncs.
	c.watcher, err = b.WatchAll(ctx)
	return err
}

func (c *statusController) Run(ctx context.Context) error {
	defer c.watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-c.watcher.Updates():
			if !ok {
				return nil
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			if err := c.record(ctx, e); err != nil && ctx.Err() == nil {
				c.log.Warn("recording status failed", "key", e.Key(), "error", err)
			}
		}
	}
}

func (c *statusController) record(ctx context.Context, e jetstream.KeyValueEntry) error {
	st, err := kv.DecodeStatus(e.Value())
	if err != nil {
		c.log.Warn("ignoring invalid status", "key", e.Key(), "error", err)
		return nil
	}
	if st.Key().String() != e.Key() {
		c.log.Warn("ignoring status written under another cluster's key", "key", e.Key(), "status_key", st.Key().String())
		return nil
	}
	conds, err := json.Marshal(st.Conditions)
	if err != nil {
		return err
	}
	return c.store.InTx(ctx, func(q db.Querier) error { // group-committed with the other writes
		return q.UpsertClusterStatus(ctx, sqlitegen.UpsertClusterStatusParams{
			PhysicalClusterID:  st.ID,
			Satellite:          st.Satellite,
			ObservedGeneration: st.ObservedGeneration,
			Phase:              string(st.Phase),
			Reason:             st.Reason,
			Message:            st.Message,
			Replicas:           int64(st.Replicas),
			ReadyReplicas:      int64(st.ReadyReplicas),
			Bootstrap:          st.Bootstrap,
			Conditions:         string(conds),
			ReportedAt:         st.UpdatedAt.UnixMilli(),
			KvRevision:         int64(e.Revision()),
		})
	})
}
