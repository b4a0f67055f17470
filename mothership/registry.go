package mothership

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
)

// registry follows the satellites bucket: what each satellite declares about itself
// (region, cloud, networks, capacity) and when it last said so. It only reads.
type registry struct {
	log *slog.Logger

	mu         sync.RWMutex
	satellites map[string]kv.Satellite
	changed    chan struct{} // a token whenever a registration appears or changes
	watcher    jetstream.KeyWatcher
}

func newRegistry(log *slog.Logger) *registry {
	return &registry{log: log, satellites: map[string]kv.Satellite{}, changed: make(chan struct{}, 1)}
}

// Start loads every current registration.
func (r *registry) Start(ctx context.Context, js jetstream.JetStream) error {
	b, err := js.KeyValue(ctx, kv.BucketSatellites)
	if err != nil {
		return err
	}
	w, err := b.WatchAll(ctx)
	if err != nil {
		return err
	}
	r.watcher = w
	for e := range w.Updates() {
		if e == nil {
			return nil // initial values loaded
		}
		r.apply(e)
	}
	return ctx.Err()
}

// Run follows updates until ctx ends.
func (r *registry) Run(ctx context.Context) error {
	defer r.watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-r.watcher.Updates():
			if !ok {
				return nil
			}
			if e != nil {
				r.apply(e)
			}
		}
	}
}

func (r *registry) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		r.mu.Lock()
		delete(r.satellites, e.Key())
		r.mu.Unlock()
		return
	}
	s, err := kv.DecodeSatellite(e.Value())
	if err != nil || s.Name != e.Key() {
		r.log.Warn("ignoring invalid satellite registration", "key", e.Key(), "error", err)
		return
	}
	r.mu.Lock()
	old, had := r.satellites[s.Name]
	r.satellites[s.Name] = *s
	r.mu.Unlock()
	if !had || !sameDeclaration(old, *s) {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// sameDeclaration compares what a satellite declares, ignoring heartbeat times.
func sameDeclaration(a, b kv.Satellite) bool {
	return a.Region == b.Region && a.Cloud == b.Cloud && slices.Equal(a.Networks, b.Networks) &&
		a.Capacity == b.Capacity && a.Version == b.Version
}

// List returns every registration, sorted by name.
func (r *registry) List() []kv.Satellite {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]kv.Satellite, 0, len(r.satellites))
	for _, s := range r.satellites {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b kv.Satellite) int { return compareStrings(a.Name, b.Name) })
	return out
}

// Changed signals new or changed registrations.
func (r *registry) Changed() <-chan struct{} { return r.changed }

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
