// Package relay is the outbox relay: it publishes the outbox rows that every writer
// appends in its own transaction to the EVENTS stream, in order, and marks them published.
// It owns the outbox's published marks (through db/relaydb) and nothing else. Leader-only.
package relay

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/relaydb"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
)

// Relay publishes the outbox to EVENTS. Each row is published with Nats-Msg-Id
// "<epoch>-<id>", so if the relay dies between publishing and marking a row, publishing it
// again within the stream's duplicate window stores nothing twice; after the window, the
// duplicate is harmless because every consumer is level-based.
type Relay struct {
	store relaydb.Store
	js    jetstream.JetStream
	log   *slog.Logger
	// Poll is the fallback interval when no commit signal arrives (another process wrote).
	Poll  time.Duration
	Batch int
	// AckTimeout bounds the wait for a batch's acknowledgements (default PublishAckTimeout):
	// an acknowledgement can be lost for good, when the stream's leader dies right after
	// storing a message, and the rows are then published again (deduplicated by their id).
	AckTimeout time.Duration
}

// New returns a relay publishing s's outbox through js.
func New(s *db.Store, js jetstream.JetStream, log *slog.Logger) *Relay {
	return &Relay{store: relaydb.New(s), js: js, log: log}
}

const (
	// PublishAckTimeout is how long the relay waits for a batch to be acknowledged.
	PublishAckTimeout   = 10 * time.Second
	relayBatch          = 512
	outboxRetention     = time.Hour
	outboxCleanupPeriod = 5 * time.Minute
)

// Run publishes until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	poll := r.Poll
	if poll <= 0 {
		poll = time.Second
	}
	batch := r.Batch
	if batch <= 0 {
		batch = relayBatch
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	lastCleanup := time.Now()
	for {
		n, err := r.flush(ctx, batch)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("outbox relay: publishing failed, will retry", "error", err)
		}
		if time.Since(lastCleanup) > outboxCleanupPeriod {
			lastCleanup = time.Now()
			if _, err := r.store.Read().DeletePublishedOutbox(ctx, time.Now().Add(-outboxRetention).UnixMilli()); err != nil && ctx.Err() == nil {
				r.log.Warn("outbox relay: cleanup failed", "error", err)
			}
		}
		if n == batch && err == nil {
			continue // more to do
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.store.Store().Committed():
		case <-ticker.C:
		}
	}
}

// flush publishes up to batch pending rows and marks the acknowledged ones.
func (r *Relay) flush(ctx context.Context, batch int) (int, error) {
	rows, err := r.store.Read().ListPendingOutbox(ctx, int64(batch))
	if err != nil {
		return 0, err
	}
	metrics.OutboxLastPass.SetToCurrentTime()
	metrics.OutboxPending.Set(float64(len(rows)))
	if len(rows) == 0 {
		metrics.OutboxLag.Set(0)
		return 0, nil
	}
	metrics.OutboxLag.Set(max(0, time.Since(time.UnixMilli(rows[0].CreatedAt)).Seconds()))
	futures := make([]jetstream.PubAckFuture, len(rows))
	for i, row := range rows {
		f, err := r.js.PublishAsync(row.Subject, row.Payload, jetstream.WithMsgID(r.store.Store().Epoch()+"-"+strconv.FormatInt(row.ID, 10)))
		if err != nil {
			return 0, fmt.Errorf("publish outbox %d: %w", row.ID, err)
		}
		futures[i] = f
	}
	ackTimeout := r.AckTimeout
	if ackTimeout <= 0 {
		ackTimeout = PublishAckTimeout
	}
	timeout := time.NewTimer(ackTimeout)
	defer timeout.Stop()
	var acked []db.Outbox
	var firstErr error
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, rows[i])
		case err := <-f.Err():
			firstErr = fmt.Errorf("publish outbox %d: %w", rows[i].ID, err)
		case <-timeout.C:
			firstErr = fmt.Errorf("publish outbox %d: no acknowledgement within %s", rows[i].ID, ackTimeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if firstErr != nil {
			break // keep order: nothing after a failed row is marked
		}
	}
	if len(acked) > 0 {
		now := db.Now()
		err := r.store.InTx(ctx, func(q relaydb.Queries) error {
			for _, row := range acked {
				if err := q.MarkOutboxPublished(ctx, db.MarkOutboxPublishedParams{ID: row.ID, Now: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("mark outbox published: %w", err)
		}
		metrics.OutboxPublished.Add(float64(len(acked)))
	}
	return len(acked), firstErr
}
