// Package controller runs the mothership's event-driven controllers: a durable EVENTS
// consumer per controller feeding a rate-limited workqueue of ids, reconciled level-based by
// the controller's own function. It writes nothing itself; each controller's reconcile
// function writes what its service owns.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/client-go/util/workqueue"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
)

// ErrTerminal marks a reconcile error that retrying cannot fix.
var ErrTerminal = errors.New("terminal")

// Controller drives a level-based reconcile function from EVENTS. Events only enqueue the
// id they name; a worker reconciles the id from the latest state in SQL. A message is
// acknowledged once a reconcile that started after its arrival has succeeded; on a crash
// it is redelivered, and reconciling twice is harmless.
type Controller struct {
	Name      string
	Resources []string // EVENTS resources this controller reacts to: events.<resource>.<id>
	Reconcile func(ctx context.Context, id string) error
	// ListIDs lists every id, for a full resync.
	ListIDs func(ctx context.Context) ([]string, error)
	// MapID, if set, maps an event's id to the ids to reconcile (none: acknowledge only).
	MapID   func(ctx context.Context, resource, id string) ([]string, error)
	Workers int
	// Resync is how often everything is re-read (default 10m).
	Resync time.Duration
	Log    *slog.Logger

	js      jetstream.JetStream
	queue   workqueue.TypedRateLimitingInterface[string]
	mu      sync.Mutex
	pending map[string][]jetstream.Msg
	cons    jetstream.Consumer
	// lost is signalled when deliveries may have been lost in flight (the consumer's leader
	// changed, heartbeats stopped): the controller then re-reads everything rather than wait
	// for the redelivery, which comes only after AckWait.
	lost chan struct{}
}

// Start creates the controller's durable consumer and queues a full resync.
func (c *Controller) Start(ctx context.Context, js jetstream.JetStream) error {
	c.js = js
	c.pending = map[string][]jetstream.Msg{}
	c.lost = make(chan struct{}, 1)
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: c.Name, MetricsProvider: metrics.Workqueue},
	)
	var filters []string
	for _, r := range c.Resources {
		filters = append(filters, kv.EventSubject(r, "*"))
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, kv.StreamEvents, jetstream.ConsumerConfig{
		Durable:        c.Name,
		Description:    "mothership " + c.Name,
		FilterSubjects: filters,
		// A new controller starts from a full resync, not from the stream's history.
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       2 * time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: 20_000,
	})
	if err != nil {
		return fmt.Errorf("%s: consumer: %w", c.Name, err)
	}
	c.mu.Lock()
	c.cons, c.queue = cons, queue
	c.mu.Unlock()
	return c.ResyncAll(ctx)
}

// ResyncAll queues every id.
func (c *Controller) ResyncAll(ctx context.Context) error {
	ids, err := c.ListIDs(ctx)
	if err != nil {
		return fmt.Errorf("%s: resync: %w", c.Name, err)
	}
	for _, id := range ids {
		c.queue.Add(id)
	}
	return nil
}

// Enqueue queues ids for a reconcile, as an event for them would; before Start it does
// nothing (Start queues a full resync).
func (c *Controller) Enqueue(ids ...string) {
	c.mu.Lock()
	queue := c.queue
	c.mu.Unlock()
	if queue == nil {
		return
	}
	for _, id := range ids {
		queue.Add(id)
	}
}

// Run consumes events and reconciles until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	// Pull requests that a lost consumer leader held are gone with it; short heartbeats let
	// the client notice within seconds and pull again from the new leader (on a hub cluster).
	cc, err := c.cons.Consume(func(msg jetstream.Msg) { c.onEvent(ctx, msg) },
		jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			c.Log.Debug("consuming events", "controller", c.Name, "error", err)
			if errors.Is(err, jetstream.ErrConsumerLeadershipChanged) || errors.Is(err, jetstream.ErrNoHeartbeat) {
				select {
				case c.lost <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return fmt.Errorf("%s: consume: %w", c.Name, err)
	}
	metrics.SetControllerBacklog(c.Name, c.backlog)
	defer metrics.SetControllerBacklog(c.Name, nil)
	var wg sync.WaitGroup
	for range max(c.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	resync := c.Resync
	if resync <= 0 {
		resync = 10 * time.Minute
	}
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cc.Stop()
			c.queue.ShutDownWithDrain()
			wg.Wait()
			return nil
		case <-t.C:
			if err := c.ResyncAll(ctx); err != nil {
				c.Log.Warn("periodic resync failed", "controller", c.Name, "error", err)
			}
		case <-c.lost:
			c.Log.Info("events may have been lost in flight; resyncing", "controller", c.Name)
			if err := c.ResyncAll(ctx); err != nil {
				c.Log.Warn("resync failed", "controller", c.Name, "error", err)
			}
		}
	}
}

// Lag reports the events the controller has not yet reconciled. The frontend may ask
// before the controller's layer started: then everything is still to come, and it says 0.
func (c *Controller) Lag(ctx context.Context) (api.Controller, error) {
	out := api.Controller{Name: c.Name}
	c.mu.Lock()
	cons, queue := c.cons, c.queue
	c.mu.Unlock()
	if cons == nil {
		return out, nil
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("%s: consumer info: %w", c.Name, err)
	}
	out.Pending, out.Unacked, out.Queued = info.NumPending, info.NumAckPending, queue.Len()
	return out, nil
}

// backlog reports the controller's unreconciled events for the metrics.
func (c *Controller) backlog(ctx context.Context) (metrics.Backlog, error) {
	lag, err := c.Lag(ctx)
	return metrics.Backlog{Pending: int(lag.Pending), Unacked: lag.Unacked}, err
}

func (c *Controller) onEvent(ctx context.Context, msg jetstream.Msg) {
	resource, id, err := kv.ParseEventSubject(msg.Subject())
	if err != nil {
		c.Log.Warn("malformed event subject", "controller", c.Name, "subject", msg.Subject())
		_ = msg.Term()
		return
	}
	ids := []string{id}
	if c.MapID != nil {
		if ids, err = c.MapID(ctx, resource, id); err != nil {
			c.Log.Warn("mapping event", "controller", c.Name, "subject", msg.Subject(), "error", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		if len(ids) == 0 {
			_ = msg.Ack()
			return
		}
	}
	c.mu.Lock()
	// The message is acknowledged after the first of its ids reconciles.
	c.pending[ids[0]] = append(c.pending[ids[0]], msg)
	c.mu.Unlock()
	for _, id := range ids {
		c.queue.Add(id)
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	id, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(id)

	c.mu.Lock()
	msgs := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()

	start := time.Now()
	err := c.Reconcile(ctx, id)
	c.observe(err, time.Since(start))
	switch {
	case err == nil || errors.Is(err, ErrTerminal):
		if err != nil {
			c.Log.Error("reconcile failed for good", "controller", c.Name, "id", id, "error", err)
		}
		c.queue.Forget(id)
		for _, m := range msgs {
			_ = m.Ack()
		}
	case ctx.Err() != nil:
		// Shutting down: leave the messages unacknowledged for redelivery.
	default:
		c.Log.Warn("reconcile failed, will retry", "controller", c.Name, "id", id, "error", err)
		c.mu.Lock()
		c.pending[id] = append(msgs, c.pending[id]...)
		c.mu.Unlock()
		c.queue.AddRateLimited(id)
	}
	return true
}

// observe records a reconcile's result and duration.
func (c *Controller) observe(err error, took time.Duration) {
	result := "success"
	switch {
	case errors.Is(err, ErrTerminal):
		result = "terminal"
	case err != nil:
		result = "error"
	}
	metrics.ReconcileTotal.WithLabelValues(c.Name, result).Inc()
	errs := metrics.ReconcileErrors.WithLabelValues(c.Name) // exists, at 0, before the first error
	if err != nil {
		errs.Inc()
	}
	metrics.ReconcileTime.WithLabelValues(c.Name).Observe(took.Seconds())
}
